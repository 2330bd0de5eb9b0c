/**
 * Which window shows an alert (budget, forecast, guard, anomaly, unpriced model), what the notification says,
 * and how Set a Price reads what is typed. Pure (no vscode import) so it is unit-tested;
 * sessionCommands.ts and priceCommands.ts show it and run the chosen action.
 */
import type { SessionView } from '../../engine/guards';
import { guardLabel, type AlertTestAnswer, type ModelRepriceAnswer, formatUsd } from '../../shared';
import type { DeliveredAlert } from '../link';

export interface WindowRole {
  /** This window hosts the engine. */
  isOwner: boolean;
  /** This window's workspace name (the tag its terminals carry). */
  workspace: string | undefined;
  /** Sessions of metered terminals this window opened. */
  meteredSessions: ReadonlySet<string>;
}

/**
 * Every following window receives every alert; exactly one should show it: the window whose
 * metered terminal the session is, else the window of the alert's workspace (when one follows),
 * else the window hosting the engine, else (no window hosts it: `burnrate serve`) the one window
 * the engine addressed it to.
 */
export function shouldNotify(alert: DeliveredAlert, role: WindowRole): boolean {
  if (alert.session && role.meteredSessions.has(alert.session)) return true;
  if (alert.audience === 'workspace') return alert.workspace === role.workspace;
  if (alert.audience === 'this-window') return true;
  return role.isOwner;
}

export const AlertActions = {
  stopSession: 'Stop Session',
  stopAndEndTerminal: 'Stop Session and End Terminal',
  endTerminal: 'End Terminal',
  allowSession: 'Allow Session',
  raiseLimit: 'Raise Limit',
  ignore: 'Ignore',
  openDashboard: 'Open Dashboard',
  raiseBudget: 'Raise Budget',
  refreshPrices: 'Refresh Prices',
  setPrice: 'Set a Price',
} as const;
export type AlertAction = (typeof AlertActions)[keyof typeof AlertActions];

export interface AlertView {
  severity: 'info' | 'warning' | 'error';
  text: string;
  actions: AlertAction[];
}

/**
 * The notification for an alert: the engine's message (numbers, what tripped, how to go on) and the
 * actions that fit. No "Burn Rate:" prefix: the notification names its source, and the message
 * starts with what it is about ("Daily budget: …", "Session "…" …"). "90 %" is kept on one line.
 * An unpriced model is the exception: it is about Burn Rate's own totals, so it says whose.
 */
export function alertView(alert: DeliveredAlert, role: WindowRole): AlertView {
  const text = alert.message.replace(/(\d) %/g, '$1\u00a0%');
  switch (alert.kind) {
    case 'budget':
      return { severity: alert.threshold >= 1 ? 'error' : 'warning', text, actions: [AlertActions.openDashboard, AlertActions.raiseBudget] };
    case 'anomaly':
      return { severity: 'warning', text, actions: [AlertActions.openDashboard] };
    case 'forecast':
      return { severity: 'warning', text, actions: [AlertActions.openDashboard, AlertActions.raiseBudget] };
    case 'unpricedModel':
      return {
        severity: 'warning',
        text: `Burn Rate: no price known for ${alert.provider} model ${alert.model}; its calls are recorded as unpriced (not in your totals).`,
        actions: [AlertActions.refreshPrices, AlertActions.setPrice, AlertActions.ignore],
      };
    case 'guard': {
      const metered = role.meteredSessions.has(alert.session);
      if (alert.action === 'block') {
        // The engine's how-to-go-on (the command, the management route, the setting) is for logs; here the buttons do it.
        const short = text.replace(/ To let it go on: .*$/s, ' Allow Session lets it go on; Raise Limit doubles its limit for this session.');
        return {
          severity: 'error',
          text: short,
          actions: [AlertActions.allowSession, AlertActions.raiseLimit, ...(metered ? [AlertActions.endTerminal] : [])],
        };
      }
      return {
        severity: 'warning',
        text,
        actions: [metered ? AlertActions.stopAndEndTerminal : AlertActions.stopSession, AlertActions.raiseLimit, AlertActions.ignore],
      };
    }
  }
}

/** One quick-pick row per session, for Stop Session / Allow Session. */
export function sessionPickItem(s: SessionView, meteredHere: boolean, now = Date.now()): { label: string; description: string; detail: string } {
  const ago = Math.max(0, Math.round((now - s.lastAt) / 60_000));
  const parts = [
    `${formatUsd(s.costUsd)}`,
    `${s.requests} call${s.requests === 1 ? '' : 's'}`,
    `${s.tokens.toLocaleString('en-US')} tokens`,
    ago ? `last ${ago} min ago` : 'active now',
  ];
  if (s.inFlight) parts.push(`${s.inFlight} running`);
  const where = [
    s.workspace ? `workspace ${s.workspace}` : undefined,
    meteredHere ? 'metered terminal in this window' : undefined,
    s.explicit ? undefined : 'inferred from key and client',
  ].filter(Boolean);
  const state = s.state === 'stopped' ? `stopped: ${s.stoppedReason ?? ''}` : s.tripped.length ? `tripped: ${s.tripped.map(guardLabel).join(', ')}` : '';
  return { label: s.id, description: parts.join(' · '), detail: [state, ...where].filter(Boolean).join(' · ') };
}

/**
 * A price as typed into Set a Price (USD per million tokens, e.g. "1.25" or "$1.25"): the number, or
 * what is wrong with it. Blank is allowed where `optional` (then undefined).
 */
export function readPerMTok(text: string, optional = false): { usd?: number; problem?: string } {
  const t = text.trim().replace(/^\$/, '');
  if (!t) return optional ? {} : { problem: 'A price in USD per million tokens, e.g. 1.25' };
  const usd = Number(t);
  if (!/^\d+(\.\d+)?$/.test(t) || !Number.isFinite(usd) || usd > 100_000)
    return { problem: 'A number of US dollars per million tokens, e.g. 1.25 (at most 100000)' };
  return { usd };
}

/** What became of the calls recorded before the price was set. */
export function historyNote(saved: ModelRepriceAnswer): string {
  if (!saved.repriced) return `Earlier calls stay unpriced until repriced (burnrate reprice): ${saved.repriceError ?? 'not repriced'}.`;
  const { records, afterUsd } = saved.repriced;
  if (!records) return 'No earlier calls needed repricing.';
  return `${records} earlier call${records === 1 ? '' : 's'} repriced: ${formatUsd(afterUsd)} in all.`;
}

/** What Send Test Alert tells the user: delivered, or why not (the engine's reason never holds the URL). */
export function testAlertView(answer: AlertTestAnswer): { ok: boolean; text: string } {
  if (answer.delivered) return { ok: true, text: 'Burn Rate: test alert delivered to the alert webhook.' };
  return { ok: false, text: `Burn Rate: test alert not delivered: ${answer.reason ?? 'no reason given'}.` };
}
