import type { ModelInfo, ModelPrice, Provider, TieredPrices } from '@pydantic/genai-prices';
import { priceLibrary } from './priceLibrary';

/**
 * A model's price turned into straight-line arithmetic, so pricing a request costs well under a
 * microsecond instead of the price library's general calculation (unit registry, validation,
 * model matching: 12–30 µs per call, paid on every proxied request).
 *
 * It does exactly what the library's calculator does for the usage keys Burn Rate reports: the
 * same leaf values (a price applies to its tokens minus those of more specific priced kinds, e.g.
 * input minus cache reads), the same long-context tier choice, the same float operations in the
 * same order, so the totals are bit-identical. Each formula is checked against the library on
 * probe usages when it is built, and anything it does not cover (other price keys, time-of-day
 * prices, odd usage values) is left to the library.
 */
export interface PriceFormula {
  /** The library's total_price (USD) for this usage at this time; undefined: ask the library. */
  totalUsd(usage: Readonly<Record<string, number>>, at: Date): number | undefined;
}

type Direction = 'input' | 'output' | 'other';

interface UnitDef {
  usageKey: string;
  dimensions: Record<string, string>;
  per: number;
  /** Never among the usage keys Burn Rate reports: its amount is 0. */
  unreported?: true;
}

/** The price library's units for the keys Burn Rate reports (its data.ts), by price key. */
const UNITS: Record<string, UnitDef> = {
  input_mtok: { usageKey: 'input_tokens', dimensions: { direction: 'input', family: 'tokens' }, per: 1e6 },
  cache_read_mtok: { usageKey: 'cache_read_tokens', dimensions: { direction: 'input', family: 'tokens', token_type: 'cache_read' }, per: 1e6 },
  cache_write_mtok: { usageKey: 'cache_write_tokens', dimensions: { direction: 'input', family: 'tokens', token_type: 'cache_write' }, per: 1e6 },
  cache_write_1h_mtok: { usageKey: 'cache_write_1h_tokens', dimensions: { cache_ttl: '1h', direction: 'input', family: 'tokens', token_type: 'cache_write' }, per: 1e6 },
  output_mtok: { usageKey: 'output_tokens', dimensions: { direction: 'output', family: 'tokens' }, per: 1e6 },
  output_reasoning_mtok: { usageKey: 'output_reasoning_tokens', dimensions: { direction: 'output', family: 'tokens', token_type: 'reasoning' }, per: 1e6 },
  requests_kcount: { usageKey: 'requests', dimensions: { family: 'requests' }, per: 1e3 },
  // Priced kinds never in the usage Burn Rate reports: they count 0 (as in the library) and, being
  // more specific, take nothing away from the kinds above them.
  input_audio_mtok: { usageKey: 'input_audio_tokens', dimensions: { direction: 'input', family: 'tokens', modality: 'audio' }, per: 1e6, unreported: true },
  cache_audio_read_mtok: { usageKey: 'cache_audio_read_tokens', dimensions: { direction: 'input', family: 'tokens', modality: 'audio', token_type: 'cache_read' }, per: 1e6, unreported: true },
  input_image_mtok: { usageKey: 'input_image_tokens', dimensions: { direction: 'input', family: 'tokens', modality: 'image' }, per: 1e6, unreported: true },
  cache_image_read_mtok: { usageKey: 'cache_image_read_tokens', dimensions: { direction: 'input', family: 'tokens', modality: 'image', token_type: 'cache_read' }, per: 1e6, unreported: true },
  input_video_mtok: { usageKey: 'input_video_tokens', dimensions: { direction: 'input', family: 'tokens', modality: 'video' }, per: 1e6, unreported: true },
  output_audio_mtok: { usageKey: 'output_audio_tokens', dimensions: { direction: 'output', family: 'tokens', modality: 'audio' }, per: 1e6, unreported: true },
  output_image_mtok: { usageKey: 'output_image_tokens', dimensions: { direction: 'output', family: 'tokens', modality: 'image' }, per: 1e6, unreported: true },
  output_video_mtok: { usageKey: 'output_video_tokens', dimensions: { direction: 'output', family: 'tokens', modality: 'video' }, per: 1e6, unreported: true },
  web_searches_kcount: { usageKey: 'web_searches', dimensions: { family: 'tool_calls', tool_type: 'web_search' }, per: 1e3, unreported: true },
  storage_searches_kcount: { usageKey: 'storage_searches', dimensions: { family: 'tool_calls', tool_type: 'storage_search' }, per: 1e3, unreported: true },
};

