/** The link to the engine: host, follow or take over; the management client. */
export { SseReader, downloadExport, setRecordingPaused, subscribeSummaries, type DeliveredAlert, type SummaryStream } from './engineClient';
export { EngineLink, type LinkState } from './engineLink';
export {
  allowSession,
  ignoreUnpricedModel,
  listSessions,
  pushGuardSettings,
  raiseSessionLimits,
  repriceModelHistory,
  setModelPrice,
  stopSession,
} from './guardClient';
export { callRoute } from '../../engine/management';
export { createEngineLink, loadEngineApi } from './hostedEngine';
