/** `burnrate serve`'s OpenTelemetry export: the --otlp-* flags over the burnrate.export.otlp.* settings. */
import { OTLP_PROTOCOLS, otlpBaseUrl, type OtlpProtocol } from '../engine/otlpConfig';
import type { DEFAULT_SETTINGS } from '../engine/settings';
import { UsageError, type Values } from './args';
import { VERSION } from './version';

export interface OtlpOptions {
  endpoint: string;
  headers: Record<string, string>;
  protocol: OtlpProtocol;
  serviceVersion: string;
}

/** OTLP export from --otlp-* flags (which turn it on) or the burnrate.export.otlp.* settings. */
export function otlpOptions(values: Values, settings: typeof DEFAULT_SETTINGS): OtlpOptions | undefined {
  const flagEndpoint = values['otlp-endpoint'] as string | undefined;
  const enabled = flagEndpoint !== undefined || settings['burnrate.export.otlp.enabled'];
  if (!enabled) {
    if (values['otlp-header'] || values['otlp-protocol']) throw new UsageError('--otlp-header and --otlp-protocol need --otlp-endpoint (or burnrate.export.otlp.enabled in --config)');
    return undefined;
  }
  const endpoint = flagEndpoint ?? settings['burnrate.export.otlp.endpoint'];
  if (!endpoint) throw new UsageError('burnrate.export.otlp.enabled is on but no endpoint is set (burnrate.export.otlp.endpoint or --otlp-endpoint URL)');
  try {
    otlpBaseUrl(endpoint);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const headers = { ...settings['burnrate.export.otlp.headers'] };
  for (const flag of (values['otlp-header'] as string[] | undefined) ?? []) {
    const eq = flag.indexOf('=');
    if (eq <= 0) throw new UsageError(`--otlp-header expects NAME=VALUE, got "${flag.split('=')[0]}…"`);
    headers[flag.slice(0, eq).trim()] = flag.slice(eq + 1).trim();
  }
  const protocol = (values['otlp-protocol'] as string | undefined) ?? settings['burnrate.export.otlp.protocol'];
  if (!(OTLP_PROTOCOLS as readonly string[]).includes(protocol)) throw new UsageError(`--otlp-protocol expects ${OTLP_PROTOCOLS.join(' or ')}, got "${protocol}"`);
  return { endpoint, headers, protocol: protocol as OtlpProtocol, serviceVersion: VERSION };
}
