import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { AthenaClient, QueryExecution } from '@aws-sdk/client-athena';
import { ATHENA_QUERY_MAX_BYTES } from '../core/athena/compile.js';
import { createAthenaRowReader, runnableQuery } from '../core/athena/row-reader.js';
import { matchDetections } from '../core/classify.js';
import { recordToEvent } from '../core/event.js';
import { cleanLine, groupDigits } from '../core/render/text.js';
import { ConfigError, InputError, toError, UsageError } from '../errors.js';
import { type ClientBudget, clientOptionsFor, sdk } from '../io/aws-clients.js';
import { compileForCommand, DEFAULT_TABLE } from './athena.js';
import { ALERT_OUTPUT_OPTIONS, alertOutputOf, CATALOG_OPTIONS, catalogOf, runbookBaseUrlOf } from './options.js';
import { formatSummary, replay } from './replay.js';
import { type LogScope, parseScope, SCOPE_OPTIONS } from './scope.js';

/*
 * `rootwatch athena --run`: the catalog's query on Athena, its rows through the alert pipeline replay runs.
 *
 * StartQueryExecution, then GetQueryExecution until the query is done (backoff from POLL_FIRST_MS to POLL_MAX_MS,
 * each state change and the data scanned on stderr), then GetQueryResults page by page (1,000 rows, Athena's most).
 * Each row is read back into its CloudTrail record (core/athena/row-reader.ts) and handed to replay as one line of
 * NDJSON on its stdin path: the same reading, state, folding, enrichment and sinks as `rootwatch replay -`, so what
 * this prints is what replay prints for the same records, and nothing of the pipeline is written twice. The rows come
 * ordered by event time, as the live alerter would have seen them, so root sessions fold alike.
 * API: https://docs.aws.amazon.com/athena/latest/APIReference/API_StartQueryExecution.html,
 *   API_GetQueryExecution.html, API_GetQueryResults.html, API_StopQueryExecution.html (same folder).
 */

/**
 * Athena's control-plane calls: quick to answer, but throttled when polled hard (TooManyRequestsException, which the
 * SDK retries with its backoff): 5 attempts, 20 s each.
 */
const ATHENA_BUDGET: ClientBudget = { connectionTimeoutMs: 5_000, requestTimeoutMs: 20_000, maxAttempts: 5 };

/** The first wait between two GetQueryExecution calls, doubled each time up to POLL_MAX_MS. */
const POLL_FIRST_MS = 500;
const POLL_MAX_MS = 5_000;

/** Rows per GetQueryResults page: Athena's most (MaxResults ≤ 1000). */
const PAGE_ROWS = 1000;

/** At most this many disagreements between the SQL and the matcher are printed one by one; the rest are counted. */
const MAX_DISAGREEMENTS_SHOWN = 20;

/** Exit status after Ctrl-C, as a shell reports a process ended by SIGINT (128 + 2). */
const INTERRUPTED = 130;

/** Options of `replay` that athena --run passes through (its input is the query's rows, so no paths or stdin). */
type PipelineOptions = Omit<Parameters<typeof replay>[0], 'paths' | 'stdin' | 'workers' | 'limits'>;

interface AthenaRunOptions {
  /** The query to run, in Athena's dialect: runnableQuery (core/athena/row-reader.ts) of the compiled catalog. */
  query: string;
  /** The work group (`--workgroup`, default `primary`). */
  workGroup: string;
  /** `s3://…/` for the results (`--output-location`); undefined: the work group's own. */
  outputLocation?: string;
  /** The Glue database of the CloudTrail table (`--database`); undefined: the work group's default (`default`). */
  database?: string;
  /** Default: the SDK's (AWS_REGION, the profile's region). */
  region?: string;
  /** A profile of the shared config and credentials files; default: the SDK's chain. */
  profile?: string;
  /** What the alert pipeline prints and how (replay's options: format, severity, detections, stdout, stderr…). */
  pipeline: PipelineOptions;
  /** Aborted on Ctrl-C: a running query is stopped (StopQueryExecution) and the command exits 130. */
  signal?: AbortSignal;
}

