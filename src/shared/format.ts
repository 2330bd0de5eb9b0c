/**
 * How money and token counts are written, the same in the status bar, the dashboard and the
 * engine's own sentences (the dashboard's hints).
 */

/**
 * How exact small sums are: "cents" (the status bar, notifications) rounds to cents once there are
 * cents ($0.02); "detail" (the dashboard, its hints) keeps three significant digits below ten
 * cents ($0.0192). Below a cent both keep three significant digits ($0.000345).
 */
export type UsdStyle = 'cents' | 'detail';

/** Dollars: small sums as the style says, cents up to $10,000, whole dollars above. */
export function formatUsd(usd: number, style: UsdStyle = 'cents'): string {
  if (!Number.isFinite(usd) || usd === 0) return '$0.00';
  const sign = usd < 0 ? '-' : '';
  const a = Math.abs(usd);
  if (a < (style === 'detail' ? 0.1 : 0.01)) return `${sign}$${Number(a.toPrecision(3)).toString()}`;
  if (a < 10_000) return `${sign}$${a.toFixed(2)}`;
  return `${sign}$${Math.round(a).toLocaleString('en-US')}`;
}

/** Tokens as 950, 12.3k, 4.56M, 1.20B. */
export function formatTokens(n: number): string {
  if (n < 1_000) return String(n);
  if (n < 1_000_000) return `${trim(n / 1_000)}k`;
  if (n < 1_000_000_000) return `${trim(n / 1_000_000)}M`;
  return `${trim(n / 1_000_000_000)}B`;
}

function trim(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/** A cost beside the one it is compared with: "−$12.40, −61%" (or "+$3.00, +20%"; "no change"). */
export function formatUsdChange(usd: number, comparedUsd: number, style: UsdStyle = 'cents'): string {
  const delta = usd - comparedUsd;
  if (Math.abs(delta) < 5e-10) return 'no change';
  const sign = delta < 0 ? '−' : '+';
  const percent = comparedUsd > 0 ? `, ${sign}${Math.round((100 * Math.abs(delta)) / comparedUsd)}%` : '';
  return `${sign}${formatUsd(Math.abs(delta), style)}${percent}`;
}
