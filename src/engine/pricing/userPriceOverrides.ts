/**
 * The user's own price overrides: <data dir>/price-overrides.json, in the shape of the bundled
 * pricing/overrides.json ({ "providers": { "<pricesProvider>": [ModelInfo, …] } }, USD per million
 * tokens). They win over the bundled overrides and over any catalogue, bundled or fetched, so a model
 * the price data does not know (or prices wrongly) is priced exactly from then on; `burnrate reprice`
 * fixes the records before. Read at engine start and by every CLI command that prices (with the
 * stored price data, see priceData.ts), again when the file changes, and written by "Set a Price"
 * (POST /_burnrate/prices/override). No vscode import.
 */
import * as path from 'node:path';
import type { ModelInfo, ModelPrice } from '@pydantic/genai-prices';
import { setUserPriceOverrides } from './pricing';
import { readStateFile, writeStateFile, type StateFileLog } from '../database';

export const USER_PRICE_OVERRIDES_FILE = 'price-overrides.json';

export function userPriceOverridesFile(dataDir: string): string {
  return path.join(dataDir, USER_PRICE_OVERRIDES_FILE);
}

interface OverridesFileShape {
  $comment?: string;
  providers: Record<string, ModelInfo[]>;
}

const FILE_COMMENT =
  'Your own prices, in USD per million tokens (…_mtok), keyed by price-catalogue provider id (as in Burn Rate\'s pricing/providers.json); the same shape as its pricing/overrides.json. ' +
  'They win over the bundled prices and over refreshed ones. "match" may be left out: the model id must then match exactly. Read again within a minute of a change.';

/**
 * Puts the file's overrides in force (none when there is no file). A damaged file is reported and
 * changes nothing. Returns how many models it prices, or undefined when it could not be used.
 */
export function loadUserPriceOverrides(dataDir: string, log: StateFileLog = () => {}): number | undefined {
  const file = userPriceOverridesFile(dataDir);
  const parsed = readStateFile(file, log);
  if (parsed === undefined) {
    setUserPriceOverrides({});
    return 0;
  }
  try {
    const providers = checkOverrides(parsed);
    setUserPriceOverrides(providers);
    return Object.values(providers).reduce((n, models) => n + models.length, 0);
  } catch (e) {
    log('warn', `ignoring ${file}: ${(e as Error).message}`);
    return undefined;
  }
}

/** One model's price as "Set a Price" asks for it: USD per million tokens. */
export interface UserPrice {
  pricesProvider: string;
  model: string;
  inputPerMTok: number;
  /** Omitted: cached input tokens are charged as input. */
  cachedInputPerMTok?: number;
  outputPerMTok: number;
}

/** Writes (or replaces) one model's price in the user's overrides file and puts the file in force. Throws when it cannot be saved. */
export function setUserPrice(dataDir: string, price: UserPrice, now = new Date()): ModelInfo {
  const file = userPriceOverridesFile(dataDir);
  let providers: Record<string, ModelInfo[]> = {};
  const existing = readStateFile(file, () => {});
  if (existing !== undefined) {
    try {
      providers = checkOverrides(existing);
    } catch (e) {
      // Never overwrite what the user wrote by hand and we could not read.
      throw new Error(`${file} could not be read (${(e as Error).message}); fix or remove it first`, { cause: e });
    }
  }
  const prices: ModelPrice = { input_mtok: price.inputPerMTok, output_mtok: price.outputPerMTok };
  if (price.cachedInputPerMTok !== undefined) prices.cache_read_mtok = price.cachedInputPerMTok;
  const entry: ModelInfo = {
    id: price.model,
    match: { equals: price.model },
    price_comments: `Set in Burn Rate on ${now.toISOString().slice(0, 10)}.`,
    prices,
  };
  const models = (providers[price.pricesProvider] ?? []).filter((m) => m.id !== price.model);
  providers[price.pricesProvider] = [entry, ...models];
  const body: OverridesFileShape = { $comment: FILE_COMMENT, providers };
  let failure = '';
  if (!writeStateFile(file, body, (_level, message) => (failure = message))) throw new Error(failure);
  setUserPriceOverrides(providers);
  return entry;
}

/** The file's providers, each model with a match (exactly its id when the user left it out); throws what is wrong. */
function checkOverrides(data: unknown): Record<string, ModelInfo[]> {
  const providers = (data as Partial<OverridesFileShape> | null)?.providers;
  if (typeof providers !== 'object' || providers === null || Array.isArray(providers)) throw new Error('expected {"providers": {"<provider>": [models…]}}');
  const checked: Record<string, ModelInfo[]> = {};
  for (const [provider, models] of Object.entries(providers)) {
    if (!Array.isArray(models)) throw new Error(`"${provider}" must be a list of models`);
    checked[provider] = models.map((m: Partial<ModelInfo> | null, i) => {
      if (typeof m !== 'object' || m === null || typeof m.id !== 'string' || !m.id) throw new Error(`${provider} model #${i + 1} has no "id"`);
      if (typeof m.prices !== 'object' || m.prices === null) throw new Error(`${provider} model "${m.id}" has no "prices"`);
      return { ...m, id: m.id, prices: m.prices, match: m.match ?? { equals: m.id } };
    });
  }
  return checked;
}
