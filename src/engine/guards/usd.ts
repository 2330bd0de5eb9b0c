import { formatUsd } from '../../shared';
import { nanosToUsd } from '../pricing';

/** Nano-dollars in a guard's message, written as the status bar writes money. */
export function usd(nanos: number): string {
  return formatUsd(nanosToUsd(nanos));
}
