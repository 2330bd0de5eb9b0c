/** The alerts' way out of the engine to the team: the webhook sender and its payload. */
export { AlertWebhook, type AlertWebhookOptions } from './webhook';
export { scrubUrl, webhookPayload, type WebhookPayload, type WebhookAlert } from './webhookPayload';
