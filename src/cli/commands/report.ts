/** `burnrate report`: spend and tokens since a time, in total and grouped, as a table or JSON, with the month-end forecast. */
import { forecastSentence, type MonthForecastView } from '../../shared';
import { GROUP_BY, parseSince, type GroupBy, type SpendReport } from '../../engine/queries';
import { parse, UsageError } from '../args';
import { exitZeroAfter, type Command } from '../command';
import { openForReading } from '../readDatabase';

export const reportCommand: Command = {
  name: 'report',
  synopsis: `[--db FILE] [--since 24h|7d|30d|today|week|month|all|ISO] [--by ${GROUP_BY.join('|')}] [--json]`,
  summary: 'Spend and tokens, in total and grouped, and the month-end forecast (--json: {"total": …, "groups": […], "forecast": …}).',
  run: exitZeroAfter(report),
};

async function report(args: string[]): Promise<void> {
  const { values } = parse(args, { db: { type: 'string' }, since: { type: 'string' }, by: { type: 'string' }, json: { type: 'boolean' } });
  const by = values.by as string | undefined;
  if (by !== undefined && !(GROUP_BY as readonly string[]).includes(by)) throw new UsageError(`--by expects one of ${GROUP_BY.join(', ')}; got "${by}"`);
  const sinceText = (values.since as string | undefined) ?? 'all';
  const since = parseSince(sinceText);
  const query = await openForReading(values.db);
  // The forecast is of this month's whole spend, whatever --since and --by select.
  const result = { ...query.report({ since, by: by as GroupBy | undefined }), forecast: query.forecast() };
  if (values.json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return;
  }
  process.stdout.write(formatReport(result, by, sinceText));
}

function formatReport(result: SpendReport & { forecast: MonthForecastView }, by: string | undefined, since: string): string {
  const rows = [[by ?? '', 'cost (USD)', 'requests', 'input', 'cached', 'output', 'unpriced']];
  const fmt = (key: string, t: SpendReport['total']) => [
    key,
    `$${t.costUsd.toFixed(6)}`,
    String(t.requests),
    String(t.inputTokens),
    String(t.cacheReadTokens),
    String(t.outputTokens),
    t.unpricedRequests ? String(t.unpricedRequests) : '',
  ];
  for (const g of result.groups) rows.push(fmt(g.key, g));
  rows.push(fmt('total', result.total));
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
  return `Spend since ${since}${by ? `, by ${by}` : ''}\n\n${lines.join('\n')}\n${note}\n${forecastSentence(result.forecast)}.\n`;
}
