/**
 * One engine for all windows. Each VS Code window runs an EngineLink; the first to find the port free
 * (and the database's owner lock free) hosts the engine in its extension host, and every window,
 * that one included, follows the engine's summary stream over HTTP. When the hosting window closes,
 * its engine saves the database and ends the streams; the other windows notice at once, and one of
 * them takes over the port and the database (the lock makes it wait for the last save).
 *
 * No vscode import: the state machine is unit-tested with real engines in one process.
 */
import { OwnerLock } from '../../engine/database';
import type { SpendSummary } from '../../engine/queries';
import { probe, type Probe } from '../../engine/management';
import { subscribeSummaries, type DeliveredAlert, type SummaryStream } from './engineClient';

export type LinkState =
  | { kind: 'connecting' }
  /** This window hosts the engine. */
  | { kind: 'owner'; url: string; pid: number }
  /** Another window (or process) hosts it; this one shows its summaries. */
  | { kind: 'follower'; url: string; pid: number }
  /** A Burn Rate engine whose secret this window does not have (e.g. `burnrate serve` with its own data dir). */
  | { kind: 'external'; url: string }
  /** Something that is not Burn Rate holds the port. */
  | { kind: 'blocked'; detail: string }
  /** The engine could not start here (unreadable database, bad upstream setting…). */
  | { kind: 'failed'; message: string }
  | { kind: 'stopped' };

/** An engine this window hosts. */
export interface HostedEngine {
  /** EngineHealth.instance of the hosted engine. */
  instance: string;
  close(): Promise<void>;
}

export interface EngineLinkOptions {
  port: number;
  /** Lock file beside the database (OwnerLock). */
  lockFile: string;
  /** Management secrets to try, in order (read each time: the host may create the file later). */
  secrets: () => string[];
  /** Starts the engine on `port`. Rejects with code EADDRINUSE when the port was taken meanwhile. */
  host: (port: number, opts: { recordingPaused: boolean }) => Promise<HostedEngine>;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  timing?: Partial<typeof DEFAULT_TIMING>;
  /** This window's workspace name, so the engine can address a workspace's alerts to its window. */
  workspace?: string;
}

const DEFAULT_TIMING = {
  probeTimeoutMs: 1_500,
  /** First wait before trying again after losing a race; doubles up to retryMaxMs. */
  retryMinMs: 50,
  retryMaxMs: 2_000,
  /** How often to look again at a port held by another program. */
  blockedRetryMs: 10_000,
  /** After a start failure (e.g. unreadable database). */
  failedRetryMs: 30_000,
  /** Unanswered probes before the port counts as held by something else. */
  unknownProbesBeforeBlocked: 3,
  streamIdleMs: 45_000,
};

type Listener<T> = (value: T) => void;

export class EngineLink {
  private readonly timing: typeof DEFAULT_TIMING;
  private readonly log: NonNullable<EngineLinkOptions['log']>;
  private port: number;
  private generation = 0;
  private running: Promise<void> | undefined;
  private stream: SummaryStream | undefined;
  private hosted: { engine: HostedEngine; lock: OwnerLock } | undefined;
  private wakeSleep: (() => void) | undefined;
  private currentSecret: string | undefined;
  private _state: LinkState = { kind: 'connecting' };
  private _summary: SpendSummary | undefined;
  private readonly stateListeners = new Set<Listener<LinkState>>();
  private readonly summaryListeners = new Set<Listener<SpendSummary>>();
  private readonly alertListeners = new Set<Listener<DeliveredAlert>>();
  private lockWaitSince: number | undefined;

  constructor(private readonly opts: EngineLinkOptions) {
    this.timing = { ...DEFAULT_TIMING, ...opts.timing };
    this.log = opts.log ?? (() => {});
    this.port = opts.port;
  }

  get state(): LinkState {
    return this._state;
  }

  get summary(): SpendSummary | undefined {
    return this._summary;
  }

  /** The port the link uses (the proxy's). */
  get currentPort(): number {
    return this.port;
  }

