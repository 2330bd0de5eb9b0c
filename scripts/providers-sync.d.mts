/** Types of providers-sync.mjs, for the test that checks package.json and README.md agree with the route table. */
export interface ProviderRow {
  id: string;
  baseUrl: string;
  env: string;
  envSuffix: string;
  readmeNote?: string;
  settingNote?: string;
}

export const ROUTES_START: string;
export const ROUTES_END: string;
export function readProviderRows(): ProviderRow[];
export function upstreamSettingProperties(rows: readonly ProviderRow[]): Record<string, { type: string; format: string; markdownDescription: string }>;
export function routesTable(rows: readonly ProviderRow[]): string;
export function syncedPackageJson(text: string, rows: readonly ProviderRow[]): string;
export function syncedReadme(text: string, rows: readonly ProviderRow[]): string;
