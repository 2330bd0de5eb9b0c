/** Builds DOM nodes; text only ever goes in through textContent, never as HTML. */
type Child = Node | string | number | null | undefined | false;
type Props = { class?: string; title?: string; id?: string; [attr: `data-${string}`]: string } & Partial<
  Record<'type' | 'value' | 'placeholder' | 'min' | 'max' | 'for' | 'role' | 'aria-label' | 'list', string>
>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props | null = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props) for (const [k, v] of Object.entries(props)) if (v !== undefined) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

export function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** A table with a header row; `numeric` columns are right-aligned. */
export function table(headers: string[], rows: Child[][], opts: { numeric?: number[]; empty: string; testId?: string }): HTMLTableElement {
  const t = h('table', opts.testId ? { 'data-testid': opts.testId } : null);
  const head = h('tr');
  headers.forEach((label, i) => head.append(h('th', opts.numeric?.includes(i) ? { class: 'num' } : null, label)));
  t.append(h('thead', null, head));
  const body = h('tbody');
  if (!rows.length) body.append(h('tr', null, Object.assign(h('td', { class: 'muted' }, opts.empty), { colSpan: headers.length })));
  for (const r of rows) {
    const tr = h('tr');
    r.forEach((cell, i) => tr.append(h('td', opts.numeric?.includes(i) ? { class: 'num' } : null, cell)));
    body.append(tr);
  }
  t.append(body);
  return t;
}

/** A titled card of the dashboard. */
export function card(title: string, ...body: Array<Node | string>): HTMLElement {
  return h('section', { class: 'card' }, h('h2', null, title), ...body);
}
