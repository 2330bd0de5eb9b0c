// @ts-check
// The interim Burn Rate dashboard (see src/extension/dashboardPanel.ts). Renders the summary the
// extension posts; builds every cell with textContent, never HTML from data.
(function () {
  // eslint-disable-next-line no-undef
  const vscode = acquireVsCodeApi();

  /** @param {number} usd */
  function money(usd) {
    if (!usd) return '$0.00';
    if (usd < 0.01) return '$' + Number(usd.toPrecision(3)).toString();
    if (usd < 10000) return '$' + usd.toFixed(2);
    return '$' + Math.round(usd).toLocaleString('en-US');
  }
  /** @param {number} n */
  function tokens(n) {
    /** @param {number} x */
    const trim = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
    if (n < 1000) return String(n);
    if (n < 1e6) return trim(n / 1e3) + 'k';
    return trim(n / 1e6) + 'M';
  }
  /** @param {string} id @param {string} text */
  function setText(id, text) {
    const el = document.getElementById(id);
    if (el) el.textContent = text;
  }
  /** @param {string} id @param {any[]} groups @param {string} empty */
  function fillTable(id, groups, empty) {
    const body = document.querySelector('#' + id + ' tbody');
    if (!body) return;
    body.replaceChildren();
    if (!groups.length) {
      const tr = document.createElement('tr');
      const td = document.createElement('td');
      td.colSpan = 6;
      td.className = 'muted';
      td.textContent = empty;
      tr.append(td);
      body.append(tr);
      return;
    }
    for (const g of groups) {
      const tr = document.createElement('tr');
      for (const [value, numeric] of [[g.key, false], [money(g.costUsd), true], [String(g.requests), true], [tokens(g.inputTokens), true], [tokens(g.outputTokens), true], [g.unpricedRequests ? String(g.unpricedRequests) : '', true]]) {
        const td = document.createElement('td');
        td.textContent = /** @type {string} */ (value);
        if (numeric) td.className = 'num';
        tr.append(td);
      }
      body.append(tr);
    }
  }

  /** @param {any} m */
  function render(m) {
    const s = m.summary;
    setText('state', s && s.recordingPaused ? '· recording paused' : '');
    setText('note', m.state === 'owner' || m.state === 'follower' ? '' : m.note);
    for (const period of ['today', 'week', 'month']) {
      const t = s && s[period];
      setText(period, t ? money(t.costUsd) : '…');
      setText(period + '-sub', t ? t.requests + ' requests · ' + tokens(t.inputTokens) + ' in / ' + tokens(t.outputTokens) + ' out' + (t.unpricedRequests ? ' · ' + t.unpricedRequests + ' unpriced' : '') : '');
    }
    fillTable('by-provider', s ? s.todayByProvider : [], 'No requests today yet.');
    fillTable('by-model', s ? s.todayByModel : [], 'No requests today yet.');
    fillTable('sessions', s ? s.activeSessions : [], 'No session active in the last ' + (s ? s.activeSessionMinutes : 15) + ' minutes.');
    setText('footer', 'Proxy ' + m.proxyUrl + (s ? ' · updated ' + new Date(s.at).toLocaleTimeString() : ''));
    vscode.setState(m);
  }

  window.addEventListener('message', (event) => {
    const m = event.data;
    if (m && m.type === 'summary') render(m);
  });
  for (const button of document.querySelectorAll('button[data-command]')) {
    button.addEventListener('click', () => vscode.postMessage({ type: 'command', command: button.getAttribute('data-command') }));
  }
  const previous = vscode.getState();
  if (previous) render(previous);
  vscode.postMessage({ type: 'ready' });
})();
