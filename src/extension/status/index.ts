/** The status bar and its text. */
export { budgetUse, plainState, statusView } from './format';
export { SpendStatusBar } from './statusBar';
export { notifyState } from './stateNotices';
