/** The extension's settings: reading, watching and writing them. */
export { configChanges, readConfig, type BurnRateConfig, type Inspect, type SettingInspection } from './config';
export { ConfigStore } from './configStore';
export { guardSettingsUpdate, type LimitSettings } from './guardSettings';
