/**
 * The what-if picker: the range shown priced at another model's list prices, beside what it cost.
 * The list offers the range's own models, their cheaper siblings and a few common cheap ones (from
 * the engine); any other model can be typed, and the engine says when it knows no price for it.
 */
import { formatUsdChange } from '../../../src/shared';
import { h } from '../../dom';
import { money } from '../../format';
import type { DashboardHost } from '../../hosts';
import type { DashboardData, FilterQuery, WhatIfAnswer } from '../../protocol';

export class WhatIfPicker {
  private readonly models = h('datalist', { id: 'what-if-models' });
  private readonly model = h('input', { type: 'text', list: 'what-if-models', placeholder: 'e.g. gpt-4o-mini or openai/gpt-4o-mini', 'aria-label': 'Model' });
  private readonly result = h('p', { class: 'estimate', 'data-testid': 'what-if' });
  readonly element = h('div', null, h('div', { class: 'form what-if' }, h('label', null, 'Price this range at', this.model)), this.models, this.result);
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Each question's number: an answer that a later question overtook is dropped. */
  private generation = 0;

  constructor(
    private readonly host: DashboardHost,
    private readonly range: () => FilterQuery,
  ) {
    this.model.addEventListener('input', () => this.ask(400));
  }

  /** New figures (a new range, new records): the list follows the range, and the figure is asked again. */
  render(d: DashboardData): void {
    // Figures kept from before an update may lack the list.
    const names = d.whatIfModels ?? [];
    this.models.replaceChildren(...names.map((name) => h("option", { value: name })));
    // At first, the cheaper sibling of the range's most used model, or the list's first model.
    if (!this.model.value) this.model.value = names[1] ?? names[0] ?? "";
    this.ask(0);
  }

  private ask(delayMs: number): void {
    clearTimeout(this.timer);
    const mine = ++this.generation;
    this.timer = setTimeout(async () => {
      const model = this.model.value.trim();
      if (!model) return this.result.replaceChildren(h('span', { class: 'muted' }, 'Pick or type a model.'));
      try {
        const answer = await this.host.request('whatIf', { ...this.range(), model });
        if (mine === this.generation) this.show(answer);
      } catch (e) {
        if (mine === this.generation) this.result.replaceChildren(h('span', { class: 'error' }, (e as Error).message));
      }
    }, delayMs);
  }

  private show(a: WhatIfAnswer): void {
    if (a.costUsd === null) {
      this.result.replaceChildren(h('span', { class: 'error' }, `Not priced: ${a.unpriced ?? `no price known for ${a.model}`}.`));
      return;
    }
    this.result.replaceChildren(
      h('strong', null, `This range at ${a.model}: ${money(a.costUsd)}`),
      ` (actual ${money(a.actualUsd)}; ${formatUsdChange(a.costUsd, a.actualUsd, 'detail')})`,
      h('br'),
      h('span', { class: 'muted' }, `The same ${a.requests.toLocaleString('en-US')} requests' tokens at list prices, without long-context tiers.`),
    );
  }
}
