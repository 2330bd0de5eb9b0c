/**
 * Errors the proxy itself answers with, shaped like the provider's own so that SDKs surface the
 * message. `x-should-retry: false` tells the official SDKs not to retry them.
 */
export interface ProxyErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The error's code and its message ("Burn Rate: …"), for answers that are not HTTP bodies (WebSocket events). */
  code: string;
  message: string;
}

export function proxyError(protocol: string | undefined, status: number, code: string, message: string, retry = false): ProxyErrorResponse {
  const text = `Burn Rate: ${message}`;
  let body: unknown;
  switch (protocol) {
    case 'anthropic':
      body = { type: 'error', error: { type: anthropicType(status), message: text } };
      break;
    case 'gemini':
      body = { error: { code: status, message: text, status: code.toUpperCase() } };
      break;
    case 'ollama':
      body = { error: text };
      break;
    default:
      body = { error: { message: text, type: 'burnrate_error', param: null, code } };
  }
  return {
    status,
    headers: {
      'content-type': 'application/json',
      'x-should-retry': retry ? 'true' : 'false',
      'x-burnrate-error': code,
    },
    body: JSON.stringify(body),
    code,
    message: text,
  };
}

/**
 * The same refusal as a WebSocket `error` event, in the shape of the OpenAI Realtime and Responses
 * WebSocket APIs' own (`{"type":"error","error":{type, code, message, …}}`), so their clients surface it.
 */
export function websocketErrorEvent(e: ProxyErrorResponse, eventId?: string): string {
  return JSON.stringify({
    type: 'error',
    status: e.status,
    error: { type: 'invalid_request_error', code: e.code, message: e.message, param: null, event_id: eventId ?? null },
  });
}

/** A WebSocket close reason is at most 123 bytes: the message, cut to fit. */
export function closeReason(message: string): string {
  if (Buffer.byteLength(message) <= 123) return message;
  return (
    Buffer.from(message)
      .subarray(0, 120)
      .toString('utf8')
      .replace(/\uFFFD+$/, '') + '…'
  );
}

function anthropicType(status: number): string {
  if (status === 413) return 'request_too_large';
  if (status === 404) return 'not_found_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}
