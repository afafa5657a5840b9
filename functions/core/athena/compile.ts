/**
 * The detection catalog compiled into one SQL query over AWS's CloudTrail table (table.ts): one row per event that
 * some detection matches, with every column of the table, the ids of the detections it matches (catalog order) and
 * the severity the stateless modifiers give it.
 *
 *   SELECT <columns>, rootwatch_detections, <severity from rootwatch_detections> AS rootwatch_severity
 *   FROM (SELECT <columns>, <ids> AS rootwatch_detections FROM <table> WHERE <partition predicates>)
 *   WHERE <rootwatch_detections is not empty>
 *
 * (Each detection's test is written once, in the inner query: written out in the SELECT list, the severity and the
 * WHERE clause, the catalog's query was over Athena's 262,144-byte limit on a query's text.)
 *
 * Each pattern is expanded into its `$or` branches as the matcher expands them (core/event-pattern/compile.ts); each
 * branch is the AND of its fields (conditions.ts) over their leaves (leaves.ts). A branch the table cannot answer is
 * left out of the query and named in `unsupported` with the reason, never dropped silently. Severity modifiers that
 * need state (threshold, follows) and the catalog-wide centralized-root-session rule (core/classify.ts: the table
 * has no `sessionContext.assumedRoot`) are named in `leftToReplay`.
 *
 * Pure: no I/O.
 */

import type { LogScope } from '../../commands/scope.js';
import { CENTRALIZED_ROOT_SESSION } from '../classify.js';
import type { Detection } from '../detection.js';
import { isPlainObject } from '../event-pattern/json.js';
import { SEVERITIES, type Severity, severityRank } from '../severity.js';
import { and, fieldPredicate, or } from './conditions.js';
import { type Dialect, type DialectName, dialectOf, quoteIdentifier, quoteString } from './dialect.js';
import { AthenaUnsupported, fieldLeaves, lambdaNames, type Names } from './leaves.js';
import { CLOUDTRAIL_COLUMNS, type Column, PARTITION_COLUMNS, tableName } from './table.js';

/** A branch or modifier the query leaves out, and why. */
interface Unsupported {
  readonly detection: string;
  readonly reason: string;
}

/** A severity modifier the query does not apply: replay (with its state) does. `detection` `*`: every detection. */
interface LeftToReplay {
  readonly detection: string;
  readonly modifier: string;
}

/** The compiled query, its output columns in order, and what it leaves out. */
interface CatalogQuery {
  readonly sql: string;
  readonly columns: readonly string[];
  readonly unsupported: readonly Unsupported[];
  readonly leftToReplay: readonly LeftToReplay[];
}

/** The engine and the table the query is for. */
interface CompileOptions {
  readonly dialect: DialectName;
  /** `table` or `database.table`. */
  readonly table: string;
}

/** The computed columns the query adds after the table's. */
const DETECTIONS_COLUMN = 'rootwatch_detections';
const SEVERITY_COLUMN = 'rootwatch_severity';

/** A `$or` branch of a pattern: dotted path → the list of values written there. */
type RawBranch = Map<string, readonly unknown[]>;

/** Expands `$or` as the matcher does (compileObject): each alternative forks the branches so far; a later key wins. */
const expandBranches = (
  object: Record<string, unknown>,
  keys: readonly string[],
  branches: RawBranch[],
): RawBranch[] => {
  let current = branches;
  for (const [name, value] of Object.entries(object)) {
    if (name === '$or' && Array.isArray(value)) {
      const base = current;
      current = value.flatMap((alternative) =>
        isPlainObject(alternative)
          ? expandBranches(
              alternative,
              keys,
              base.map((branch) => new Map(branch)),
            )
          : [],
      );
    } else if (isPlainObject(value)) {
      current = expandBranches(value, [...keys, name], current);
    } else if (Array.isArray(value)) {
      const path = [...keys, name].join('.');
      for (const branch of current) branch.set(path, value);
    }
  }
  return current;
};

/** The `$or` branches of a pattern, each a map of dotted path to values. */
const patternBranches = (pattern: Record<string, unknown>): RawBranch[] => expandBranches(pattern, [], [new Map()]);

/** The column (and keys below it) of a `detail.*` path whose values may sit in arrays: JSON text, or resources. */
const arrayScope = (path: string): { column: string; keys: readonly string[] } | undefined => {
  const [first, key, ...keys] = path.split('.');
  if (first !== 'detail' || key === undefined) return undefined;
  const column: Column | undefined = CLOUDTRAIL_COLUMNS.find((candidate) => candidate.field === key);
  if (column?.type.kind === 'json' || column?.type.kind === 'array') return { column: key, keys };
  return undefined;
};

/**
 * Refuses a branch with two fields that might sit in one array element: EventBridge only matches them together when
 * they come from the same element (event-ruler's array consistency), which the query does not hold.
 */
