#!/usr/bin/env node
// The `burnrate` executable (built to dist/cli.js); the commands live in src/cli/.
import { quietOnClosedStdout } from './cli/command';
import { main } from './cli/index';

export { main };

if (require.main === module) {
  quietOnClosedStdout();
  void main(process.argv.slice(2)).then((code) => {
    if (code >= 0) process.exitCode = code;
  });
}
