/** HTTP helpers every layer shares: a header's first value, JSON byte codes, provider-shaped error bodies. */
export { closeReason, proxyError, websocketErrorEvent, type ProxyErrorResponse } from './errors';
export { headerValue } from './headerValue';
export { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, OPEN_BRACE, OPEN_BRACKET, QUOTE } from './jsonBytes';
