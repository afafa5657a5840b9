/**
 * The bench of issue 11 (`npm run bench`; a script, not a test). In one run, on this machine:
 * 1. writes a deterministic CloudTrail corpus (corpus.ts: BENCH_FILES gzipped files of 1,000 records, default 200, in
 *    CloudTrail's S3 layout) into a temporary folder, and checks it: mean record size against ../shared/corpus,
 *    written twice byte for byte equal, the generator's labels equal to the catalog's verdicts on the first files;
 * 2. times, side by side, each BENCH_RUNS times (default 3, interleaved, median; page cache warmed first):
 *    `zcat | jq` selecting Root records (when jq is installed), a plain Node script (baseline.mjs), `zcat > /dev/null`,
 *    and `rootwatch replay` with the full catalog as a user runs it (`node bin/rootwatch.mjs replay --no-fold
 *    --format ndjson --min-severity info DIR`); prints records/s, the ratios and the targets;
 * 3. cross-checks replay's alerts against the Root records jq (or the plain Node script) finds, minus the documented
 *    exclusions (corpus.ts, EXCLUSIONS), and counts replay's non-Root alerts;
 * 4. runs replay on hostile inputs (attacks.ts: gzip bomb, 5,000-deep nesting, 300 MiB string, 320 MiB of empty lines
 *    or of spaces, ~400 MB pretty-printed file), each followed by a normal file, printing exit code, error lines, wall time, peak RSS, and whether the
 *    normal file was still read (skip with BENCH_SKIP_MEMORY=1);
 * 5. times the alert function's per-event pipeline without network (pipeline-time.ts);
 * 6. prints the Lambda rows (lambda-load.ts, measureLambdaBundles) and CLI start rows (cli-start.ts,
 *    measureCliStart) when those files exist;
 * 7. ends with a Markdown results table and the command, also written to /tmp/readme-bench.md (BENCH_README).
 * Knobs: BENCH_FILES, BENCH_RUNS, BENCH_SKIP_MEMORY=1, BENCH_BOMB_GIB (default 6), BENCH_PRETTY_MB (default 400),
 * BENCH_STRING_MIB (default 300), BENCH_BLANK_MIB (the empty-line and space files, default 320), BENCH_TIMEOUT_S (per hostile run, default 180), BENCH_PIPELINE_PASSES (default 30),
 * BENCH_KEEP=1 (keep the corpus folder), BENCH_CLI (another checkout's bin/rootwatch.mjs), BENCH_README (where the README text goes).
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  writeBlankFile,
  writeDeepNesting,
  writeGzipBomb,
  writeHugeString,
  writeManyKeys,
  writeNormalFile,
  writePaddedRecord,
  writePrettyPrinted,
} from './attacks.js';
import { EXCLUSIONS, type Exclusion, writeCorpus } from './corpus.js';
import { deterministic, labelProblems, sharedCorpusMeanBytes } from './corpus-check.js';
import { measurePipeline, quantile } from './pipeline-time.js';

const env = process.env;
const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
/** The CLI replay runs as; BENCH_CLI names another checkout's bin/rootwatch.mjs (e.g. to measure a release). */
const CLI = env.BENCH_CLI ? resolve(env.BENCH_CLI) : join(REPO, 'bin/rootwatch.mjs');

const FILES = Number(env.BENCH_FILES ?? 200);
const RUNS = Math.max(1, Number(env.BENCH_RUNS ?? 3));
const SKIP_MEMORY = env.BENCH_SKIP_MEMORY === '1';
const BOMB_GIB = Number(env.BENCH_BOMB_GIB ?? 6);
const PRETTY_MB = Number(env.BENCH_PRETTY_MB ?? 400);
const STRING_MIB = Number(env.BENCH_STRING_MIB ?? 300);
const BLANK_MIB = Number(env.BENCH_BLANK_MIB ?? 320);
const TIMEOUT_MS = Number(env.BENCH_TIMEOUT_S ?? 180) * 1000;
const PIPELINE_PASSES = Number(env.BENCH_PIPELINE_PASSES ?? 30);
const README_OUT = env.BENCH_README ?? '/tmp/readme-bench.md';

/** Targets of issue 11. */
const TARGET = { vsJq: 5, vsNode: 1.5, sizeWithin: 0.25, pipelineMs: 1 } as const;

/** One row of the results table. */
interface Row {
  what: string;
  measured: string;
  target: string;
  pass: boolean | undefined;
}
const rows: Row[] = [];
/** Explanations of the rows, for the README text. */
const notes: string[] = [];

const n = (x: number): string => Math.round(x).toLocaleString('en-US');
const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const median = (values: readonly number[]): number =>
  quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
const section = (title: string) => console.log(`\n## ${title}\n`);
const verdict = (pass: boolean | undefined): string => (pass === undefined ? '–' : pass ? 'PASS' : 'FAIL');

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const RSS_WRAPPER = join(HERE, 'rss-wrapper.mjs');

/** What one child process did. */
interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  wallMs: number;
  /** Peak resident set size, KiB (/usr/bin/time %M, or the child's own process.resourceUsage at exit). */
  peakRssKb: number | undefined;
  /** The first 64 KiB of stderr. */
  stderr: string;
}

