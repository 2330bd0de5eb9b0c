/**
 * Which tool or SDK made a call (the record's `client`), and the agent's own conversation id when
 * it sends one (the record's session when the call carries no session tag).
 *
 * Read from the headers the clients already send: the User-Agent product token, and the ids agent
 * CLIs put on every model call (Claude Code's X-Claude-Code-Session-Id, Codex's session-id,
 * opencode's X-Session-Id). Nothing is asked of the client.
 */

import { headerValue } from '../http';

type Headers = Record<string, string | string[] | undefined>;

export interface ClientIdentity {
  /** e.g. claude-code, codex, openai-node, ai-sdk; the User-Agent's product token when unknown; null without one. */
  client: string | null;
  /** The agent's own conversation id, when the client sends one. */
  conversation: string | null;
}

interface KnownClient {
  client: string;
  /** Matched against the User-Agent. */
  userAgent?: RegExp;
  /** A header only this client sends: name and the pattern of its value. */
  header?: [string, RegExp];
  /** Headers carrying the client's conversation id, most specific first. */
  conversationHeaders?: string[];
}

/**
 * The table, most specific first: agents before the frameworks and SDKs they are built on (Qwen
 * Code and opencode call through the OpenAI SDK and the Vercel AI SDK), frameworks before SDKs.
 */
const KNOWN_CLIENTS: KnownClient[] = [
  { client: 'claude-code', userAgent: /^claude-cli\//, header: ['x-claude-code-session-id', /./], conversationHeaders: ['x-claude-code-session-id'] },
  // codex_cli_rs/0.171.0 (…) for the TUI, codex_exec/… for `codex exec`; the originator header says the same.
  // 0.171 sends its thread's id as session-id on every call and on its WebSocket handshake.
  { client: 'codex', userAgent: /^codex[_-]/, header: ['originator', /^codex/], conversationHeaders: ['session-id', 'session_id', 'conversation_id'] },
  { client: 'gemini-cli', userAgent: /^GeminiCLI[/-]/ },
  { client: 'qwen-code', userAgent: /^QwenCode\// },
  // opencode names its sessions ses_… and sends the id on every model call.
  { client: 'opencode', userAgent: /(^|\s)opencode\//, header: ['x-session-affinity', /^ses_/], conversationHeaders: ['x-session-id', 'x-session-affinity'] },
  { client: 'langchain', userAgent: /^langchainjs|(^|\s)langchain/i },
  // ai/7.0.173 ai-sdk-provider-utils/…; some providers' streaming calls say ai-sdk-google/… instead.
  { client: 'ai-sdk', userAgent: /(^|\s)ai\/\d|(^|\s)ai-sdk[-/]/ },
  { client: 'openai-node', userAgent: /^OpenAI\/JS / },
  { client: 'openai-python', userAgent: /^OpenAI\/Python / },
  { client: 'anthropic-node', userAgent: /^Anthropic\/JS / },
  { client: 'anthropic-python', userAgent: /^Anthropic\/Python / },
  { client: 'google-genai', userAgent: /(^|\s)google-genai-sdk\//, header: ['x-goog-api-client', /(^|\s)google-genai-sdk\//] },
  // The older @google/generative-ai (LangChain's Google client): User-Agent `node`.
  { client: 'google-generative-ai', header: ['x-goog-api-client', /(^|\s)genai-js\//] },
  { client: 'groq-node', userAgent: /^Groq\/JS / },
  { client: 'mistral', userAgent: /^mistral-client-/ },
  { client: 'python-httpx', userAgent: /^python-httpx\// },
  { client: 'python-urllib', userAgent: /^Python-urllib\// },
];

const MAX_CLIENT_LENGTH = 40;
const MAX_CONVERSATION_LENGTH = 200;

export function identifyClient(headers: Headers): ClientIdentity {
  const userAgent = headerValue(headers['user-agent']) ?? '';
  const known = KNOWN_CLIENTS.find((c) => c.userAgent?.test(userAgent) || (c.header && c.header[1].test(headerValue(headers[c.header[0]]) ?? '')));
  if (!known) return { client: productToken(userAgent), conversation: null };
  let conversation: string | null = null;
  for (const name of known.conversationHeaders ?? []) {
    const value = clean(headerValue(headers[name]) ?? '', MAX_CONVERSATION_LENGTH);
    if (value) {
      conversation = value;
      break;
    }
  }
  return { client: known.client, conversation };
}

/** "curl/8.5.0" → "curl"; "Mozilla/5.0 (…)" → "mozilla". Null when there is no usable token. */
function productToken(userAgent: string): string | null {
  const token = userAgent.trim().split(/[/\s]/, 1)[0];
  return clean(token.toLowerCase(), MAX_CLIENT_LENGTH) || null;
}

/** Headers end up in reports and CSV files: printable and short. */
function clean(value: string, max: number): string {
  return value.replace(/[^\x21-\x7e]/g, '').slice(0, max);
}
