/**
 * The paths each real provider serves, below its API host, written from the providers' own API
 * references (not from the engine's route table: the fake must not agree with a wrong route by
 * construction). When the fake provider is mounted per provider (`<fake>/<provider id>`, as the
 * harness does), a request whose path the real provider would not serve gets that provider's 404,
 * so a proxy route that builds a wrong path fails its test instead of passing on a lenient suffix.
 */
export const PROVIDER_SERVED_PATHS: Readonly<Record<string, RegExp>> = Object.freeze({
  openai: /^\/v1\/(chat\/completions|completions|responses|embeddings|models|realtime)(\/.*)?$/,
  anthropic: /^\/v1\/(messages(\/count_tokens|\/batches(\/.*)?)?|models(\/.*)?)$/,
  gemini: /^\/(v1|v1beta|v1alpha)\/(models|tunedModels)(\/.*)?$/,
  mistral: /^\/v1\/(chat\/completions|fim\/completions|embeddings|models)(\/.*)?$/,
  // Groq's OpenAI-compatible API lives under /openai/v1 on api.groq.com.
  groq: /^\/openai\/v1\/(chat\/completions|responses|embeddings|models|audio\/.*)(\/.*)?$/,
  // DeepSeek serves its OpenAI-compatible API both at the root and under /v1 (and /beta for FIM).
  deepseek: /^(\/v1|\/beta)?\/(chat\/completions|completions|models|user\/balance)$/,
  xai: /^\/v1\/(chat\/completions|completions|responses|embeddings|models|messages)(\/.*)?$/,
  openrouter: /^\/api\/v1\/(chat\/completions|completions|responses|embeddings|models|generation)(\/.*)?$/,
  together: /^\/v1\/(chat\/completions|completions|embeddings|models)(\/.*)?$/,
  fireworks: /^\/inference\/v1\/(chat\/completions|completions|embeddings|models)(\/.*)?$/,
  cerebras: /^\/v1\/(chat\/completions|completions|models)(\/.*)?$/,
  perplexity: /^\/(chat\/completions|async\/chat\/completions(\/.*)?)$/,
  ollama: /^\/(api\/(chat|generate|embed|embeddings|tags|show)|v1\/(chat\/completions|completions|embeddings|models))$/,
});

/**
 * For a path mounted under a provider id ("/groq/openai/v1/chat/completions"): whether the real
 * provider serves the rest. Undefined when the first segment names no provider (the fake then
 * serves any prefix, for tests that call it directly).
 */
export function servedByMountedProvider(path: string): boolean | undefined {
  const slash = path.indexOf('/', 1);
  const id = slash === -1 ? path.slice(1) : path.slice(1, slash);
  const served = Object.prototype.hasOwnProperty.call(PROVIDER_SERVED_PATHS, id) ? PROVIDER_SERVED_PATHS[id] : undefined;
  if (!served) return undefined;
  return served.test(slash === -1 ? '/' : path.slice(slash).replace(/\/+$/, ''));
}
