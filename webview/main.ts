/** The dashboard bundle's entry (dist/webview/dashboard.js): starts the app (app.ts) in #app, in whichever host it finds itself. */
import { DashboardApp } from './app';
import { h } from './dom';
import { pickHost } from './hosts';

const root = document.getElementById('app') ?? document.body.appendChild(h('div', { id: 'app' }));
new DashboardApp(pickHost()).start(root);
