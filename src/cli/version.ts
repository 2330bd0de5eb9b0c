/** The version the build stamps into dist/cli.js; 'dev' when run from source. */
declare const BURNRATE_VERSION: string | undefined;
export const VERSION = typeof BURNRATE_VERSION === 'string' ? BURNRATE_VERSION : 'dev';
