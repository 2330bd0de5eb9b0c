/**
 * The dashboard's header: the title with the live dot, the filter (range presets, custom dates,
 * workspace) and the actions (export, and in VS Code the extension's commands).
 */
import { h } from '../dom';
import { RANGES, type FilterState } from '../filter';
import type { AppCommand, ConnectionState, DashboardData } from '../protocol';

export interface HeaderActions {
  /** The filter was changed (the header has already written it into the filter state). */
  filterChanged: () => void;
  exportAs: (format: 'csv' | 'jsonl') => void;
  /** Runs one of the extension's commands; undefined where there is no extension (the served page). */
  command?: (command: AppCommand) => void;
}

const COMMAND_BUTTONS: Array<[AppCommand, string]> = [
  ['burnrate.copyProxySetup', 'Copy proxy setup'],
  ['burnrate.newMeteredTerminal', 'New metered terminal'],
];

export class DashboardHeader {
  readonly element: HTMLElement;
  private readonly liveDot = h('span', { class: 'live', title: 'live' });
  private readonly rangeButtons: HTMLButtonElement[];
  private readonly fromInput = h('input', { type: 'date', 'aria-label': 'From' });
  private readonly toInput = h('input', { type: 'date', 'aria-label': 'To' });
  private readonly customBox = h('span', { class: 'custom' }, this.fromInput, ' – ', this.toInput);
  private readonly workspaceSelect = h('select', { 'aria-label': 'Workspace' });

  /** `filter` is the app's own filter state: the controls write into it. */
  constructor(
    private readonly filter: FilterState,
    private readonly actions: HeaderActions,
  ) {
    this.rangeButtons = RANGES.map(([kind, label]) => this.rangeButton(kind, label));
    this.listenToDates();
    this.workspaceSelect.addEventListener('change', () => {
      filter.workspace = this.workspaceSelect.value;
      actions.filterChanged();
    });
    this.element = h(
      'header',
      null,
      h('h1', null, 'Burn Rate ', this.liveDot),
      h('div', { class: 'filters' }, h('span', { class: 'segmented' }, ...this.rangeButtons), this.customBox, this.workspaceSelect),
      h('div', { class: 'actions' }, ...this.actionButtons()),
    );
  }

  /** Marks the selected range, and shows the dates only for a custom one. */
  showSelection(): void {
    for (const b of this.rangeButtons) b.classList.toggle('selected', b.dataset.range === this.filter.range);
    this.customBox.hidden = this.filter.range !== 'custom';
  }

  /** The selection, and the workspaces the figures know of (the selected one kept even when it has none). */
  render(d: DashboardData): void {
    this.showSelection();
    const options = ['', ...d.workspaces];
    if (this.filter.workspace && !options.includes(this.filter.workspace)) options.push(this.filter.workspace);
    this.workspaceSelect.replaceChildren(
      ...options.map((w) => {
        const o = h('option', { value: w }, w || 'All workspaces');
        o.selected = w === this.filter.workspace;
        return o;
      }),
    );
  }

  showConnection(s: ConnectionState): void {
    this.liveDot.classList.toggle('on', s.live);
    this.liveDot.title = s.live ? 'live' : s.note;
  }

  private rangeButton(kind: FilterState['range'], label: string): HTMLButtonElement {
    const b = h('button', { class: 'range', 'data-range': kind, type: 'button' }, label);
    b.addEventListener('click', () => {
      this.filter.range = kind;
      this.actions.filterChanged();
    });
    return b;
  }

  private listenToDates(): void {
    const { filter, fromInput, toInput } = this;
    fromInput.value = filter.from;
    toInput.value = filter.to;
    for (const input of [fromInput, toInput]) {
      input.addEventListener('change', () => {
        filter.from = fromInput.value || filter.from;
        filter.to = toInput.value || filter.to;
        filter.range = 'custom';
        this.actions.filterChanged();
      });
    }
  }

  private actionButtons(): HTMLButtonElement[] {
    const button = (label: string, run: () => void) => {
      const b = h('button', { type: 'button', class: 'secondary' }, label);
      b.addEventListener('click', run);
      return b;
    };
    const { exportAs, command } = this.actions;
    const commands = command ? COMMAND_BUTTONS.map(([id, label]) => button(label, () => command(id))) : [];
    return [button('Export CSV', () => exportAs('csv')), button('Export JSONL', () => exportAs('jsonl')), ...commands];
  }
}
