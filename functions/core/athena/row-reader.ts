import { EventParseError } from '../../errors.js';
import type { DialectName } from './dialect.js';
import { CLOUDTRAIL_COLUMNS, type Column, type ColumnType } from './table.js';

/*
 * Reading the rows of `rootwatch athena --run` back into CloudTrail records. Pure.
 *
 * GetQueryResults gives every value as text (`ResultSet.Rows[].Data[].VarCharValue`; NULL as a cell without one), and
 * a struct, array or map column in Trino's text form, which is not JSON: `{type=Root, principalid=AIDA…,
 * sessioncontext={attributes={mfaauthenticated=false, …}}}`, `[{arn=…, accountid=…, type=…}]`. Its values are
 * neither quoted nor escaped, so a value holding `, `, `=` or `}` (a user agent, a federated user's attributes) cannot
 * be told from the separators. (Trino's text form of a ROW, `{v1=123, v2=abc, v3=true}`:
 * https://trino.io/docs/current/functions/json.html, "Cast from JSON"; Athena's, `{NAME=Bob, AGE=38}`:
 * https://docs.aws.amazon.com/athena/latest/ug/changing-row-arrays-with-cast.html.)
 *
 * So the query run on Athena asks for JSON instead: runnableQuery wraps the compiled query and selects each complex
 * column as `json_format(CAST(col AS JSON))` (Athena: "Convert Athena data types to JSON",
 * https://docs.aws.amazon.com/athena/latest/ug/converting-native-data-types-to-json.html). Athena engine version 3 is
 * Trino, whose cast of a ROW with named fields gives a JSON object keyed by the field names, NULL fields as `null`
 * (`CAST(CAST(ROW(123, 'abc', true) AS ROW(v1 BIGINT, v2 VARCHAR, v3 BOOLEAN)) AS JSON)` is
 * `{"v1":123,"v2":"abc","v3":true}`, the Trino page above). The catalog (Glue) keeps field names in lower case, so the
 * keys come back lower case (`principalid`), and the reader names them as CloudTrail writes them (`principalId`,
 * table.ts's `field`). Engine version 2 (Presto 0.217) cast a ROW to a JSON array without names; it is retired.
 */

/** The query's own columns after the table's: the detection ids (array of varchar) and the severity (varchar). */
const DETECTIONS_COLUMN = 'rootwatch_detections';
const SEVERITY_COLUMN = 'rootwatch_severity';

const isComplex = (type: ColumnType): boolean => type.kind === 'struct' || type.kind === 'array' || type.kind === 'map';

/** A Trino or DuckDB identifier, double-quoted (the names are table.ts's, lower case). */
const quoteIdentifier = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/**
 * The JSON text of a complex value in each engine, NULL staying NULL. This is the one construct the runner adds to the
 * compiled query, hence kept here rather than in dialect.ts (which holds the compiler's).
 */
const JSON_TEXT: Record<DialectName, (expression: string) => string> = {
  // Trino: CAST(x AS JSON), then json_format(json) → varchar (https://trino.io/docs/current/functions/json.html).
  athena: (expression) => `json_format(CAST(${expression} AS JSON))`,
  // DuckDB: to_json(any) → JSON, a VARCHAR (https://duckdb.org/docs/stable/data/json/json_functions).
  duckdb: (expression) => `CAST(to_json(${expression}) AS VARCHAR)`,
};

