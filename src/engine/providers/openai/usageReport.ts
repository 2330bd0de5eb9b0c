/** What the OpenAI APIs' bodies share: the reported cost beside the usage, model and service tier. */
import type { TokenUsage, UsageReport } from '../usage';
import { asObject, asString, isCount, type JsonObject } from '../common';

/** OpenRouter's `usage.cost` (USD), or Perplexity's `usage.cost.total_cost`. */
function reportedCostOf(usage: JsonObject): number | undefined {
  if (isCount(usage.cost)) return usage.cost;
  const cost = asObject(usage.cost);
  return cost && isCount(cost.total_cost) ? cost.total_cost : undefined;
}

export function applyUsage(report: UsageReport, usage: JsonObject, toTokens: (usage: JsonObject) => TokenUsage): void {
  report.usage = toTokens(usage);
  const cost = reportedCostOf(usage);
  if (cost !== undefined) report.reportedCostUsd = cost;
}

export function applyModelAndTier(report: UsageReport, body: JsonObject): void {
  const model = asString(body.model);
  if (model !== undefined) report.model = model;
  const tier = asString(body.service_tier);
  if (tier !== undefined) report.serviceTier = tier;
}

export function stringLength(value: unknown): number {
  return typeof value === 'string' ? value.length : 0;
}
