/**
 * The Lambda part of issue 11's bench: packages the service as a deployment does (`serverless package`, offline, with
 * serverless.yml's esbuild settings: test/helpers/package.ts), then for each function measures, from its zip:
 * - the code bundle: the handler's .mjs as deployed (minified) and the chunks its first invocation imports
 *   (build/lambda-esbuild-plugins.cjs), without source maps; the handler's file alone apart;
 * - the zip, and what it unpacks to, the data beside the code (IP data, the guard's expected state) counted apart;
 * - the whole-process cold load, `node --input-type=module -e "await import('<handler>.mjs')"` with the unzipped
 *   package as working directory and no NODE_OPTIONS, against a hello-world handler (`export const handler = async ()
 *   => ({})`, written to a temporary folder) loaded the same way: paired runs, hello first on even runs and second on
 *   odd ones, the median of each;
 * - the alert function's first invocation, offline (firstInvocation below).
 * Run by test/bench/replay.bench.ts (`npm run bench`), which prints the rows. Knobs: LAMBDA_LOAD_RUNS (paired runs,
 * default 21, at least 15).
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageService, packagingEnv, REPO_ROOT, readZip, removeWorkDir } from '../helpers/package.js';

/** The targets of issue 11: each code bundle at most 300 KB, its cold load at most 1.5× a hello-world handler's. */
const MAX_BUNDLE_BYTES = 300 * 1024;
const MAX_LOAD_RATIO = 1.5;

/** One function's measurements. Sizes in bytes, times in milliseconds. */
interface LambdaMeasurement {
  /** serverless.yml's key of the function (alert, notifySlack, digest, guard). */
  function: string;
  /** The handler's file in the zip (functions/alert.mjs). */
  handler: string;
  /** All the function's code: the handler's file and its chunks (functions/alert.*.mjs), without source maps. */
  bundleBytes: number;
  /** The handler's file alone: what a cold start's module load reads; the chunks wait for the first invocation. */
  entryBytes: number;
  chunks: number;
  mapBytes: number;
  zipBytes: number;
  unzippedBytes: number;
  /** Files that are neither the bundle nor its map (the alert function's IP data, the guard's expected state). */
  dataBytes: number;
  loadMedianMs: number;
  helloMedianMs: number;
  /** loadMedianMs / helloMedianMs, both of the same paired runs. */
  loadRatio: number;
  runs: number;
  /**
   * The alert function only: in one process, from before the import of the bundle to the end of its first invocation,
   * offline (see firstInvocation); undefined when it could not be measured.
   */
  firstInvocationMs?: number;
  /** How that first invocation ended (the error's name: delivery fails offline). */
  firstInvocationOutcome?: string;
}

