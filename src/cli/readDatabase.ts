import { SpendDatabase } from '../engine/database';
import { defaultDbPath } from '../engine/dataDir';
import { SpendQuery } from '../engine/queries';
import { readJournalRecords } from '../engine/store';

/** Opens the database (--db, or the default one) read-only, with records a running proxy has journalled but not yet saved. */
export async function openForReading(dbFlag: unknown): Promise<SpendQuery> {
  const file = (dbFlag as string | undefined) ?? defaultDbPath();
  const journalled = readJournalRecords(file);
  const database = await SpendDatabase.open(file, { create: journalled.length > 0, readOnly: true });
  database.insert(journalled);
  return new SpendQuery(database);
}
