/** The store's public face: the database worker's client and the journal-backed recorder. (storeWorker.ts is its own bundle.) */
export { Recorder, readJournalRecords } from './recorder';
export { DEFAULT_STORE_IDLE_STOP_MS, SpendStore, storeFeed } from './spendStore';
export { Retention, UNEXPORTED_GRACE_DAYS, type RetentionOptions } from './retention';