const assertNoSharedArray = (paths: readonly string[]): void => {
  const scopes = paths.map((path) => ({ path, scope: arrayScope(path) }));
  for (const [i, a] of scopes.entries()) {
    for (const b of scopes.slice(i + 1)) {
      if (!a.scope || !b.scope || a.scope.column !== b.scope.column) continue;
      const shared = a.scope.keys[0] !== undefined && a.scope.keys[0] === b.scope.keys[0];
      if (shared || a.scope.column === 'resources') {
        throw new AthenaUnsupported(
          `${a.path} and ${b.path} may sit in one array element, and the query cannot hold them to the same one`,
        );
      }
    }
  }
};

/** One branch as SQL: the AND of its fields. */
const branchPredicate = (d: Dialect, names: Names, branch: RawBranch): string => {
  assertNoSharedArray([...branch.keys()]);
  return and(
    ...[...branch.entries()].map(([path, values]) => {
      const key = `${path}\u0000${JSON.stringify(values)}`;
      const written = names.written.get(key);
      if (written !== undefined) return written;
      try {
        const predicate = fieldPredicate(d, names, fieldLeaves(d, names, path), values);
        names.written.set(key, predicate);
        return predicate;
      } catch (error) {
        if (error instanceof AthenaUnsupported) throw new AthenaUnsupported(`${path}: ${error.message}`);
        throw error;
      }
    }),
  );
};

/**
 * A pattern as SQL: the OR of the branches that compile; `onUnsupported` hears of each that does not, with
 * `where` (`patterns[0]`) and its branch number.
 */
const patternPredicate = (
  d: Dialect,
  names: Names,
  pattern: Record<string, unknown>,
  where: string,
  onUnsupported: (reason: string) => void,
): string => {
  const branches = patternBranches(pattern);
  return or(
    ...branches.map((branch, i) => {
      try {
        return branchPredicate(d, names, branch);
      } catch (error) {
        if (!(error instanceof AthenaUnsupported)) throw error;
        const which = branches.length === 1 ? where : `${where} branch ${i + 1} of ${branches.length}`;
        onUnsupported(`${which}: ${error.message}`);
        return 'FALSE';
      }
    }),
  );
};

/** `4` for critical … `0` for info: the rank as SQL. */
const rankOf = (severity: Severity): string => String(severityRank(severity));

/** One detection: whether a row matches it, and its severity rank when it does (stateless modifiers only). */
interface CompiledDetection {
  readonly id: string;
  readonly matches: string;
  readonly rank: string;
}

const compileDetection = (
  d: Dialect,
  names: Names,
  detection: Detection,
  unsupported: Unsupported[],
  leftToReplay: LeftToReplay[],
): CompiledDetection => {
  const matches = or(
    ...detection.patterns.map((pattern, i) =>
      patternPredicate(d, names, pattern, `patterns[${i}]`, (reason) =>
        unsupported.push({ detection: detection.id, reason }),
      ),
    ),
  );
  const cases: string[] = [];
  for (const [i, modifier] of detection.severityModifiers.entries()) {
    const where = `severityModifiers[${i}]`;
    if ('threshold' in modifier) {
      const { count, withinMinutes } = modifier.threshold;
      leftToReplay.push({
        detection: detection.id,
        modifier: `${where}: ${modifier.severity} from the ${count}th event within ${withinMinutes} minutes per account (threshold: needs the events before it)`,
      });
    } else if ('follows' in modifier) {
      const { detection: followed, count, withinMinutes } = modifier.follows;
      leftToReplay.push({
        detection: detection.id,
        modifier: `${where}: ${modifier.severity} after ${count} ${followed} event(s) within ${withinMinutes} minutes per account (follows: needs the events before it)`,
      });
    } else {
      let compiled = true;
      const predicate = patternPredicate(d, names, modifier.match, `${where}.match`, (reason) => {
        compiled = false;
        leftToReplay.push({ detection: detection.id, modifier: `${where} (${modifier.severity}): ${reason}` });
      });
      if (compiled || predicate !== 'FALSE') cases.push(`WHEN ${predicate} THEN ${rankOf(modifier.severity)}`);
    }
  }
  const rank =
    cases.length === 0 ? rankOf(detection.severity) : `CASE ${cases.join(' ')} ELSE ${rankOf(detection.severity)} END`;
  return { id: detection.id, matches, rank };
};

const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10).replaceAll('-', '/');

/** A day, in ms: CloudTrail files an event in the day folder of its delivery, up to a day after its eventTime. */
const DAY_MS = 86_400_000;

/**
 * The scope's predicates: on the projected partitions (`timestamp` day folders, `account`, `region`; the last day
 * folder one day later, for events delivered after midnight) and, precisely, on the event's time, account and region
 * as recordToEvent derives them (the same test as inScope).
 */
