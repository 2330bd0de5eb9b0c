import type { Agent as UndiciAgent } from 'undici';

/**
 * undici's connection-pooling Agent and its request API, without the rest of undici. The package's
 * main entry also loads fetch, WebSocket, EventSource, caches, mocks and interceptors, ~9 MB of
 * memory the proxy never uses. This is what that entry does for these two parts (undici has no
 * "exports" map, so the files are public paths); the types are the package's own.
 */
const Agent = require('undici/lib/dispatcher/agent') as typeof UndiciAgent;
const Dispatcher = require('undici/lib/dispatcher/dispatcher') as { prototype: object };
const api = require('undici/lib/api') as object;

// As undici's index.js: dispatcher.request() and friends come from the api module.
if (!('request' in Dispatcher.prototype)) Object.assign(Dispatcher.prototype, api);

type Agent = UndiciAgent;
export { Agent };
