import { nanosToUsd } from '../pricing';

/** Nano-dollars for a guard's message: cents from a cent up, three significant digits below. */
export function usd(nanos: number): string {
  const v = nanosToUsd(nanos);
  return v >= 0.01 || v === 0 ? `$${v.toFixed(2)}` : `$${Number(v.toPrecision(3))}`;
}
