/** A request or response header's value as one string: the first, when Node gives several. */
export function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
