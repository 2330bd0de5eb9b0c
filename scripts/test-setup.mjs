// Run by `npm test` first (pretest): the Debian packages the integration tests drive as users'
// programs (python3 with httpx, for the Python capture test). Idempotent: does nothing when they are
// there; installs them with apt-get as root (CI); otherwise says what to install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const PACKAGES = ['python3', 'python3-httpx'];

function installed(pkg) {
  return spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' }).stdout?.includes('install ok installed');
}

function aptGet(...args) {
  return spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
}

if (process.platform === 'linux' && existsSync('/usr/bin/dpkg-query')) {
  const missing = PACKAGES.filter((p) => !installed(p));
  if (missing.length && process.getuid?.() === 0) {
    process.stderr.write(`test setup: apt-get install ${missing.join(' ')}\n`);
    // A fresh machine has no package lists yet: update once, only when the install needs it.
    if (!aptGet('install', '-y', '-qq', ...missing) && !(aptGet('update', '-qq') && aptGet('install', '-y', '-qq', ...missing))) {
      process.stderr.write('test setup: apt-get failed; the Python capture test will say what is missing\n');
    }
  } else if (missing.length) {
    process.stderr.write(`test setup: the Python capture test needs ${missing.join(' ')} (sudo apt-get install ${missing.join(' ')})\n`);
  }
}
