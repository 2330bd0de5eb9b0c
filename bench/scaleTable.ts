/**
 * The table bench:scale prints: one column per database (empty, the single file, segmented at each
 * size), one row per figure, and the target each figure is held to (at 10M records). A segmented
 * column's figure that misses its target is marked ✗ (✓ when it meets it).
 */
import type { EngineFigures, Rss } from './scaleEngine';
import type { ProcessFigures } from './scaleProcess';
import { CLI_RUNS } from './scaleProcess';

export interface Column {
  label: string;
  layout: 'single file' | 'segmented';
  records: number;
  /** Why this column has no figures. */
  na?: string;
  /** How its database was made (built, or migrated), as a table cell. */
  made?: string;
  migration?: string;
  diskBytes?: number;
  engine?: EngineFigures;
  cli?: ProcessFigures[];
}

const MB = 1048576;
const mb = (n: number) => (Number.isFinite(n) ? `${(n / MB).toFixed(0)} MB` : 'n/a');
const ms = (n: number) => (Number.isFinite(n) ? `${n.toFixed(n < 10 ? 1 : 0)} ms` : 'n/a');
const rss = (r: Rss) => `${mb(r.both)} (${mb(r.serve)} + ${mb(r.worker)})`;
const proc = (p: ProcessFigures) => (p.failed ? `failed (${p.failed})` : `${(p.seconds * 1000).toFixed(0)} ms / ${mb(p.peakRss)}`);

interface Row {
  name: string;
  cell: (c: Column) => string | undefined;
  target?: string;
  /** Whether a segmented column meets the target (`empty`: the empty column). */
  ok?: (c: Column, empty: Column) => boolean | undefined;
}

const e = (f: (x: EngineFigures) => string) => (c: Column) => (c.engine ? f(c.engine) : undefined);
const cliRun = (i: number) => (c: Column) => (c.cli ? proc(c.cli[i]) : undefined);
const cliOk =
  (i: number, seconds: number, peak = Infinity) =>
  (c: Column) =>
    c.cli && !c.cli[i].failed ? c.cli[i].seconds <= seconds && c.cli[i].peakRss <= peak : false;

export function rows(rate: number): Row[] {
  return [
    { name: 'how the database was made: time / peak RSS', cell: (c) => c.made },
    { name: 'migration from the single file: time / peak RSS', cell: (c) => c.migration },
    { name: 'on disk', cell: (c) => (c.diskBytes === undefined ? undefined : mb(c.diskBytes)) },
    { name: '`serve` start (database open)', cell: e((x) => ms(x.startMs)), target: '≤ 1 s', ok: (c) => c.engine && c.engine.startMs <= 1000 },
    {
      name: 'idle RSS: serve + worker (serve + worker)',
      cell: e((x) => rss(x.idle)),
      target: '≤ 200 MB',
      ok: (c) => c.engine && c.engine.idle.both <= 200 * MB,
    },
    {
      name: `peak RSS under load (${rate}/s): serve + worker (each)`,
      cell: e((x) => rss(x.peak)),
      target: '≤ 200 MB',
      ok: (c) => c.engine && c.engine.peak.both <= 200 * MB,
    },
    { name: 'calls recorded under load / errors', cell: e((x) => `${x.requests} / ${x.errors}`) },
    {
      name: 'worker CPU per second of load',
      cell: e((x) => `${ms(x.workerCpuMsPerSecond)}/s`),
      target: '≤ 1.5× empty',
      ok: (c, z) => c.engine && z.engine && c.engine.workerCpuMsPerSecond <= 1.5 * z.engine.workerCpuMsPerSecond,
    },
    { name: 'proxy event-loop delay p99 under load', cell: e((x) => ms(x.loopDelayP99Ms)) },
    {
      name: 'one snapshot (median): bytes written / duration',
      cell: e((x) => `${(x.snapshotBytes / 1024).toFixed(0)} KB / ${ms(x.snapshotMs)}`),
      target: '∝ records since the last',
    },
    {
      name: 'snapshots under load / records per snapshot / bytes per record',
      cell: e((x) => `${x.snapshots} / ${x.recordsPerSnapshot.toFixed(0)} / ${(x.snapshotBytes / x.recordsPerSnapshot).toFixed(0)}`),
      target: 'bytes/record ≈ empty',
      ok: (c, z) => c.engine && z.engine && c.engine.snapshotBytes / c.engine.recordsPerSnapshot <= 3 * (z.engine.snapshotBytes / z.engine.recordsPerSnapshot),
    },
    {
      name: 'one call after an idle pause: worker CPU / RSS after / call',
      cell: e((x) => `${ms(x.wake.cpuMs)} / ${rss(x.wake.rss)} / ${ms(x.wake.callMs)}`),
      target: '≤ empty',
      ok: (c, z) => c.engine && z.engine && c.engine.wake.cpuMs <= 1.2 * z.engine.wake.cpuMs + 20 && c.engine.wake.rss.both <= z.engine.wake.rss.both * 1.2,
    },
    ...CLI_RUNS.map(([name], i): Row => {
      const target = i < 2 ? '≤ 200 ms' : i === 2 ? '≤ 1 s in ≤ 150 MB' : 'bounded memory (≈ empty)';
      const ok =
        i < 2
          ? cliOk(i, 0.2)
          : i === 2
            ? cliOk(i, 1, 150 * MB)
            : (c: Column, z: Column) => !!c.cli && !!z.cli && !c.cli[i].failed && c.cli[i].peakRss <= 1.5 * z.cli[i].peakRss + 50 * MB;
      return { name: `\`burnrate ${name}\`: time / peak RSS`, cell: cliRun(i), target, ok };
    }),
  ];
}

/** The table as Markdown, targets in the last column. */
export function table(columns: Column[], rate: number): string {
  const empty = columns[0];
  const notes = columns.filter((c) => c.na);
  const head = `| | ${columns.map((c) => c.label).join(' | ')} | target (at 10M) |\n|---|${columns.map(() => '---|').join('')}---|`;
  const lines = rows(rate).map((row) => {
    const cells = columns.map((c) => {
      if (c.na) return `n/a [${notes.indexOf(c) + 1}]`;
      const cell = row.cell(c) ?? '–';
      const ok = c.layout === 'segmented' && c !== empty && cell !== '–' ? row.ok?.(c, empty) : undefined;
      return ok === undefined ? cell : `${cell} ${ok ? '✓' : '✗'}`;
    });
    return `| ${row.name} | ${cells.join(' | ')} | ${row.target ?? ''} |`;
  });
  const footnotes = notes.map((c, i) => `[${i + 1}] ${c.label}: ${c.na}`);
  return [head, ...lines, ...(footnotes.length ? ['', ...footnotes] : [])].join('\n');
}
