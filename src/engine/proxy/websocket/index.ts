export { WebSocketProxy, type WebSocketProxyOptions } from './upgrade';
