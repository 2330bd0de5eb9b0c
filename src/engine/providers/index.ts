/**
 * The providers' public face: the route table (pricing/providers.json), the adapter contract, one
 * adapter per wire protocol and the JSON helpers the adapters share.
 */
export { adapterFor, protocolAdapters, socketProtocolFor } from './adapters';
export { realtimeSessionModel, type ResponseEventReader, type SocketProtocol } from './openai';
export { anthropicAdapter } from './anthropic';
export { asObject, asString, count, errorBodyMessage, newReport, parseJson } from './common';
export { geminiAdapter } from './gemini';
export { countStringChars, hasObjectMember, readStringMember } from './jsonScan';
export { NdjsonSplitter, ollamaAdapter } from './ollama';
export { openaiAdapter, removeNullUsageMember } from './openai';
export { DEFAULT_ROUTES, RouteTable, RouteTableError, canonicalPath, parseUpstreamFlag, type ProviderRoute } from './routes';
export { type EndpointCall, type ProtocolAdapter, type ProxiedRequest, type ResponseParser, type TokenUsage, type UsageReport } from './usage';
