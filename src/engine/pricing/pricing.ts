import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ModelInfo, ModelPrice, Provider, TieredPrices } from '@pydantic/genai-prices';
import catalogueDatesFile from '../../../pricing/catalogue-dates.json';
import overridesFile from '../../../pricing/overrides.json';
import serviceTiersFile from '../../../pricing/service-tiers.json';
import type { PriceRow } from '../../shared';
import { buildPriceFormula, type PriceFormula } from './priceFormula';
import { priceLibrary, priceLibraryLoaded, whenPriceLibraryLoads } from './priceLibrary';
import type { TokenUsage } from '../providers';

/** Version of the bundled price catalogue, recorded with every priced request. */
export const PRICE_CATALOGUE_VERSION = `genai-prices@${readCatalogueVersion()}`;

/** When the bundled catalogue's prices were published (YYYY-MM-DD), from pricing/catalogue-dates.json. */
export const PRICE_CATALOGUE_DATE: string | undefined = (catalogueDatesFile['genai-prices'] as Record<string, string>)[PRICE_CATALOGUE_VERSION.slice('genai-prices@'.length)];

/** The catalogue in force: the bundled one, or refreshed price data (see priceData.ts). */
let catalogueVersion = PRICE_CATALOGUE_VERSION;
let catalogueDate: string | undefined = PRICE_CATALOGUE_DATE;

/** Which catalogue prices requests now, as recorded in each record's priceSource. */
export function currentCatalogueVersion(): string {
  return catalogueVersion;
}

/** The date (YYYY-MM-DD) of the prices in force, when known. */
export function currentCatalogueDate(): string | undefined {
  return catalogueDate;
}

/**
 * Prices from now on with `providers` (the price library's published data format) instead of the
 * bundled catalogue. Throws, and changes nothing, when the data does not validate.
 */
export function useCatalogueData(providers: Provider[], version: string, date?: string): void {
  priceLibrary().updatePrices(({ setProviderData }: { setProviderData: (data: Provider[]) => void }) => setProviderData(providers));
  catalogueVersion = version;
  catalogueDate = date;
  resolvedModels.clear();
}

/**
 * Puts price data already checked once (stored after a refresh) in force without loading the price
 * library now: records name `version` as their price source from now on, and the data itself is
 * read with `load` and handed to the library when it first loads (the first price needed), so an
 * engine that prices nothing never pays for either. If the library refuses the data then, the
 * bundled catalogue stays in force and `refused` says why.
 */
export function useCatalogueDataWhenLoaded(version: string, date: string | undefined, load: () => Provider[], refused: (e: Error) => void): void {
  if (priceLibraryLoaded()) return useCatalogueData(load(), version, date);
  catalogueVersion = version;
  catalogueDate = date;
  const first = catalogueOnLoad === undefined;
  catalogueOnLoad = { version, date, load, refused };
  if (!first) return;
  whenPriceLibraryLoads(() => {
    const pending = catalogueOnLoad!;
    catalogueOnLoad = undefined;
    try {
      useCatalogueData(pending.load(), pending.version, pending.date);
    } catch (e) {
      catalogueVersion = PRICE_CATALOGUE_VERSION;
      catalogueDate = PRICE_CATALOGUE_DATE;
      pending.refused(e as Error);
    }
  });
}

let catalogueOnLoad: { version: string; date: string | undefined; load: () => Provider[]; refused: (e: Error) => void } | undefined;

export type { CostStatus } from '../database';

export interface PriceQuote {
  /** Integer nano-dollars (1e-9 USD): money is summed as integers, never floats. */
  costNanos: number;
  /** The catalogue model id that matched, when one did. */
  matchedModel?: string;
  /** False when no price is known for the model: the cost is then 0 and the request counts as unpriced. */
  priced: boolean;
  /** Set when the price was only approximated (e.g. an unknown service tier). */
  approximation?: string;
  /** Why an unpriced quote has no price, when the model is known but a kind of its usage is not priced. */
  unpricedReason?: string;
  source: string;
}

interface TierRule { model: string; multiplier: number | null }
const serviceTiers = serviceTiersFile.tiers as Record<string, Record<string, TierRule[]>>;
let overrideModels = overridesFile.providers as Record<string, ModelInfo[]>;
/** The user's own overrides (<data dir>/price-overrides.json, see userPriceOverrides.ts): they win over everything. */
let userOverrideModels: Record<string, ModelInfo[]> = {};

