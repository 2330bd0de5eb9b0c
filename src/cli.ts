#!/usr/bin/env node
// The `burnrate` executable (built to dist/cli.js); the commands live in src/cli/.
import { setFlagsFromString } from 'node:v8';
import { quietOnClosedStdout } from './cli/command';
import { main } from './cli/index';

export { main };

if (require.main === module) {
  // sql.js's WebAssembly compiled by Liftoff alone: a command's process then exits when its work is
  // done instead of waiting on V8's background TurboFan compilation (a tenth of a second or more a
  // command here); import and export measured as fast either way. The database worker keeps both tiers.
  setFlagsFromString('--liftoff-only');
  quietOnClosedStdout();
  void main(process.argv.slice(2)).then((code) => {
    if (code >= 0) process.exitCode = code;
  });
}