/**
 * Runs `command args` (its stdout to `stdoutFile`, or discarded), timing its wall clock from spawn to exit. With
 * `rss`, measures its peak RSS: through /usr/bin/time when present, else, for `node` commands, through
 * rss-wrapper.mjs. Kills the process group after `timeoutMs`.
 */
const run = (
  command: string,
  args: readonly string[],
  options: { stdoutFile?: string; rss?: boolean; timeoutMs?: number } = {},
): Promise<RunResult> =>
  new Promise((done, fail) => {
    const rssFile = options.rss ? join(tmpdir(), `rootwatch-bench-rss-${process.pid}-${Date.now()}`) : undefined;
    let argv = [command, ...args];
    if (rssFile && TIME) argv = [TIME, '-o', rssFile, '-f', '%M', ...argv];
    else if (rssFile && command === 'node') argv = ['node', RSS_WRAPPER, rssFile, ...args];
    // The child writes its stdout straight into the file, as `command > file` does in a shell: through a pipe to
    // this process, a command that prints much (replay's alerts) would also be timed waiting for this one to read.
    const out = options.stdoutFile ? openSync(options.stdoutFile, 'w') : undefined;
    const started = performance.now();
    const child = spawn(argv[0] as string, argv.slice(1), {
      cwd: REPO,
      stdio: ['ignore', out ?? 'ignore', 'pipe'],
      detached: true,
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < 65_536) stderr += chunk.toString('utf8').slice(0, 65_536 - stderr.length);
    });
    let timedOut = false;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            if (child.pid) process.kill(-child.pid, 'SIGKILL');
          }, options.timeoutMs);
    child.on('error', fail);
    child.on('close', (code, signal) => {
      const wallMs = performance.now() - started;
      if (timer) clearTimeout(timer);
      let peakRssKb: number | undefined;
      if (rssFile && existsSync(rssFile)) {
        const last = readFileSync(rssFile, 'utf8').trim().split('\n').at(-1) ?? '';
        peakRssKb = /^\d+$/.test(last) ? Number(last) : undefined;
        rmSync(rssFile, { force: true });
      }
      if (out !== undefined) closeSync(out);
      done({ code, signal, timedOut, wallMs, peakRssKb, stderr });
    });
  });

const bash = (script: string) => ['bash', ['-o', 'pipefail', '-c', script]] as const;

/**
 * What bin/rootwatch.mjs runs now: dist/cli.mjs when dist/build-stamp.json ({ startedAt, sources }) is newer than
 * every file under its source folders, else the sources through tsx (as bin/rootwatch.mjs decides).
 */
const cliMode = (): string => {
  if (env.BENCH_CLI) return `BENCH_CLI (${CLI})`;
  let stamp: { startedAt: number; sources: string[] };
  try {
    stamp = JSON.parse(readFileSync(join(REPO, 'dist/build-stamp.json'), 'utf8')) as typeof stamp;
  } catch {
    return 'the sources through tsx (dist/ not built)';
  }
  const newerIn = (folder: string): boolean =>
    readdirSync(folder, { withFileTypes: true }).some((entry) =>
      entry.isDirectory()
        ? newerIn(join(folder, entry.name))
        : statSync(join(folder, entry.name)).mtimeMs >= stamp.startedAt,
    );
  return stamp.sources.some((source) => newerIn(join(REPO, source)))
    ? 'the sources through tsx (dist/ older than them)'
    : 'dist/cli.mjs';
};

/** Builds dist/ (`npm run build`) so that replay runs as a user's installed CLI does; not for BENCH_CLI. */
const buildCli = (): void => {
  if (env.BENCH_CLI) return;
  const built = spawnSync('node', [join(REPO, 'build/cli.mjs')], { cwd: REPO, encoding: 'utf8' });
  if (built.status !== 0) console.log(`npm run build failed (${built.stderr.trim().split('\n')[0]})`);
};

// ---------------------------------------------------------------------------------------------------------------------
// 1. The corpus.

const machine = `${availableParallelism()} CPUs (${cpus()[0]?.model ?? 'unknown'}), ${mib(totalmem())} RAM, Node ${process.version}`;
const load = () =>
  `load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`;
console.log(
  `# rootwatch replay bench\n\n${machine}; ${load()}; BENCH_FILES=${FILES}, BENCH_RUNS=${RUNS}; replay: ${CLI}`,
);

