/** The proxy's public face: the loopback server and its limits. */
export { parseJsonLazily } from './lazyJson';
export { DEFAULT_LINGER, type LingerBound } from './lingeringClose';
export { DEFAULT_MAX_BODY_BYTES, DEFAULT_PORT, ProxyServer } from './proxy';
