/** The tighter of two caps where 0 means "no limit": a workspace can lower the user's, never lift it. */
export function tighterCap(a: number, b: number): number {
  if (!a) return b;
  if (!b) return a;
  return Math.min(a, b);
}
