/**
 * The dashboard page `burnrate serve` serves at `/` on its own port: the same app as the VS Code
 * panel (built from webview/ into dist/webview/). The page holds no data, so it needs no secret; the
 * app asks the management API with the secret the user opened it with (in the URL fragment, never
 * sent to the server). Strict CSP: scripts only by nonce, connections only to this origin.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as path from 'node:path';

const ASSETS: Record<string, { file: string; type: string }> = {
  '/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
};

/** Where the built app lives: beside the bundle (dist/webview), or dist/webview of the checkout when run from source. */
export function webviewDir(): string | undefined {
  for (const dir of [path.join(__dirname, 'webview'), path.join(__dirname, '..', '..', '..', 'dist', 'webview')]) {
    if (fs.existsSync(path.join(dir, 'dashboard.js'))) return dir;
  }
  return undefined;
}

export class DashboardPage {
  private readonly dir = webviewDir();
  private readonly cache = new Map<string, Buffer>();

  /** Serves GET / (to browsers), /dashboard.js and /dashboard.css; false for anything else. */
  handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (url.pathname === '/') {
      // curl and scripts keep getting the plain-text index; browsers get the dashboard.
      if (!String(req.headers.accept ?? '').includes('text/html')) return false;
      if (!this.dir) {
        send(res, 503, 'text/plain; charset=utf-8', Buffer.from('The dashboard app is not built (npm run build).\n'));
        return true;
      }
      const nonce = randomBytes(16).toString('base64');
      send(res, 200, 'text/html; charset=utf-8', Buffer.from(pageHtml(nonce)), {
        'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
      });
      return true;
    }
    const asset = ASSETS[url.pathname];
    if (!asset) return false;
    const body = this.read(asset.file);
    if (!body) send(res, 404, 'text/plain; charset=utf-8', Buffer.from('not built\n'));
    else send(res, 200, asset.type, body);
    return true;
  }

  private read(file: string): Buffer | undefined {
    if (!this.dir) return undefined;
    let body = this.cache.get(file);
    if (!body) {
      try {
        body = fs.readFileSync(path.join(this.dir, file));
      } catch {
        return undefined;
      }
      this.cache.set(file, body);
    }
    return body;
  }
}

function pageHtml(nonce: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Burn Rate</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard.css">
</head>
<body class="page">
<div id="app"></div>
<script nonce="${nonce}" src="/dashboard.js"></script>
</body>
</html>
`;
}

function send(res: http.ServerResponse, status: number, type: string, body: Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': body.length,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    ...headers,
  });
  res.end(body);
}
