/**
 * OTLP export settings: checked by the CLI and the engine without loading the OpenTelemetry SDK
 * (otlpExport.ts), which costs ~25 MB of memory and is only loaded when export is on.
 */
export type OtlpProtocol = 'http/protobuf' | 'http/json';
export const OTLP_PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json'];

export class OtlpConfigError extends Error {}

/** Checks an OTLP endpoint and returns its base URL (without /v1/traces or a trailing slash). */
export function otlpBaseUrl(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint.trim());
  } catch {
    throw new OtlpConfigError(`OTLP endpoint "${endpoint}" is not a URL (expected e.g. http://collector:4318)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new OtlpConfigError(`OTLP endpoint "${endpoint}" must be http or https`);
  if (url.username || url.password) throw new OtlpConfigError('OTLP endpoint must not carry credentials; put them in burnrate.export.otlp.headers');
  return url
    .toString()
    .replace(/\/+$/, '')
    .replace(/\/v1\/(traces|metrics)$/, '');
}
