/**
 * The prices card (search the price table, and which price data it comes from) and the estimate
 * card (model, tokens, requests per day → cost a day and a month). Both ask the host; neither
 * depends on the dashboard's range.
 */
import { card, h, table } from '../../dom';
import { money } from '../../format';
import type { DashboardHost } from '../../hosts';
import type { PriceRow } from '../../protocol';

export class PricesView {
  readonly element: HTMLElement;
  private readonly search = h('input', { type: 'search', placeholder: 'Search models, e.g. gpt-4o, sonnet, gemini…', 'aria-label': 'Search prices' });
  private readonly rows = h('div', { class: 'scroll' });
  private readonly source = h('p', { class: 'muted price-source', 'data-testid': 'price-source' });
  private readonly model = h('input', { type: 'text', value: 'gpt-4o-mini', 'aria-label': 'Model' });
  private readonly input = h('input', { type: 'number', min: '0', value: '2000', 'aria-label': 'Input tokens' });
  private readonly cached = h('input', { type: 'number', min: '0', value: '0', 'aria-label': 'Cached input tokens' });
  private readonly output = h('input', { type: 'number', min: '0', value: '500', 'aria-label': 'Output tokens' });
  private readonly perDay = h('input', { type: 'number', min: '1', value: '1000', 'aria-label': 'Requests per day' });
  private readonly result = h('p', { class: 'estimate', 'data-testid': 'estimate' });
  private searchTimer: ReturnType<typeof setTimeout> | undefined;
  private estimateTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly host: DashboardHost,
    private readonly showError: (e: unknown) => void,
  ) {
    this.element = h(
      'div',
      { class: 'grid prices' },
      card('Prices (USD per 1M tokens)', this.search, this.source, this.rows),
      card(
        'Estimate',
        h(
          'div',
          { class: 'form' },
          h('label', null, 'Model', this.model),
          h('label', null, 'Input tokens', this.input),
          h('label', null, 'of them cached', this.cached),
          h('label', null, 'Output tokens', this.output),
          h('label', null, 'Requests per day', this.perDay),
        ),
        this.result,
      ),
    );
    this.search.addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.loadPrices(), 200);
    });
    for (const i of [this.model, this.input, this.cached, this.output, this.perDay]) i.addEventListener('input', () => this.estimate());
  }

  /** Fills both cards: the price table for the search, and the estimate for the form's values. */
  start(): void {
    this.loadPrices();
    this.estimate();
  }

  private loadPrices(): void {
    void this.host.request('prices', { q: this.search.value }).then((rows) => this.renderPrices(rows), this.showError);
  }

  private renderPrices(rows: PriceRow[]): void {
    const shown = rows.slice(0, 100);
    const price = (n: number | undefined) => (n === undefined ? '–' : `$${n}`);
    // Which price data the rows come from, and of when, said once above the table.
    const sources = [...new Map(rows.map((r) => [r.source, r.sourceDate])).entries()];
    this.source.replaceChildren(
      ...sources.map(([source, date], i) => h('span', null, i ? ' · ' : 'Prices from ', h('strong', null, source), date ? ` of ${date}` : '')),
    );
    this.rows.replaceChildren(
      table(
        ['provider', 'model', 'input', 'cached', 'output', 'source', 'date'],
        shown.map((r) => [
          r.provider,
          h('span', { title: r.model }, r.model),
          price(r.inputPerMTok),
          price(r.cachedInputPerMTok),
          price(r.outputPerMTok),
          r.source,
          r.sourceDate ?? '–',
        ]),
        { numeric: [2, 3, 4], empty: 'No model matches.', testId: 'prices' },
      ),
      rows.length > shown.length ? h('p', { class: 'muted' }, `${rows.length - shown.length} more: narrow the search.`) : '',
    );
  }

  private estimate(): void {
    clearTimeout(this.estimateTimer);
    this.estimateTimer = setTimeout(async () => {
      const whole = (i: HTMLInputElement) => Math.max(0, Math.floor(Number(i.value) || 0));
      try {
        const e = await this.host.request('estimate', {
          model: this.model.value.trim(),
          inputTokens: whole(this.input),
          cachedTokens: Math.min(whole(this.cached), whole(this.input)),
          outputTokens: whole(this.output),
          requestsPerDay: Math.max(1, whole(this.perDay)),
        });
        this.result.replaceChildren(
          h('strong', null, `${money(e.perDayUsd)} a day · ${money(e.perMonthUsd)} a month`),
          h('br'),
          h('span', { class: 'muted' }, `${e.provider} ${e.model}: $${e.perRequestUsd.toFixed(6)} per request (prices: ${e.source})`),
        );
      } catch (err) {
        this.result.replaceChildren(h('span', { class: 'error' }, (err as Error).message));
      }
    }, 250);
  }
}
