/**
 * `rootwatch athena --run` as an operator runs it: the real binary in a child process, its @aws-sdk/client-athena
 * pointed at a local Athena stand-in (test/helpers/athena-server.ts: Athena's wire protocol, queries run on DuckDB
 * over AWS's CloudTrail table loaded with the catalog's samples and the shared corpus) by AWS_ENDPOINT_URL_ATHENA.
 *
 * The stand-in runs the DuckDB dialect of the query the command sends (the compiler's other dialect of the same
 * catalog): this tests the plumbing — the query's start, polling, pages of results, the rows read back into records
 * and their alerts — while the differential test proves the SQL against the matcher.
 */
import { execFile, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileCatalogQuery } from '../../functions/core/athena/compile.js';
import type { DialectName } from '../../functions/core/athena/dialect.js';
import { runnableQuery } from '../../functions/core/athena/row-reader.js';
import { duckdbCreateTable, duckdbInsert, recordToRow } from '../../functions/core/athena/rows.js';
import { detectionParametersOf } from '../../functions/io/config.js';
import { DEFAULT_DETECTIONS_DIR, loadDetections } from '../../functions/io/detections.js';
import { type AthenaServer, startAthenaServer, tableView } from '../helpers/athena-server.js';
import { runCliCaptured } from '../helpers/cli.js';
import { CLOUDTRAIL_RECORD_FILES, corpusAvailable, REPO_ROOT, readCorpus } from '../helpers/corpus.js';
import { packagingEnv } from '../helpers/package.js';
import { readSampleRecord, SAMPLES_DIR } from '../helpers/samples.js';

const DATABASE = 'security';
const TABLE = 'cloudtrail_logs';
const OUTPUT = 's3://athena-results-111122223333/rootwatch/';

/**
 * Every sample of the catalog and every corpus record, each with an eventID of its own: the corpus reuses eventIDs
 * across different records, and which of two rows with the same eventtime and eventid comes first is up to the engine,
 * so the first alert of an eventID would depend on it.
 */
const records = (() => {
  const all = [
    ...readdirSync(SAMPLES_DIR)
      .filter((name) => name.endsWith('.json'))
      .map((name) => readSampleRecord(name)),
    ...(corpusAvailable
      ? CLOUDTRAIL_RECORD_FILES.flatMap((file) =>
          readCorpus<{ record: Record<string, unknown> }>(file).map((row) => row.record),
        )
      : []),
  ];
  const seen = new Set<string>();
  return all.map((record, i) => {
    const id = typeof record.eventID === 'string' && !seen.has(record.eventID) ? record.eventID : `athena-run-${i}`;
    seen.add(id);
    return { ...record, eventID: id };
  });
})();

/**
 * Each record and the record as the table holds it, in the query's order: the table's eventtime, then eventid, NULLs
 * last (byte order, as DuckDB and Trino compare varchar).
 */
const inQueryOrder = records
  .map((original) => ({ original, view: tableView(original) }))
  .sort(({ view: a }, { view: b }) => {
    const key = (record: Record<string, unknown>, field: string) =>
      typeof record[field] === 'string' ? (record[field] as string) : undefined;
    for (const field of ['eventTime', 'eventID']) {
      const [x, y] = [key(a, field), key(b, field)];
      if (x === y) continue;
      if (x === undefined) return 1;
      if (y === undefined) return -1;
      return Buffer.compare(Buffer.from(x), Buffer.from(y));
    }
    return 0;
  });

/** The query `athena --run` sends with no scope flags, in each dialect, as the command compiles it. */
const detections = loadDetections(DEFAULT_DETECTIONS_DIR, detectionParametersOf({}));
const queryIn = (dialect: DialectName) =>
  runnableQuery(compileCatalogQuery(detections, {}, { dialect, table: TABLE }).sql, dialect);

/** Loads the table: a schema named as the database, AWS's CloudTrail table in it, the records as rows. */
const loadTable =
  (rows: readonly Record<string, unknown>[]) => async (connection: import('@duckdb/node-api').DuckDBConnection) => {
    await connection.run(`CREATE SCHEMA ${DATABASE}`);
    await connection.run(`USE ${DATABASE}`);
    await connection.run(duckdbCreateTable(TABLE));
    for (let i = 0; i < rows.length; i += 100) {
      await connection.run(
        duckdbInsert(
          TABLE,
          rows.slice(i, i + 100).map((record) => recordToRow(record)),
        ),
      );
    }
  };

