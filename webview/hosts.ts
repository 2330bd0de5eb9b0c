/**
 * The two hosts the app runs in, behind one interface: the VS Code panel (postMessage to the
 * extension, which talks to the engine) and the page `burnrate serve` serves (fetch to the same
 * origin with the per-install secret as a Bearer token).
 */
import { ManagementRoutes as R, routeUrl, SESSION_ACTION_ROUTES } from '../src/shared';
import type { AppMessage, ConnectionState, GuardAlert, HostMessage, HostRequests, RequestMethod } from './protocol';

export interface DashboardHost {
  readonly kind: 'vscode' | 'page';
  request<M extends RequestMethod>(method: M, params: HostRequests[M]['params']): Promise<HostRequests[M]['result']>;
  /** New records arrived (debounce before refetching). */
  onChanged(listener: () => void): void;
  onConnection(listener: (state: ConnectionState) => void): void;
  /** Budget, guard and anomaly alerts as the engine raises them. */
  onAlert(listener: (alert: GuardAlert) => void): void;
  getState<T>(): T | undefined;
  setState<T>(state: T): void;
  start(): void;
}

interface VsCodeApi {
  postMessage(message: AppMessage): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

export function pickHost(): DashboardHost {
  return typeof acquireVsCodeApi === 'function' ? new VsCodeHost(acquireVsCodeApi()) : new PageHost();
}

/** The listeners both hosts keep for the app: data changed, connection state, alerts. */
abstract class HostListeners {
  protected readonly changed: Array<() => void> = [];
  protected readonly connection: Array<(s: ConnectionState) => void> = [];
  protected readonly alerts: Array<(a: GuardAlert) => void> = [];

  onChanged(listener: () => void): void {
    this.changed.push(listener);
  }

  onConnection(listener: (state: ConnectionState) => void): void {
    this.connection.push(listener);
  }

  onAlert(listener: (alert: GuardAlert) => void): void {
    this.alerts.push(listener);
  }
}

class VsCodeHost extends HostListeners implements DashboardHost {
  readonly kind = 'vscode';
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(private readonly api: VsCodeApi) {
    super();
    window.addEventListener('message', (event: MessageEvent<HostMessage>) => {
      const m = event.data;
      if (!m || typeof m !== 'object') return;
      if (m.type === 'response') {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.ok) p?.resolve(m.result);
        else p?.reject(new Error(m.error));
      } else if (m.type === 'changed') this.changed.forEach((l) => l());
      else if (m.type === 'connection') this.connection.forEach((l) => l(m.state));
      else if (m.type === 'alert') this.alerts.forEach((l) => l(m.alert));
    });
  }

  request<M extends RequestMethod>(method: M, params: HostRequests[M]['params']): Promise<HostRequests[M]['result']> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.api.postMessage({ type: 'request', id, method, params } as AppMessage);
    });
  }

  getState<T>(): T | undefined {
    return (this.api.getState() as T | null) ?? undefined;
  }

  setState<T>(state: T): void {
    this.api.setState(state);
  }

  start(): void {
    this.api.postMessage({ type: 'ready' });
  }
}

const TOKEN_KEY = 'burnrate.token';
const STATE_KEY = 'burnrate.state';

class PageHost extends HostListeners implements DashboardHost {
  readonly kind = 'page';
  private readonly token: string | null;