  /** The secret the engine accepted, for management calls (pause, export). */
  get secret(): string | undefined {
    return this.currentSecret;
  }

  get isOwner(): boolean {
    return !!this.hosted;
  }

  onDidChangeState(listener: Listener<LinkState>): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  onDidChangeSummary(listener: Listener<SpendSummary>): () => void {
    this.summaryListeners.add(listener);
    return () => this.summaryListeners.delete(listener);
  }

  /** Budget and guard alerts, as every following window receives them. */
  onDidAlert(listener: Listener<DeliveredAlert>): () => void {
    this.alertListeners.add(listener);
    return () => this.alertListeners.delete(listener);
  }

  start(): void {
    if (this.running || this._state.kind === 'stopped') return;
    const gen = ++this.generation;
    const running: Promise<void> = this.run(gen).finally(() => {
      if (this.running === running) this.running = undefined;
    });
    this.running = running;
  }

  /** Moves to another port: stops hosting or following, then starts over there. */
  async setPort(port: number): Promise<void> {
    if (port === this.port) return;
    await this.stopCurrent();
    this.port = port;
    this._summary = undefined;
    this.setState({ kind: 'connecting' });
    this.start();
  }

  /** Restarts the hosted engine (new upstreams, new body cap). A no-op in a window that does not host it. */
  async restartHosted(): Promise<void> {
    if (!this.hosted) return;
    this.log('info', 'restarting the engine to apply new settings');
    await this.stopCurrent();
    this.setState({ kind: 'connecting' });
    this.start();
  }

  /** Tries again now (e.g. after the user freed the port or fixed a setting). */
  async retry(): Promise<void> {
    if (this._state.kind === 'owner' || this._state.kind === 'follower' || this._state.kind === 'stopped') return;
    await this.stopCurrent();
    this.setState({ kind: 'connecting' });
    this.start();
  }

  /** Stops following and, when hosting, closes the engine (saving the database) and releases the lock. */
  async dispose(): Promise<void> {
    await this.stopCurrent();
    this.setState({ kind: 'stopped' });
    this.stateListeners.clear();
    this.summaryListeners.clear();
    this.alertListeners.clear();
  }

  private async stopCurrent(): Promise<void> {
    this.generation++;
    const running = this.running;
    this.running = undefined;
    this.stream?.close();
    this.stream = undefined;
    this.wakeSleep?.();
    const hosted = this.hosted;
    this.hosted = undefined;
    if (hosted) {
      try {
        await hosted.engine.close();
      } catch (e) {
        this.log('error', `could not close the engine cleanly: ${(e as Error).message}`);
      } finally {
        hosted.lock.release();
      }
    }
    await running?.catch(() => undefined);
  }

  private async run(gen: number): Promise<void> {
    let delay = this.timing.retryMinMs;
    let unanswered = 0;
    const live = () => this.generation === gen;
    while (live()) {
      const found: Probe = await probe(this.port, this.timing.probeTimeoutMs);
      if (!live()) return;
      switch (found.kind) {
        case 'burnrate': {
          unanswered = 0;
          const end = await this.follow(found, gen);
          if (!live()) return;
          if (end === 'unauthorized') {
            this.setState({ kind: 'external', url: this.url });
            await this.sleep(this.timing.blockedRetryMs, gen);
          } else {
            // The engine went away (its window closed) or restarted: look again, a little apart from
            // the other windows doing the same.
            if (!this.hosted) this.setState({ kind: 'connecting' });
            await this.sleep(delay * (1 + Math.random()), gen);
            delay = Math.min(delay * 2, this.timing.retryMaxMs);
          }
          break;
        }
        case 'free': {
          unanswered = 0;
          const outcome = await this.tryHost(gen);
          if (outcome === 'hosted') delay = this.timing.retryMinMs;
          else if (outcome === 'failed') await this.sleep(this.timing.failedRetryMs, gen);
          else {
            await this.sleep(delay * (1 + Math.random()), gen);
            delay = Math.min(delay * 2, this.timing.retryMaxMs);
          }
          break;
        }
        case 'unknown':
        case 'foreign':
          if (found.kind === 'unknown' && ++unanswered < this.timing.unknownProbesBeforeBlocked) {
            await this.sleep(delay, gen);
            break;
          }
          // Something else holds the port (or never answers): never advertise it.
          if (this._state.kind !== 'blocked')
            this.log(
              'warn',
              `port ${this.port} on 127.0.0.1 is held by another program (${found.detail}); Burn Rate is not running and terminals are not routed to it`,
            );
          this.setState({ kind: 'blocked', detail: found.detail });
          this._summary = undefined;
          await this.sleep(this.timing.blockedRetryMs, gen);
          unanswered = 0;
          break;
      }
    }
  }

