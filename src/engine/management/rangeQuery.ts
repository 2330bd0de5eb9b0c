/** The time range (and workspace) of the dashboard's routes and of export, read from a query string; and the what-if route's model. */
import { DAY_MS, type DashboardFilter } from '../../shared';
import { resolveWhatIfModel } from '../pricing';

/** The dashboard lists every day of its range; ten years is plenty. */
const MAX_DASHBOARD_DAYS = 3_660;

/** since/until (epoch ms) and workspace from the query string, or what is wrong with them. */
export function readFilter(url: URL): { since?: number; until?: number; workspace?: string } | string {
  const time = (name: string): number | undefined | string => {
    const raw = url.searchParams.get(name);
    if (raw === null || raw === '') return undefined;
    const t = Number(raw);
    return Number.isFinite(t) ? t : `${name} must be epoch milliseconds`;
  };
  const since = time('since');
  const until = time('until');
  if (typeof since === 'string') return since;
  if (typeof until === 'string') return until;
  const workspace = url.searchParams.get('workspace') || undefined;
  return { since, until, workspace };
}

/** A dashboard range: since and until required, in order, at most MAX_DASHBOARD_DAYS apart; or what is wrong. */
export function readDashboardRange(url: URL): DashboardFilter | string {
  const filter = readFilter(url);
  if (typeof filter === 'string') return filter;
  if (filter.since === undefined || filter.until === undefined) return 'since and until (epoch milliseconds) are required';
  if (filter.until - filter.since > MAX_DASHBOARD_DAYS * DAY_MS || filter.until <= filter.since)
    return `until must be after since, at most ${MAX_DASHBOARD_DAYS} days later`;
  return { since: filter.since, until: filter.until, workspace: filter.workspace };
}

/** The what-if route's range and model (as "provider/model"), or what is wrong: an unknown model says where names are found. */
export function readWhatIfQuery(url: URL, pricesProviders: string[]): { range: DashboardFilter; model: string } | string {
  const range = readDashboardRange(url);
  if (typeof range === 'string') return range;
  const name = url.searchParams.get('model')?.trim() ?? '';
  if (!name) return 'model is required (a model id such as gpt-4o-mini, or provider/model)';
  const model = name.length <= 200 ? resolveWhatIfModel(name, pricesProviders) : undefined;
  if (!model) return `no price known for model "${name.slice(0, 200)}": search the Prices card (or run \`burnrate prices\`) for its name`;
  return { range, model: model.label };
}
