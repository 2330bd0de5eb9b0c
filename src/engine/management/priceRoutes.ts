/**
 * The management API's routes for models without a price: the announced and ignored ones, Ignore,
 * and Set a Price (a user override, see userPriceOverrides.ts). management.ts dispatches to them,
 * reads the body and sends the answer.
 */
import type { ManagementRouteName, ModelRepriceAnswer, PriceOverrideAnswer } from '../../shared';
import { bad, type BodyFields, type RouteAnswer } from './guardRoutes';
import { type ModelRepriceResult, nanosToUsd, type UnpricedModels, setUserPrice, userPriceOverridesFile } from '../pricing';

export interface PriceRouteContext {
  unpricedModels: UnpricedModels;
  /** Where the user's price-overrides.json lives. */
  dataDir: string;
  /** The price-catalogue provider of a route's provider id (null: a free local provider; undefined: no such provider). */
  pricesProviderOf: (provider: string) => string | null | undefined;
  /** Reprices the model's unpriced history once its price is set (in the store's worker). */
  repriceModel: (provider: string, model: string) => Promise<ModelRepriceResult>;
}

/** A USD-per-million-tokens figure from the body: a finite number ≥ 0 (and a sane one), or undefined. */
function perMTok(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 100_000 ? v : undefined;
}

type PriceRouteAnswer = (ctx: PriceRouteContext, body: BodyFields) => Promise<RouteAnswer>;

const MODEL_KEY_EXPECTED = 'expected {"provider": "<provider id>", "model": "<model>"}';

/** Each price route's answer, by its name in ManagementRoutes (management.ts dispatches to them). */
export const PRICE_ROUTE_ANSWERS = {
  unpricedModels: async (ctx) => ({ status: 200, body: ctx.unpricedModels.state() }),
  unpricedModelIgnore: async (ctx, b) => {
    const { provider, model } = modelKeyOf(b);
    if (!provider || !model) return bad(MODEL_KEY_EXPECTED);
    ctx.unpricedModels.ignore(provider, model);
    return { status: 200, body: ctx.unpricedModels.state() };
  },
  priceOverride: setPriceOverride,
  repriceModel: async (ctx, b) => {
    const { provider, model } = modelKeyOf(b);
    if (!provider || !model) return bad(MODEL_KEY_EXPECTED);
    return { status: 200, body: (await repriceHistory(ctx, provider, model)) satisfies ModelRepriceAnswer };
  },
} satisfies Partial<Record<ManagementRouteName, PriceRouteAnswer>>;

export type PriceRouteName = keyof typeof PRICE_ROUTE_ANSWERS;

/** The provider and model a body names, each undefined when missing or implausible. */
function modelKeyOf(b: BodyFields): { provider?: string; model?: string } {
  const provider = typeof b.provider === 'string' && b.provider.length <= 100 ? b.provider : undefined;
  const model = typeof b.model === 'string' && b.model.length > 0 && b.model.length <= 200 ? b.model : undefined;
  return { provider, model };
}

async function setPriceOverride(ctx: PriceRouteContext, b: BodyFields): Promise<RouteAnswer> {
  const { provider, model } = modelKeyOf(b);
  if (!provider || !model) return bad('expected {"provider", "model", "inputPerMTok", "outputPerMTok", "cachedInputPerMTok"?} (USD per million tokens)');
  const pricesProvider = ctx.pricesProviderOf(provider);
  if (pricesProvider === undefined) return bad(`no provider "${provider}"`);
  if (pricesProvider === null) return bad(`"${provider}" is a free local provider: its calls cost nothing`);
  const inputPerMTok = perMTok(b.inputPerMTok);
  const outputPerMTok = perMTok(b.outputPerMTok);
  const cachedGiven = b.cachedInputPerMTok !== undefined && b.cachedInputPerMTok !== null;
  const cachedInputPerMTok = cachedGiven ? perMTok(b.cachedInputPerMTok) : undefined;
  if (inputPerMTok === undefined || outputPerMTok === undefined || (cachedGiven && cachedInputPerMTok === undefined)) {
    return bad('inputPerMTok, outputPerMTok and cachedInputPerMTok must be USD per million tokens (numbers from 0 to 100000)');
  }
  let file: string;
  try {
    setUserPrice(ctx.dataDir, { pricesProvider, model, inputPerMTok, cachedInputPerMTok, outputPerMTok });
    file = userPriceOverridesFile(ctx.dataDir);
  } catch (e) {
    return { status: 500, body: { error: { type: 'not_saved', message: (e as Error).message } } };
  }
  ctx.unpricedModels.priced(provider, model);
  return { status: 200, body: { file, pricesProvider, ...(await repriceHistory(ctx, provider, model)) } satisfies PriceOverrideAnswer };
}

/** The model's unpriced history repriced with the prices in force; a failure is reported, never thrown (the price itself is saved). */
async function repriceHistory(ctx: PriceRouteContext, provider: string, model: string): Promise<ModelRepriceAnswer> {
  try {
    const r = await ctx.repriceModel(provider, model);
    return { repriced: { records: r.changed, beforeUsd: nanosToUsd(r.beforeNanos), afterUsd: nanosToUsd(r.afterNanos) } };
  } catch (e) {
    return { repriced: null, repriceError: (e as Error).message };
  }
}
