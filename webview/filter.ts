/** The dashboard's filter: a range of whole local days (a preset or custom dates) and, optionally, one workspace. */
import { localDay } from '../src/shared';
import type { FilterQuery } from './protocol';

export type RangeKind = 'today' | '7d' | '30d' | 'month' | 'custom';

export interface FilterState {
  range: RangeKind;
  /** The custom range's first and last day, YYYY-MM-DD. */
  from: string;
  to: string;
  /** '' for all workspaces. */
  workspace: string;
}

export const RANGES: Array<[RangeKind, string]> = [
  ['today', 'Today'],
  ['7d', '7 d'],
  ['30d', '30 d'],
  ['month', 'This month'],
  ['custom', 'Custom'],
];

export function rangeLabel(range: RangeKind): string {
  return RANGES.find(([k]) => k === range)?.[1] ?? '';
}

/** Today, with the last 7 days ready as the custom range. */
export function defaultFilter(): FilterState {
  return { range: 'today', from: localDay(Date.now() - 6 * 86_400_000), to: localDay(Date.now()), workspace: '' };
}

function dayStart(d: Date, offset = 0): number {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + offset).getTime();
}

/** The filter's whole local days. */
export function filterQuery(filter: FilterState): FilterQuery {
  const now = new Date();
  const tomorrow = dayStart(now, 1);
  let since: number;
  let until = tomorrow;
  switch (filter.range) {
    case 'today':
      since = dayStart(now);
      break;
    case '7d':
      since = dayStart(now, -6);
      break;
    case '30d':
      since = dayStart(now, -29);
      break;
    case 'month':
      since = new Date(now.getFullYear(), now.getMonth(), 1).getTime();
      break;
    case 'custom': {
      const [fy, fm, fd] = filter.from.split('-').map(Number);
      const [ty, tm, td] = filter.to.split('-').map(Number);
      since = new Date(fy, fm - 1, fd).getTime();
      until = new Date(ty, tm - 1, td + 1).getTime();
      if (!(until > since)) until = since + 86_400_000;
      break;
    }
  }
  return { since, until, ...(filter.workspace ? { workspace: filter.workspace } : {}) };
}
