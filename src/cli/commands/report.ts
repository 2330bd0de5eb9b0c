/** `burnrate report`: spend and tokens since a time, in total and grouped, as a table or JSON, with the month-end forecast; --what-if prices the same usage at another model. */
import { defaultDataDir } from '../../engine/dataDir';
import { loadStoredPriceData, resolveWhatIfModel, type WhatIfModel } from '../../engine/pricing';
import { RouteTable } from '../../engine/providers';
import { GROUP_BY, parseSince, withWhatIf, type GroupBy, type SpendReport, type WhatIfReport } from '../../engine/queries';
import { forecastSentence, formatUsd, formatUsdChange, type MonthForecastView } from '../../shared';
import { parse, UsageError } from '../args';
import { exitZeroAfter, type Command } from '../command';
import { openForReading } from '../readDatabase';

export const reportCommand: Command = {
  name: 'report',
  synopsis: `[--db FILE] [--since 24h|7d|30d|today|week|month|all|ISO] [--by ${GROUP_BY.join('|')}]\n[--what-if MODEL] [--json]`,
  summary:
    'Spend and tokens, in total and grouped, and the month-end forecast (--json: {"total": …, "groups": […], "forecast": …}).\n--what-if MODEL: the same usage at MODEL\'s list prices beside the actual cost.',
  run: exitZeroAfter(report),
};

async function report(args: string[]): Promise<void> {
  const { values } = parse(args, {
    db: { type: 'string' },
    since: { type: 'string' },
    by: { type: 'string' },
    'what-if': { type: 'string' },
    json: { type: 'boolean' },
  });
  const by = values.by as string | undefined;
  if (by !== undefined && !(GROUP_BY as readonly string[]).includes(by)) throw new UsageError(`--by expects one of ${GROUP_BY.join(', ')}; got "${by}"`);
  const sinceText = (values.since as string | undefined) ?? 'all';
  const since = parseSince(sinceText);
  const whatIf = values['what-if'] === undefined ? undefined : whatIfModel(values['what-if'] as string);
  const query = await openForReading(values.db);
  const spend = query.report({ since, by: by as GroupBy | undefined });
  // The forecast is of this month's whole spend, whatever --since and --by select.
  const result = { ...(whatIf ? withWhatIf(spend, whatIf) : spend), forecast: query.forecast() };
  if (values.json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return;
  }
  process.stdout.write(formatReport(result, by, sinceText));
}

/** The --what-if model, priced as the proxy would price it (refreshed prices and overrides included). */
function whatIfModel(name: string): WhatIfModel {
  loadStoredPriceData(defaultDataDir());
  const model = resolveWhatIfModel(name, new RouteTable().pricesProviders());
  if (!model)
    throw new UsageError(
      `--what-if: no price known for model "${name}"; \`burnrate prices ${name.split(/[/:]/).pop()}\` lists the models whose names match` +
        ' (give a model id, e.g. gpt-4o-mini, or provider/model, e.g. openai/gpt-4o-mini)',
    );
  return model;
}

function formatReport(result: (SpendReport | WhatIfReport) & { forecast: MonthForecastView }, by: string | undefined, since: string): string {
  const whatIf = 'whatIf' in result ? result.whatIf : undefined;
  const rows = [[by ?? '', 'cost (USD)', ...(whatIf ? [`at ${whatIf.model}`] : []), 'requests', 'input', 'cached', 'output', 'unpriced']];
  const fmt = (key: string, t: SpendReport['total'], at?: string) => [
    key,
    `$${t.costUsd.toFixed(6)}`,
    ...(at === undefined ? [] : [at]),
    String(t.requests),
    String(t.inputTokens),
    String(t.cacheReadTokens),
    String(t.outputTokens),
    t.unpricedRequests ? String(t.unpricedRequests) : '',
  ];
  const atCell = (costUsd: number | null | undefined) => (costUsd === undefined ? undefined : costUsd === null ? 'no price' : `$${costUsd.toFixed(6)}`);
  for (const g of result.groups) rows.push(fmt(g.key, g, atCell('whatIf' in g ? g.whatIf.costUsd : undefined)));
  rows.push(fmt('total', result.total, atCell(whatIf?.costUsd)));
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd(),
  );
  const note = result.total.unpricedRequests
    ? `\n${result.total.unpricedRequests} request(s) have no known price and are not in the cost; see \`burnrate export\`.\n`
    : '';
  return `Spend since ${since}${by ? `, by ${by}` : ''}\n\n${lines.join('\n')}\n${note}${whatIf ? whatIfFooter(whatIf) : ''}\n${forecastSentence(result.forecast)}.\n`;
}

/** "At openai/gpt-4o-mini: $4.21 instead of $16.61 (−$12.40, −75%)", and what it could not price. */
function whatIfFooter(w: WhatIfReport['whatIf']): string {
  const left = w.unpriced ? `\nNot priced at ${w.model}: ${w.unpriced}${w.costUsd === null ? '' : ' (left out of both figures above)'}.\n` : '';
  if (w.costUsd === null) return left;
  return `\nAt ${w.model}: ${formatUsd(w.costUsd)} instead of ${formatUsd(w.actualUsd)} (${formatUsdChange(w.costUsd, w.actualUsd)}), at list prices without long-context tiers.\n${left}`;
}
