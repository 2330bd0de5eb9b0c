import type { Database, SqlJsStatic } from 'sql.js';
import { BULK_REQUESTS_TABLE, isDayKey } from './segments';

/** Pages of a segment a bulk insert makes: filled and indexed a sixth faster than SQLite's default 4 KiB. */
const BULK_PAGE_SIZE = 16_384;

/** Room a bulk insert's new day segment has from the start: a heavy day of records (a slice: an hour's worth of a quarter). */
const DAY_ROOM_BYTES = 32 << 20;
const SLICE_ROOM_BYTES = 2 << 20;

const emptyImages = new WeakMap<SqlJsStatic, Uint8Array>();

/**
 * A new segment for a bulk insert (an import), its table BULK_REQUESTS_TABLE, in an in-memory file
 * with room to grow into. sql.js grows a file an eighth at a time, copying it whole each time (a
 * 30 MB day is copied about thirty times, more work than inserting its rows); the room is zeros
 * after the last page, and SQLite, which goes by the page count in the header, fills it in place.
 * `room` is what it takes in memory from the start.
 */
export function bulkSegmentDatabase(SQL: SqlJsStatic, key: string): { db: Database; room: number } {
  let image = emptyImages.get(SQL);
  if (!image) {
    const empty = new SQL.Database();
    empty.exec(`PRAGMA page_size = ${BULK_PAGE_SIZE}`);
    empty.exec(BULK_REQUESTS_TABLE);
    image = empty.export();
    empty.close();
    emptyImages.set(SQL, image);
  }
  const room = isDayKey(key) ? DAY_ROOM_BYTES : SLICE_ROOM_BYTES;
  const file = new Uint8Array(Math.max(room, image.length));
  file.set(image);
  const db = new SQL.Database(file);
  // Saved whole by the store; SQLite's rollback journal only needs to live in memory.
  db.exec('PRAGMA journal_mode = MEMORY');
  return { db, room };
}
