/** `burnrate reprice`: a period's records priced again with today's prices; a dry run unless --apply. */
import { SpendDatabase, OwnerLock } from '../../engine/database';
import { defaultDataDir, defaultDbPath } from '../../engine/dataDir';
import { describePrices, loadStoredPriceData, type PriceDataInfo, nanosToUsd, applyReprice, repriceRecords, type RepriceResult } from '../../engine/pricing';
import { parseSince } from '../../engine/queries';
import { readJournalRecords } from '../../engine/store';
import { RouteTable } from '../../engine/providers';
import { parse, UsageError, type Values } from '../args';
import { exitZeroAfter, type Command } from '../command';

/** Changes listed in the text output; --json lists them all. */
const LISTED_CHANGES = 20;

export const repriceCommand: Command = {
  name: 'reprice',
  synopsis: '[--db FILE] --since … [--until …] [--model M] [--apply] [--json]',
  summary:
    "Recomputes the cost of a period's records (of one model: --model) with the prices in force now\nand shows the difference; --apply writes it (with no burnrate serve running on the database).",
  run: exitZeroAfter(reprice),
  longRunning: true,
};

async function reprice(args: string[]): Promise<void> {
  const { values } = parse(args, {
    db: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    model: { type: 'string' },
    apply: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (!values.since) throw new UsageError('--since is required (e.g. --since 30d, --since 2025-06-01)');
  const since = parseSince(values.since as string);
  const until = values.until ? parseSince(values.until as string) : undefined;
  if (until !== undefined && until <= since) throw new UsageError('--until must be after --since');
  const file = (values.db as string | undefined) ?? defaultDbPath();
  const prices = loadStoredPriceData(defaultDataDir());
  let lock: OwnerLock | undefined;
  if (values.apply) {
    // The running engine holds the database in memory and would overwrite the change at its next save.
    lock = OwnerLock.tryAcquire(`${file}.owner`);
    if (!lock) throw new UsageError(`${file} is in use by a running Burn Rate (burnrate serve or VS Code); stop it, then run reprice --apply again`);
  }
  try {
    const result = await repriceFile(file, values, { since, until });
    if (values.json) process.stdout.write(JSON.stringify(repriceJson(result, !!values.apply, prices), null, 2) + '\n');
    else process.stdout.write(repriceText(result, !!values.apply, prices, since, until));
  } finally {
    lock?.release();
  }
}

async function repriceFile(file: string, values: Values, period: { since: number; until: number | undefined }): Promise<RepriceResult> {
  const journalled = readJournalRecords(file);
  if (values.apply && journalled.length)
    throw new UsageError(
      `${file} has ${journalled.length} journalled record(s) not yet saved; start and stop burnrate serve once to fold them in, then run reprice --apply again`,
    );
  const database = await SpendDatabase.open(file, { create: false });
  database.insert(journalled);
  const result = repriceRecords(database, new RouteTable(), { ...period, model: values.model as string | undefined });
  if (values.apply) {
    applyReprice(database, result.changes);
    await database.save();
  }
  database.close();
  return result;
}

function repriceJson(result: RepriceResult, applied: boolean, prices: PriceDataInfo | undefined): object {
  return {
    applied,
    prices: prices?.version ?? null,
    examined: result.examined,
    changed: result.changes.length,
    beforeUsd: nanosToUsd(result.beforeNanos),
    afterUsd: nanosToUsd(result.afterNanos),
    differenceUsd: nanosToUsd(result.afterNanos - result.beforeNanos),
    kept: result.kept,
    changes: result.changes.map((c) => ({
      ...c,
      startedAt: new Date(c.startedAt).toISOString(),
      before: { ...c.before, costUsd: nanosToUsd(c.before.costNanos) },
      after: { ...c.after, costUsd: nanosToUsd(c.after.costNanos) },
    })),
  };
}

function repriceText(result: RepriceResult, applied: boolean, prices: PriceDataInfo | undefined, since: number, until: number | undefined): string {
  const delta = result.afterNanos - result.beforeNanos;
  const lines = [
    `Repricing ${result.examined} record(s) since ${new Date(since).toISOString()}${until !== undefined ? ` until ${new Date(until).toISOString()}` : ''}`,
    `with ${describePrices(prices)}`,
    '',
  ];
  for (const c of result.changes.slice(0, LISTED_CHANGES)) {
    lines.push(
      `  ${new Date(c.startedAt).toISOString()}  ${c.provider} ${c.model}  $${nanosToUsd(c.before.costNanos).toFixed(6)} (${c.before.costStatus}) → $${nanosToUsd(c.after.costNanos).toFixed(6)} (${c.after.costStatus})`,
    );
  }
  if (result.changes.length > LISTED_CHANGES) lines.push(`  … and ${result.changes.length - LISTED_CHANGES} more (--json lists them all)`);
  lines.push(
    `${result.changes.length} record(s) change: $${nanosToUsd(result.beforeNanos).toFixed(6)} → $${nanosToUsd(result.afterNanos).toFixed(6)} (${delta >= 0 ? '+' : '-'}$${nanosToUsd(Math.abs(delta)).toFixed(6)})`,
  );
  const kept = Object.entries(result.kept)
    .map(([reason, n]) => `${n} ${reason}`)
    .join(', ');
  if (kept) lines.push(`Left as they were: ${kept}.`);
  lines.push(applied ? 'Applied.' : 'Dry run: nothing was written. Run again with --apply to write the new costs.');
  return lines.join('\n') + '\n';
}
