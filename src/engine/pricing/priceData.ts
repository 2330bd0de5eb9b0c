import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Provider } from '@pydantic/genai-prices';
import { writeFileAtomic } from '../database';
import { priceLibraryLoaded } from './priceLibrary';
import { currentCatalogueVersion, PRICE_CATALOGUE_DATE, PRICE_CATALOGUE_VERSION, useCatalogueData, useCatalogueDataWhenLoaded } from './pricing';
import { loadUserPriceOverrides, userPriceOverridesFile } from './userPriceOverrides';

/**
 * Price refresh: the price library (@pydantic/genai-prices) publishes its catalogue as one JSON
 * file. `refreshPriceData` fetches it, checks it, puts it in force and keeps it in the data
 * directory; `loadStoredPriceData` puts the kept copy back in force at the next start. Offline,
 * nothing changes: the bundled catalogue (or the last fetched one) stays. Local overrides (the
 * user's price-overrides.json, then pricing/overrides.json) are looked up before either, so they still win.
 */

export interface PriceDataInfo {
  /** Recorded as each record's priceSource while this data is in force. */
  version: string;
  url: string;
  /** When it was fetched (ISO). */
  fetchedAt: string;
  /** The server's Last-Modified date, when it sent one (ISO). */
  publishedAt?: string;
  sha256: string;
  providers: number;
  models: number;
}

interface StoredPriceData {
  info: PriceDataInfo;
  providers: Provider[];
}

export class PriceRefreshError extends Error {}

/**
 * Where the price library publishes its data: its REMOTE_DATA_JSON_URL, copied so that reading it
 * does not load the library (a unit test checks the two agree).
 */
export const DEFAULT_PRICE_DATA_URL = 'https://raw.githubusercontent.com/pydantic/genai-prices/main/prices/new_data/v2/data.json';

export function priceDataFile(dataDir: string): string {
  return path.join(dataDir, 'prices', 'genai-prices-data.json');
}

/** The price data in force: fetched (with its dates) or the bundled catalogue. */
export function describePrices(info: PriceDataInfo | undefined): string {
  if (!info) return `bundled catalogue ${PRICE_CATALOGUE_VERSION}${PRICE_CATALOGUE_DATE ? ` of ${PRICE_CATALOGUE_DATE}` : ''} (run \`burnrate prices --refresh\` for the latest published prices)`;
  const published = info.publishedAt ? `, published ${info.publishedAt}` : '';
  return `${info.version}: fetched ${info.fetchedAt}${published} from ${info.url}`;
}

/** Fetches the published price data, puts it in force and stores it. Throws PriceRefreshError, changing nothing, on any failure. */
export async function refreshPriceData(opts: { dataDir: string; url?: string; timeoutMs?: number; now?: Date }): Promise<PriceDataInfo> {
  const url = opts.url || DEFAULT_PRICE_DATA_URL;
  const keeping = `; keeping the prices in use (${currentCatalogueVersion()})`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000), headers: { accept: 'application/json' } });
  } catch (e) {
    const cause = (e as Error & { cause?: Error }).cause?.message ?? (e as Error).message;
    throw new PriceRefreshError(`could not fetch prices from ${url} (offline? ${cause})${keeping}`);
  }
  if (!response.ok) throw new PriceRefreshError(`could not fetch prices from ${url}: HTTP ${response.status}${keeping}`);
  const text = await response.text();
  let providers: Provider[];
  try {
    providers = checkProviders(JSON.parse(text));
  } catch (e) {
    throw new PriceRefreshError(`the price data at ${url} is not usable (${(e as Error).message})${keeping}`);
  }
  const sha256 = createHash('sha256').update(text).digest('hex');
  const fetchedAt = (opts.now ?? new Date()).toISOString();
  const lastModified = response.headers.get('last-modified');
  const published = lastModified ? new Date(lastModified) : undefined;
  const info: PriceDataInfo = {
    version: `genai-prices-data@${fetchedAt.slice(0, 10)}+${sha256.slice(0, 8)}`,
    url,
    fetchedAt,
    publishedAt: published && !Number.isNaN(published.getTime()) ? published.toISOString() : undefined,
    sha256,
    providers: providers.length,
    models: providers.reduce((n, p) => n + p.models.length, 0),
  };
  try {
    useCatalogueData(providers, info.version, priceDataDate(info));
  } catch (e) {
    throw new PriceRefreshError(`the price data at ${url} was refused by the price library (${(e as Error).message})${keeping}`);
  }
  const stored: StoredPriceData = { info, providers };
  await writeFileAtomic(priceDataFile(opts.dataDir), Buffer.from(JSON.stringify(stored)));
  return info;
}

