/** Metered terminals: routing, their environment, the branch they are tagged with, the capture hooks' stable copy. */
export { stableCaptureDir } from './captureHooks';
export { WorkspaceBranch } from './gitBranch';
export { meteredLaunch, strictTerminalEnv } from './terminalEnv';
export { TerminalRouting } from './terminals';
