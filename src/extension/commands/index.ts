/** The extension's commands and alert handling. */
export { AlertActions, alertView, historyNote, readPerMTok, shouldNotify, type WindowRole } from './alerts';
export { registerCommands } from './commands';
export { handleAlert, sendGuardSettings } from './sessionCommands';
export { type SessionDeps } from './sessionCommands';
