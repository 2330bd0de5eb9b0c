#!/usr/bin/env bash
# Installs a real VS Code (code-server 4.100.3 = VS Code 1.100.3) and a headless browser driver,
# offline except for the npm registry and Debian's packages. Idempotent: a second run is a no-op.
#
#   bash test/e2e/setup.sh [PREFIX]      (PREFIX defaults to ./.vscode-test/code-server)
#
# (A copy of the recipe in the shared vscode-e2e kit, kept in the repo so CI needs nothing else.)
#
# Afterwards: $PREFIX/node_modules/.bin/code-server, playwright-core under $PREFIX/node_modules,
# and /usr/bin/chromium. Root is needed for apt-get (CI and developer machines run as root).
set -euo pipefail
PREFIX="${1:-$PWD/.vscode-test/code-server}"
CS_VERSION=4.100.3
RG_PKG_VERSION=1.15.11          # @vscode/ripgrep version pinned by code-server 4.100.3
RG_ASSET=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz

need_apt=()
for p in build-essential python3 pkg-config libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev ripgrep chromium; do
  dpkg -s "$p" >/dev/null 2>&1 || need_apt+=("$p")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x "$PREFIX/node_modules/.bin/code-server" ]; then
  # @vscode/ripgrep's postinstall downloads rg from GitHub; seed its cache with Debian's rg instead.
  cache="${TMPDIR:-/tmp}/vscode-ripgrep-cache-$RG_PKG_VERSION"
  mkdir -p "$cache"
  [ -f "$cache/$RG_ASSET" ] || tar czf "$cache/$RG_ASSET" -C /usr/bin rg
  mkdir -p "$PREFIX"
  ( cd "$PREFIX"
    [ -f package.json ] || echo '{"name":"vscode-e2e-host","private":true}' > package.json
    npm_config_yes=true npm install --unsafe-perm --no-audit --no-fund --loglevel=error \
      "code-server@$CS_VERSION" playwright-core@1 >/dev/null )
fi
"$PREFIX/node_modules/.bin/code-server" --version | head -1
