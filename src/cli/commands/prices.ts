/** `burnrate prices`: the price table and the date of its data, or --refresh to fetch the latest. */
import { defaultDataDir } from '../../engine/dataDir';
import {
  describePrices,
  loadStoredPriceData,
  refreshPriceData,
  BUNDLED_OVERRIDES_SOURCE,
  listPrices,
  USER_OVERRIDES_SOURCE,
  type PriceRow,
} from '../../engine/pricing';
import { RouteTable } from '../../engine/providers';
import { parse, UsageError, type Values } from '../args';
import { exitZeroAfter, type Command } from '../command';

export const pricesCommand: Command = {
  name: 'prices',
  synopsis: '[MODEL] [--json] | --refresh [--url URL]',
  summary:
    "The price table (USD per million tokens), optionally filtered by model, and the date of\nthe price data. --refresh fetches the price library's latest published prices.",
  run: exitZeroAfter(prices),
};

async function prices(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' }, refresh: { type: 'boolean' }, url: { type: 'string' } }, 1);
  const dataDir = defaultDataDir();
  if (values.refresh) {
    if (positionals.length) throw new UsageError('--refresh takes no model');
    await refresh(values, dataDir);
    return;
  }
  if (values.url) throw new UsageError('--url goes with --refresh');
  const info = loadStoredPriceData(dataDir);
  const routes = new RouteTable();
  const rows = listPrices(routes.pricesProviders(), positionals[0]);
  if (values.json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return;
  }
  if (!rows.length) throw new UsageError(`no price known for a model matching "${positionals[0]}"`);
  process.stdout.write(formatPriceTable(rows) + `\n\nPrices: ${describePrices(info)}\n`);
}

async function refresh(values: Values, dataDir: string): Promise<void> {
  const info = await refreshPriceData({ dataDir, url: values.url as string | undefined });
  if (values.json) {
    process.stdout.write(JSON.stringify(info, null, 2) + '\n');
    return;
  }
  process.stdout.write(
    `Prices updated: ${info.models} models from ${info.providers} providers.\n${describePrices(info)}\n` +
      'New requests are priced with them (a running burnrate serve picks them up within a minute); pricing/overrides.json still wins.\n',
  );
}

function formatPriceTable(rows: PriceRow[]): string {
  const money = (n: number | undefined) => (n === undefined ? '-' : `$${n}`);
  const table = [['provider', 'model', 'input/1M', 'cached/1M', 'cache write/1M', 'output/1M', 'long context from', 'source']];
  for (const r of rows)
    table.push([
      r.provider,
      r.model,
      money(r.inputPerMTok),
      money(r.cachedInputPerMTok),
      money(r.cacheWritePerMTok),
      money(r.outputPerMTok),
      r.longContextThreshold ? `${r.longContextThreshold} tokens` : '',
      r.source === BUNDLED_OVERRIDES_SOURCE ? 'override' : r.source === USER_OVERRIDES_SOURCE ? 'your override' : '',
    ]);
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  return table
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