  constructor() {
    super();
    // The secret comes in the URL fragment (never sent to a server); keep it for this tab only
    // and take it out of the address bar.
    const fromHash = /(?:^#|&)token=([0-9a-fA-F]{32,})/.exec(location.hash)?.[1];
    if (fromHash) {
      sessionStorage.setItem(TOKEN_KEY, fromHash);
      history.replaceState(null, '', location.pathname + location.search);
    }
    this.token = sessionStorage.getItem(TOKEN_KEY);
  }

  async request<M extends RequestMethod>(method: M, params: HostRequests[M]['params']): Promise<HostRequests[M]['result']> {
    switch (method) {
      case 'dashboard':
        return (await this.getJson(routeUrl(R.dashboard, params as HostRequests['dashboard']['params']))) as HostRequests[M]['result'];
      case 'whatIf':
        return (await this.getJson(routeUrl(R.whatIf, params as HostRequests['whatIf']['params']))) as HostRequests[M]['result'];
      case 'prices':
        return (await this.getJson(routeUrl(R.prices, params as HostRequests['prices']['params']))) as HostRequests[M]['result'];
      case 'estimate':
        return (await this.getJson(routeUrl(R.estimate, params as HostRequests['estimate']['params']))) as HostRequests[M]['result'];
      case 'export': {
        const p = params as HostRequests['export']['params'];
        const res = await this.fetch(routeUrl(R.export, { format: p.format, since: p.since, until: p.until, workspace: p.workspace }));
        const blob = await res.blob();
        const name = `burnrate-${new Date(p.since).toISOString().slice(0, 10)}.${p.format}`;
        const a = document.createElement('a');
        a.href = URL.createObjectURL(blob);
        a.download = name;
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
        return { saved: name } as HostRequests[M]['result'];
      }
      case 'sessions':
        return ((await this.getJson(R.sessions.path)) as { sessions: HostRequests['sessions']['result'] }).sessions as HostRequests[M]['result'];
      case 'session': {
        const p = params as HostRequests['session']['params'];
        // The browser sends this page's Origin with a POST; the engine accepts its own on management routes.
        const res = await this.fetch(
          SESSION_ACTION_ROUTES[p.action].path,
          { 'content-type': 'application/json' },
          JSON.stringify({ session: p.session, ...(p.action === 'stop' ? { by: 'the dashboard page' } : {}) }),
        );
        return (await res.json()) as HostRequests[M]['result'];
      }
      default:
        throw new Error('not available on this page');
    }
  }

  getState<T>(): T | undefined {
    try {
      const s = sessionStorage.getItem(STATE_KEY);
      return s ? (JSON.parse(s) as T) : undefined;
    } catch {
      return undefined;
    }
  }

  setState<T>(state: T): void {
    try {
      sessionStorage.setItem(STATE_KEY, JSON.stringify(state));
    } catch {
      /* storage full: state is a convenience */
    }
  }

  start(): void {
    if (!this.token) {
      this.announce({ live: false, note: 'Open the dashboard with the link `burnrate serve` printed (it carries the access token).' });
      return;
    }
    void this.follow();
  }

  /** Streams the events route with fetch (EventSource cannot send the Authorization header). */
  private async follow(): Promise<void> {
    let delay = 500;
    for (;;) {
      try {
        const res = await this.fetch(R.events.path, { accept: 'text/event-stream' });
        this.announce({ live: true, note: '' });
        delay = 500;
        const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replace(/\r\n?/g, '\n');
          let cut: number;
          while ((cut = buffer.indexOf('\n\n')) !== -1) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            if (/^event: summary$/m.test(block)) this.changed.forEach((l) => l());
            else if (/^event: alert$/m.test(block)) this.alert(block);
          }
        }
        this.announce({ live: false, note: 'The engine closed the live stream; reconnecting…' });
      } catch (e) {
        this.announce({ live: false, note: `Not connected to the engine (${(e as Error).message}); retrying…` });
        if ((e as Error).message.includes('401')) return;
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  }

  private alert(block: string): void {
    const data = block
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).trimStart())
      .join('\n');
    try {
      const { audience: _, ...alert } = JSON.parse(data) as GuardAlert & { audience?: string };
      this.alerts.forEach((l) => l(alert));
    } catch {
      /* a malformed event: nothing to show */
    }
  }

  private announce(state: ConnectionState): void {
    this.connection.forEach((l) => l(state));
  }

  private async fetch(url: string, headers: Record<string, string> = {}, postBody?: string): Promise<Response> {
    const res = await fetch(url, {
      method: postBody === undefined ? 'GET' : 'POST',
      body: postBody,
      headers: { ...headers, authorization: `Bearer ${this.token ?? ''}` },
      cache: 'no-store',
    });
    if (!res.ok) {
      let message = `HTTP ${res.status}`;
      try {
        message = ((await res.json()) as { error?: { message?: string } }).error?.message ?? message;
      } catch {
        /* not JSON */
      }
      if (res.status === 401) message = 'the access token was refused (401): open the link `burnrate serve` printed';
      throw new Error(message);
    }
    return res;
  }

  private async getJson(url: string): Promise<unknown> {
    return (await this.fetch(url)).json();
  }
}
