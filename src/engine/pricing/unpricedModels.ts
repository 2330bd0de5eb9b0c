/**
 * Announces, once per provider and model, a call the price data has no price for: such calls are
 * recorded `unpriced` (never a silent $0) and left out of the totals, which nobody notices unless
 * told. The announcement is an `alert` event (kind "unpricedModel") on the guards' alert channel
 * (management.ts sends it to the windows, the extension shows it) and one `warn` log line
 * (`burnrate serve` prints it).
 *
 * "Once" survives restarts: the announced models are kept in <data dir>/unpriced-models.json. A
 * model that gets a price (an override, refreshed price data) is forgotten when its first priced
 * call is seen, so if it loses the price again it is announced again. Models the user chose to
 * ignore are never announced again. No vscode import.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as os from 'node:os';
import * as path from 'node:path';
import type { GuardAlert } from '../../shared';
import { readStateFile, writeStateFile, type StateFileLog } from '../database';

export const UNPRICED_MODELS_FILE = 'unpriced-models.json';

export interface ModelRef {
  provider: string;
  model: string;
}

export interface UnpricedModelState {
  announced: ModelRef[];
  ignored: ModelRef[];
}

/** Where the announced and ignored models are kept across restarts. */
export interface UnpricedModelStore {
  load(): UnpricedModelState;
  save(state: UnpricedModelState): void;
}

interface FileShape extends UnpricedModelState {
  version: 1;
}

/** unpriced-models.json in the data directory (see stateFile.ts: a damaged file costs at most a repeated announcement). */
export class UnpricedModelFile implements UnpricedModelStore {
  constructor(
    readonly file: string,
    private readonly log: StateFileLog = () => {},
  ) {}

  static inDataDir(dataDir: string, log?: StateFileLog): UnpricedModelFile {
    return new UnpricedModelFile(path.join(dataDir, UNPRICED_MODELS_FILE), log);
  }

  load(): UnpricedModelState {
    const parsed = readStateFile(this.file, this.log) as Partial<FileShape> | undefined;
    return { announced: modelRefs(parsed?.announced), ignored: modelRefs(parsed?.ignored) };
  }

  save(state: UnpricedModelState): void {
    const body: FileShape = { version: 1, ...state };
    writeStateFile(this.file, body, this.log);
  }
}

export interface UnpricedModelsOptions {
  store: UnpricedModelStore;
  /** The user's overrides file, named in the announcement as the place to set a price. */
  overridesFile: string;
  log?: (level: 'warn', message: string) => void;
  now?: () => number;
}

/** Emits "alert" (GuardAlert of kind "unpricedModel") at the first unpriced call of each model. */
export class UnpricedModels extends EventEmitter {
  private readonly announced = new Set<string>();
  private readonly ignored = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly opts: UnpricedModelsOptions) {
    super();
    this.now = opts.now ?? Date.now;
    const state = opts.store.load();
    for (const m of state.announced) this.announced.add(modelKey(m.provider, m.model));
    for (const m of state.ignored) this.ignored.add(modelKey(m.provider, m.model));
  }

  /**
   * Counts one record's price look-up (costing.ts modelPriceKnown, as the proxy reports it beside the
   * record): announces the model at its first unpriced call, forgets it at its first priced one.
   */
  observe(provider: string, model: string | null, modelPriceKnown: boolean): void {
    if (model === null) return;
    if (modelPriceKnown) {
      // The common case, and on every call: nothing announced, nothing to forget.
      if (this.announced.size) this.priced(provider, model);
      return;
    }
    const key = modelKey(provider, model);
    if (this.announced.has(key) || this.ignored.has(key)) return;
    this.announced.add(key);
    // Remembered before it goes out: a crash now costs a missed announcement, never a repeated one.
    this.save();
    const message = `no price known for ${provider} model "${model}": its calls are recorded unpriced; set one in ${homeRelative(this.opts.overridesFile)} or run burnrate prices --refresh`;
    const alert: GuardAlert = { kind: 'unpricedModel', id: randomUUID(), at: this.now(), provider, model, workspace: null, session: null, message };
    this.opts.log?.('warn', message);
    this.emit('alert', alert);
  }

  /** The model has a price now: should it lose it again, it is announced again. */
  priced(provider: string, model: string): void {
    const key = modelKey(provider, model);
    if (!this.announced.delete(key)) return;
    this.save();
  }

  /** Never announce this model again (the notification's Ignore). */
  ignore(provider: string, model: string): void {
    const key = modelKey(provider, model);
    if (this.ignored.has(key)) return;
    this.ignored.add(key);
    this.save();
  }

  /** The models announced and not priced since, and those ignored. */
  state(): UnpricedModelState {
    return { announced: [...this.announced].map(modelRef), ignored: [...this.ignored].map(modelRef) };
  }

  private save(): void {
    this.opts.store.save(this.state());
  }
}

function modelKey(provider: string, model: string): string {
  return `${provider}\u0000${model}`;
}

function modelRef(key: string): ModelRef {
  const cut = key.indexOf('\u0000');
  return { provider: key.slice(0, cut), model: key.slice(cut + 1) };
}

function modelRefs(list: unknown): ModelRef[] {
  if (!Array.isArray(list)) return [];
  return list.filter((m): m is ModelRef => typeof m?.provider === 'string' && typeof m?.model === 'string').map((m) => ({ provider: m.provider, model: m.model }));
}

/** A path under the home directory written with "~", as users write it. */
function homeRelative(file: string): string {
  const home = os.homedir();
  return home && file.startsWith(home + path.sep) ? `~${file.slice(home.length)}` : file;
}
