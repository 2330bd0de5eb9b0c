/** The database's public face: the record, the index and segments store with its rollups, small state files, the owner lock. */
export { BUDGET_ALERTS_FILE, BudgetAlertFile, type AlertedStore } from './state/budgetAlertStore';
export { BUILDER_THREADS } from './bulk/bulkInsert';
export { SpendDatabase, type SpendDatabaseOptions } from './db';
export { OwnerLock } from './ownerLock';
export { COST_STATUSES, EXPORT_COLUMNS, type CostStatus, type RequestRecord } from './record';
export { recordReader, rowToRecord, type SegmentHandle, type SpendData, type TimeRange } from './segments';
export { repriceRollups } from './rollups/rollup';
export { DatabaseFromNewerVersionError, DatabaseUnreadableError, writeFileAtomic } from './sqlFiles';
export { readStateFile, writeStateFile, type StateFileLog } from './state/stateFile';
export { STOPPED_SESSIONS_FILE, StoppedSessionFile, type StoppedSession, type StoppedStore } from './state/stoppedSessionStore';
export { type ExportHold, type RetentionOutcome } from './retentionHold';
export { workerScript } from './workerScript';