/** Recorded as the priceSource of requests the bundled overrides price. */
export const BUNDLED_OVERRIDES_SOURCE = 'pricing/overrides.json';
/** Recorded as the priceSource of requests the user's own overrides price (the file's name, not its path: records are exported). */
export const USER_OVERRIDES_SOURCE = 'price-overrides.json';

/** Replaces the local overrides (pricing/overrides.json by default); they are looked up before any catalogue. */
export function setPriceOverrides(providers: Record<string, ModelInfo[]>): void {
  overrideModels = providers;
  resolvedModels.clear();
}

/** Replaces the user's own overrides; looked up before pricing/overrides.json and any catalogue. */
export function setUserPriceOverrides(providers: Record<string, ModelInfo[]>): void {
  userOverrideModels = providers;
  resolvedModels.clear();
}

/** The override lists in the order they are looked up, each with the priceSource it records. */
function overrideLayers(): Array<[Record<string, ModelInfo[]>, string]> {
  return [[userOverrideModels, USER_OVERRIDES_SOURCE], [overrideModels, BUNDLED_OVERRIDES_SOURCE]];
}

const NANOS_PER_USD = 1_000_000_000;

export function usdToNanos(usd: number): number {
  // Prices are decimal numbers with at most a few digits; rounding the float product to whole
  // nanos recovers the exact decimal value (float error is ~1e-16 relative, far below a nano).
  return Math.round(usd * NANOS_PER_USD);
}

export function nanosToUsd(nanos: number): number {
  return nanos / NANOS_PER_USD;
}

/**
 * Prices one request's usage. `pricesProvider` is the provider id in the price catalogue
 * (null for local, free providers). Long-context tiers, cache reads/writes (5 m and 1 h) and
 * reasoning tokens are applied by the catalogue's calculator; the served tier by service-tiers.json.
 */
export function priceUsage(
  pricesProvider: string,
  model: string,
  usage: TokenUsage,
  options: { serviceTier?: string; at?: Date } = {},
): PriceQuote {
  const usageKeys: Record<string, number> = {
    input_tokens: usage.inputTokens,
    cache_read_tokens: usage.cacheReadTokens,
    cache_write_tokens: usage.cacheWriteTokens,
    cache_write_1h_tokens: usage.cacheWrite1hTokens,
    output_tokens: usage.outputTokens,
    output_reasoning_tokens: usage.reasoningTokens,
  };
  const timestamp = options.at ?? new Date();
  if (usage.audioInputTokens || usage.audioCacheReadTokens || usage.audioOutputTokens) {
    const missing = addAudioUsage(pricesProvider, model, usage, usageKeys);
    if (missing) return { costNanos: 0, priced: false, unpricedReason: `no ${missing} price known for model "${model}"`, source: catalogueVersion };
  }
  const found = calcWithOverrides(pricesProvider, model, usageKeys, timestamp);
  if (!found) return { costNanos: 0, priced: false, source: catalogueVersion };
  let costNanos = usdToNanos(found.totalUsd);
  let approximation: string | undefined;
  const tier = normaliseTier(options.serviceTier);
  if (tier) {
    const multiplier = tierMultiplier(pricesProvider, tier, model);
    if (multiplier === undefined) approximation = `no published price for service tier "${tier}"; priced at the standard rate`;
    else costNanos = Math.round(costNanos * multiplier);
  }
  return { costNanos, matchedModel: found.modelId, priced: true, approximation, source: found.source };
}

/** The price library's usage key and price key for each kind of audio token. */
const AUDIO_KEYS = [
  { field: 'audioInputTokens', usageKey: 'input_audio_tokens', priceKey: 'input_audio_mtok', label: 'audio input' },
  { field: 'audioCacheReadTokens', usageKey: 'cache_audio_read_tokens', priceKey: 'cache_audio_read_mtok', label: 'cached audio input' },
  { field: 'audioOutputTokens', usageKey: 'output_audio_tokens', priceKey: 'output_audio_mtok', label: 'audio output' },
] as const;

/**
 * Adds the audio tokens to the library's usage keys. The library prices a kind of token its model has
 * no price for at the text rate, silently; that would be a wrong exact cost, so such usage is unpriced
 * instead: returns the missing kind's label.
 */