const scopePredicates = (d: Dialect, scope: LogScope): string[] => {
  const predicates: string[] = [];
  const list = (values: readonly string[]) => `(${values.map(quoteString).join(', ')})`;
  const timestamp = quoteIdentifier('timestamp');
  const time = d.isoTime(quoteIdentifier('eventtime'));
  if (scope.sinceMs !== undefined) {
    predicates.push(`${timestamp} >= ${quoteString(dayOf(scope.sinceMs))}`);
    predicates.push(`${time} >= ${d.timeLiteral(scope.sinceMs)}`);
  }
  if (scope.untilMs !== undefined) {
    predicates.push(`${timestamp} <= ${quoteString(dayOf(scope.untilMs - 1 + DAY_MS))}`);
    predicates.push(`${time} < ${d.timeLiteral(scope.untilMs)}`);
  }
  const names = lambdaNames();
  const derived = (field: string) => {
    const leaves = fieldLeaves(d, names, field);
    return leaves.kind === 'text' ? leaves.sql : 'NULL';
  };
  if (scope.accounts !== undefined) {
    predicates.push(`${quoteIdentifier('account')} IN ${list(scope.accounts)}`);
    predicates.push(`${derived('account')} IN ${list(scope.accounts)}`);
  }
  if (scope.regions !== undefined) {
    predicates.push(`${quoteIdentifier('region')} IN ${list(scope.regions)}`);
    predicates.push(`${derived('region')} IN ${list(scope.regions)}`);
  }
  return predicates;
};

/**
 * The highest rank among the detections the row's `rootwatch_detections` holds, as its severity's name; NULL when it
 * holds none.
 */
const severityColumn = (d: Dialect, compiled: readonly CompiledDetection[]): string => {
  const ranks = compiled.map(
    (detection) =>
      `CASE WHEN ${d.contains(DETECTIONS_COLUMN, quoteString(detection.id))} THEN ${detection.rank} ELSE -1 END`,
  );
  const highest = ranks.length === 1 ? (ranks[0] as string) : `greatest(${ranks.join(', ')})`;
  const names = SEVERITIES.map((severity) => `WHEN ${rankOf(severity)} THEN ${quoteString(severity)}`);
  return `CASE ${highest} ${names.join(' ')} END`;
};

/** Athena's limit on a query's text: https://docs.aws.amazon.com/athena/latest/ug/service-limits.html */
const ATHENA_QUERY_MAX_BYTES = 262_144;

/**
 * Compiles the catalog (placeholders already resolved by loadDetections' parameters) into one query for the dialect,
 * limited to the scope (LogScope: --since, --until, --accounts, --regions; `{}` for all).
 *
 * @returns the SQL; its output columns (the table's data columns, its partition columns, rootwatch_detections:
 *   array(varchar) of detection ids in catalog order, rootwatch_severity: varchar); the branches left out
 *   (`unsupported`, with the reason) and the severity modifiers left to replay (`leftToReplay`).
 * @throws Error when `options.table` is not `table` or `database.table`.
 * @example
 * import { loadDetections } from '../../io/detections.js';
 *
 * const { sql, unsupported } = compileCatalogQuery(loadDetections(), { regions: ['us-east-1'] },
 *   { dialect: 'athena', table: 'cloudtrail_logs' });
 */
const compileCatalogQuery = (
  detections: readonly Detection[],
  scope: LogScope,
  options: CompileOptions,
): CatalogQuery => {
  const d = dialectOf(options.dialect);
  const names = lambdaNames();
  const unsupported: Unsupported[] = [];
  const leftToReplay: LeftToReplay[] = [
    {
      detection: '*',
      modifier: `${CENTRALIZED_ROOT_SESSION.severity} ${CENTRALIZED_ROOT_SESSION.reason}: the table has no userIdentity.sessionContext.assumedRoot`,
    },
  ];
  const compiled = detections.map((detection) => compileDetection(d, names, detection, unsupported, leftToReplay));
  const ids = compiled.map((detection) => `CASE WHEN ${detection.matches} THEN ${quoteString(detection.id)} END`);
  const id = names.next();
  const detectionsColumn = d.filter(d.array(ids), id, `${id} IS NOT NULL`);
  const tableColumns = [...CLOUDTRAIL_COLUMNS.map((column) => column.name), ...PARTITION_COLUMNS].map(quoteIdentifier);
  // Each detection's test is written once, in the inner query; the outer one reads its result.
  const sql = [
    'SELECT',
    `  ${tableColumns.join(', ')},`,
    `  ${DETECTIONS_COLUMN},`,
    `  ${severityColumn(d, compiled)} AS ${SEVERITY_COLUMN}`,
    'FROM (',
    '  SELECT',
    `    ${tableColumns.join(', ')},`,
    `    ${detectionsColumn} AS ${DETECTIONS_COLUMN}`,
    `  FROM ${tableName(options.table, '"')}`,
    `  WHERE ${and(...scopePredicates(d, scope))}`,
    ') AS matched',
    `WHERE ${d.nonEmpty(DETECTIONS_COLUMN)}`,
  ].join('\n');
  return {
    sql,
    columns: [
      ...CLOUDTRAIL_COLUMNS.map((column) => column.name),
      ...PARTITION_COLUMNS,
      DETECTIONS_COLUMN,
      SEVERITY_COLUMN,
    ],
    unsupported,
    leftToReplay,
  };
};

export type { CatalogQuery };
export { ATHENA_QUERY_MAX_BYTES, compileCatalogQuery };
