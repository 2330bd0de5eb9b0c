/** Export's public face: the record feed, the CSV / JSONL formats, the OTLP settings. (The OTLP exporter itself is loaded on demand from otlpExport.ts.) */
export { otlpCursorFile, readCursorFile } from './exportCursor';
export { ExportFeedQuery, type RecordFeed } from './exportFeed';
export { csvHeader, csvLine, jsonLine } from './exportFormat';
export { OTLP_PROTOCOLS, OtlpConfigError, otlpBaseUrl, type OtlpProtocol } from './otlpConfig';
export { ExportParser, ImportRowError, type ExportFormat } from './importParser';