/** A row as the bench prints it (what, measured, target, pass), with the measurement it comes from. */
interface LambdaRow {
  what: string;
  measured: string;
  target: string;
  pass: boolean | undefined;
  measurement: LambdaMeasurement;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/** The environment of a cold start here: no AWS credentials (packagingEnv), no NODE_OPTIONS, no NODE_PATH. */
const coldEnv = (): NodeJS.ProcessEnv => {
  const env = packagingEnv();
  delete env.NODE_OPTIONS;
  delete env.NODE_PATH;
  return env;
};

/** Wall time of one process that imports `file` and exits, in ms; throws with its stderr when it fails. */
const timeLoad = (file: string, cwd: string): number => {
  const began = process.hrtime.bigint();
  const run = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `await import(${JSON.stringify(pathToFileURL(file).href)})`],
    { cwd, env: coldEnv(), stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const ms = Number(process.hrtime.bigint() - began) / 1e6;
  if (run.status !== 0) throw new Error(`loading ${file} failed: ${run.stderr.toString().slice(0, 500)}`);
  return ms;
};

/**
 * The alert function's first invocation, offline: a child process loads the bundle and, timed from before the import,
 * invokes it once with a CloudTrail root sign-in from a public address. The AWS SDK resolves from the repository's
 * node_modules (linked beside the unzipped package, as the runtime provides its own) and every AWS endpoint is a
 * closed local port with one attempt, so each call fails at once: the state table is "unavailable" (the alert goes
 * on without deduplication, as designed) and delivery fails, which ends the invocation with an error (its name is
 * returned as `outcome`; in-process times, from before the import: `loadMs` to the module, `totalMs` to the end of
 * the invocation). What is timed
 * is the rest of a real first invocation: configuration, catalog compilation, the SDK's import and clients, parsing,
 * classification, enrichment (the IP data's first load included), rendering. Returns undefined when it failed in
 * another way.
 */
const firstInvocation = (
  taskRoot: string,
  handlerFile: string,
): { totalMs: number; loadMs: number; outcome: string } | undefined => {
  const event = {
    version: '0',
    id: '7bf73129-1428-4cd3-a780-95db273d1602',
    'detail-type': 'AWS Console Sign In via CloudTrail',
    source: 'aws.signin',
    account: '111122223333',
    time: '2026-11-30T12:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail: {
      eventVersion: '1.08',
      userIdentity: {
        type: 'Root',
        principalId: '111122223333',
        arn: 'arn:aws:iam::111122223333:root',
        accountId: '111122223333',
      },
      eventTime: '2026-11-30T12:00:00Z',
      eventSource: 'signin.amazonaws.com',
      eventName: 'ConsoleLogin',
      awsRegion: 'us-east-1',
      sourceIPAddress: '8.8.8.8',
      userAgent:
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15',
      requestParameters: null,
      responseElements: { ConsoleLogin: 'Success' },
      additionalEventData: { MFAUsed: 'No', LoginTo: 'https://console.aws.amazon.com/', MobileVersion: 'No' },
      eventID: '3e0a5f7d-7d2c-4c1c-9a55-1f3c2f0e8a11',
      readOnly: false,
      eventType: 'AwsConsoleSignIn',
      managementEvent: true,
      recipientAccountId: '111122223333',
      eventCategory: 'Management',
    },
  };
  const script = `
const began = performance.now();
const { handler } = await import(${JSON.stringify(pathToFileURL(handlerFile).href)});
const loaded = performance.now();
let outcome = 'ok';
try {
  await handler(${JSON.stringify(event)}, { awsRequestId: 'bench', invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:rootwatch-bench-alert' });
} catch (error) { outcome = String(error && error.name) + ': ' + String(error && error.message).split('\\n').slice(0, 3).join(' ').slice(0, 160); }
console.log(JSON.stringify({ loadMs: loaded - began, totalMs: performance.now() - began, outcome }));
`;
  const closed = 'http://127.0.0.1:9';
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: taskRoot,
    env: {
      ...coldEnv(),
      LAMBDA_TASK_ROOT: taskRoot,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_ENDPOINT_URL: closed,
      AWS_MAX_ATTEMPTS: '1',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:rootwatch-bench-alerts',
      SLACK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-bench-slack',
      STATE_TABLE: 'rootwatch-bench-state',
      IP_DATA_DIR: '.rootwatch/ip-data',
      ACCOUNT_NAMES: '{"111122223333":"bench"}',
      ACCOUNT_LOOKUP: 'none',
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const last = run.stdout?.trim().split('\n').pop();
  try {
    return JSON.parse(last ?? '') as { totalMs: number; loadMs: number; outcome: string };
  } catch {
    return undefined;
  }
};

/**
 * Packages the service, measures each function's bundle, zip and cold load (see the file's comment) and returns one
 * size row and one load row per function, the alert function's first invocation in its load row. Takes about a
 * minute and a half (packaging, then 2 × runs processes per function). The temporary folders are removed.
 *
 * @throws Error when packaging fails or a bundle does not load.
 */
const measureLambdaBundles = async (): Promise<LambdaRow[]> => {
  const runs = Math.max(15, Number(process.env.LAMBDA_LOAD_RUNS ?? 21));
  const workDir = await mkdtemp(join(tmpdir(), 'rootwatch-lambda-load-'));
  try {
    const packageDir = await packageService(workDir);
    const template = JSON.parse(
      await readFile(join(packageDir, 'cloudformation-template-update-stack.json'), 'utf8'),
    ) as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    };
    const helloDir = join(workDir, 'hello');
    await mkdir(helloDir);
    const hello = join(helloDir, 'handler.mjs');
    await writeFile(hello, 'export const handler = async () => ({});\n');

    const zips = (await readdir(packageDir)).filter((name) => name.endsWith('.zip')).sort();
    const rows: LambdaRow[] = [];
    for (const zipName of zips) {
      const fn = Object.values(template.Resources).find(
        (resource) =>
          resource.Type === 'AWS::Lambda::Function' &&
          String((resource.Properties.Code as { S3Key?: string }).S3Key).endsWith(`/${zipName}`),
      );
      if (!fn) continue;
      const name = zipName.replace(/\.zip$/, '');
      const zip = await readFile(join(packageDir, zipName));
      const entries = readZip(zip);
      const taskRoot = join(workDir, 'unzipped', name);
      for (const [entry, content] of entries) {
        await mkdir(dirname(join(taskRoot, entry)), { recursive: true });
        await writeFile(join(taskRoot, entry), content);
      }
      const handler = `${String(fn.Properties.Handler).replace(/\.[^.]+$/, '')}.mjs`;
      const size = (entry: string) => entries.get(entry)?.length ?? 0;
      const unzippedBytes = [...entries.values()].reduce((sum, content) => sum + content.length, 0);
      const base = handler.replace(/\.mjs$/, '');
      const code = [...entries.keys()].filter(
        (entry) => entry === handler || (entry.startsWith(`${base}.`) && entry.endsWith('.mjs')),
      );
      const bundleBytes = code.reduce((sum, entry) => sum + size(entry), 0);
      const mapBytes = code.reduce((sum, entry) => sum + size(`${entry}.map`), 0);

      const loads: number[] = [];
      const hellos: number[] = [];
      for (let i = 0; i < runs; i++) {
        if (i % 2 === 0) hellos.push(timeLoad(hello, helloDir));
        loads.push(timeLoad(join(taskRoot, handler), taskRoot));
        if (i % 2 === 1) hellos.push(timeLoad(hello, helloDir));
      }
      let first: ReturnType<typeof firstInvocation>;
      if (name === 'alert') {
        await symlink(join(REPO_ROOT, 'node_modules'), join(taskRoot, 'node_modules'), 'dir');
        first = firstInvocation(taskRoot, join(taskRoot, handler));
      }
      const firstInvocationMs = first?.totalMs;
      const measurement: LambdaMeasurement = {
        function: name,
        handler,
        bundleBytes,
        entryBytes: size(handler),
        chunks: code.length - 1,
        mapBytes,
        zipBytes: zip.length,
        unzippedBytes,
        dataBytes: unzippedBytes - bundleBytes - mapBytes,
        loadMedianMs: median(loads),
        helloMedianMs: median(hellos),
        loadRatio: median(loads) / median(hellos),
        runs,
        ...(first ? { firstInvocationMs: first.totalMs, firstInvocationOutcome: first.outcome } : {}),
      };
      const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
      const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
      rows.push({
        what: `Lambda ${name}: code bundle (${base}.mjs and its chunks, minified, without maps)`,
        measured: `${kb(measurement.bundleBytes)} (entry ${kb(measurement.entryBytes)}, ${measurement.chunks} chunks); maps ${kb(measurement.mapBytes)}; zip ${mb(measurement.zipBytes)} (${mb(unzippedBytes)} unpacked, of which data ${mb(measurement.dataBytes)})`,
        target: '≤ 300 KB',
        pass: measurement.bundleBytes <= MAX_BUNDLE_BYTES,
        measurement,
      });
      rows.push({
        what: `Lambda ${name}: cold load, whole process (\`node --input-type=module -e "await import('./${handler}')"\`)`,
        measured: `${measurement.loadMedianMs.toFixed(0)} ms vs hello-world ${measurement.helloMedianMs.toFixed(0)} ms = ${measurement.loadRatio.toFixed(2)}×, medians of ${runs} paired runs${firstInvocationMs === undefined ? '' : `; in one process, import + first invocation offline ${firstInvocationMs.toFixed(0)} ms (${first?.outcome})`}`,
        target: `≤ ${MAX_LOAD_RATIO}× hello-world`,
        pass: measurement.loadRatio <= MAX_LOAD_RATIO,
        measurement,
      });
    }
    return rows;
  } finally {
    await removeWorkDir(workDir);
  }
};

export type { LambdaMeasurement, LambdaRow };
export { firstInvocation, measureLambdaBundles };
