/** The database's public face: the record, the sql.js database with its rollups, small state files, the owner lock. */
export { BUDGET_ALERTS_FILE, BudgetAlertFile, type AlertedStore } from './budgetAlertStore';
export { DatabaseUnreadableError, SpendDatabase, recordReader, rowToRecord, writeFileAtomic } from './db';
export { OwnerLock } from './ownerLock';
export { COST_STATUSES, EXPORT_COLUMNS, type CostStatus, type RequestRecord } from './record';
export { readStateFile, writeStateFile, type StateFileLog } from './stateFile';
