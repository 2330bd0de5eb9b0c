/** Metered terminals: routing, their environment, the capture hooks' stable copy. */
export { stableCaptureDir } from './captureHooks';
export { meteredLaunch, strictTerminalEnv } from './terminalEnv';
export { TerminalRouting } from './terminals';