/**
 * The query `athena --run` sends: the compiled query (`SELECT <the table's columns>, … AS rootwatch_detections, … AS
 * rootwatch_severity FROM <table> WHERE …`) wrapped so that each record column comes back in a form the reader can
 * read — the complex ones (struct, array, map) as JSON text, the rest as they are — with the detection ids as JSON
 * text and the severity, ordered by eventtime then eventid (NULLs last), so that root sessions fold as the live alerter
 * folds them, in the order the events happened. The partition columns are not selected: they are not in the record.
 *
 * @param compiled the compiled query, in `dialect`, selecting every column of `columns` by its SQL name.
 * @param dialect the engine the compiled query is written for.
 * @param columns the record's columns (default: the table's, CLOUDTRAIL_COLUMNS).
 * @example
 * import { CLOUDTRAIL_COLUMNS } from './table.js';
 *
 * const columns = CLOUDTRAIL_COLUMNS.filter((c) => c.name === 'eventid' || c.name === 'useridentity');
 * runnableQuery('SELECT … FROM "cloudtrail_logs" WHERE …', 'athena', columns);
 * // 'SELECT json_format(CAST("useridentity" AS JSON)) AS "useridentity", "eventid", json_format(CAST(
 * //  "rootwatch_detections" AS JSON)) AS "rootwatch_detections", "rootwatch_severity" FROM (SELECT … WHERE …)
 * //  AS rootwatch_matches ORDER BY "eventid" NULLS LAST' (one line)
 */
const runnableQuery = (
  compiled: string,
  dialect: DialectName,
  columns: readonly Column[] = CLOUDTRAIL_COLUMNS,
): string => {
  const json = JSON_TEXT[dialect];
  const selected = columns.map((column) => {
    const name = quoteIdentifier(column.name);
    return isComplex(column.type) ? `${json(name)} AS ${name}` : name;
  });
  const detections = quoteIdentifier(DETECTIONS_COLUMN);
  const order = ['eventtime', 'eventid'].filter((name) => columns.some((column) => column.name === name));
  return (
    `SELECT ${[...selected, `${json(detections)} AS ${detections}`, quoteIdentifier(SEVERITY_COLUMN)].join(', ')} ` +
    `FROM (${compiled}) AS rootwatch_matches` +
    (order.length > 0 ? ` ORDER BY ${order.map((name) => `${quoteIdentifier(name)} NULLS LAST`).join(', ')}` : '')
  );
};

/** `value` in at most 80 characters of JSON, for a message. */
const excerpt = (value: unknown): string => String(JSON.stringify(value)).slice(0, 80);

/**
 * A JSON value of a complex column (or a field of one) back to the record's: struct fields named as CloudTrail writes
 * them (matched whatever their case in the JSON; Athena's is lower case), NULL fields left out as CloudTrail leaves out
 * absent ones, map keys as they are (they are data), arrays element by element, text as strings. Undefined: leave out.
 */
const fromJson = (type: ColumnType, value: unknown, where: string): unknown => {
  if (value === null || value === undefined) return undefined;
  switch (type.kind) {
    case 'struct': {
      if (typeof value !== 'object' || Array.isArray(value)) {
        throw new EventParseError(`${where}: expected a JSON object, got ${excerpt(value)}`);
      }
      const byName = new Map(Object.entries(value).map(([key, field]) => [key.toLowerCase(), field]));
      const out: Record<string, unknown> = {};
      for (const field of type.fields) {
        const converted = fromJson(field.type, byName.get(field.name), `${where}.${field.field}`);
        if (converted !== undefined) out[field.field] = converted;
      }
      return out;
    }
    case 'array':
      if (!Array.isArray(value)) throw new EventParseError(`${where}: expected a JSON array, got ${excerpt(value)}`);
      return value.map((item, i) => fromJson(type.of, item, `${where}[${i}]`) ?? null);
    case 'map':
      if (typeof value !== 'object' || Array.isArray(value)) {
        throw new EventParseError(`${where}: expected a JSON object, got ${excerpt(value)}`);
      }
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, item === null ? null : String(item)]));
    default:
      return textValue(type, typeof value === 'string' ? value : JSON.stringify(value));
  }
};

/**
 * A text or JSON-text column's cell as the record's value: the string itself; for a `json` column its JSON parsed
 * (a value that is not JSON stays the string it is: CloudTrail's SerDe gives a string unquoted); for readOnly
 * (`json: 'boolean'`) `true`/`false` as booleans.
 */
