/**
 * Which client made a call, from headers as the real clients send them (captured from each
 * package: the SDKs from npm against a local server, the agent CLIs from their published builds).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { identifyClient } from '../../src/engine/attribution';

const CASES: Array<[string, Record<string, string>, string | null, string | null]> = [
  [
    'Claude Code',
    { 'user-agent': 'claude-cli/2.1.332 (external, cli)', 'x-app': 'cli', 'x-claude-code-session-id': 'a7c1e2f0-1d2b-4c3d-8e9f-001122334455' },
    'claude-code',
    'a7c1e2f0-1d2b-4c3d-8e9f-001122334455',
  ],
  [
    'Codex TUI',
    { 'user-agent': 'codex_cli_rs/0.171.0 (Debian 12.0.0; x86_64) xterm-256color', originator: 'codex_cli_rs', session_id: '0199a1b2-c3d4' },
    'codex',
    '0199a1b2-c3d4',
  ],
  [
    'codex exec 0.171 as it sends (session-id)',
    {
      'user-agent': 'codex_exec/0.171.0 (Debian 12.0.0; x86_64) unknown (codex_exec; 0.171.0)',
      originator: 'codex_exec',
      'session-id': '01a24c39-d34a',
      'thread-id': '01a24c39-d34a',
    },
    'codex',
    '01a24c39-d34a',
  ],
  ['codex exec, known by its originator alone', { 'user-agent': 'reqwest', originator: 'codex_exec', session_id: 's-2' }, 'codex', 's-2'],
  [
    'Gemini CLI',
    {
      'user-agent': 'GeminiCLI/0.61.0/gemini-2.5-pro (linux; x64; terminal) google-genai-sdk/1.30.0 gl-node/v20.20.2',
      'x-goog-api-client': 'google-genai-sdk/1.30.0 gl-node/v20.20.2',
    },
    'gemini-cli',
    null,
  ],
  ['Qwen Code', { 'user-agent': 'QwenCode/0.24.4 (linux; x64)', 'x-stainless-lang': 'js' }, 'qwen-code', null],
  [
    'opencode (AI SDK underneath)',
    { 'user-agent': 'ai/7.0.173 ai-sdk-provider-utils/5.0.81 runtime/bun/1.3.0', 'x-session-affinity': 'ses_4f2a9c', 'x-session-id': 'ses_4f2a9c' },
    'opencode',
    'ses_4f2a9c',
  ],
  ['openai (Node)', { 'user-agent': 'OpenAI/JS 6.49.0', 'x-stainless-lang': 'js' }, 'openai-node', null],
  ['openai (Python)', { 'user-agent': 'OpenAI/Python 1.99.0' }, 'openai-python', null],
  ['@anthropic-ai/sdk', { 'user-agent': 'Anthropic/JS 1.12.0' }, 'anthropic-node', null],
  [
    '@google/genai',
    { 'user-agent': 'google-genai-sdk/2.32.0 gl-node/v20.20.2', 'x-goog-api-client': 'google-genai-sdk/2.32.0 gl-node/v20.20.2' },
    'google-genai',
    null,
  ],
  ['groq-sdk', { 'user-agent': 'Groq/JS 1.6.0' }, 'groq-node', null],
  ['Vercel AI SDK', { 'user-agent': 'ai/7.0.173 ai-sdk-provider-utils/5.0.81 node.js/v20.20.2' }, 'ai-sdk', null],
  ['Vercel AI SDK, Google provider streaming', { 'user-agent': 'ai-sdk-google/4.0.129 ai-sdk-provider-utils/5.0.86 node.js/v20.20.2' }, 'ai-sdk', null],
  ['@google/generative-ai (LangChain Google)', { 'user-agent': 'node', 'x-goog-api-client': 'genai-js/0.24.1' }, 'google-generative-ai', null],
  ['LangChain ChatOpenAI', { 'user-agent': 'langchainjs-openai/1.0.0 ((node/v20.20.2; linux; x64))' }, 'langchain', null],
  ['Mistral SDK', { 'user-agent': 'mistral-client-typescript/1.9.18' }, 'mistral', null],
  ['Python httpx', { 'user-agent': 'python-httpx/0.27.0' }, 'python-httpx', null],
  ['Python urllib', { 'user-agent': 'Python-urllib/3.11' }, 'python-urllib', null],
  ['an unknown tool: its product token', { 'user-agent': 'curl/8.5.0' }, 'curl', null],
  ['no User-Agent', {}, null, null],
  ['a session header from a client that is not an agent is not a session', { 'user-agent': 'OpenAI/JS 6.49.0', session_id: 'x' }, 'openai-node', null],
];

for (const [name, headers, client, conversation] of CASES) {
  test(name, () => {
    assert.deepEqual(identifyClient(headers), { client, conversation });
  });
}

test('values are kept printable and short (they reach reports and CSV files)', () => {
  const id = identifyClient({ 'user-agent': `\u0007Evil\r\nTool${'x'.repeat(100)}/1`, 'x-claude-code-session-id': `ab\u0000c${'y'.repeat(300)}` });
  assert.equal(id.client, 'claude-code', 'known by its session header');
  assert.equal(id.conversation, `abc${'y'.repeat(197)}`);
  const unknown = identifyClient({ 'user-agent': `Evil\u0007Tool${'x'.repeat(100)}/1` });
  assert.equal(unknown.client, `eviltool${'x'.repeat(32)}`);
});