section('1. Corpus');
const dir = mkdtempSync(join(tmpdir(), 'rootwatch-bench-'));
const corpusDir = join(dir, 'corpus');
let generatedMs = performance.now();
const manifest = writeCorpus(corpusDir, { files: FILES });
generatedMs = performance.now() - generatedMs;
const meanBytes = manifest.recordJsonBytes / manifest.records;
console.log(
  `${n(manifest.records)} records in ${n(manifest.files.length)} files (${(manifest.gzipBytes / 1e6).toFixed(1)} MB gzipped, ${(manifest.recordJsonBytes / 1e6).toFixed(0)} MB of JSON), written in ${s(generatedMs)} to ${corpusDir}`,
);
console.log(`e.g. ${manifest.files[0]?.slice(corpusDir.length + 1)}`);
console.log(`sha256 of the corpus: ${manifest.sha256}`);
const shared = sharedCorpusMeanBytes();
const sizeOff = shared ? meanBytes / shared.mean - 1 : undefined;
console.log(
  `mean record size: ${n(meanBytes)} B of JSON; ../shared/corpus/cloudtrail: ${shared ? `${n(shared.mean)} B over ${shared.records} records (${sizeOff !== undefined && sizeOff >= 0 ? '+' : ''}${((sizeOff ?? 0) * 100).toFixed(1)} %, target ±${TARGET.sizeWithin * 100} %)` : 'absent (not compared)'}`,
);
const byWhat = new Map<string, number>();
for (const label of manifest.labels.values()) byWhat.set(label.what, (byWhat.get(label.what) ?? 0) + 1);
const rootCount = [...manifest.labels.values()].filter((l) => l.kind !== 'other-alert').length;
console.log(
  `Root records: ${n(rootCount)} (${((rootCount / manifest.records) * 100).toFixed(2)} %); labelled records:`,
);
for (const [what, count] of [...byWhat].sort((a, b) => b[1] - a[1]))
  console.log(`  ${String(count).padStart(6)}  ${what}`);
const twice = deterministic(3);
console.log(`deterministic (3 files written twice): ${twice.equal ? 'yes' : `NO (${twice.sha256.join(' ≠ ')})`}`);
const labelled = labelProblems(3);
console.log(
  `generator's labels equal the catalog's verdicts on ${n(labelled.checked)} records: ${labelled.problems.length === 0 ? 'yes' : 'NO'}`,
);
for (const problem of labelled.problems.slice(0, 10)) console.log(`  ${problem}`);
rows.push({
  what: 'Corpus: mean record size vs ../shared/corpus',
  measured: shared
    ? `${n(meanBytes)} B vs ${n(shared.mean)} B (${((sizeOff ?? 0) * 100).toFixed(0)} %)`
    : `${n(meanBytes)} B`,
  target: `±${TARGET.sizeWithin * 100} %`,
  pass: sizeOff === undefined ? undefined : Math.abs(sizeOff) <= TARGET.sizeWithin,
});
notes.push(
  `**Corpus**: ${n(manifest.records)} records in ${FILES} gzipped files of 1,000, written by test/bench/corpus.ts from a seeded PRNG in CloudTrail's S3 layout and file shape; the mean record size is compared with the records of ../shared/corpus/cloudtrail (vendor test logs and real trails' records).`,
);

// ---------------------------------------------------------------------------------------------------------------------
// 2. Speed.

section('2. Speed (median of runs, records/s)');
const jqPath = spawnSync('bash', ['-c', 'command -v jq'], { encoding: 'utf8' }).stdout.trim();
const hasJq = jqPath !== '';
const out = (name: string) => join(dir, `${name}.out`);
const FIND = `find ${JSON.stringify(corpusDir)} -name '*.json.gz' -print0 | xargs -0`;
interface Tool {
  name: string;
  describe: string;
  command: readonly [string, readonly string[]];
  stdoutFile?: string;
}
const tools: Tool[] = [
  {
    name: 'zcat',
    describe: 'find … -print0 | xargs -0 zcat > /dev/null',
    command: bash(`${FIND} zcat > /dev/null`),
  },
  ...(hasJq
    ? [
        {
          name: 'jq',
          describe: `find … | xargs -0 zcat | jq -r '.Records[] | select(.userIdentity.type == "Root") | .eventID'`,
          command: bash(`${FIND} zcat | jq -r '.Records[] | select(.userIdentity.type == "Root") | .eventID'`),
          stdoutFile: out('jq'),
        },
      ]
    : []),
  {
    name: 'node',
    describe: 'node test/bench/baseline.mjs DIR (one thread: gunzip, JSON.parse, filter Root)',
    command: ['node', [join(HERE, 'baseline.mjs'), corpusDir]],
    stdoutFile: out('node'),
  },
  {
    name: 'replay',
    describe: 'node bin/rootwatch.mjs replay --no-fold --format ndjson --min-severity info DIR',
    command: ['node', [CLI, 'replay', '--no-fold', '--format', 'ndjson', '--min-severity', 'info', corpusDir]],
    stdoutFile: out('replay'),
  },
];
if (!hasJq) console.log('jq is not installed: the `zcat | jq` row is not measured (apt-get install jq).');
buildCli();
const modeBefore = cliMode();
console.log(`replay runs ${modeBefore} (built with \`npm run build\` just now)`);
// Warm the page cache: every file read once.
for (const file of manifest.files) readFileSync(file);
const times = new Map<string, number[]>(tools.map((tool) => [tool.name, []]));
const lastRun = new Map<string, RunResult>();
for (let round = 1; round <= RUNS; round++) {
  // A rotating order, so that a machine getting busier or quieter during a round favours no command.
  for (const tool of tools.map((_, k) => tools[(k + round - 1) % tools.length] as Tool)) {
    const result = await run(tool.command[0], tool.command[1], {
      ...(tool.stdoutFile ? { stdoutFile: tool.stdoutFile } : {}),
    });
    if (result.code !== 0) {
      const said = result.stderr
        .split('\n')
        .filter((line) => line.trim() !== '')
        .slice(0, 2)
        .map((line) => line.slice(0, 200));
      console.log(`${tool.name}: exit ${result.code ?? result.signal}: ${said.join(' | ')}`);
    }
    times.get(tool.name)?.push(result.wallMs);
    lastRun.set(tool.name, result);
  }
  console.log(
    `round ${round}/${RUNS}: ${tools.map((t) => `${t.name} ${s(times.get(t.name)?.at(-1) ?? 0)}`).join(', ')} (${load()})`,
  );
}
const modeAfter = cliMode();
if (modeAfter !== modeBefore) {
  console.log(
    `NOTE: replay now runs ${modeAfter}: a source changed during the runs, so later runs may have gone through tsx`,
  );
}
const rate = (name: string): number | undefined => {
  const ms = times.get(name);
  return ms && ms.length > 0 ? manifest.records / (median(ms) / 1000) : undefined;
};
console.log('');
for (const tool of tools) {
  console.log(
    `${tool.name.padEnd(7)} ${s(median(times.get(tool.name) ?? [])).padStart(8)}  ${n(rate(tool.name) ?? 0).padStart(9)} records/s   ${tool.describe}`,
  );
}
const replaySummary = (lastRun.get('replay')?.stderr ?? '')
  .split('\n')
  .filter((line) => / records?, /.test(line))
  .at(-1);
