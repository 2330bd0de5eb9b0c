/** `burnrate report --what-if MODEL`: each group's usage, and the total, priced at another model beside the actual cost. */
import { nanosToUsd, sumWhatIf, usdToNanos, whatIfNanos, type WhatIfCost, type WhatIfModel } from '../pricing';
import type { SpendReport, Totals } from './queries';

/** A group's usage at the what-if model: its cost, or null and why the model cannot price it. */
export interface WhatIfFigure {
  costUsd: number | null;
  unpriced?: string;
}

/** The report's total at the what-if model: the sum of the groups it could price, and what it left out. */
export interface WhatIfTotal extends WhatIfFigure {
  model: string;
  /** The actual cost of the same groups (the whole total unless some could not be priced). */
  actualUsd: number;
}

export interface WhatIfReport {
  total: Totals;
  groups: Array<{ key: string } & Totals & { whatIf: WhatIfFigure }>;
  whatIf: WhatIfTotal;
}

/** `report` with each group priced at `model`; the total is the groups' sum in nano-dollars (the whole total when ungrouped). */
export function withWhatIf(report: SpendReport, model: WhatIfModel): WhatIfReport {
  const parts = report.groups.length ? report.groups : [report.total];
  const costs = parts.map((t) => whatIfNanos(t, model));
  const sum = sumWhatIf(costs);
  const actualNanos = parts.reduce((acc, t, i) => ('nanos' in costs[i] ? acc + usdToNanos(t.costUsd) : acc), 0);
  const priced = parts.length - sum.unpriced;
  const unpriced = !sum.unpriced ? undefined : report.groups.length ? `${sum.unpriced} of ${parts.length} groups left out: ${sum.reason}` : sum.reason;
  return {
    total: report.total,
    groups: report.groups.map((g, i) => ({ ...g, whatIf: figureOf(costs[i]) })),
    whatIf: { model: model.label, costUsd: priced ? nanosToUsd(sum.nanos) : null, ...(unpriced ? { unpriced } : {}), actualUsd: nanosToUsd(actualNanos) },
  };
}

function figureOf(cost: WhatIfCost): WhatIfFigure {
  return 'nanos' in cost ? { costUsd: nanosToUsd(cost.nanos) } : { costUsd: null, unpriced: cost.unpriced };
}