/** `1.2 GB`: bytes in SI units, as the Athena console shows data scanned. */
const formatBytes = (bytes: number): string => {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
};

/** Whether an error is the abort of `signal` (Ctrl-C), rather than a failure. */
const isAbort = (error: unknown, signal: AbortSignal | undefined): boolean =>
  signal?.aborted === true && toError(error).name === 'AbortError';

/**
 * Polls GetQueryExecution until the query is SUCCEEDED, FAILED or CANCELLED, writing each state it sees to stderr with
 * the data scanned so far; resolves to the last execution. Rejects with an AbortError when `signal` aborts.
 */
const waitForQuery = async (
  client: AthenaClient,
  id: string,
  write: (line: string) => void,
  signal: AbortSignal | undefined,
): Promise<QueryExecution> => {
  const { GetQueryExecutionCommand } = await sdk.athena();
  let waitMs = POLL_FIRST_MS;
  let lastState: string | undefined;
  for (;;) {
    const { QueryExecution: execution } = await client.send(
      new GetQueryExecutionCommand({ QueryExecutionId: id }),
      signal ? { abortSignal: signal } : {},
    );
    const state = execution?.Status?.State ?? 'UNKNOWN';
    if (state !== lastState) {
      lastState = state;
      write(`Athena query ${id}: ${state}, ${formatBytes(execution?.Statistics?.DataScannedInBytes ?? 0)} scanned`);
    }
    if (state === 'SUCCEEDED' || state === 'FAILED' || state === 'CANCELLED') return execution ?? {};
    await sleep(waitMs, undefined, signal ? { signal } : {});
    waitMs = Math.min(POLL_MAX_MS, waitMs * 2);
  }
};

/** How reading the results went, filled in while replay reads them. */
interface ResultTally {
  rows: number;
  unreadable: number;
  disagreements: number;
  /** Why the results stopped before their end (GetQueryResults failed), if they did. */
  error?: Error;
}

/**
 * The query's result rows as NDJSON lines of CloudTrail records, page by page as replay pulls them. A row that
 * cannot be read is reported (InputError naming the query and the row) and skipped; a row whose record the catalog's
 * matcher reads otherwise than the SQL did is reported as a disagreement and still passed on (the pipeline decides,
 * as for replay). A failing GetQueryResults ends the lines and is kept in `tally.error`.
 */