/** The usage keys a formula reads; any other key present means the library must price it. */
const REPORTED_KEYS = new Set(Object.values(UNITS).filter((u) => !u.unreported && u.usageKey !== 'requests').map((u) => u.usageKey));

interface Term {
  usageKey: string;
  direction: Direction;
  per: number;
  /** A flat price, or tiers (ascending start) chosen by the total input tokens. */
  price: number | { base: number; tiers: Array<{ start: number; price: number }> };
  /** Indexes (into leafOrder) of more specific priced units whose tokens this one excludes. */
  subtract: number[];
}

interface CompiledPrice {
  /** In the library's order of leaf computation (most specific first). */
  leafOrder: Array<{ usageKey: string; subtract: number[]; unreported: boolean }>;
  /** In the price's own key order, which is the library's order of summation. */
  terms: Array<{ leafIndex: number; direction: Direction; per: number; price: Term['price'] }>;
  usesTiers: boolean;
  hasRequests: boolean;
}

/** Builds the formula for one catalogue model, or returns undefined when the library must price it. */
export function buildPriceFormula(provider: Provider, model: ModelInfo): PriceFormula | undefined {
  // The library treats these models specially (a minimum billed duration).
  if (provider.id === 'groq' && model.id.startsWith('whisper-large-v3')) return undefined;
  const variants: Array<{ startMs: number | null; compiled: CompiledPrice }> = [];
  if (Array.isArray(model.prices)) {
    for (const conditional of model.prices) {
      const c = conditional.constraint;
      if (c !== undefined && c.type !== 'start_date') return undefined;
      const compiled = compile(conditional.prices);
      if (!compiled) return undefined;
      variants.push({ startMs: c ? new Date(c.start_date).getTime() : null, compiled });
    }
    if (!variants.length) return undefined;
  } else {
    const compiled = compile(model.prices);
    if (!compiled) return undefined;
    variants.push({ startMs: null, compiled });
  }

  const formula: PriceFormula = {
    totalUsd(usage, at) {
      const t = at.getTime();
      if (Number.isNaN(t)) return undefined;
      for (const key in usage) if (!REPORTED_KEYS.has(key)) return undefined;
      // The library's choice: the last variant without a constraint or already started, else the first.
      let chosen = variants[0].compiled;
      for (let i = variants.length - 1; i >= 0; i--) {
        const v = variants[i];
        if (v.startMs === null || t >= v.startMs) {
          chosen = v.compiled;
          break;
        }
      }
      return evaluate(chosen, usage);
    },
  };

  // Proven against the library before use: any difference and the library prices this model.
  const singleModel: Provider = { ...provider, fallback_model_providers: undefined, models: [model] };
  for (const probe of PROBES) {
    for (const at of probeDates(variants.map((v) => v.startMs))) {
      const ours = formula.totalUsd(probe, at);
      let theirs: number | undefined;
      try {
        theirs = priceLibrary().calcPrice({ ...probe }, model.id, { provider: singleModel, timestamp: at })?.total_price;
      } catch {
        theirs = undefined;
      }
      if (ours !== theirs && !(ours === undefined && theirs === undefined)) return undefined;
    }
  }
  return formula;
}

function compile(price: ModelPrice): CompiledPrice | undefined {
  const entries: Array<{ unit: UnitDef; price: Term['price'] }> = [];
  for (const [key, value] of Object.entries(price)) {
    if (value === undefined) continue;
    const unit = UNITS[key];
    if (!unit) return undefined;
    const p = normalisePrice(value);
    if (p === undefined) return undefined;
    entries.push({ unit, price: p });
  }
  // The library's leaf order: more dimensions first, then by usage key.
  const leafUnits = entries
    .map((e) => e.unit)
    .filter((u) => u.usageKey !== 'requests')
    .sort((a, b) => Object.keys(b.dimensions).length - Object.keys(a.dimensions).length || a.usageKey.localeCompare(b.usageKey));
  const leafOrder = leafUnits.map((unit) => ({
    usageKey: unit.usageKey,
    unreported: !!unit.unreported,
    // A unit excludes the tokens of every other priced unit that has all of its dimensions.
    subtract: leafUnits
      .map((other, i) => (other !== unit && Object.entries(unit.dimensions).every(([d, v]) => other.dimensions[d] === v) ? i : -1))
      .filter((i) => i >= 0),
  }));
  return {
    leafOrder,
    terms: entries.map((e) => ({
      leafIndex: e.unit.usageKey === 'requests' ? -1 : leafUnits.indexOf(e.unit),
      direction: (e.unit.dimensions.direction as Direction | undefined) ?? 'other',
      per: e.unit.per,
      price: e.price,
    })),
    usesTiers: entries.some((e) => typeof e.price === 'object'),
    hasRequests: entries.some((e) => e.unit.usageKey === 'requests'),
  };
}

