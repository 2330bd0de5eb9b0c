/**
 * What-if pricing: the same usage priced at another model's list prices (`burnrate report
 * --what-if`, the dashboard's picker, the cheaper-model leak hint).
 *
 * The usage is summed over many requests in the normalised record fields (inputTokens counts every
 * input token, cache reads and writes included; outputTokens every output token, reasoning
 * included), which are the price library's own usage keys: the library prices it, so cache reads,
 * cache writes and a separate reasoning price apply exactly as on a proxied request. Two things a
 * sum of requests cannot say are left out on purpose: long-context tiers (the whole sum would pass
 * every threshold, so every kind is priced at its base rate) and 1-hour cache writes (records keep
 * all writes in one column: they are priced at the model's cache-write rate).
 */
import type { ModelInfo, ModelPrice, Provider } from '@pydantic/genai-prices';
import { DEFAULT_ROUTES } from '../providers';
import { priceLibrary } from './priceLibrary';
import { currentModelPrice, usdToNanos } from './pricing';

/** Usage summed over requests, in the record's normalised fields (see database/record.ts). */
export interface UsageTotals {
  requests: number;
  /** Every input token, cached ones included. */
  inputTokens: number;
  /** Of inputTokens. */
  cacheReadTokens: number;
  /** Of inputTokens. */
  cacheWriteTokens: number;
  /** Every output token, reasoning included. */
  outputTokens: number;
  /** Of outputTokens. */
  reasoningTokens: number;
}

/** A model to price usage at: resolved once, then priced for any number of usage totals. */
export interface WhatIfModel {
  /** The price catalogue's provider id, e.g. "openai". */
  pricesProvider: string;
  /** The catalogue's model id, e.g. "gpt-4o-mini". */
  model: string;
  /** How the model is named in answers: "openai/gpt-4o-mini". */
  label: string;
  /** Where its price comes from (catalogue version or overrides file). */
  source: string;
  /** The model with its price in force now, tiers at their base rate, as a provider the library prices with. */
  flat: Provider;
  price: ModelPrice;
  /** USD per request (a price per thousand requests), added per request of the usage. */
  perRequestUsd: number;
}

/** Usage priced at a model, in integer nano-dollars, or why the model cannot price it (never a silent $0). */
export type WhatIfCost = { nanos: number } | { unpriced: string };

/**
 * The model `name` names: "provider/model", "provider:model" (the provider as priced, or a proxy
 * route's id), or a bare model id looked up in
 * `pricesProviders` in order, through the same price look-up the proxy uses (overrides first).
 */
export function resolveWhatIfModel(name: string, pricesProviders: readonly string[]): WhatIfModel | undefined {
  const trimmed = name.trim();
  if (!trimmed) return undefined;
  const sep = trimmed.search(/[/:]/);
  // The prefix is a prices provider ("google/…") or a route of the proxy that bills through one ("gemini/…").
  const prefix = sep > 0 ? trimmed.slice(0, sep) : '';
  const provider = pricesProviders.includes(prefix) ? prefix : DEFAULT_ROUTES.find((r) => r.id === prefix)?.pricesProvider;
  if (provider && pricesProviders.includes(provider)) {
    const found = whatIfModelOf(provider, trimmed.slice(sep + 1));
    if (found) return found;
  }
  for (const pricesProvider of pricesProviders) {
    const found = whatIfModelOf(pricesProvider, trimmed);
    if (found) return found;
  }
  return undefined;
}

function whatIfModelOf(pricesProvider: string, model: string): WhatIfModel | undefined {
  const entry = currentModelPrice(pricesProvider, model);
  if (!entry) return undefined;
  const price: ModelPrice = {};
  let perRequestUsd = 0;
  for (const [key, value] of Object.entries(entry.price)) {
    if (value === undefined) continue;
    const base = typeof value === 'number' ? value : value.base;
    // The library charges a per-request price once per calculation; a sum of requests pays it per request.
    if (key === 'requests_kcount') perRequestUsd = base / 1000;
    else price[key] = base;
  }
  const info: ModelInfo = { id: entry.info.id, name: entry.info.name, match: { equals: entry.info.id }, prices: price };
  return {
    pricesProvider,
    model: entry.info.id,
    label: `${pricesProvider}/${entry.info.id}`,
    source: entry.source,
    flat: { id: pricesProvider, name: pricesProvider, api_pattern: '', models: [info] },
    price,
    perRequestUsd,
  };
}

/** `usage` priced at `model`'s list prices (base rates, see above), or why it cannot be. */
export function whatIfNanos(usage: UsageTotals, model: WhatIfModel): WhatIfCost {
  const missing = missingPrice(usage, model.price);
  if (missing) return { unpriced: `${model.label} has no ${missing} price` };
  let usd: number;
  try {
    const result = priceLibrary().calcPrice(
      {
        input_tokens: usage.inputTokens,
        cache_read_tokens: usage.cacheReadTokens,
        cache_write_tokens: usage.cacheWriteTokens,
        output_tokens: usage.outputTokens,
        output_reasoning_tokens: usage.reasoningTokens,
      },
      model.model,
      { provider: model.flat },
    );
    if (!result) return { unpriced: `no price known for ${model.label}` };
    usd = result.total_price;
  } catch (e) {
    return { unpriced: `could not price this usage at ${model.label}: ${(e as Error).message}` };
  }
  return { nanos: usdToNanos(usd) + usdToNanos(usage.requests * model.perRequestUsd) };
}

/**
 * The kind of token in `usage` that `price` has no rate for, if any. Cache reads and writes without
 * their own rate are billed as input, and reasoning without its own rate as output (what the
 * library does, and what providers without a cache-write price, such as OpenAI, bill).
 */
function missingPrice(usage: UsageTotals, price: ModelPrice): string | undefined {
  const has = (key: string) => price[key] !== undefined;
  const plainInput = usage.inputTokens - (has('cache_read_mtok') ? usage.cacheReadTokens : 0) - (has('cache_write_mtok') ? usage.cacheWriteTokens : 0);
  if (plainInput > 0 && !has('input_mtok')) return 'input-token';
  const plainOutput = usage.outputTokens - (has('output_reasoning_mtok') ? usage.reasoningTokens : 0);
  if (plainOutput > 0 && !has('output_mtok')) return 'output-token';
  return undefined;
}

/** Adds up costs of parts: the priced ones' nanos, and how many parts could not be priced (with the first reason). */
export function sumWhatIf(costs: readonly WhatIfCost[]): { nanos: number; unpriced: number; reason?: string } {
  let nanos = 0;
  let unpriced = 0;
  let reason: string | undefined;
  for (const c of costs) {
    if ('nanos' in c) nanos += c.nanos;
    else {
      unpriced++;
      reason ??= c.unpriced;
    }
  }
  return { nanos, unpriced, reason };
}
