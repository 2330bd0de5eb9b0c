/** The stream readers the adapters share: SSE and JSON arrays. */
export { JsonArrayStream, type JsonArrayStreamOptions } from './jsonArrayStream';
export { SseParser, type SseEvent, type SseParserOptions } from './sse';