function normalisePrice(value: number | TieredPrices): Term['price'] | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'object' || value === null || !Array.isArray(value.tiers)) return undefined;
  const valid = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0;
  if (!valid(value.base)) return undefined;
  const tiers: Array<{ start: number; price: number }> = [];
  for (const t of value.tiers) {
    if (!valid(t.price) || !Number.isSafeInteger(t.start) || t.start < 0) return undefined;
    tiers.push({ start: t.start, price: t.price });
  }
  return { base: value.base, tiers: tiers.sort((a, b) => a.start - b.start) };
}

const leaves: number[] = [];

function evaluate(c: CompiledPrice, usage: Readonly<Record<string, number>>): number | undefined {
  for (let i = 0; i < c.leafOrder.length; i++) {
    const { usageKey, subtract, unreported } = c.leafOrder[i];
    const value = unreported ? 0 : usage[usageKey];
    // Whole, non-negative token counts only: anything else gets the library's own checks and errors.
    if (value === undefined || !Number.isSafeInteger(value) || value < 0) return undefined;
    let minus = 0;
    for (const j of subtract) minus += leaves[j];
    const leaf = value - minus;
    if (leaf < 0) return undefined;
    leaves[i] = leaf;
  }
  let inputTokens = 0;
  if (c.usesTiers) {
    inputTokens = usage.input_tokens ?? 0;
    if (!Number.isSafeInteger(inputTokens) || inputTokens < 0) return undefined;
  }
  let input = 0;
  let output = 0;
  let other = 0;
  for (const term of c.terms) {
    const amount = term.leafIndex < 0 ? 1 : leaves[term.leafIndex];
    let cost: number;
    if (typeof term.price === 'number') cost = (term.price * amount) / term.per;
    else {
      // As the library: the tier whose start the request's input tokens exceed, per million then per unit.
      let perMillion = 0;
      if (amount > 0) {
        let rate = term.price.base;
        for (const tier of term.price.tiers) if (inputTokens > tier.start) rate = tier.price;
        perMillion = (rate * amount) / 1e6;
      }
      cost = (perMillion * 1e6) / term.per;
    }
    if (term.direction === 'input') input += cost;
    else if (term.direction === 'output') output += cost;
    else other += cost;
  }
  return input + output + other;
}

const PROBES: Array<Record<string, number>> = [
  { input_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0, cache_write_1h_tokens: 0, output_tokens: 0, output_reasoning_tokens: 0 },
  { input_tokens: 1, cache_read_tokens: 0, cache_write_tokens: 0, cache_write_1h_tokens: 0, output_tokens: 1, output_reasoning_tokens: 0 },
  { input_tokens: 1234, cache_read_tokens: 200, cache_write_tokens: 300, cache_write_1h_tokens: 100, output_tokens: 777, output_reasoning_tokens: 55 },
  { input_tokens: 250_001, cache_read_tokens: 40_000, cache_write_tokens: 12_345, cache_write_1h_tokens: 0, output_tokens: 8_191, output_reasoning_tokens: 0 },
  { input_tokens: 1_500_003, cache_read_tokens: 1_000_000, cache_write_tokens: 0, cache_write_1h_tokens: 0, output_tokens: 99_999, output_reasoning_tokens: 99_999 },
  // Invalid on purpose: both sides must refuse it.
  { input_tokens: 10, cache_read_tokens: 20, cache_write_tokens: 0, cache_write_1h_tokens: 0, output_tokens: 1, output_reasoning_tokens: 0 },
];

function probeDates(starts: Array<number | null>): Date[] {
  const dates = [new Date()];
  for (const s of starts) if (s !== null && Number.isFinite(s)) dates.push(new Date(s - 1), new Date(s));
  return dates;
}