  private get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Follows the engine's summary stream until it ends. */
  private async follow(found: Extract<Probe, { kind: 'burnrate' }>, gen: number): Promise<'ended' | 'unauthorized'> {
    const secrets = [...new Set(this.opts.secrets())];
    for (const secret of secrets) {
      if (this.generation !== gen) return 'ended';
      let opened = false;
      const stream = subscribeSummaries(
        this.port,
        secret,
        {
          onOpen: () => {
            opened = true;
            this.currentSecret = secret;
            const own = this.hosted?.engine.instance === found.health.instance;
            this.lockWaitSince = undefined;
            this.setState(own ? { kind: 'owner', url: this.url, pid: found.health.pid } : { kind: 'follower', url: this.url, pid: found.health.pid });
            if (!own) this.log('info', `following the Burn Rate engine of process ${found.health.pid} on ${this.url}`);
          },
          onSummary: (s) => {
            if (this.generation !== gen) return;
            this._summary = s;
            for (const l of this.summaryListeners) l(s);
          },
          onAlert: (a) => {
            if (this.generation !== gen) return;
            for (const l of this.alertListeners) l(a);
          },
        },
        this.timing.streamIdleMs,
        this.opts.workspace,
        this.hosted?.engine.instance,
      );
      this.stream = stream;
      const end = await stream.done;
      if (this.stream === stream) this.stream = undefined;
      if (end === 'unauthorized') continue;
      if (opened && this.generation === gen && !this.hosted) this.log('info', `the engine on ${this.url} went away; looking for it or taking over`);
      return 'ended';
    }
    return 'unauthorized';
  }

  private async tryHost(gen: number): Promise<'hosted' | 'busy' | 'failed'> {
    const lock = OwnerLock.tryAcquire(this.opts.lockFile);
    if (!lock) {
      // The previous host is still saving (or another window is starting): wait for it.
      this.lockWaitSince ??= Date.now();
      if (Date.now() - this.lockWaitSince > 30_000) {
        this.log(
          'warn',
          `the port is free but process ${OwnerLock.holder(this.opts.lockFile)?.pid ?? '?'} still holds the database lock ${this.opts.lockFile}`,
        );
        this.lockWaitSince = Date.now();
      }
      return 'busy';
    }
    this.lockWaitSince = undefined;
    let engine: HostedEngine;
    try {
      engine = await this.opts.host(this.port, { recordingPaused: this._summary?.recordingPaused ?? false });
    } catch (e) {
      lock.release();
      if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') return 'busy';
      const message = (e as Error).message;
      this.log('error', `could not start the engine: ${message}`);
      this.setState({ kind: 'failed', message });
      return 'failed';
    }
    if (this.generation !== gen) {
      // Stopped while starting: undo.
      await engine.close().catch(() => undefined);
      lock.release();
      return 'busy';
    }
    this.hosted = { engine, lock };
    this.log('info', `this window hosts the Burn Rate engine on ${this.url}`);
    return 'hosted';
  }

  private sleep(ms: number, gen: number): Promise<void> {
    if (this.generation !== gen) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeSleep = done;
    });
  }

  private setState(state: LinkState): void {
    const before = JSON.stringify(this._state);
    this._state = state;
    if (JSON.stringify(state) === before) return;
    for (const l of this.stateListeners) l(state);
  }
}
