# Burn Rate's capture hook for Python, put first on PYTHONPATH in metered environments only.
#
# Python imports the first `sitecustomize` on its path at start-up. This one sends calls for the
# route table's provider upstreams (BURNRATE_CAPTURE, see src/capture/protocol.ts) made with httpx
# (the OpenAI, Anthropic and Mistral SDKs), urllib.request or requests to the local proxy route in
# BURNRATE_PROXY, for clients that read no base-URL variable. Other calls are untouched. The
# libraries are patched when the program first imports them (nothing is imported up front), and the
# next `sitecustomize` on the path (the user's, or the distribution's) is then run as usual.
# It never raises into the program: a failure leaves everything as it was (a line on stderr with
# BURNRATE_DEBUG set).
import os
import sys


def _debug(message):
    if os.environ.get("BURNRATE_DEBUG"):
        sys.stderr.write("burnrate capture: %s\n" % message)


def _capture_map():
    proxy = os.environ.get("BURNRATE_PROXY", "").rstrip("/")
    routes = []
    for pair in os.environ.get("BURNRATE_CAPTURE", "").split():
        provider, sep, upstream = pair.partition("=")
        if sep and provider:
            routes.append((provider, upstream.rstrip("/")))
    return proxy, routes


def _split(url):
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port, parts.path, parts.query


def _target(proxy, routes, url):
    """The proxy URL for a call to `url`, or None to leave it alone (see src/capture/rewrite.ts)."""
    scheme, host, port, path, query = _split(str(url))
    for provider, upstream in routes:
        b_scheme, b_host, b_port, b_path, _ = _split(upstream)
        if (scheme, host, port) != (b_scheme, b_host, b_port):
            continue
        prefix = b_path.rstrip("/")
        rest = path[len(prefix):]
        if not path.startswith(prefix) or (rest and not rest.startswith("/")):
            continue
        return "%s/%s%s%s" % (proxy, provider, rest, "?" + query if query else "")
    return None


def _patch_httpx(module, rewrite):
    def wrap(send):
        def captured(self, request, *args, **kwargs):
            try:
                to = rewrite(request.url)
                if to:
                    request.url = module.URL(to)
                    request.headers["Host"] = request.url.netloc.decode("ascii")
            except Exception as e:  # never into the program
                _debug("httpx call left as it was: %s" % e)
            return send(self, request, *args, **kwargs)

        return captured

    module.Client.send = wrap(module.Client.send)
    module.AsyncClient.send = wrap(module.AsyncClient.send)


def _patch_urllib(module, rewrite):
    open_ = module.OpenerDirector.open

    def captured(self, fullurl, *args, **kwargs):
        try:
            url = fullurl if isinstance(fullurl, str) else fullurl.full_url
            to = rewrite(url)
            if to and isinstance(fullurl, str):
                fullurl = to
            elif to:
                fullurl.full_url = to
                fullurl.remove_header("Host")
        except Exception as e:
            _debug("urllib call left as it was: %s" % e)
        return open_(self, fullurl, *args, **kwargs)

    module.OpenerDirector.open = captured


def _patch_requests(module, rewrite):
    send = module.adapters.HTTPAdapter.send

    def captured(self, request, *args, **kwargs):
        try:
            to = rewrite(request.url)
            if to:
                request.url = to
                request.headers.pop("Host", None)
        except Exception as e:
            _debug("requests call left as it was: %s" % e)
        return send(self, request, *args, **kwargs)

    module.adapters.HTTPAdapter.send = captured


class _PatchOnImport:
    """A meta-path finder that patches a library right after its first import."""

    def __init__(self, patches, rewrite):
        self.patches = patches
        self.rewrite = rewrite

    def find_spec(self, name, path=None, target=None):
        patch = self.patches.get(name)
        if patch is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        exec_module = getattr(loader, "exec_module", None)
        if exec_module is None:
            return spec
        rewrite = self.rewrite

        def exec_and_patch(module):
            exec_module(module)
            try:
                patch(sys.modules.get(name, module), rewrite)
            except Exception as e:
                _debug("%s not patched: %s" % (name, e))

        loader.exec_module = exec_and_patch
        return spec


def _install():
    proxy, routes = _capture_map()
    if not proxy or not routes:
        return

    def rewrite(url):
        return _target(proxy, routes, url)

    patches = {"httpx": _patch_httpx, "urllib.request": _patch_urllib, "requests": _patch_requests}
    for name, patch in list(patches.items()):
        if name in sys.modules:  # already imported (e.g. by a .pth file)
            patch(sys.modules[name], rewrite)
            del patches[name]
    sys.meta_path.insert(0, _PatchOnImport(patches, rewrite))


def _chain():
    """Runs the next sitecustomize on the path: the user's own, or the distribution's."""
    import importlib.machinery

    try:
        # importlib.util's own function, without importlib.util's imports (4 ms at every start).
        from _frozen_importlib import module_from_spec
    except ImportError:
        from importlib.util import module_from_spec

    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = module_from_spec(spec)
    spec.loader.exec_module(module)


try:
    _install()
except Exception as e:
    _debug("not installed: %s" % e)
try:
    _chain()
except Exception as e:
    # The other sitecustomize failing is reported the way Python itself would (one line).
    sys.stderr.write("Error in sitecustomize; set PYTHONVERBOSE for traceback:\n%s: %s\n" % (type(e).__name__, e))