console.log(`replay's own summary (last run): ${replaySummary ?? '(none)'}`);
const replayRate = rate('replay') ?? 0;
const jqRate = rate('jq');
const nodeRate = rate('node') ?? 0;
/** Median over the rounds of `name`'s time ÷ replay's in the same round: how many times faster replay is. */
const paired = (name: string): number | undefined => {
  const theirs = times.get(name);
  const ours = times.get('replay') ?? [];
  return theirs && theirs.length > 0 ? median(theirs.map((ms, round) => ms / (ours[round] ?? Number.NaN))) : undefined;
};
const vsJq = paired('jq');
const vsNode = paired('node') ?? 0;
console.log(
  `\nreplay vs zcat | jq: ${vsJq === undefined ? 'not measured (no jq)' : `${vsJq.toFixed(2)}× (target ≥${TARGET.vsJq}×) ${verdict(vsJq >= TARGET.vsJq)}`}`,
);
console.log(
  `replay vs plain Node: ${vsNode.toFixed(2)}× (target ≥${TARGET.vsNode}×) ${verdict(vsNode >= TARGET.vsNode)}`,
);
console.log(`replay vs zcat > /dev/null: ${(paired('zcat') ?? 0).toFixed(2)}× (for scale)`);
console.log("(ratios: median over the rounds of the other command's time ÷ replay's in the same round)");
rows.push({
  what: 'replay vs `zcat | jq` Root filter',
  measured:
    vsJq === undefined
      ? 'not measured: jq not installed'
      : `${vsJq.toFixed(2)}× (median ${n(replayRate)} vs ${n(jqRate ?? 0)} records/s)`,
  target: `≥ ${TARGET.vsJq}×`,
  pass: vsJq === undefined ? undefined : vsJq >= TARGET.vsJq,
});
rows.push({
  what: 'replay vs plain Node (gunzip, JSON.parse, filter)',
  measured: `${vsNode.toFixed(2)}× (median ${n(replayRate)} vs ${n(nodeRate)} records/s)`,
  target: `≥ ${TARGET.vsNode}×`,
  pass: vsNode >= TARGET.vsNode,
});
rows.push({
  what: '`zcat > /dev/null` (for scale)',
  measured: `${n(rate('zcat') ?? 0)} records/s (${s(median(times.get('zcat') ?? []))})`,
  target: '–',
  pass: undefined,
});
notes.push(
  `**Speed**: wall time of each command as a child process over the whole corpus, page cache warm, ${RUNS} rounds of one run each, in a rotating order; records/s = records ÷ median time; "n×" = the median over the rounds of the other command's time ÷ replay's in the same round (paired, so that a busy machine slows both alike). replay runs the full catalog as a user runs it (\`node bin/rootwatch.mjs replay --no-fold --format ndjson --min-severity info DIR\`), start-up included; the plain Node baseline is test/bench/baseline.mjs (one thread: gunzip, JSON.parse, filter Root).`,
);

// ---------------------------------------------------------------------------------------------------------------------
// 3. Cross-check.

section('3. Cross-check: Root findings');
const lines = (file: string): string[] =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
    : [];
