import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAppMessage } from '../../webview/protocol';

test("the panel host takes only the dashboard's own messages: its request methods, with object params", () => {
  assert.equal(isAppMessage({ type: 'ready' }), true);
  assert.equal(isAppMessage({ type: 'request', id: 1, method: 'sessions', params: {} }), true);
  assert.equal(isAppMessage({ type: 'request', id: 2, method: 'session', params: { action: 'stop', session: 'run-1' } }), true);
  assert.equal(isAppMessage({ type: 'request', id: 3, method: 'dashboard', params: { since: 0, until: 1 } }), true);
  assert.equal(isAppMessage({ type: 'request', id: 4, method: 'settings', params: {} }), false, 'not a dashboard method');
  assert.equal(isAppMessage({ type: 'request', id: 5, method: 'toString', params: {} }), false, 'no inherited names');
  assert.equal(isAppMessage({ type: 'request', id: 6, method: 'session', params: null }), false);
  assert.equal(isAppMessage({ type: 'request', id: '7', method: 'sessions', params: {} }), false);
  assert.equal(isAppMessage('ready'), false);
});
