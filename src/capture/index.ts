/** The capture hooks' shared contract: the environment they read and how a URL is re-addressed. */
export { CAPTURE_ENV, CAPTURE_FILES, formatCaptureRoutes, parseCaptureRoutes, type CaptureRoute } from './protocol';
export { captureTarget } from './rewrite';
