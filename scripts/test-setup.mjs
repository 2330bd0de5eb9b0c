// Run by `npm test` first (pretest): what the integration tests drive as users' programs.
//  - The agent CLIs of test/agents/package.json (Claude Code, Codex, Gemini CLI, Qwen Code,
//    opencode), with `npm install` there: unlike `npm ci` it tolerates the other platforms' builds a
//    registry mirror may lack, and they stay out of the extension's own dependencies.
//  - The Debian packages (python3 with httpx, for the Python capture test), with apt-get as root.
// Idempotent: does nothing when everything is there.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const AGENTS_DIR = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'test', 'agents');

function agentsInstalled() {
  const wanted = JSON.parse(readFileSync(path.join(AGENTS_DIR, 'package.json'), 'utf8')).dependencies;
  return Object.entries(wanted).every(([name, version]) => {
    const manifest = path.join(AGENTS_DIR, 'node_modules', name, 'package.json');
    return existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).version === version;
  });
}

if (!agentsInstalled()) {
  process.stderr.write('test setup: npm install in test/agents (the agent CLIs)\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['install', '--no-audit', '--no-fund'], { cwd: AGENTS_DIR, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) process.stderr.write('test setup: npm install in test/agents failed; the agent CLI tests will say what is missing\n');
}

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