const textValue = (type: ColumnType, text: string): unknown => {
  if (type.kind === 'json') {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  if (type.kind === 'text' && type.json === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
  return text;
};

/** The JSON text of a column, parsed: EventParseError naming the column when it is not JSON. */
const parseJsonCell = (text: string, where: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new EventParseError(`${where} is not JSON text: ${text.slice(0, 80)}`, { cause: error });
  }
};

/** What one result row says: the CloudTrail record, and the query's detection ids and severity. */
interface AthenaMatch {
  /** The record as the table holds it: one key per column with a value, named as CloudTrail names it. */
  record: Record<string, unknown>;
  /** The detections the SQL found (`rootwatch_detections`), in the query's order. */
  detections: string[];
  /** The query's severity (`rootwatch_severity`), or undefined when it gave none. */
  severity: string | undefined;
}

/** A reader of one query's rows, made once for its header, then called with each row's cells. */
type AthenaRowReader = (cells: readonly (string | undefined)[]) => AthenaMatch;

/**
 * A reader of the rows of runnableQuery's results. `header` is the result's column names (ResultSetMetadata
 * .ColumnInfo[].Name, or the first row of the first page; Athena's are lower case). Each row's cells are its
 * VarCharValue strings, undefined for NULL. The record has a key for each table column with a value, named as
 * CloudTrail names it (table.ts's `field`), complex columns read from their JSON text, JSON-text columns
 * (requestParameters, responseElements, additionalEventData, …) parsed back to their objects, readOnly back to a
 * boolean; header columns that are not the table's (partition columns) are left out.
 *
 * @param columns the record's columns (default: the table's, CLOUDTRAIL_COLUMNS).
 * @throws EventParseError when the header has no rootwatch_detections column; the reader throws EventParseError when a
 *   complex column is not JSON of its type or the detection ids are not a JSON array of strings, naming the column.
 * @example
 * const read = createAthenaRowReader(['eventname', 'useridentity', 'rootwatch_detections', 'rootwatch_severity']);
 * read(['ConsoleLogin', '{"type":"Root","principalid":"111122223333"}', '["root-console-sign-in"]', 'critical']);
 * // { record: { eventName: 'ConsoleLogin', userIdentity: { type: 'Root', principalId: '111122223333' } },
 * //   detections: ['root-console-sign-in'], severity: 'critical' }
 */
const createAthenaRowReader = (
  header: readonly string[],
  columns: readonly Column[] = CLOUDTRAIL_COLUMNS,
): AthenaRowReader => {
  const byName = new Map(columns.map((column) => [column.name, column]));
  const readers = header.flatMap((label, index) => {
    const column = byName.get(label.toLowerCase());
    return column ? [{ index, column }] : [];
  });
  const detectionsAt = header.findIndex((label) => label.toLowerCase() === DETECTIONS_COLUMN);
  const severityAt = header.findIndex((label) => label.toLowerCase() === SEVERITY_COLUMN);
  if (detectionsAt < 0) throw new EventParseError(`the result has no column ${DETECTIONS_COLUMN}`);
  return (cells) => {
    const record: Record<string, unknown> = {};
    for (const { index, column } of readers) {
      const text = cells[index];
      if (text === undefined) continue;
      const value = isComplex(column.type)
        ? fromJson(column.type, parseJsonCell(text, column.name), column.field)
        : textValue(column.type, text);
      if (value !== undefined) record[column.field] = value;
    }
    const idsText = cells[detectionsAt];
    const ids = idsText === undefined ? [] : parseJsonCell(idsText, DETECTIONS_COLUMN);
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) {
      throw new EventParseError(`${DETECTIONS_COLUMN} is not a JSON array of detection ids: ${excerpt(idsText)}`);
    }
    return { record, detections: ids as string[], severity: severityAt < 0 ? undefined : cells[severityAt] };
  };
};

export { createAthenaRowReader, runnableQuery };