async function* resultLines(
  client: AthenaClient,
  id: string,
  options: AthenaRunOptions,
  tally: ResultTally,
  report: (line: string) => void,
): AsyncGenerator<string> {
  const { GetQueryResultsCommand } = await sdk.athena();
  const detections = options.pipeline.detections;
  let read: ReturnType<typeof createAthenaRowReader> | undefined;
  let nextToken: string | undefined;
  let first = true;
  try {
    do {
      if (options.signal?.aborted) return;
      const page = await client.send(
        new GetQueryResultsCommand({
          QueryExecutionId: id,
          MaxResults: PAGE_ROWS,
          ...(nextToken ? { NextToken: nextToken } : {}),
        }),
        options.signal ? { abortSignal: options.signal } : {},
      );
      nextToken = page.NextToken;
      const names = (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((column) => column.Name ?? '');
      read ??= createAthenaRowReader(names);
      const rows = page.ResultSet?.Rows ?? [];
      // The first row of the first page is the header (the column names), as Athena gives a SELECT's results.
      const isHeader = (cells: (string | undefined)[]) => cells.every((cell, i) => cell === names[i]);
      for (const [index, row] of rows.entries()) {
        const cells = (row.Data ?? []).map((datum) => datum.VarCharValue);
        if (first && index === 0 && isHeader(cells)) continue;
        tally.rows += 1;
        let line: string;
        try {
          const match = read(cells);
          line = JSON.stringify(match.record);
          const found = disagreement(match.record, match.detections, detections);
          if (found !== undefined) {
            tally.disagreements += 1;
            if (tally.disagreements <= MAX_DISAGREEMENTS_SHOWN) {
              report(`Athena query ${id} (row ${tally.rows}, eventID ${String(match.record.eventID)}): ${found}`);
            }
          }
        } catch (error) {
          tally.unreadable += 1;
          report(new InputError(`Athena query ${id}`, `row ${tally.rows}`, toError(error).message).message);
          continue;
        }
        yield `${line}\n`;
      }
      first = false;
    } while (nextToken);
  } catch (error) {
    if (!isAbort(error, options.signal)) tally.error = toError(error);
  }
}

/**
 * How the SQL's detection ids for a record differ from the catalog matcher's on the record as read back, in words,
 * or undefined when they agree. They differ when the table lacks a field a pattern reads (the table keeps only the
 * columns AWS's DDL declares) or when the SQL and the matcher disagree (the differential test's business).
 */
const disagreement = (
  record: Record<string, unknown>,
  sqlIds: readonly string[],
  detections: PipelineOptions['detections'],
): string | undefined => {
  let matcherIds: string[];
  try {
    matcherIds = matchDetections(recordToEvent(record), detections).map((detection) => detection.id);
  } catch {
    return undefined; // replay reports a record it cannot read
  }
  const sql = [...new Set(sqlIds)].sort();
  const matcher = [...new Set(matcherIds)].sort();
  if (sql.join(',') === matcher.join(',')) return undefined;
  const list = (ids: string[]) => (ids.length > 0 ? ids.join(', ') : 'none');
  return `the query found ${list(sql)}; the catalog's matcher finds ${list(matcher)} on the record as the table holds it`;
};

/**
 * Runs the query on Athena and its rows through the alert pipeline (replay's, over its stdin path), printing alerts
 * and digests to the pipeline's stdout in its format; progress, reports and the summary go to its stderr. Resolves to
 * the exit status: 0 when every row was read, 1 when the query failed or was cancelled (its StateChangeReason on
 * stderr), a row could not be read or the results stopped early, 130 when interrupted (`signal`: the running query is
 * stopped with StopQueryExecution first).
 *
 * @throws ConfigError when no region is configured; the SDK's error when StartQueryExecution is refused (an unknown
 *   work group, no output location, access denied), wrapped in a ConfigError that says which call failed.
 * @example
 * import { runnableQuery } from '../core/athena/row-reader.js';
 * import { loadDetections } from '../io/detections.js';
 *
 * declare const compiled: string; // the catalog's query (core/athena/compile.ts), Athena's dialect
 * const exitCode = await runOnAthena({
 *   query: runnableQuery(compiled, 'athena'), workGroup: 'primary', database: 'security',
 *   outputLocation: 's3://athena-results-111122223333/rootwatch/',
 *   pipeline: { format: 'ndjson', minSeverity: 'info', detections: loadDetections(),
 *     stdout: (text) => process.stdout.write(text), stderr: process.stderr },
 * });
 */
const runOnAthena = async (options: AthenaRunOptions): Promise<number> => {
  const { stderr } = options.pipeline;
  const write = (line: string) => stderr.write(`rootwatch: ${cleanLine(line)}\n`);
  const athena = await sdk.athena();
  const client = new athena.AthenaClient({
    ...clientOptionsFor(ATHENA_BUDGET),
    ...(options.region ? { region: options.region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
  });
  let id: string | undefined;
  try {
    const region = await client.config.region().catch(() => undefined);
    if (!region) throw new ConfigError('athena --run needs a region: --region, AWS_REGION, or a profile with a region');
    try {
      const started = await client.send(
        new athena.StartQueryExecutionCommand({
          QueryString: options.query,
          WorkGroup: options.workGroup,
          ...(options.database ? { QueryExecutionContext: { Database: options.database } } : {}),
          ...(options.outputLocation ? { ResultConfiguration: { OutputLocation: options.outputLocation } } : {}),
        }),
      );
      id = started.QueryExecutionId;
    } catch (error) {
      const err = toError(error);
      throw new ConfigError(
        `Athena did not start the query (work group ${options.workGroup}, ${region}): ${err.name}: ${err.message}`,
        {
          cause: err,
        },
      );
    }
    if (!id) throw new ConfigError('Athena started the query but gave no QueryExecutionId');
    write(`Athena query ${id} started in work group ${options.workGroup} (${region})`);

    let execution: QueryExecution;
    try {
      execution = await waitForQuery(client, id, write, options.signal);
    } catch (error) {
      if (!isAbort(error, options.signal)) throw error;
      await client.send(new athena.StopQueryExecutionCommand({ QueryExecutionId: id }));
      write(`interrupted: stopped Athena query ${id}`);
      return INTERRUPTED;
    }
    const state = execution.Status?.State;
    const scanned = formatBytes(execution.Statistics?.DataScannedInBytes ?? 0);
    if (state !== 'SUCCEEDED') {
      write(`Athena query ${id} ${state}: ${execution.Status?.StateChangeReason ?? 'no reason given'}`);
      return 1;
    }

    const tally: ResultTally = { rows: 0, unreadable: 0, disagreements: 0 };
    const lines = Readable.from(resultLines(client, id, options, tally, write));
    const { exitCode, summary } = await replay({ ...options.pipeline, paths: ['-'], stdin: lines, workers: 0 });
    if (tally.error) {
      write(
        `the results of Athena query ${id} stopped after ${groupDigits(tally.rows)} rows: ${tally.error.name}: ${tally.error.message}`,
      );
    }
    if (tally.disagreements > MAX_DISAGREEMENTS_SHOWN) {
      write(
        `… and ${groupDigits(tally.disagreements - MAX_DISAGREEMENTS_SHOWN)} more rows where the query and the matcher disagree`,
      );
    }
    write(
      `Athena query ${id}: ${groupDigits(tally.rows)} rows, ${scanned} scanned, ${groupDigits(tally.unreadable)} unreadable rows, ` +
        `${groupDigits(tally.disagreements)} disagreements`,
    );
    write(formatSummary(summary));
    if (options.signal?.aborted) return INTERRUPTED;
    return tally.error || tally.unreadable > 0 ? 1 : exitCode;
  } finally {
    client.destroy();
  }
};

/** Where the command writes, and its environment: functions/cli.ts's CliIo fits it. */
interface AthenaRunIo {
  stdout: (text: string) => void;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env?: Record<string, string | undefined>;
}

/** `rootwatch athena --run`'s flags: the query's (as `rootwatch athena`), where it runs, and what it prints. */
const RUN_OPTIONS = {
  ...SCOPE_OPTIONS,
  run: { type: 'boolean' },
  table: { type: 'string' },
  ...CATALOG_OPTIONS,
  'allow-partial': { type: 'boolean' },
  workgroup: { type: 'string' },
  'output-location': { type: 'string' },
  database: { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
  ...ALERT_OUTPUT_OPTIONS,
} as const;

/** Athena's names of work groups (1-128 of letters, digits, `.`, `_`, `-`) and Glue's of databases. */
const WORK_GROUP = /^[A-Za-z0-9._-]{1,128}$/;
const DATABASE = /^[A-Za-z0-9_-]{1,255}$/;

/**
 * The query `--run` sends: the catalog compiled for Athena (compileForCommand, which reports what it leaves out on
 * stderr), wrapped by runnableQuery; undefined when a branch did not compile without --allow-partial.
 *
 * @throws UsageError for a bad --table, or when the query is over Athena's size limit.
 */
const queryToRun = (
  values: ReturnType<typeof parseRunArgs>['values'],
  scope: LogScope,
  detections: PipelineOptions['detections'],
  write: (line: string) => void,
): string | undefined => {
  const table = values.table ?? DEFAULT_TABLE;
  const allowPartial = values['allow-partial'] === true;
  const compiled = compileForCommand(detections, scope, { dialect: 'athena', table, allowPartial }, write);
  if (compiled === undefined) return undefined;
  const query = runnableQuery(compiled.sql, 'athena');
  if (Buffer.byteLength(query) > ATHENA_QUERY_MAX_BYTES) {
    throw new UsageError(
      `the query is ${Buffer.byteLength(query)} bytes, over Athena's ${ATHENA_QUERY_MAX_BYTES}: run it for fewer detections (--detections)`,
    );
  }
  return query;
};

const parseRunArgs = (args: string[]) =>
  parseArgs({ args, options: RUN_OPTIONS, allowPositionals: false, strict: true });

/**
 * `rootwatch athena --run [--workgroup W] [--output-location s3://…] [--database D] [--region R] [--profile P]` with
 * `rootwatch athena`'s query flags (--since, --until, --accounts, --regions, --table, --detections, --config, --param,
 * --allow-partial) and replay's output flags (--format, --min-severity, --no-fold, --sessions, --account-names): the
 * compiled catalog run on Athena (runOnAthena), its rows printed as replay prints alerts. Ctrl-C stops the query.
 *
 * @returns the exit status: runOnAthena's.
 * @throws UsageError for a bad flag or value (exit 2); ConfigError for a bad parameter or when Athena refuses the
 *   query (work group, output location, access).
 * @example
 * await runAthenaRunCommand(
 *   ['--run', '--since', '30d', '--accounts', '111122223333', '--database', 'security', '--format', 'ndjson'],
 *   { stdout: (text) => process.stdout.write(text), stderr: process.stderr, env: process.env },
 * );
 */
const runAthenaRunCommand = async (args: string[], io: AthenaRunIo): Promise<number> => {
  const { values } = parseRunArgs(args);
  const scope = parseScope(values);
  const output = alertOutputOf(values);
  const workGroup = values.workgroup ?? 'primary';
  if (!WORK_GROUP.test(workGroup)) throw new UsageError(`--workgroup "${workGroup}" is not a work group name`);
  const outputLocation = values['output-location'];
  if (outputLocation !== undefined && !/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(outputLocation)) {
    throw new UsageError(`--output-location "${outputLocation}" is not s3://BUCKET/PREFIX/`);
  }
  if (values.database !== undefined && !DATABASE.test(values.database)) {
    throw new UsageError(`--database "${values.database}" is not a database name`);
  }
  const runbookBaseUrl = runbookBaseUrlOf(io.env);
  const detections = catalogOf(values);
  const write = (line: string) => io.stderr.write(`rootwatch: ${cleanLine(line)}\n`);
  const query = queryToRun(values, scope, detections, write);
  if (query === undefined) return 1;

  const interrupt = new AbortController();
  const onInterrupt = () => interrupt.abort();
  process.once('SIGINT', onInterrupt);
  try {
    return await runOnAthena({
      query,
      workGroup,
      ...(outputLocation === undefined ? {} : { outputLocation }),
      ...(values.database === undefined ? {} : { database: values.database }),
      ...(values.region === undefined ? {} : { region: values.region }),
      ...(values.profile === undefined ? {} : { profile: values.profile }),
      signal: interrupt.signal,
      pipeline: {
        ...output,
        detections,
        runbookBaseUrl,
        scope,
        stdout: io.stdout,
        stderr: io.stderr,
      },
    });
  } finally {
    process.off('SIGINT', onInterrupt);
  }
};

export type { AthenaRunOptions };
export { runAthenaRunCommand, runOnAthena };
