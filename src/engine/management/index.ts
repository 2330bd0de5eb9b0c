/** The management API's public face: the server, its client, probe and secret, the served dashboard page. */
export { DashboardPage } from './dashboardPage';
export { ManagementApi } from './management';
export { callRoute, ManagementError, type EngineAccess } from './managementClient';
export { probe, type Probe } from './managementProbe';
export { ENGINE_HOST, SECRET_FILE, loadOrCreateSecret, readSecret } from './managementProtocol';