function addAudioUsage(pricesProvider: string, model: string, usage: TokenUsage, usageKeys: Record<string, number>): string | undefined {
  const info = resolveCached(pricesProvider, model)?.provider.models[0];
  const price = info ? (currentPrice(info) as Record<string, unknown>) : undefined;
  for (const k of AUDIO_KEYS) {
    const tokens = usage[k.field] ?? 0;
    if (!tokens) continue;
    if (price && price[k.priceKey] === undefined) return k.label;
    usageKeys[k.usageKey] = tokens;
  }
  return undefined;
}

interface ResolvedModel {
  /** A one-model provider, so later look-ups skip matching against the whole catalogue. */
  provider: Provider;
  source: string;
  /** Built on first use; null when the library must price this model itself. */
  formula?: PriceFormula | null;
}

/** (catalogue provider, model name) → the catalogue entry that prices it; null when none does. */
const resolvedModels = new Map<string, ResolvedModel | null>();
const MAX_RESOLVED_MODELS = 2_000;

function calcWithOverrides(
  pricesProvider: string,
  model: string,
  usage: Record<string, number>,
  timestamp: Date,
): { totalUsd: number; modelId: string; source: string } | undefined {
  const resolved = resolveCached(pricesProvider, model);
  if (!resolved) return undefined;
  if (resolved.formula === undefined) resolved.formula = buildPriceFormula(resolved.provider, resolved.provider.models[0]) ?? null;
  const totalUsd = resolved.formula?.totalUsd(usage, timestamp);
  if (totalUsd !== undefined) return { totalUsd, modelId: resolved.provider.models[0].id, source: resolved.source };
  const result = priceLibrary().calcPrice(usage, model, { provider: resolved.provider, timestamp });
  if (!result) return undefined;
  return { totalUsd: result.total_price, modelId: result.model.id, source: resolved.source };
}

/** The catalogue entry that prices `model`, resolved once per provider and model name. */
function resolveCached(pricesProvider: string, model: string): ResolvedModel | null {
  const key = `${pricesProvider}\u0000${model}`;
  let resolved = resolvedModels.get(key);
  if (resolved === undefined) {
    resolved = resolveCatalogueModel(pricesProvider, model);
    if (resolvedModels.size >= MAX_RESOLVED_MODELS) resolvedModels.clear();
    resolvedModels.set(key, resolved);
  }
  return resolved;
}

function resolveCatalogueModel(pricesProvider: string, model: string): ResolvedModel | null {
  const probe = { input_tokens: 1, output_tokens: 1 };
  for (const [layer, source] of overrideLayers()) {
    const local = layer[pricesProvider];
    if (!local?.length) continue;
    const provider: Provider = { id: pricesProvider, name: pricesProvider, api_pattern: '', models: local };
    const result = priceLibrary().calcPrice(probe, model, { provider });
    if (result) return { provider: { ...provider, models: [result.model] }, source };
  }
  const result = priceLibrary().calcPrice(probe, model, { providerId: pricesProvider });
  if (!result) return null;
  return { provider: { ...result.provider, fallback_model_providers: undefined, models: [result.model] }, source: catalogueVersion };
}

/** Tiers that are the standard price need no rule. */
function normaliseTier(tier: string | undefined): string | undefined {
  if (!tier) return undefined;
  const t = tier.toLowerCase();
  if (t === 'default' || t === 'standard' || t === 'auto' || t === 'scale' || t === 'standard_only') return undefined;
  return t;
}

function tierMultiplier(pricesProvider: string, tier: string, model: string): number | undefined {
  const rules = serviceTiers[pricesProvider]?.[tier];
  const rule = rules?.find((r) => model.toLowerCase().startsWith(r.model.toLowerCase()));
  return rule?.multiplier ?? undefined;
}

/** One row of the price table shown by `burnrate prices` (declared with the dashboard's types). */
export type { PriceRow } from '../../shared';

/** The price table for the given catalogue providers (current prices), local overrides first. */
export function listPrices(pricesProviders: string[], filter?: string): PriceRow[] {
  const rows: PriceRow[] = [];
  const needle = filter?.toLowerCase();
  for (const providerId of pricesProviders) {
    const models: Array<[ModelInfo, string]> = [
      ...overrideLayers().flatMap(([layer, source]) => (layer[providerId] ?? []).map((m): [ModelInfo, string] => [m, source])),
      ...(priceLibrary().findProvider({ providerId })?.models ?? []).map((m): [ModelInfo, string] => [m, catalogueVersion]),
    ];
    for (const [info, source] of models) {
      if (needle && !info.id.toLowerCase().includes(needle) && !(info.name ?? '').toLowerCase().includes(needle)) continue;
      rows.push({ ...priceRow(providerId, info, source), sourceDate: source === catalogueVersion ? catalogueDate : undefined });
    }
  }
  return rows;
}

