import { parseArgs } from 'node:util';
import { ATHENA_QUERY_MAX_BYTES, type CatalogQuery, compileCatalogQuery } from '../core/athena/compile.js';
import type { DialectName } from '../core/athena/dialect.js';
import { cloudTrailTableDdl, type TableOptions, tableOptionProblems } from '../core/athena/table.js';
import type { Detection } from '../core/detection.js';
import { cleanLine } from '../core/render/text.js';
import { toError, UsageError } from '../errors.js';
import { CATALOG_OPTIONS, catalogOf } from './options.js';
import { type LogScope, parseScope, SCOPE_OPTIONS } from './scope.js';

/*
 * `rootwatch athena`: the catalog compiled into Athena SQL over AWS's CloudTrail table (core/athena/compile.ts), or
 * with --ddl that table's CREATE EXTERNAL TABLE for a trail's bucket (core/athena/table.ts). Prints; runs nothing.
 */

/** Where the command writes: functions/cli.ts's CliIo fits it (stdout a function, stderr a stream, the environment). */
interface AthenaCommandIo {
  stdout: (text: string) => void;
  stderr: NodeJS.WritableStream;
  env?: Record<string, string | undefined>;
  /** The clock, ms since the epoch (default Date.now): relative --since and the latest --since-year. */
  now?: () => number;
}

const OPTIONS = {
  ...SCOPE_OPTIONS,
  table: { type: 'string' },
  ddl: { type: 'boolean' },
  bucket: { type: 'string' },
  prefix: { type: 'string' },
  organization: { type: 'string' },
  'since-year': { type: 'string' },
  ...CATALOG_OPTIONS,
  'allow-partial': { type: 'boolean' },
  dialect: { type: 'string' },
} as const;

/** The table the query reads when --table is not given: AWS's name in its documentation. */

const DEFAULT_TABLE = 'cloudtrail_logs';

/** AWS's page starts its projection at 2020/01/01. */
const DEFAULT_SINCE_YEAR = 2020;

/**
 * `--since-year` as the projection's first day: from 2013 (CloudTrail began then) to this year (UTC, at `nowMs`). A
 * later year would make a range that starts after NOW, which projects no day: every query would read nothing.
 */
const firstDay = (value: string | undefined, nowMs: number): string => {
  const year = value === undefined ? DEFAULT_SINCE_YEAR : Number(value);
  const thisYear = new Date(nowMs).getUTCFullYear();
  if (!/^\d{4}$/.test(value ?? String(year)) || year < 2013 || year > thisYear) {
    throw new UsageError(
      `--since-year must be a year from 2013 to ${thisYear} (got "${cleanLine(value ?? '')}"): the projection runs from it to NOW`,
    );
  }
  return `${year}/01/01`;
};

/** The DDL of `--ddl`; its flags checked (bad ones are usage errors naming the flag). */
const tableDdl = (values: ReturnType<typeof parse>['values'], scope: LogScope, nowMs: number): string => {
  if (values.since !== undefined || values.until !== undefined) {
    throw new UsageError('--ddl takes --since-year for the first day projected, not --since or --until');
  }
  if (values.bucket === undefined) throw new UsageError('--ddl needs --bucket, the trail’s S3 bucket');
  const options: TableOptions = {
    bucket: values.bucket,
    ...(values.prefix === undefined ? {} : { prefix: values.prefix.replace(/^\/+|\/+$/g, '') }),
    ...(values.organization === undefined ? {} : { organization: values.organization }),
    table: values.table ?? DEFAULT_TABLE,
    since: firstDay(values['since-year'], nowMs),
    ...(scope.accounts === undefined ? {} : { accounts: scope.accounts }),
    regions: scope.regions ?? [],
  };
  const problems = tableOptionProblems(options);
  if (problems.length > 0) throw new UsageError(problems.join('; '));
  return cloudTrailTableDdl(options);
};

/**
 * The catalog compiled for `rootwatch athena` and `athena --run` (compileCatalogQuery), with what it leaves to replay
 * and each pattern branch it cannot test written to `report` (one line each). Undefined when a branch did not compile
 * and `allowPartial` is false: the caller then prints or runs nothing and exits 1.
 *
 * @throws UsageError for a table name that is not one (`--table`).
 * @example
 * import { catalogOf } from './options.js';
 *
 * const query = compileForCommand(catalogOf({}), {}, { dialect: 'athena', table: 'cloudtrail_logs', allowPartial: false }, console.error);
 * query?.sql; // 'SELECT …'
 */
