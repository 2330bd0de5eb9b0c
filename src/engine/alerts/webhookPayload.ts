/**
 * What the alert webhook posts: Slack's incoming-webhook shape, `{"text": "…"}`, which Slack,
 * Mattermost, Discord's `/slack` endpoint and Teams workflows accept, plus the alert's own fields
 * under `burnrate` for receivers that read more than the text. Generic over the alert's kind: a new
 * kind needs no change here.
 */

/** Any alert of the engine's stream (GuardAlert) or the test alert: a kind, an id, a message and its fields. */
export interface WebhookAlert {
  kind: string;
  id: string;
  at: number;
  message: string;
}

export interface WebhookPayload {
  text: string;
  burnrate: WebhookAlert & Record<string, unknown>;
}

export function webhookPayload(alert: WebhookAlert): WebhookPayload {
  return { text: `Burn Rate: ${escapeMrkdwn(alert.message)}`, burnrate: { ...alert } };
}

/** The test alert of "Burn Rate: Send Test Alert" (and POST /_burnrate/alerts/test). */
export function testAlert(now: number): WebhookAlert {
  return {
    kind: 'test',
    id: `test:${now}`,
    at: now,
    message: 'test alert. Budget thresholds, forecasts, guard trips and spend anomalies will arrive here.',
  };
}

/** Slack reads &, < and > as markup (links, mentions); the message is plain text. */
function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Why a post failed, without the URL: the webhook URL holds its token, and fetch's errors (and
 * their causes) may quote it, its host or its path.
 */
export function deliveryError(e: unknown, url: string): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return 'no answer in time';
  // The code alone (ECONNREFUSED, ENOTFOUND…): the messages around it quote the address.
  const code = err?.cause?.code;
  if (code) return `network error ${scrubUrl(code, url)}`;
  return scrubUrl(err?.cause?.message ?? err?.message ?? String(e), url);
}

/** `text` with the URL and each of its parts (origin, host, path, query) replaced. */
export function scrubUrl(text: string, url: string): string {
  let parts: string[] = [url];
  try {
    const u = new URL(url);
    parts = [url, u.href, u.origin, u.host, u.hostname, u.pathname, u.search].filter((p) => p.length > 1);
  } catch {
    // Not a URL: only the whole string is known.
  }
  let out = text;
  for (const part of parts.sort((a, b) => b.length - a.length)) out = out.split(part).join('<alert webhook>');
  return out;
}
