/**
 * `burnrate run` and `burnrate env` as a user meets them: the command's exit status, signals and
 * stdio; the environment printed for each shell and `eval`ed by a real one; a clear refusal when no
 * Burn Rate proxy listens on the port.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { LEFT_TO_CAPTURE, NOT_INJECTED } from '../../src/engine/meter';
import { DEFAULT_ROUTES } from '../../src/engine/providers';
import { burnrate, CLI, finished, FIXTURES, unmeteredEnv, useMeteredTestBed } from '../support/meteredRun';

const bed = useMeteredTestBed();

const nodeCommand = (code: string) => ['--', process.execPath, '-e', code];

describe('burnrate run: the command as it would run without it', () => {
  test('exit status, stdin and stdout pass through; a missing command is 127', async () => {
    assert.equal((await burnrate(['run', '--port', String(bed.h.port), ...nodeCommand('process.exit(7)')])).status, 7);
    const echo = await burnrate(['run', '--port', String(bed.h.port), ...nodeCommand('process.stdin.pipe(process.stdout)')], { input: 'line one\nline two\n' });
    assert.deepEqual([echo.status, echo.stdout, echo.stderr], [0, 'line one\nline two\n', '']);
    const missing = await burnrate(['run', '--port', String(bed.h.port), '--', 'no-such-command-here']);
    assert.equal(missing.status, 127);
    assert.match(missing.stderr, /no-such-command-here: command not found/);
  });

  test('the command gets the session, feature and user tags and the base-URL variables', async () => {
    const printEnv = 'console.log(JSON.stringify(process.env))';
    const run = await burnrate(
      [
        'run',
        '--port',
        String(bed.h.port),
        '--session',
        'job 7',
        '--feature',
        'summarize',
        '--user',
        'ana',
        ...nodeCommand(printEnv),
        // Outside a repository: no branch tag (this checkout's branch would be one).
      ],
      { cwd: bed.h.dir },
    );
    const env = JSON.parse(run.stdout) as Record<string, string>;
    assert.equal(env.BURNRATE_SESSION, 'job 7');
    assert.equal(env.OPENAI_BASE_URL, `http://127.0.0.1:${bed.h.port}/~session=job%207,feature=summarize,user=ana/openai/v1`);
    for (const route of DEFAULT_ROUTES) if (!NOT_INJECTED.has(route.env) && !LEFT_TO_CAPTURE.has(route.env)) assert.ok(env[route.env], route.env);
    // Without --session, each run is its own session.
    const a = JSON.parse((await burnrate(['run', '--port', String(bed.h.port), ...nodeCommand(printEnv)])).stdout) as Record<string, string>;
    const b = JSON.parse((await burnrate(['run', '--port', String(bed.h.port), ...nodeCommand(printEnv)])).stdout) as Record<string, string>;
    assert.match(a.BURNRATE_SESSION, /^run-\d{4}-[0-9a-f]{4}$/);
    assert.notEqual(a.BURNRATE_SESSION, b.BURNRATE_SESSION);
  });

  test('a signal sent to burnrate reaches the command, whose own exit status comes back', async () => {
    const code = "process.on('SIGTERM', () => { console.log('command got SIGTERM'); process.exit(3) }); console.log('ready'); setInterval(() => {}, 1000)";
    const child = spawn(process.execPath, [CLI, 'run', '--port', String(bed.h.port), ...nodeCommand(code)], {
      env: unmeteredEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const done = finished(child);
    await new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => String(d).includes('ready') && resolve()));
    child.kill('SIGTERM');
    const result = await done;
    assert.equal(result.status, 3);
    assert.match(result.stdout, /command got SIGTERM/);
  });

  test('a command ended by a signal ends burnrate by the same signal', async () => {
    const result = await burnrate(['run', '--port', String(bed.h.port), ...nodeCommand("process.kill(process.pid, 'SIGTERM')")]);
    assert.deepEqual([result.status, result.signal], [null, 'SIGTERM']);
  });
});

describe('burnrate env', () => {
  const variablesOf = (text: string, line: RegExp) => Object.fromEntries([...text.matchAll(line)].map((m) => [m[1], m[2]]));
  const SHELL_LINES: Record<string, RegExp> = {
    bash: /^export (\w+)='([^']*)'$/gm,
    zsh: /^export (\w+)='([^']*)'$/gm,
    fish: /^set -gx (\w+) '([^']*)'$/gm,
    powershell: /^\$env:(\w+) = '([^']*)'$/gm,
  };

  for (const [shell, line] of Object.entries(SHELL_LINES)) {
    test(`--shell ${shell}: every variable of the metered environment, in that shell's syntax`, async () => {
      const out = await burnrate(['env', '--port', String(bed.h.port), '--session', 's-env', '--shell', shell], { cwd: bed.h.dir });
      assert.equal(out.status, 0, out.stderr);
      const vars = variablesOf(out.stdout, line);
      for (const name of [
        'OPENAI_BASE_URL',
        'MISTRAL_BASE_URL',
        'BURNRATE_SESSION',
        'BURNRATE_PROXY',
        'BURNRATE_CAPTURE',
        'NODE_OPTIONS',
        'PYTHONPATH',
        'PATH',
      ])
        assert.ok(vars[name], `${shell}: ${name}`);
      assert.equal(vars.BURNRATE_PROXY, `http://127.0.0.1:${bed.h.port}/~session=s-env`);
      assert.match(vars.NODE_OPTIONS, /--require \S+\/dist\/capture\/preload\.js$/);
      // Every line is a comment or an assignment: nothing else to `eval`.
      for (const l of out.stdout.trim().split('\n')) assert.ok(l.startsWith('#') || new RegExp(line.source).test(l), l);
    });
  }

  test('--no-intercept prints the base-URL variables only', async () => {
    const out = await burnrate(['env', '--port', String(bed.h.port), '--no-intercept', '--shell', 'bash']);
    assert.match(out.stdout, /OPENAI_BASE_URL/);
    assert.doesNotMatch(out.stdout, /NODE_OPTIONS|PYTHONPATH|BURNRATE_CAPTURE|PATH=/);
  });

  test("eval'd by bash and by sh: the shell's programs are metered, odd characters survive", async () => {
    const session = "it's run 1";
    for (const sh of ['/bin/bash', '/bin/sh']) {
      bed.h.fake.reset();
      const script = `eval "$("${process.execPath}" "${CLI}" env --port ${bed.h.port} --session "$SESSION" --shell bash)" && printf '%s\\n' "$BURNRATE_SESSION" && "${process.execPath}" "${path.join(FIXTURES, 'captureClients.mjs')}" mistral-sdk`;
      const result = await finished(spawn(sh, ['-c', script], { env: unmeteredEnv({ SESSION: session }), stdio: ['pipe', 'pipe', 'pipe'] }));
      assert.equal(result.status, 0, `${sh}: ${result.stderr}`);
      assert.equal(result.stdout.split('\n')[0], session);
      assert.deepEqual(
        bed.h.fake.calls.map((c) => c.path),
        ['/mistral/v1/chat/completions'],
      );
    }
    assert.equal((await bed.records.ofSession(session, 2)).length, 2);
  });
});

describe('no Burn Rate proxy on the port', () => {
  async function freePort(): Promise<number> {
    const server = http.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    return port;
  }

  test('run refuses (exit 69) without running the command; env prints nothing to eval', async () => {
    const port = await freePort();
    const marker = path.join(bed.h.dir, 'ran');
    const run = await burnrate(['run', '--port', String(port), ...nodeCommand(`require('fs').writeFileSync(${JSON.stringify(marker)}, '')`)]);
    assert.equal(run.status, 69);
    assert.equal(
      run.stderr,
      `burnrate: no Burn Rate proxy on 127.0.0.1:${port}; start one with \`burnrate serve --port ${port}\` or open VS Code with Burn Rate\n`,
    );
    assert.ok(!fs.existsSync(marker), 'the command did not run');
    const env = await burnrate(['env', '--port', String(port)]);
    assert.deepEqual([env.status, env.stdout], [69, '']);
    assert.match(env.stderr, /no Burn Rate proxy on/);
  });

  test('something else on the port is named as such', async () => {
    const other = http.createServer((_req, res) => res.writeHead(404, { server: 'nginx' }).end('not found')).listen(0, '127.0.0.1');
    await new Promise((resolve) => other.once('listening', resolve));
    const { port } = other.address() as AddressInfo;
    const run = await burnrate(['run', '--port', String(port), '--', 'true']);
    other.close();
    assert.equal(run.status, 69);
    assert.match(run.stderr, new RegExp(`what listens on 127\\.0\\.0\\.1:${port} is not a Burn Rate proxy \\(it answered HTTP 404 from "nginx"\\)`));
  });
});