const compileForCommand = (
  detections: readonly Detection[],
  scope: LogScope,
  options: { dialect: DialectName; table: string; allowPartial: boolean },
  report: (line: string) => void,
): CatalogQuery | undefined => {
  let query: CatalogQuery;
  try {
    query = compileCatalogQuery(detections, scope, { dialect: options.dialect, table: options.table });
  } catch (error) {
    throw new UsageError(`--table: ${toError(error).message}`, { cause: error });
  }
  for (const left of query.leftToReplay) {
    report(`${left.detection === '*' ? 'every detection' : left.detection}: left to replay: ${left.modifier}`);
  }
  for (const gap of query.unsupported) report(`${gap.detection}: not compiled: ${gap.reason}`);
  if (query.unsupported.length === 0 || options.allowPartial) return query;
  report(
    `${query.unsupported.length} pattern branch(es) cannot be tested in SQL: nothing printed or run (--allow-partial goes without them; replay tests them)`,
  );
  return undefined;
};

/** Said in the header and on stderr when an Athena query has no --since: it reads the whole table. */
const wholeHistory = (table: string): string =>
  `no --since: the query scans every day of ${table}, and Athena bills by the data scanned; --since 30d (or a date, 2026-01-01) reads only those days`;

/**
 * The SQL's header: what it is, what it leaves to replay and what it does not test, and (`unbounded`) that it scans
 * every day of the table, as SQL line comments.
 */
const header = (query: CatalogQuery, count: number, table: string, scope: LogScope, unbounded: boolean): string[] => {
  const comment = (text: string) => `-- ${cleanLine(text)}`;
  return [
    comment(`rootwatch athena: ${count} detections over ${table}; one row per matching event.`),
    ...(unbounded ? [comment(`${wholeHistory(table)}.`)] : []),
    ...(scope.accounts === undefined
      ? [comment('No --accounts: a table whose account projection is injected needs them.')]
      : []),
    ...query.leftToReplay.map((left) =>
      comment(
        `left to replay (severity): ${left.detection === '*' ? 'every detection' : left.detection}: ${left.modifier}`,
      ),
    ),
    ...query.unsupported.map((gap) => comment(`NOT COMPILED: ${gap.detection}: ${gap.reason}`)),
  ];
};

const parse = (args: string[]) => parseArgs({ args, options: OPTIONS, allowPositionals: false, strict: true });

/**
 * Runs `rootwatch athena` (usage: ATHENA_USAGE). Prints the compiled query (or with --ddl the table's DDL) on stdout;
 * on stderr, each severity modifier left to replay, each pattern branch the query cannot test, and for Athena without
 * --since that the query scans every day of the table (also a header comment).
 *
 * @returns 0; 1 when some branch did not compile (the SQL is then not printed, unless --allow-partial) or the query
 *   is over Athena's 262,144-byte limit.
 * @throws UsageError for a bad flag or value (exit 2); ConfigError for a bad parameter; DetectionFileError for a bad
 *   detection file.
 * @example
 * declare const io: { stdout: (text: string) => void; stderr: NodeJS.WritableStream }; // cli.ts's CliIo fits
 * await runAthenaCommand(['--since', '2026-01-01', '--accounts', '111122223333'], io);
 */
const runAthenaCommand = async (args: string[], io: AthenaCommandIo): Promise<number> => {
  // --run: the query run on Athena and its rows through the alert pipeline, with flags of its own (athena-run.ts).
  if (args.includes('--run')) return (await import('./athena-run.js')).runAthenaRunCommand(args, io);
  const { values } = parse(args);
  const nowMs = io.now?.() ?? Date.now();
  const scope = parseScope(values, nowMs);
  if (values.ddl) {
    io.stdout(`${tableDdl(values, scope, nowMs)}\n`);
    return 0;
  }
  for (const flag of ['bucket', 'prefix', 'organization', 'since-year'] as const) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} goes with --ddl`);
  }
  const dialect = (values.dialect ?? 'athena') as DialectName;
  if (dialect !== 'athena' && dialect !== 'duckdb') {
    throw new UsageError(`--dialect must be athena or duckdb (got "${values.dialect}")`);
  }
  const table = values.table ?? DEFAULT_TABLE;
  const detections = catalogOf(values);
  const report = (line: string) => io.stderr.write(`rootwatch: ${cleanLine(line)}\n`);
  const query = compileForCommand(
    detections,
    scope,
    { dialect, table, allowPartial: values['allow-partial'] === true },
    report,
  );
  if (query === undefined) return 1;
  // Athena bills by the bytes scanned (https://aws.amazon.com/athena/pricing/); without --since, every day's partition.
  const unbounded = dialect === 'athena' && scope.sinceMs === undefined;
  if (unbounded) report(wholeHistory(table));
  io.stdout(`${[...header(query, detections.length, table, scope, unbounded), query.sql].join('\n')}\n`);
  const bytes = Buffer.byteLength(query.sql);
  if (dialect === 'athena' && bytes > ATHENA_QUERY_MAX_BYTES) {
    io.stderr.write(
      `rootwatch: the query is ${bytes} bytes, over Athena's ${ATHENA_QUERY_MAX_BYTES}: run it for fewer detections (--detections)\n`,
    );
    return 1;
  }
  return 0;
};

export { compileForCommand, DEFAULT_TABLE, runAthenaCommand };