/**
 * Finds which catalogue provider prices a bare model name (for `burnrate estimate`), trying the
 * given providers in order. Accepts "provider:model" too.
 */
export function resolveModel(model: string, pricesProviders: string[]): { pricesProvider: string; model: string } | undefined {
  const colon = model.indexOf(':');
  if (colon > 0 && pricesProviders.includes(model.slice(0, colon))) {
    return { pricesProvider: model.slice(0, colon), model: model.slice(colon + 1) };
  }
  const probe = { input_tokens: 1, output_tokens: 1 };
  for (const pricesProvider of pricesProviders) {
    if (calcWithOverrides(pricesProvider, model, probe, new Date())) return { pricesProvider, model };
  }
  return undefined;
}

function currentPrice(info: ModelInfo): ModelPrice {
  if (!Array.isArray(info.prices)) return info.prices;
  // Conditional prices are ordered oldest first; the last unconstrained-or-started one applies now.
  const now = new Date();
  for (let i = info.prices.length - 1; i >= 0; i--) {
    const c = info.prices[i].constraint;
    if (!c || (c.type === 'start_date' && now >= new Date(c.start_date))) return info.prices[i].prices;
  }
  return info.prices[0].prices;
}

function basePrice(p: number | TieredPrices | undefined): number | undefined {
  if (p === undefined) return undefined;
  return typeof p === 'number' ? p : p.base;
}

function firstTierStart(p: number | TieredPrices | undefined): number | undefined {
  return typeof p === 'object' && p.tiers.length ? p.tiers[0].start : undefined;
}

declare const BURNRATE_PRICES_VERSION: string | undefined;

function readCatalogueVersion(): string {
  // Bundles get the version baked in by esbuild; from source, read it next to the package.
  if (typeof BURNRATE_PRICES_VERSION === 'string') return BURNRATE_PRICES_VERSION;
  try {
    const entry = require.resolve('@pydantic/genai-prices');
    const pkg = path.join(entry.slice(0, entry.lastIndexOf('node_modules')), 'node_modules/@pydantic/genai-prices/package.json');
    return (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { version: string }).version;
  } catch {
    return 'bundled';
  }
}

/**
 * The current base rates (USD per million tokens, no long-context tier) of the catalogue entry that
 * prices `model`, for estimates such as "what these cache reads would have cost uncached".
 */
export function baseRates(pricesProvider: string, model: string): PriceRow | undefined {
  const resolved = resolveCached(pricesProvider, model);
  const info = resolved?.provider.models[0];
  if (!resolved || !info) return undefined;
  return priceRow(pricesProvider, info, resolved.source);
}

/** The catalogue entry (overrides first) that prices `model`, and its price in force now, tiers included. */
export function currentModelPrice(pricesProvider: string, model: string): { info: ModelInfo; price: ModelPrice; source: string } | undefined {
  const resolved = resolveCached(pricesProvider, model);
  const info = resolved?.provider.models[0];
  return resolved && info ? { info, price: currentPrice(info), source: resolved.source } : undefined;
}

/** A model's current base rates as a price-table row. */
function priceRow(provider: string, info: ModelInfo, source: string): PriceRow {
  const price = currentPrice(info);
  return {
    provider,
    model: info.id,
    name: info.name,
    inputPerMTok: basePrice(price.input_mtok),
    cachedInputPerMTok: basePrice(price.cache_read_mtok),
    cacheWritePerMTok: basePrice(price.cache_write_mtok),
    outputPerMTok: basePrice(price.output_mtok),
    longContextThreshold: firstTierStart(price.input_mtok),
    source,
  };
}

/** Nano-dollars for `tokens` at `usdPerMTok` ($/MTok × tokens = micro-dollars). */
export function tokensToNanos(tokens: number, usdPerMTok: number | undefined): number {
  return usdPerMTok ? Math.round(tokens * usdPerMTok * 1000) : 0;
}