const replayIds = new Set<string>();
let replayLinesBad = 0;
for (const line of lines(out('replay'))) {
  try {
    const id = (JSON.parse(line) as { eventID?: unknown }).eventID;
    if (typeof id === 'string') replayIds.add(id);
  } catch {
    replayLinesBad += 1;
  }
}
const jqIds = hasJq ? new Set(lines(out('jq'))) : undefined;
const nodeIds = new Set(lines(out('node')));
const rootIds = jqIds ?? nodeIds;
const finder = jqIds ? 'jq' : 'the plain Node script';
const generatorRoot = new Set(
  [...manifest.labels].filter(([, label]) => label.kind !== 'other-alert').map(([id]) => id),
);
const sameSet = (a: ReadonlySet<string>, b: ReadonlySet<string>) => a.size === b.size && [...a].every((x) => b.has(x));
console.log(
  `Root records found: ${finder} ${n(rootIds.size)}${jqIds ? `, plain Node ${n(nodeIds.size)}` : ''}, generator made ${n(generatorRoot.size)}: ${sameSet(rootIds, generatorRoot) && sameSet(nodeIds, generatorRoot) ? 'the same records' : 'DIFFERENT'}`,
);
const missing = [...rootIds].filter((id) => !replayIds.has(id));
const excludedBy = new Map<Exclusion, number>();
const unexplained: string[] = [];
for (const id of missing) {
  const label = manifest.labels.get(id);
  if (label?.kind === 'root-excluded') excludedBy.set(label.why, (excludedBy.get(label.why) ?? 0) + 1);
  else unexplained.push(`${id} (${label?.what ?? 'not labelled'})`);
}
const excludedButAlerted = [...manifest.labels]
  .filter(([id, label]) => label.kind === 'root-excluded' && replayIds.has(id))
  .map(([id, label]) => `${id} (${label.what})`);
const expectedExcluded = [...manifest.labels.values()].filter((l) => l.kind === 'root-excluded').length;
console.log(`replay alerted on ${n(rootIds.size - missing.length)} of them; not on ${n(missing.length)}:`);
for (const why of Object.keys(EXCLUSIONS) as Exclusion[]) {
  console.log(`  ${String(excludedBy.get(why) ?? 0).padStart(5)} documented exclusion: ${EXCLUSIONS[why]}`);
}
console.log(`  ${String(unexplained.length).padStart(5)} unexplained`);
for (const line of unexplained.slice(0, 20)) console.log(`        ${line}`);
if (excludedButAlerted.length > 0) {
  console.log(`  ${excludedButAlerted.length} records the exclusions say replay leaves out, which it alerted on:`);
  for (const line of excludedButAlerted.slice(0, 20)) console.log(`        ${line}`);
}
const identical =
  sameSet(rootIds, generatorRoot) &&
  unexplained.length === 0 &&
  excludedButAlerted.length === 0 &&
  missing.length === expectedExcluded;
console.log(`identical Root findings: ${identical ? 'yes' : 'no'}`);
const otherAlerts = [...replayIds].filter((id) => !rootIds.has(id));
const plantedOther = [...manifest.labels].filter(([, label]) => label.kind === 'other-alert');
const otherMissed = plantedOther.filter(([id]) => !replayIds.has(id)).map(([id, l]) => `${id} (${l.what})`);
const otherUnplanned = otherAlerts.filter((id) => manifest.labels.get(id)?.kind !== 'other-alert');
console.log(
  `non-Root alerts: ${n(otherAlerts.length)} (generator planted ${n(plantedOther.length)}: trail tampering and MFA deactivation by roles and users, calls of federated users root issued); missed ${otherMissed.length}, unplanned ${otherUnplanned.length}`,
);
for (const line of [...otherMissed, ...otherUnplanned].slice(0, 10)) console.log(`  ${line}`);
if (replayLinesBad > 0) console.log(`(${replayLinesBad} lines of replay's stdout were not JSON)`);
rows.push({
  what: `Identical Root findings (replay vs ${finder}, minus documented exclusions)`,
  measured: `${identical ? 'yes' : 'no'}: ${n(rootIds.size - missing.length)} of ${n(rootIds.size)} alerted, ${n(missing.length - unexplained.length)} excluded as documented, ${unexplained.length} unexplained; ${n(otherAlerts.length)} non-Root alerts`,
  target: 'yes',
  pass: identical,
});
notes.push(
  `**Identical Root findings**: every eventID the \`userIdentity.type == "Root"\` filter finds is among replay's alerts, except the Root records the catalog leaves out by design — ${Object.values(EXCLUSIONS).join('; ')} — which the generator labels, so their number is known in advance.`,
);

// ---------------------------------------------------------------------------------------------------------------------
// 4. Hostile inputs.

/** What a hostile run should do: a named error and the rest read (`error`), or read it all (`read`). */
interface Attack {
  name: string;
  file: string;
  expect: 'error' | 'read';
  /** For `read`: how many alerts replay should make for the file. */
  alerts?: number;
  /** The most time the run may take (ms), where the input once took minutes. */
  maxMs?: number;
  write: () => string;
}

