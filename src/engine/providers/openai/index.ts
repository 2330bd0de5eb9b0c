/**
 * The OpenAI wire protocol: OpenAI itself and the providers that copy it (Mistral, Groq, DeepSeek,
 * xAI, OpenRouter, Together, Fireworks, Cerebras, Perplexity), and Ollama's /v1 endpoints; over
 * HTTP (Chat Completions, Completions, Responses, Embeddings) and WebSocket (Responses, Realtime).
 */
export { createOpenAiAdapter, openAiEndpointOf, openaiAdapter, type OpenAiAdapterOptions, type OpenAiEndpoint } from './adapter';
export { removeNullUsageMember } from './streamUsage';
export { realtimeSessionModel, realtimeSocketProtocol, responsesSocketProtocol, type ResponseEventReader, type SocketProtocol } from './webSocket';
