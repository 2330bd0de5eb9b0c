/**
 * `burnrate sessions`: the sessions the running engine knows, stopped ones first with why, when and
 * by whom; `burnrate sessions allow ID` lets a stopped one go on. With no engine on the port, the
 * stops kept in the data directory (they hold across restarts) are listed and lifted there.
 */
import { StoppedSessionFile, type StoppedSession } from '../../engine/database';
import { defaultDataDir } from '../../engine/dataDir';
import { callRoute, readSecret, type EngineAccess } from '../../engine/management';
import { DEFAULT_PORT } from '../../engine/proxy';
import { ManagementRoutes as R, type SessionView } from '../../shared';
import { intFlag, parse, UsageError } from '../args';
import { exitZeroAfter, type Command } from '../command';

export const sessionsCommand: Command = {
  name: 'sessions',
  synopsis: '[--port N] [--json] | allow ID [--port N]',
  summary:
    'The sessions the engine on the port knows (stopped ones first: why, when, by whom), or, with none\nrunning, the stopped sessions kept in the data directory. `allow ID` lets a stopped session go on.',
  run: exitZeroAfter(sessions),
};

/** A stopped session as listed (the engine's view, or the kept stop). */
type Listed = Pick<SessionView, 'id' | 'state' | 'stoppedReason' | 'stoppedAt' | 'stoppedBy'> & Partial<Pick<SessionView, 'requests' | 'costUsd'>>;

async function sessions(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { port: { type: 'string' }, json: { type: 'boolean' } }, 2);
  const port = intFlag(values, 'port', 1) ?? DEFAULT_PORT;
  const dataDir = defaultDataDir();
  const [verb, id] = positionals;
  if (verb !== undefined && verb !== 'allow') throw new UsageError(`sessions expects nothing or "allow ID"; got "${verb}"`);
  if (verb === 'allow' && !id) throw new UsageError('sessions allow expects the session id (see `burnrate sessions`)');
  const engine = await engineOn(port, dataDir);
  if (verb === 'allow') {
    const allowed = engine ? await allowOnEngine(engine.access, id!) : allowOnFile(dataDir, id!);
    if (!allowed) throw new UsageError(`no stopped session "${id}"${engine ? '' : ` (no engine answers on port ${port}; looked in ${dataDir})`}`);
    process.stdout.write(`session "${id}" may go on\n`);
    return;
  }
  const listed: Listed[] = engine ? engine.sessions : StoppedSessionFile.inDataDir(dataDir).load().map(fromStop);
  listed.sort((a, b) => Number(b.state === 'stopped') - Number(a.state === 'stopped'));
  if (values.json) {
    process.stdout.write(JSON.stringify({ source: engine ? `engine on port ${port}` : dataDir, sessions: listed }, null, 2) + '\n');
    return;
  }
  process.stdout.write(formatSessions(listed, engine ? `the engine on port ${port}` : `${dataDir} (no engine answers on port ${port})`));
}

/** The engine answering on the port with this data directory's secret, and its sessions; undefined when none answers. */
async function engineOn(port: number, dataDir: string): Promise<{ access: EngineAccess; sessions: SessionView[] } | undefined> {
  const secret = readSecret(dataDir);
  if (!secret) return undefined;
  try {
    const access = { port, secret };
    return { access, sessions: (await callRoute(access, R.sessions, {}, 2_000)).sessions };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED' || code === 'ECONNRESET') return undefined;
    throw new UsageError(`the engine on port ${port} did not answer: ${(e as Error).message}`);
  }
}

async function allowOnEngine(engine: EngineAccess, id: string): Promise<boolean> {
  try {
    return (await callRoute(engine, R.sessionAllow, { session: id })).state === 'active';
  } catch (e) {
    if ((e as { status?: number }).status === 404) return false;
    throw e;
  }
}

function allowOnFile(dataDir: string, id: string): boolean {
  const file = StoppedSessionFile.inDataDir(dataDir);
  const kept = file.load();
  const left = kept.filter((s) => s.id !== id);
  if (left.length === kept.length) return false;
  file.save(left);
  return true;
}

function fromStop(s: StoppedSession): Listed {
  return { id: s.id, state: 'stopped', stoppedReason: s.reason, stoppedAt: s.at, stoppedBy: s.by };
}

function formatSessions(listed: Listed[], source: string): string {
  if (!listed.length) return `No sessions (from ${source}).\n`;
  const lines = listed.map((s) => {
    const head = `${s.state === 'stopped' ? 'stopped' : 'active '}  ${s.id}`;
    const use = s.requests === undefined ? '' : `  ${s.requests} request(s), $${(s.costUsd ?? 0).toFixed(6)}`;
    const why =
      s.state === 'stopped' ? `\n         ${s.stoppedReason ?? ''}; since ${new Date(s.stoppedAt ?? 0).toLocaleString()}, by ${s.stoppedBy ?? '?'}` : '';
    return `${head}${use}${why}`;
  });
  return `Sessions (from ${source}):\n\n${lines.join('\n')}\n`;
}