const AWS_ENV = { AWS_ACCESS_KEY_ID: 'AKIDLOCALATHENA', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1' };

/** Runs `rootwatch athena --run …` in a child process, its Athena client pointed at `server`. */
const athenaRun = async (server: AthenaServer, args: string[]) =>
  promisify(execFile)(process.execPath, [join(REPO_ROOT, 'bin/rootwatch.mjs'), 'athena', '--run', ...args], {
    cwd: REPO_ROOT,
    env: { ...packagingEnv(), ...AWS_ENV, AWS_ENDPOINT_URL_ATHENA: server.endpoint },
    timeout: 200_000,
    maxBuffer: 64 * 1024 * 1024,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: Error & { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof error.code === 'number' ? error.code : -1,
      stdout: error.stdout ?? '',
      stderr: error.stderr ?? String(error),
    }),
  );

const lines = (text: string) => text.split('\n').filter((line) => line !== '');

let server: AthenaServer;
let dir: string;

beforeAll(async () => {
  const athena = queryIn('athena');
  const duckdb = queryIn('duckdb');
  server = await startAthenaServer({
    setup: loadTable(records),
    translate: (sql) => (sql === athena ? duckdb : undefined),
    pageSize: 7,
  });
  dir = await mkdtemp(join(tmpdir(), 'rootwatch-athena-run-'));
});
afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('rootwatch athena --run', () => {
  it('prints the alert documents replay prints for the same records, over pages of results', async () => {
    // Prepare: replay over the records as the table holds them, and over the records themselves, in the same order.
    const asHeld = join(dir, 'as-held.ndjson');
    const originals = join(dir, 'originals.ndjson');
    await writeFile(asHeld, inQueryOrder.map(({ view }) => `${JSON.stringify(view)}\n`).join(''));
    await writeFile(originals, inQueryOrder.map(({ original }) => `${JSON.stringify(original)}\n`).join(''));
    const replayed = await runCliCaptured(['replay', '--format', 'ndjson', '--workers', '0', asHeld]);
    const replayedOriginals = await runCliCaptured(['replay', '--format', 'ndjson', '--workers', '0', originals]);
    const before = server.requests.length;

    // Act
    const run = await athenaRun(server, ['--database', DATABASE, '--output-location', OUTPUT, '--format', 'ndjson']);

    // Assess
    expect(run.stderr).toMatch(/Athena query [0-9a-f-]+: SUCCEEDED, [\d.]+ [KM]?B scanned/);
    expect(run.stderr).toContain(', 0 unreadable rows, 0 disagreements');
    expect(run.code).toBe(0);
    const documents = lines(run.stdout).map((line) => JSON.parse(line));
    expect(documents.length).toBeGreaterThan(50);
    expect(documents).toStrictEqual(lines(replayed.stdout).map((line) => JSON.parse(line)));
    // Over the records themselves, each alert is the same but for its record (the table's columns only), except in
    // a centralized root session: the table has no userIdentity.sessionContext.assumedRoot (compile.ts leftToReplay).
    const original = new Map(
      lines(replayedOriginals.stdout)
        .map((line) => JSON.parse(line))
        .filter((document) => document.eventID !== undefined)
        .map((document) => [document.eventID, document]),
    );
    const alerts = documents.filter((document) => document.eventID !== undefined);
    const differing = alerts.filter((document) => {
      const { record: _held, ...rest } = document;
      const { record: _original, ...expected } = original.get(document.eventID) ?? {};
      return JSON.stringify(rest) !== JSON.stringify(expected);
    });
    expect(differing.length).toBeGreaterThan(0);
    expect(differing.length).toBeLessThan(alerts.length / 10);
    for (const document of differing) {
      expect(original.get(document.eventID)?.record.userIdentity.sessionContext.assumedRoot).toBe('true');
    }
    const sent = server.requests.slice(before);
    const [start] = sent.filter((request) => request.operation === 'StartQueryExecution');
    expect(start?.body).toMatchObject({
      QueryString: queryIn('athena'),
      WorkGroup: 'primary',
      QueryExecutionContext: { Database: DATABASE },
      ResultConfiguration: { OutputLocation: OUTPUT },
    });
    // The stand-in answers QUEUED, then RUNNING until DuckDB is done, then SUCCEEDED: each state is shown once.
    expect(run.stderr.match(/: (QUEUED|RUNNING|SUCCEEDED), /g)).toStrictEqual([
      ': QUEUED, ',
      ': RUNNING, ',
      ': SUCCEEDED, ',
    ]);
    // Pages of 7 rows (the first with the header), each after the first asked for with the token of the one before.
    const pages = sent.filter((request) => request.operation === 'GetQueryResults');
    const polled = sent.find((request) => request.operation === 'GetQueryExecution');
    const query = server.queries.get(String(polled?.body.QueryExecutionId));
    expect(query?.sql).toBe(queryIn('athena'));
    expect(pages).toHaveLength(Math.ceil((query?.rows.length ?? 0) / 7));
    expect(pages.length).toBeGreaterThan(2);
    expect(pages.slice(1).every((page) => typeof page.body.NextToken === 'string')).toBe(true);
  }, 240_000); // DuckDB takes seconds over the whole catalog's query: room for a busy machine.

  it('reports a failed query with its reason and exits 1', async () => {
    // Act: a database the catalog does not have fails the query, as on Athena.
    const run = await athenaRun(server, ['--database', 'nosuchdb', '--output-location', OUTPUT, '--format', 'ndjson']);

    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/rootwatch: Athena query [0-9a-f-]+ FAILED: .*nosuchdb/);
  });

  it('reports a query Athena refuses to start and exits 2', async () => {
    // Act: no output location, and none configured for the work group.
    const run = await athenaRun(server, ['--database', DATABASE]);

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      'rootwatch: Athena did not start the query (work group primary, us-east-1): InvalidRequestException: No output location provided.',
    );
  });

  it.each([
    [
      ['--output-location', 'https://example.com/results/'],
      '--output-location "https://example.com/results/" is not s3://BUCKET/PREFIX/',
    ],
    [['--workgroup', 'prod team'], '--workgroup "prod team" is not a work group name'],
    [['--ddl'], "Unknown option '--ddl'"],
    [['--format', 'email', '--sessions'], '--format with --sessions must be one of table, ndjson, json (got "email")'],
  ])('refuses %j before calling Athena, exit 2', async (args, message) => {
    // Act: in-process, no endpoint: nothing may reach AWS.
    const run = await runCliCaptured(['athena', '--run', ...args]);

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });

  it('stops the query on Ctrl-C and exits 130', async () => {
    // Prepare: a stand-in whose queries never finish.
    const idle = await startAthenaServer({ setup: loadTable([]), pollsBeforeDone: Number.POSITIVE_INFINITY });
    try {
      const child = spawn(
        process.execPath,
        [join(REPO_ROOT, 'bin/rootwatch.mjs'), 'athena', '--run', '--database', DATABASE, '--output-location', OUTPUT],
        { cwd: REPO_ROOT, env: { ...packagingEnv(), ...AWS_ENV, AWS_ENDPOINT_URL_ATHENA: idle.endpoint } },
      );
      let stderr = '';
      child.stderr.on('data', (chunk) => {
        stderr += String(chunk);
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      while (!idle.requests.some((request) => request.operation === 'GetQueryExecution')) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }

      // Act
      child.kill('SIGINT');

      // Assess
      expect(await exited).toBe(130);
      const stop = idle.requests.find((request) => request.operation === 'StopQueryExecution');
      expect(stop?.body.QueryExecutionId).toBeDefined();
      expect(idle.queries.get(String(stop?.body.QueryExecutionId))?.state).toBe('CANCELLED');
      expect(stderr).toMatch(/rootwatch: interrupted: stopped Athena query [0-9a-f-]+/);
    } finally {
      await idle.close();
    }
  });
});
