/** `burnrate estimate`: what a model would cost for given token counts, per request and in total. */
import { defaultDataDir } from '../../engine/dataDir';
import { loadStoredPriceData, nanosToUsd, priceUsage, resolveModel } from '../../engine/pricing';
import { RouteTable } from '../../engine/providers';
import { intFlag, parse, UsageError } from '../args';
import { exitZeroAfter, type Command } from '../command';

export const estimateCommand: Command = {
  name: 'estimate',
  synopsis: '--model M --input-tokens N --output-tokens N [--cached-tokens N] [--requests K] [--json]',
  summary: 'What a model would cost for the given tokens.',
  run: exitZeroAfter(estimate),
};

function estimate(args: string[]): void {
  // Prices refreshed with `burnrate prices --refresh` apply to estimates too.
  loadStoredPriceData(defaultDataDir());
  const { values } = parse(args, {
    model: { type: 'string' },
    'input-tokens': { type: 'string' },
    'output-tokens': { type: 'string' },
    'cached-tokens': { type: 'string' },
    requests: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (!values.model) throw new UsageError('--model is required');
  const input = intFlag(values, 'input-tokens');
  const output = intFlag(values, 'output-tokens');
  if (input === undefined || output === undefined) throw new UsageError('--input-tokens and --output-tokens are required');
  const cached = intFlag(values, 'cached-tokens') ?? 0;
  if (cached > input) throw new UsageError('--cached-tokens cannot exceed --input-tokens');
  const requests = intFlag(values, 'requests', 1) ?? 1;
  const resolved = resolveModel(values.model as string, new RouteTable().pricesProviders());
  if (!resolved) throw new UsageError(`no price known for model "${values.model}" (see \`burnrate prices\`)`);
  const quote = priceUsage(resolved.pricesProvider, resolved.model, {
    inputTokens: input,
    cacheReadTokens: cached,
    cacheWriteTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: output,
    reasoningTokens: 0,
  });
  const perRequestUsd = nanosToUsd(quote.costNanos);
  const totalUsd = nanosToUsd(quote.costNanos * requests);
  if (values.json) {
    process.stdout.write(
      JSON.stringify({ provider: resolved.pricesProvider, model: quote.matchedModel, requests, perRequestUsd, totalUsd, source: quote.source }, null, 2) + '\n',
    );
    return;
  }
  process.stdout.write(
    `${resolved.pricesProvider} ${quote.matchedModel}: $${perRequestUsd.toFixed(6)} per request` +
      (requests > 1 ? `, $${totalUsd.toFixed(6)} for ${requests} requests` : '') +
      `\n(${input} input tokens${cached ? `, ${cached} of them cached` : ''}, ${output} output tokens; prices from ${quote.source})\n`,
  );
}
