/**
 * The dashboard's what-if picker: the models it offers for a range, and the range's usage priced at
 * the one picked, by the same what-if pricing as `burnrate report --what-if` and the cheaper-model hint.
 */
import cheaperModelsFile from '../../../pricing/cheaper-models.json';
import type { WhatIfAnswer } from '../../shared';
import { nanosToUsd, resolveWhatIfModel, whatIfNanos, type UsageTotals } from '../pricing';
import { RouteTable } from '../providers';
import { pricesProviderOf, ratesOf, type Group } from './rollupGroups';

export const cheaperModels = cheaperModelsFile.providers as Record<string, Record<string, string>>;

/** The catalogue providers of the built-in route table, in its order: where a bare model id is looked up. */
export const WHAT_IF_PROVIDERS = new RouteTable().pricesProviders();

/** Cheap models offered even when the range used none of them. */
const COMMON_CHEAP_MODELS = ['openai/gpt-4o-mini', 'openai/gpt-4.1-nano', 'anthropic/claude-haiku-4-5', 'google/gemini-2.5-flash', 'deepseek/deepseek-chat'];

/** At most this many models in the picker's list (any other is typed in, and checked by the engine). */
export const MAX_WHAT_IF_MODELS = 12;

/** The picker's list: the range's models, most spent first, each followed by its cheaper sibling, then the common cheap ones. */
export function whatIfModelsOf(groups: Group[]): string[] {
  const names: string[] = [];
  for (const g of [...groups].sort((a, b) => b.nanos - a.nanos)) {
    const pricesProvider = pricesProviderOf.get(g.provider);
    const rates = ratesOf(g.provider, g.model);
    if (!pricesProvider || !rates) continue;
    names.push(`${pricesProvider}/${rates.model}`);
    const cheaper = cheaperModels[pricesProvider]?.[rates.model];
    if (cheaper) names.push(`${pricesProvider}/${cheaper}`);
  }
  const labels = new Set<string>();
  for (const name of [...names, ...COMMON_CHEAP_MODELS]) {
    const model = resolveWhatIfModel(name, WHAT_IF_PROVIDERS);
    if (model) labels.add(model.label);
    if (labels.size >= MAX_WHAT_IF_MODELS) break;
  }
  return [...labels];
}

/** `usage` (which cost `actualNanos`) priced at the model `name` names. */
export function whatIfAnswerOf(name: string, usage: UsageTotals, actualNanos: number): WhatIfAnswer {
  const actualUsd = nanosToUsd(actualNanos);
  const model = resolveWhatIfModel(name, WHAT_IF_PROVIDERS);
  if (!model) return { model: name, costUsd: null, unpriced: `no price known for model "${name}"`, actualUsd, requests: usage.requests };
  const cost = whatIfNanos(usage, model);
  return 'nanos' in cost
    ? { model: model.label, costUsd: nanosToUsd(cost.nanos), actualUsd, requests: usage.requests }
    : { model: model.label, costUsd: null, unpriced: cost.unpriced, actualUsd, requests: usage.requests };
}
