/**
 * CLI start-up (issue 11: "CLI start ≤3× `node -e 0`"): runs, as a user does, `node -e 0`, `node bin/rootwatch.mjs
 * --help` and `node bin/rootwatch.mjs replay EMPTY.json` (a CloudTrail log file with no records) as child
 * processes, interleaved — one run of each per round, in a rotating order, so that a busy machine slows all three
 * alike — and reports each one's median wall time and its median paired ratio to `node -e 0`'s in the same round.
 * Builds dist/ first when it is missing or older than the sources (bin/rootwatch.mjs would otherwise run the
 * sources through tsx, and this would time that). Also times, in-process, the walk bin/rootwatch.mjs does over the
 * sources to decide whether dist/ is stale.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCli, newestSourceTime, STAMP_FILE } from '../../build/cli.mjs';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(REPO_ROOT, 'bin', 'rootwatch.mjs');

/** One measured command: its median wall time over the rounds, in ms, and its median ratio to `node -e 0`'s. */
interface CliStartRow {
  readonly name: string;
  /** The command line as a user would type it (paths shortened). */
  readonly command: string;
  /** Median wall time of the whole process, from spawn to exit, in milliseconds. */
  readonly medianMs: number;
  /** Median over the rounds of this command's time divided by `node -e 0`'s in the same round (1 for itself). */
  readonly ratio: number;
  readonly runs: number;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/** Whether dist/ was built after the last change to its sources, as bin/rootwatch.mjs decides it. */
const isBuildFresh = (): boolean => {
  try {
    const stamp = JSON.parse(readFileSync(join(REPO_ROOT, 'dist', STAMP_FILE), 'utf8')) as { startedAt: number };
    return stamp.startedAt > newestSourceTime(REPO_ROOT);
  } catch {
    return false;
  }
};

/** Wall time of one child process in ms; throws naming the command when it exits with a status other than 0. */
const timeRun = (args: readonly string[]): number => {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd: tmpdir(), stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) {
    // The last lines only: an error's stack in the minified bundle is one very long line.
    const stderr = String(result.stderr).trim().slice(-2000);
    throw new Error(`node ${args.join(' ')} exited with ${result.status}: ${stderr}`);
  }
  return ms;
};

/**
 * Measures the CLI's start-up against `node -e 0` over `runs` rounds (default 15, at least 3), after one unmeasured
 * warm-up round. Resolves to one row per command (`node -e 0` first, its ratio 1) and a last row for the staleness
 * check (its in-process time; ratio: that time over `node -e 0`'s median). Throws when a command fails, or when a
 * source changed during the rounds (bin then timed the sources, not dist/).
 */
const measureCliStart = async ({ runs = 15 }: { runs?: number } = {}): Promise<CliStartRow[]> => {
  if (!Number.isInteger(runs) || runs < 3) throw new Error(`runs must be a whole number ≥ 3 (got ${runs})`);
  if (!isBuildFresh()) await buildCli();
  const dir = mkdtempSync(join(tmpdir(), 'rootwatch-cli-start-'));
  try {
    const empty = join(dir, 'empty.json');
    writeFileSync(empty, '{"Records":[]}\n');
    const commands = [
      { name: 'node -e 0', command: 'node -e 0', args: ['-e', '0'] },
      { name: 'help', command: 'node bin/rootwatch.mjs --help', args: [BIN, '--help'] },
      { name: 'replay empty', command: 'node bin/rootwatch.mjs replay empty.json', args: [BIN, 'replay', empty] },
    ];
    for (const { args } of commands) timeRun(args);
    const times = commands.map(() => [] as number[]);
    for (let round = 0; round < runs; round += 1) {
      for (let k = 0; k < commands.length; k += 1) {
        const index = (round + k) % commands.length;
        (times[index] as number[]).push(timeRun((commands[index] as (typeof commands)[number]).args));
      }
    }
    if (!isBuildFresh()) {
      throw new Error(
        'a source changed during the measurement: bin ran the sources through tsx for some runs; run again',
      );
    }
    const baseline = times[0] as number[];
    const rows: CliStartRow[] = commands.map(({ name, command }, index) => ({
      name,
      command,
      medianMs: median(times[index] as number[]),
      ratio: median((times[index] as number[]).map((ms, round) => ms / (baseline[round] as number))),
      runs,
    }));
    const walks = Array.from({ length: runs }, () => {
      const start = process.hrtime.bigint();
      newestSourceTime(REPO_ROOT);
      return Number(process.hrtime.bigint() - start) / 1e6;
    });
    const walkMs = median(walks);
    rows.push({
      name: 'staleness check',
      command: "bin's walk over functions/, events/, build/ (in-process)",
      medianMs: walkMs,
      ratio: walkMs / (rows[0] as CliStartRow).medianMs,
      runs,
    });
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const rows = await measureCliStart({ runs: Number(process.env.BENCH_RUNS ?? 15) });
  for (const row of rows) {
    console.log(
      `${row.name.padEnd(16)} ${row.medianMs.toFixed(1).padStart(8)} ms  ×${row.ratio.toFixed(2).padStart(5)}  ${row.command}`,
    );
  }
}

export type { CliStartRow };
export { measureCliStart };
