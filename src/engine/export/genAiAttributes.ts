import type { Attributes } from '@opentelemetry/api';
import { nanosToUsd } from '../pricing';
import type { RequestRecord } from '../database';
import { DEFAULT_ROUTES } from '../providers';

/**
 * OpenTelemetry GenAI semantic-convention names. These are still "incubating" upstream, and the
 * OpenTelemetry guidance is to copy incubating names rather than import them (they may change
 * between releases of @opentelemetry/semantic-conventions).
 */
export const GenAi = {
  operationName: 'gen_ai.operation.name',
  /** Older name of gen_ai.provider.name; many backends still chart by it, so both are sent. */
  system: 'gen_ai.system',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  requestStream: 'gen_ai.request.stream',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  cacheReadInputTokens: 'gen_ai.usage.cache_read.input_tokens',
  cacheCreationInputTokens: 'gen_ai.usage.cache_creation.input_tokens',
  reasoningOutputTokens: 'gen_ai.usage.reasoning.output_tokens',
  tokenType: 'gen_ai.token.type',
  timeToFirstChunk: 'gen_ai.response.time_to_first_chunk',
  /** Metric names. */
  tokenUsageMetric: 'gen_ai.client.token.usage',
  operationDurationMetric: 'gen_ai.client.operation.duration',
} as const;

/** Burn Rate's own attributes: cost and the attribution tags. */
export const BurnRateAttr = {
  recordId: 'burnrate.record_id',
  provider: 'burnrate.provider',
  endpoint: 'burnrate.endpoint',
  costUsd: 'burnrate.cost_usd',
  costNanos: 'burnrate.cost_nanos',
  costStatus: 'burnrate.cost_status',
  priceSource: 'burnrate.price_source',
  serviceTier: 'burnrate.service_tier',
  session: 'burnrate.session',
  feature: 'burnrate.feature',
  user: 'burnrate.user',
  trace: 'burnrate.trace',
  env: 'burnrate.env',
  workspace: 'burnrate.workspace',
  branch: 'burnrate.branch',
  client: 'burnrate.client',
  error: 'burnrate.error',
  costMetric: 'burnrate.cost',
  requestsMetric: 'burnrate.requests',
} as const;

/** Burn Rate route id → the gen_ai.provider.name well-known value (its row's otelName; the route id where none is defined). */
const PROVIDER_NAMES: ReadonlyMap<string, string> = new Map(DEFAULT_ROUTES.map((route) => [route.id, route.otelName ?? route.id]));

export function genAiProviderName(provider: string): string {
  return PROVIDER_NAMES.get(provider) ?? provider;
}

/** gen_ai.operation.name for a recorded endpoint (chat.completions, messages, generateContent, embeddings…). */
export function genAiOperationName(endpoint: string | null): string {
  const e = (endpoint ?? '').toLowerCase();
  if (e.includes('embed')) return 'embeddings';
  if (e.includes('generatecontent')) return 'generate_content';
  if (e === 'completions' || e === 'api/generate' || e.endsWith('/generate')) return 'text_completion';
  return 'chat';
}

/** Span name per the GenAI conventions: "{operation} {model}". */
export function genAiSpanName(rec: RequestRecord): string {
  const op = genAiOperationName(rec.endpoint);
  return rec.model ? `${op} ${rec.model}` : op;
}

/**
 * The span attributes for one record: what was called, its tokens, what it cost and its tags.
 * Never API keys (nor their fingerprints, which are per install and mean nothing elsewhere) or bodies.
 */
export function recordSpanAttributes(rec: RequestRecord): Attributes {
  const providerName = genAiProviderName(rec.provider);
  const attrs: Attributes = {
    [GenAi.operationName]: genAiOperationName(rec.endpoint),
    [GenAi.providerName]: providerName,
    [GenAi.system]: providerName,
    [GenAi.requestStream]: rec.stream,
    [GenAi.inputTokens]: rec.inputTokens,
    [GenAi.outputTokens]: rec.outputTokens,
    [GenAi.cacheReadInputTokens]: rec.cacheReadTokens,
    [GenAi.cacheCreationInputTokens]: rec.cacheWriteTokens,
    [GenAi.reasoningOutputTokens]: rec.reasoningTokens,
    [BurnRateAttr.recordId]: rec.id,
    [BurnRateAttr.provider]: rec.provider,
    [BurnRateAttr.costUsd]: nanosToUsd(rec.costNanos),
    [BurnRateAttr.costNanos]: rec.costNanos,
    [BurnRateAttr.costStatus]: rec.costStatus,
    'http.response.status_code': rec.status,
  };
  if (rec.model) {
    attrs[GenAi.requestModel] = rec.model;
    // The recorded model is the response's when the response named one.
    attrs[GenAi.responseModel] = rec.model;
  }
  if (rec.ttftMs !== null && rec.ttftMs !== undefined) attrs[GenAi.timeToFirstChunk] = rec.ttftMs / 1000;
  const optional: Array<[string, string | null]> = [
    [BurnRateAttr.endpoint, rec.endpoint],
    [BurnRateAttr.priceSource, rec.priceSource],
    [BurnRateAttr.serviceTier, rec.serviceTier],
    [BurnRateAttr.session, rec.session],
    [BurnRateAttr.feature, rec.feature],
    [BurnRateAttr.user, rec.user],
    [BurnRateAttr.trace, rec.trace],
    [BurnRateAttr.env, rec.env],
    [BurnRateAttr.workspace, rec.workspace],
    [BurnRateAttr.branch, rec.branch],
    [BurnRateAttr.client, rec.client],
    [BurnRateAttr.error, rec.error],
  ];
  for (const [key, value] of optional) if (value) attrs[key] = value;
  if (rec.status === 0 || rec.status >= 400) attrs['error.type'] = rec.status === 0 ? 'no_response' : String(rec.status);
  return attrs;
}

/**
 * Attributes for the metrics: low-cardinality ones only (no record id, session or trace), so a
 * backend can chart spend by provider, model, feature, workspace, branch, client and user.
 */
export function recordMetricAttributes(rec: RequestRecord): Attributes {
  const providerName = genAiProviderName(rec.provider);
  const attrs: Attributes = {
    [GenAi.operationName]: genAiOperationName(rec.endpoint),
    [GenAi.providerName]: providerName,
    [GenAi.system]: providerName,
    [BurnRateAttr.costStatus]: rec.costStatus,
  };
  if (rec.model) attrs[GenAi.requestModel] = rec.model;
  if (rec.feature) attrs[BurnRateAttr.feature] = rec.feature;
  if (rec.workspace) attrs[BurnRateAttr.workspace] = rec.workspace;
  if (rec.branch) attrs[BurnRateAttr.branch] = rec.branch;
  if (rec.client) attrs[BurnRateAttr.client] = rec.client;
  if (rec.user) attrs[BurnRateAttr.user] = rec.user;
  if (rec.env) attrs[BurnRateAttr.env] = rec.env;
  return attrs;
}
