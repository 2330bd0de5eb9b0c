const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * The upstream could not be reached at all (no connection, no name, no TLS session), over HTTP or a
 * WebSocket handshake: answered with a 502, and the exchange never reached the provider.
 */
export function isUnreachable(err: NodeJS.ErrnoException): boolean {
  const code = err.code ?? '';
  return UNREACHABLE_CODES.has(code) || code === 'EPROTO' || /^(ERR_TLS_|ERR_SSL_)|CERT/.test(code);
}
