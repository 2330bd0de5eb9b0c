/** The metered environment: what metered terminals and `burnrate run` / `burnrate env` give a program. */
export { NOT_INJECTED, planBaseUrls, pointsAtProxy, proxyBaseUrl, proxyOrigin, tagSegment, taggedProxyBase, upstreamForBaseUrl } from './baseUrls';
export type { EnvPlanEntry, EnvRoute, KeptBaseUrl } from './baseUrls';
export { LEFT_TO_CAPTURE, meteredEnvRecord, newSessionId, nodeOptionValue, planMeteredEnv } from './meteredEnv';
export type { MeteredEnvOptions, MeteredEnvPlan, MeteredVariable, VariableEdit } from './meteredEnv';
export { setupSnippet } from './snippet';
export type { SnippetEntry, SnippetFormat } from './snippet';