/**
 * Puts the stored price data in force, if there is any; a damaged file is reported and the bundled
 * prices kept. The user's own overrides (<data dir>/price-overrides.json) are put in force with it.
 */
export function loadStoredPriceData(dataDir: string, log?: (level: 'info' | 'warn' | 'error', message: string) => void): PriceDataInfo | undefined {
  loadUserPriceOverrides(dataDir, log);
  const file = priceDataFile(dataDir);
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const stored = JSON.parse(raw) as StoredPriceData;
    if (!stored.info?.version) throw new Error('no version');
    if (stored.info.version !== currentCatalogueVersion()) {
      const providers = checkProviders(stored.providers);
      const { version } = stored.info;
      if (priceLibraryLoaded()) useCatalogueData(providers, version, priceDataDate(stored.info));
      else {
        // Read again when the first price is needed, rather than kept in memory until then.
        const reload = () => {
          const again = JSON.parse(fs.readFileSync(file, 'utf8')) as StoredPriceData;
          if (again.info?.version !== version) throw new Error(`it changed since it was read (now ${again.info?.version})`);
          return checkProviders(again.providers);
        };
        useCatalogueDataWhenLoaded(version, priceDataDate(stored.info), reload, (e) => log?.('warn', `ignoring stored price data ${file} (${e.message}); using ${currentCatalogueVersion()}`));
      }
    }
    return stored.info;
  } catch (e) {
    log?.('warn', `ignoring stored price data ${file} (${(e as Error).message}); using ${currentCatalogueVersion()}`);
    return undefined;
  }
}

/** Which price data `loadStoredPriceData` would use, without putting it in force. */
export function storedPriceDataInfo(dataDir: string): PriceDataInfo | undefined {
  try {
    return (JSON.parse(fs.readFileSync(priceDataFile(dataDir), 'utf8')) as StoredPriceData).info;
  } catch {
    return undefined;
  }
}

/** The day fetched price data speaks for: its publication date, else the day it was fetched. */
export function priceDataDate(info: PriceDataInfo): string {
  return (info.publishedAt ?? info.fetchedAt).slice(0, 10);
}

function checkProviders(data: unknown): Provider[] {
  if (!Array.isArray(data)) throw new Error('expected a list of providers');
  if (!data.length) throw new Error('no providers in it');
  for (const p of data) {
    if (typeof p !== 'object' || p === null || typeof (p as Provider).id !== 'string' || !Array.isArray((p as Provider).models)) {
      throw new Error('a provider without an id or models');
    }
  }
  return data as Provider[];
}

/**
 * Keeps the stored price data and the user's overrides in force in a long-running engine: a refresh
 * by another process (`burnrate prices --refresh`, another VS Code window) or an edit of
 * price-overrides.json is picked up within `intervalMs`.
 */
export function watchStoredPriceData(dataDir: string, log: (level: 'info' | 'warn' | 'error', message: string) => void, intervalMs = 60_000): () => void {
  const file = priceDataFile(dataDir);
  const overridesFile = userPriceOverridesFile(dataDir);
  const mtime = (f: string) => {
    try {
      return fs.statSync(f).mtimeMs;
    } catch {
      return 0;
    }
  };
  let seen = mtime(file);
  let seenOverrides = mtime(overridesFile);
  const timer = setInterval(() => {
    const now = mtime(file);
    const nowOverrides = mtime(overridesFile);
    if (nowOverrides !== seenOverrides) {
      seenOverrides = nowOverrides;
      const models = loadUserPriceOverrides(dataDir, log);
      if (models !== undefined) log('info', `your price overrides now price ${models} model(s) (${overridesFile})`);
    }
    if (now === seen) return;
    seen = now;
    const info = loadStoredPriceData(dataDir, log);
    if (info) log('info', `prices now from ${describePrices(info)}`);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