section('4. Memory and limits (hostile inputs, each followed by a normal file)');
if (SKIP_MEMORY) {
  console.log('skipped (BENCH_SKIP_MEMORY=1)');
  rows.push({ what: 'Hostile inputs', measured: 'not measured: BENCH_SKIP_MEMORY=1', target: '–', pass: undefined });
} else {
  const attackDir = join(dir, 'attacks');
  const afterDir = join(dir, 'after');
  mkdirSync(attackDir);
  mkdirSync(afterDir);
  const AFTER_ID = 'bench-after-0000-4000-8000-000000000001';
  const normal = writeNormalFile(afterDir, AFTER_ID);
  const attacks: Attack[] = [
    {
      name: `gzip bomb (${BOMB_GIB} GiB of blanks in a Records array)`,
      file: join(attackDir, 'bomb.json.gz'),
      expect: 'error',
      write() {
        const size = writeGzipBomb(this.file, BOMB_GIB);
        return `${(size / 1e6).toFixed(1)} MB gzipped, ${BOMB_GIB} GiB decompressed`;
      },
    },
    {
      name: 'JSON nested 5,000 deep',
      file: join(attackDir, 'deep.json.gz'),
      expect: 'error',
      write() {
        const size = writeDeepNesting(this.file, 5000);
        return `${n(size)} B gzipped`;
      },
    },
    {
      name: `a ${STRING_MIB} MiB string in a record`,
      file: join(attackDir, 'string.json.gz'),
      expect: 'error',
      write() {
        const size = writeHugeString(this.file, STRING_MIB);
        return `${(size / 1e6).toFixed(1)} MB gzipped`;
      },
    },
    ...(['\n', ' '] as const).map(
      (byte): Attack => ({
        name: `${BLANK_MIB} MiB of ${byte === '\n' ? 'empty lines' : 'spaces'}, gzipped (no record)`,
        file: join(attackDir, byte === '\n' ? 'newlines.json.gz' : 'spaces.json.gz'),
        expect: 'read',
        alerts: 0,
        write() {
          const size = writeBlankFile(this.file, byte, BLANK_MIB);
          return `${n(size)} B gzipped`;
        },
      }),
    ),
    {
      name: 'a record of 300,000 keys on a JSON Lines line (5 MB, under the 32 MiB a record may be)',
      file: join(attackDir, 'keys.jsonl.gz'),
      expect: 'read',
      alerts: 1,
      maxMs: 10_000,
      write() {
        return `${n(writeManyKeys(this.file, 300_000))} B gzipped`;
      },
    },
    {
      name: 'a record of 6,000,000 keys on a JSON Lines line (110 MB)',
      file: join(attackDir, 'many-keys.jsonl.gz'),
      expect: 'error',
      maxMs: 30_000,
      write() {
        return `${(writeManyKeys(this.file, 6_000_000) / 1e6).toFixed(1)} MB gzipped`;
      },
    },
    {
      name: `a record followed by ${BLANK_MIB} MiB of spaces on its JSON Lines line`,
      file: join(attackDir, 'padded.jsonl.gz'),
      expect: 'read',
      alerts: 1,
      write() {
        return `${n(writePaddedRecord(this.file, Math.ceil(BLANK_MIB / 64) * 64))} B gzipped`;
      },
    },
    {
      name: `pretty-printed {"Records": [...]} of ~${PRETTY_MB} MB`,
      file: join(attackDir, 'pretty.json'),
      expect: 'read',
      write() {
        const written = writePrettyPrinted(this.file, PRETTY_MB);
        this.alerts = written.alerting;
        return `${(written.bytes / 1e6).toFixed(0)} MB, ${n(written.records)} records, ${n(written.alerting)} should alert`;
      },
    },
  ];
  const replayArgs = (...paths: string[]) => [
    CLI,
    'replay',
    '--no-fold',
    '--format',
    'ndjson',
    '--min-severity',
    'info',
    ...paths,
  ];
  console.log(`replay runs ${cliMode()}`);
  const base = await run('node', replayArgs(normal), { stdoutFile: out('normal'), rss: true, timeoutMs: TIMEOUT_MS });
  const baseRssKb = base.peakRssKb;
  const flatLimitKb = baseRssKb === undefined ? undefined : baseRssKb + 256 * 1024;
  console.log(
    `normal file alone: exit ${base.code}, ${s(base.wallMs)}, peak RSS ${baseRssKb === undefined ? 'unknown' : mib(baseRssKb * 1024)}; "flat memory" below means peak RSS ≤ that + 256 MiB${TIME ? '' : ' (no /usr/bin/time: RSS from the child process itself at exit)'}`,
  );
  for (const attack of attacks) {
    let written = performance.now();
    const what = attack.write();
    written = performance.now() - written;
    const stdoutFile = out('attack');
    const result = await run('node', replayArgs(attack.file, normal), { stdoutFile, rss: true, timeoutMs: TIMEOUT_MS });
    const alertIds = lines(stdoutFile).flatMap((line) => {
      try {
        return [String((JSON.parse(line) as { eventID?: unknown }).eventID)];
      } catch {
        return [];
      }
    });
    const laterRead = alertIds.includes(AFTER_ID);
    const errorLines = result.stderr
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => (line.length > 240 ? `${line.slice(0, 240)}… (${n(line.length)} chars)` : line));
    const crashed = result.signal !== null || result.timedOut || (result.code !== 0 && result.code !== 1);
    const namingLine = errorLines.find((line) => line.includes(basename(attack.file)));
    const named = namingLine !== undefined;
    /** The error as the README shows it: without the temporary folder, at most 140 characters. */
    const shown = namingLine?.replace(`${attackDir}/`, '').slice(0, 200);
    const flat = flatLimitKb !== undefined && result.peakRssKb !== undefined && result.peakRssKb <= flatLimitKb;
    const fileAlerts = alertIds.filter((id) => id !== AFTER_ID).length;
    const inTime = attack.maxMs === undefined || result.wallMs <= attack.maxMs;
    const pass =
      !crashed &&
      inTime &&
      laterRead &&
      flat &&
      (attack.expect === 'error' ? result.code === 1 && named : result.code === 0 && fileAlerts === attack.alerts);
    console.log(`### ${attack.name}: ${what} (written in ${s(written)})`);
    console.log(
      `  exit ${result.timedOut ? `killed after ${s(TIMEOUT_MS)} (timeout)` : (result.code ?? result.signal)}, ${s(result.wallMs)}, peak RSS ${result.peakRssKb === undefined ? 'unknown' : mib(result.peakRssKb * 1024)}${flat ? ' (flat)' : ''}, later input read: ${laterRead ? 'yes' : 'no'}${attack.expect === 'read' ? `, alerts from the file ${n(fileAlerts)} of ${n(attack.alerts ?? 0)}` : ''}`,
    );
    console.log(`  stderr (${errorLines.length} lines${errorLines.length > 6 ? ', first 6' : ''}):`);
    for (const line of errorLines.slice(0, 6)) console.log(`    ${line}`);
    rows.push({
      what: `Hostile input: ${attack.name}`,
      measured: `${result.timedOut ? 'timeout' : crashed ? `crash (${result.code ?? result.signal})` : `exit ${result.code}`}, ${attack.expect === 'error' ? (shown ? `"${shown}"` : 'no error naming the file') : `${n(fileAlerts)}/${n(attack.alerts ?? 0)} alerts`}, peak RSS ${result.peakRssKb === undefined ? '?' : mib(result.peakRssKb * 1024)}, ${s(result.wallMs)}, later input ${laterRead ? 'read' : 'NOT read'}`,
      target:
        attack.expect === 'error'
          ? `named error (exit 1), flat memory, later input read${attack.maxMs === undefined ? '' : `, within ${s(attack.maxMs)}`}`
          : `read in full (exit 0, every alert), flat memory, later input read${attack.maxMs === undefined ? '' : `, within ${s(attack.maxMs)}`}`,
      pass,
    });
    rmSync(attack.file, { force: true });
  }
  notes.push(
    `**Hostile inputs**: replay run on each file followed by a normal one (one root sign-in) in the same command; written streaming by test/bench/attacks.ts. Peak RSS by \`/usr/bin/time -f %M\`; "flat memory" means at most 256 MiB above replay's peak RSS on the normal file alone. A limit must stop the file with an error naming it (exit 1) and go on with the next file; the pretty-printed file is valid CloudTrail and must be read in full.`,
  );
}

