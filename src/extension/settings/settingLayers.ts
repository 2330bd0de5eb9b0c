/**
 * Reads one setting from the layers VS Code keeps (default, user, workspace, folder), each value
 * checked against the settings table: a bad value is told (in `problems`) and the default or the
 * user's value is used instead. Pure (no vscode import); config.ts builds the snapshot with it.
 */
import { settingDefault, type BurnRateSettings, type SettingKey, validateSetting, tighterCap, type OnLimit } from '../../shared';

/** The shape of vscode's `WorkspaceConfiguration.inspect()` result that we use. */
export interface SettingInspection<T> {
  defaultValue?: T;
  globalValue?: T;
  workspaceValue?: T;
  workspaceFolderValue?: T;
}

export type Inspect = <K extends SettingKey>(key: K) => SettingInspection<BurnRateSettings[K]> | undefined;

type KeyOf<V> = { [K in SettingKey]: BurnRateSettings[K] extends V ? K : never }[SettingKey];

export interface SettingLayers {
  /** The user's (or default) value: for settings a workspace must not change. */
  user<K extends SettingKey>(key: K): BurnRateSettings[K];
  /** The most specific layer's value: for settings that only ever keep traffic local. */
  nearest<K extends SettingKey>(key: K): BurnRateSettings[K];
  /** The lower of the user's cap and the workspace's (0 = none): a workspace may only tighten. */
  cap(key: KeyOf<number>): number;
  /** "block" if the user or the workspace chose it. */
  stricter(key: KeyOf<OnLimit>): OnLimit;
}

export function settingLayers(inspect: Inspect, problems: string[]): SettingLayers {
  /** `value` checked; undefined (told) when unusable; a list or map keeps its good entries. */
  const usable = <K extends SettingKey>(key: K, value: unknown, instead: string): BurnRateSettings[K] | undefined => {
    if (value === undefined) return undefined;
    const check = validateSetting(key, value);
    const fallback = check.value === undefined ? `; ${instead}` : '; left out';
    for (const p of check.problems) problems.push(p + fallback);
    return check.value;
  };
  const userValue = <K extends SettingKey>(key: K, i = inspect(key)): BurnRateSettings[K] =>
    usable(key, i?.globalValue ?? i?.defaultValue, `using ${JSON.stringify(settingDefault(key))}`) ?? settingDefault(key);
  const workspaceValue = <K extends SettingKey>(key: K, i = inspect(key)): BurnRateSettings[K] | undefined =>
    usable(key, i?.workspaceFolderValue ?? i?.workspaceValue, 'the workspace value is ignored');
  return {
    user: (key) => userValue(key),
    nearest: (key) => {
      const i = inspect(key);
      return workspaceValue(key, i) ?? userValue(key, i);
    },
    cap: (key) => {
      const i = inspect(key);
      const user = userValue(key, i);
      const workspace = workspaceValue(key, i);
      return workspace === undefined ? user : tighterCap(user, workspace);
    },
    stricter: (key) => {
      const i = inspect(key);
      return userValue(key, i) === 'block' || workspaceValue(key, i) === 'block' ? 'block' : 'warn';
    },
  };
}
