/** The management API's alert routes: the test alert of burnrate.alerts.webhookUrl. management.ts dispatches to them. */
import type { AlertTestAnswer, ManagementRouteName } from '../../shared';
import type { AlertWebhook } from '../alerts';
import type { RouteAnswer } from './guardRoutes';

/** Where the engine's alerts go beyond the windows: the webhook, when one is set. */
export interface AlertRouteContext {
  webhook: AlertWebhook | undefined;
}

const NO_WEBHOOK: AlertTestAnswer = {
  delivered: false,
  reason: 'no alert webhook is set: burnrate.alerts.webhookUrl in your user settings (or in the file of burnrate serve --config)',
};

export const ALERT_ROUTE_ANSWERS = {
  alertTest: async ({ webhook }: AlertRouteContext): Promise<RouteAnswer> => ({ status: 200, body: webhook ? await webhook.sendTest() : NO_WEBHOOK }),
} satisfies Partial<Record<ManagementRouteName, (context: AlertRouteContext) => Promise<RouteAnswer>>>;