// ---------------------------------------------------------------------------------------------------------------------
// 5. Per-event pipeline.

section('5. Per-event pipeline without network (parse → match → score → build → render Slack + SNS/e-mail)');
const pipeline = measurePipeline(PIPELINE_PASSES);
console.log(
  `${pipeline.events} alerting samples of events/samples × ${pipeline.passes} passes: median ${pipeline.medianMs.toFixed(3)} ms, p99 ${pipeline.p99Ms.toFixed(3)} ms (target: median ≤ ${TARGET.pipelineMs} ms) ${verdict(pipeline.medianMs <= TARGET.pipelineMs)}`,
);
rows.push({
  what: 'Per-event pipeline (parse → match → build → render), median',
  measured: `${pipeline.medianMs.toFixed(3)} ms (p99 ${pipeline.p99Ms.toFixed(2)} ms)`,
  target: `≤ ${TARGET.pipelineMs} ms`,
  pass: pipeline.medianMs <= TARGET.pipelineMs,
});
notes.push(
  `**Per-event pipeline**: test/bench/pipeline-time.ts times, in process, what the alert function does with an EventBridge event apart from I/O — JSON.parse and parseEvent, matchDetections, scoreMatches, buildAlert, renderSlackMessage and renderSnsMessage (the e-mail and the JSON document) — for each of the ${pipeline.events} alerting samples of events/samples, ${pipeline.passes} passes after a warm-up.`,
);

// ---------------------------------------------------------------------------------------------------------------------
// 6. Lambda bundles and CLI start (measured by the lambda and cli parts' modules, when present).

/** Normalizes what a module's measure function returned into rows: Row[], { rows: Row[] }, or anything (printed). */
const rowsOf = (label: string, value: unknown): Row[] => {
  const list = Array.isArray(value)
    ? value
    : value && typeof value === 'object' && Array.isArray((value as { rows?: unknown }).rows)
      ? (value as { rows: unknown[] }).rows
      : undefined;
  if (list?.every((row) => row && typeof row === 'object' && 'what' in row)) {
    return list.map((row) => {
      const r = row as Record<string, unknown>;
      const pass = r.pass;
      return {
        what: String(r.what),
        measured: String(r.measured ?? ''),
        target: String(r.target ?? '–'),
        pass: typeof pass === 'boolean' ? pass : pass === 'PASS' ? true : pass === 'FAIL' ? false : undefined,
      };
    });
  }
  console.log(JSON.stringify(value, null, 2));
  return [{ what: label, measured: 'see the bench output', target: '–', pass: undefined }];
};

