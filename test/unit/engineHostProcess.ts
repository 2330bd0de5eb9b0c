/**
 * A stand-in for another VS Code window's extension host, in its own process, for
 * engineLink.test.ts: hosts (or follows) the engine on PORT with DIR, every provider routed to
 * UPSTREAM. Prints "owner" or "follower" once it knows. Killed with SIGKILL by the test.
 *
 *   node --import tsx test/unit/engineHostProcess.ts PORT DIR UPSTREAM
 */
import * as path from 'node:path';
import { Engine } from '../../src/engine/engine';
import { readSecret } from '../../src/engine/management';
import { DEFAULT_ROUTES } from '../../src/engine/providers';
import { EngineLink } from '../../src/extension/link/engineLink';

const [port, dir, upstream] = process.argv.slice(2);
const dbPath = path.join(dir, 'burnrate.sqlite');
const link = new EngineLink({
  port: Number(port),
  lockFile: `${dbPath}.owner`,
  secrets: () => [readSecret(dir)].filter((s): s is string => !!s),
  host: async (p, { recordingPaused }) => {
    const engine = await Engine.start({
      port: p,
      dbPath,
      dataDir: dir,
      upstreams: Object.fromEntries(DEFAULT_ROUTES.map((r) => [r.id, upstream])),
      saveIntervalMs: 60_000,
      recordingPaused,
    });
    return { instance: engine.management.health.instance, close: () => engine.close() };
  },
});
link.onDidChangeState((s) => process.stdout.write(`${s.kind}\n`));
link.start();
