/**
 * The usage contract between the provider adapters and the rest of the engine.
 *
 * Every adapter turns its provider's wire format into the same normalised token fields
 * (see README "What the numbers mean"):
 *   inputTokens       every input token, cached ones included
 *   cacheReadTokens   ⊆ inputTokens
 *   cacheWriteTokens  ⊆ inputTokens (all TTLs); cacheWrite1hTokens ⊆ cacheWriteTokens
 *   outputTokens      every output token, reasoning included
 *   reasoningTokens   ⊆ outputTokens
 */
export interface TokenUsage {
  inputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  cacheWrite1hTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  /**
   * Audio tokens (the Realtime API), priced at the model's audio rates: audioInputTokens ⊆ inputTokens,
   * audioCacheReadTokens ⊆ cacheReadTokens ∩ audioInputTokens, audioOutputTokens ⊆ outputTokens.
   * Absent for text-only usage; not stored in records (they are part of the token columns).
   */
  audioInputTokens?: number;
  audioCacheReadTokens?: number;
  audioOutputTokens?: number;
}

export const ZERO_USAGE: Readonly<TokenUsage> = Object.freeze({
  inputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  cacheWrite1hTokens: 0,
  outputTokens: 0,
  reasoningTokens: 0,
});

/** What one upstream response said about itself, as far as it got. */
export interface UsageReport {
  /** The model the response says served the request (falls back to the requested model). */
  model?: string;
  /** The last complete usage block seen. Absent when the provider sent none (or the stream was cut first). */
  usage?: TokenUsage;
  /**
   * True when `usage` is a partial report that the provider would have completed later
   * (e.g. Anthropic's message_start before message_delta). A cut stream leaves it partial.
   */
  usagePartial?: boolean;
  /** Service tier the response says was served: "default", "flex", "priority", "batch", … */
  serviceTier?: string;
  /** Cost the provider itself reported, in USD (OpenRouter `usage.cost`). */
  reportedCostUsd?: number;
  /** Characters of generated text seen, to estimate output tokens when no usage arrives. */
  outputChars: number;
  /** True once the provider's own end-of-response marker was seen ([DONE], message_stop, finishReason…). */
  completed: boolean;
  /** Error message the provider put in its body (4xx/5xx JSON, or an SSE error event). */
  error?: string;
}

/** The request as the adapter sees it: upstream path (without the provider prefix), query, parsed JSON body. */
export interface ProxiedRequest {
  method: string;
  /** Upstream path, e.g. "/v1/chat/completions" or "/v1beta/models/gemini-2.5-flash:streamGenerateContent". */
  path: string;
  query: URLSearchParams;
  /** Parsed JSON body, or undefined when there is none or it is not JSON (it is then forwarded untouched). */
  body: unknown;
  /** Raw body size in bytes (for estimating input tokens when no usage is reported). */
  bodyBytes: number;
}

/** One recognised endpoint of a wire protocol, for one request. */
export interface EndpointCall {
  /** Short endpoint name recorded with the request: "chat.completions", "responses", "embeddings", "messages", "count_tokens", "generateContent", "streamGenerateContent", "ollama.chat", … */
  endpoint: string;
  /** Model named in the request (URL or body). */
  requestModel?: string;
  /** Whether the response will be a stream. */
  stream: boolean;
  /** Free endpoints (count_tokens, model listing) are recorded with costStatus "free". */
  free: boolean;
  /**
   * A replacement request body, when the adapter needs to ask upstream for more than the client did
   * (e.g. `stream_options.include_usage`). Undefined: forward the client's bytes untouched.
   */
  upstreamBody?: Buffer;
  /**
   * Parses the response body as it streams. `contentType` and `status` come from the upstream
   * response headers.
   */
  createResponseParser(status: number, contentType: string): ResponseParser;
}

export interface ResponseParser {
  /**
   * Feeds the next decoded (decompressed) slice of the response body. Returns the bytes the client
   * should receive for it: normally the same buffer; when the adapter injected something into the
   * request it may return a filtered buffer (possibly empty) that hides what the client did not ask for.
   */
  write(chunk: Buffer): Buffer;
  /** Ends the body (or the body was cut); returns what was learned, plus any bytes still held back. */
  end(): { report: UsageReport; tail: Buffer };
  /** True when write() may alter bytes, so the proxy must forward decoded bytes instead of raw ones. */
  readonly rewritesBody: boolean;
}

/** A wire protocol: recognises its endpoints among requests. One file per protocol under providers/. */
export interface ProtocolAdapter {
  /** Name used in the provider route table, e.g. "openai", "anthropic", "gemini", "ollama". */
  readonly protocol: string;
  /** Returns the endpoint call for this request, or undefined for paths it does not meter (forwarded, recorded as-is). */
  recognise(req: ProxiedRequest): EndpointCall | undefined;
}