/** The CLI target of issue 11: each command's start ≤ 3× `node -e 0`'s in the same round. */
const CLI_START_RATIO = 3;

/** cli-start.ts's rows ({ name, command, medianMs, ratio, runs }) as table rows; undefined for another shape. */
const cliStartRows = (value: unknown): Row[] | undefined => {
  if (!Array.isArray(value) || !value.every((row) => row && typeof row === 'object' && 'medianMs' in row)) {
    return undefined;
  }
  return (value as { name: string; command: string; medianMs: number; ratio: number; runs?: number }[]).map((row) => {
    const timed = row.name !== 'node -e 0' && row.name !== 'staleness check';
    return {
      what: `CLI start: \`${row.command}\``,
      measured: `${row.medianMs.toFixed(0)} ms${row.name === 'node -e 0' ? '' : ` (${row.ratio.toFixed(2)}× node -e 0)`}${row.runs ? `, median of ${row.runs}` : ''}`,
      target: timed ? `≤ ${CLI_START_RATIO}× node -e 0` : '–',
      pass: timed ? row.ratio <= CLI_START_RATIO : undefined,
    };
  });
};

const measuredBy = async (title: string, file: string, exportName: string, label: string) => {
  section(title);
  const path = join(HERE, file);
  if (!existsSync(path)) {
    console.log(`not measured: ${label} (test/bench/${file} is missing)`);
    rows.push({ what: label, measured: `not measured: test/bench/${file} missing`, target: '–', pass: undefined });
    return;
  }
  try {
    const module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
    const measure = module[exportName];
    if (typeof measure !== 'function') throw new Error(`test/bench/${file} exports no ${exportName}()`);
    const result = await (measure as () => unknown)();
    const got = cliStartRows(result) ?? rowsOf(label, result);
    for (const row of got) console.log(`${row.what}: ${row.measured} (target ${row.target}) ${verdict(row.pass)}`);
    rows.push(...got);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.log(`not measured: ${label}: ${message.slice(0, 600)}`);
    rows.push({ what: label, measured: `not measured: ${message.split('\n')[0]}`, target: '–', pass: undefined });
  }
};
await measuredBy('6. Lambda bundles', 'lambda-load.ts', 'measureLambdaBundles', 'Lambda bundles and cold load');
notes.push(
  "**Lambda**: by test/bench/lambda-load.ts: `serverless package` with serverless.yml's esbuild settings; the code bundle is the handler's .mjs in the zip without its source map (data files such as IP databases counted apart); the cold load is a whole `node` process importing the handler, against a hello-world handler loaded the same way, medians of paired runs.",
);
await measuredBy('7. CLI start', 'cli-start.ts', 'measureCliStart', 'CLI start');
notes.push(
  "**CLI start**: by test/bench/cli-start.ts: `node -e 0`, `node bin/rootwatch.mjs --help` and `node bin/rootwatch.mjs replay EMPTY.json` as child processes, interleaved; each ratio is the median over the rounds of the command's time ÷ `node -e 0`'s in the same round.",
);

// ---------------------------------------------------------------------------------------------------------------------
// 7. Results.

if (env.BENCH_KEEP === '1') console.log(`\ncorpus kept in ${corpusDir} (BENCH_KEEP=1)`);
else rmSync(dir, { recursive: true, force: true });

const command = `${[
  env.BENCH_FILES ? `BENCH_FILES=${FILES}` : '',
  env.BENCH_RUNS ? `BENCH_RUNS=${RUNS}` : '',
  SKIP_MEMORY ? 'BENCH_SKIP_MEMORY=1' : '',
]
  .filter(Boolean)
  .join(' ')} npm run bench`.trim();
const cell = (text: string) => text.replaceAll('|', '\\|');
const table = [
  '| what | measured | target | pass |',
  '| --- | --- | --- | --- |',
  ...rows.map((row) => `| ${cell(row.what)} | ${cell(row.measured)} | ${cell(row.target)} | ${verdict(row.pass)} |`),
].join('\n');
section('Results');
console.log(table);
console.log(`\nCommand: \`${command}\` (${machine}, ${new Date().toISOString().slice(0, 10)}; at the end, ${load()})`);
const readme = `## Performance

\`npm run bench\` (test/bench/replay.bench.ts, a script, not a test) writes a deterministic corpus of
${n(manifest.records)} CloudTrail records — ${FILES} gzipped files of 1,000, in CloudTrail's S3 layout — into a temporary folder,
runs every command below on it side by side in one run, and prints this table. Knobs: \`BENCH_FILES\` (default 200),
\`BENCH_RUNS\` (default 3), \`BENCH_SKIP_MEMORY=1\` (skip the hostile inputs). Measured with \`${command}\` on
${machine}, ${new Date().toISOString().slice(0, 10)}, ${load()} at the end: on a busy machine absolute times vary
from run to run; the ratios, measured side by side, much less.

${table}

${notes.map((note) => `- ${note}`).join('\n')}
`;
writeFileSync(README_OUT, readme);
console.log(`(README text written to ${README_OUT})`);
if (statSync(README_OUT).size === 0) process.exitCode = 1;
