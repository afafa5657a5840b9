/**
 * How a CloudTrail record becomes a row of AWS's CloudTrail table (table.ts), as CloudTrail's SerDe
 * (org.apache.hive.hcatalog.data.JsonSerDe with CloudTrailInputFormat) reads it: struct columns take the object's
 * fields (keys matched ignoring case, as the SerDe does; a missing or null field is NULL); STRING columns take a string
 * as it is, a number or boolean as its text, an object or array as its JSON text (requestParameters and the like). So
 * the table cannot tell a JSON null from a missing key in a STRING or struct column: both are NULL.
 *
 * And the same table in DuckDB, for tests that run the compiled query locally (the duckdb dialect): its CREATE TABLE
 * and an INSERT of rows, every value a literal escaped by quoteString.
 *
 * Pure: builds values and strings.
 */
import { isPlainObject } from '../event-pattern/json.js';
import { quoteIdentifier, quoteString } from './dialect.js';
import { CLOUDTRAIL_COLUMNS, type Column, type ColumnType, PARTITION_COLUMNS } from './table.js';

/** A value of a row: NULL, text, a struct (by SQL field name), an array of structs, or a map. */
type RowValue = string | null | readonly RowValue[] | { readonly [name: string]: RowValue };

/** A row: each column of the table (data and partition columns) by its SQL name. */
type Row = Readonly<Record<string, RowValue>>;

/** Where a record's file sits: the projected partitions' values. */
interface RowLocation {
  readonly account: string;
  readonly region: string;
  /** The day folder, `yyyy/MM/dd`. */
  readonly timestamp: string;
}

/** A record's key, exactly or else ignoring case (the SerDe matches column names ignoring case). */
const fieldOf = (object: Record<string, unknown>, field: string): unknown => {
  if (Object.hasOwn(object, field)) return object[field];
  const lower = field.toLowerCase();
  const key = Object.keys(object).find((candidate) => candidate.toLowerCase() === lower);
  return key === undefined ? undefined : object[key];
};

const asText = (value: unknown): string | null => {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
};

const cellOf = (value: unknown, type: ColumnType): RowValue => {
  switch (type.kind) {
    case 'text':
    case 'json':
      return asText(value);
    case 'struct':
      return isPlainObject(value) ? structOf(value, type.fields) : null;
    case 'array':
      return Array.isArray(value) ? value.map((item) => cellOf(item, type.of)) : null;
    case 'map':
      return isPlainObject(value)
        ? Object.fromEntries(Object.entries(value).map(([key, item]) => [key, asText(item)]))
        : null;
  }
};

const structOf = (object: Record<string, unknown>, fields: readonly Column[]): Record<string, RowValue> =>
  Object.fromEntries(fields.map((field) => [field.name, cellOf(fieldOf(object, field.field), field.type)]));

/** The partitions CloudTrail would file a record under: its account and region, and its eventTime's day (UTC). */
const locationOf = (record: Record<string, unknown>): RowLocation => {
  const identity = record.userIdentity;
  const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  const ms = Date.parse(text(record.eventTime) ?? '');
  return {
    account:
      text(record.recipientAccountId) ?? (isPlainObject(identity) ? text(identity.accountId) : undefined) ?? 'unknown',
    region: text(record.awsRegion) ?? 'us-east-1',
    timestamp: Number.isNaN(ms) ? '1970/01/01' : new Date(ms).toISOString().slice(0, 10).replaceAll('-', '/'),
  };
};

/**
 * The row of AWS's CloudTrail table that holds `record` (a CloudTrail record as JSON parses it), with its partitions
 * (`location`; default: where CloudTrail files it, see locationOf). A value that is not an object gives a row of NULLs.
 *
 * @example
 * recordToRow({ eventName: 'ConsoleLogin', userIdentity: { type: 'Root' }, responseElements: { ConsoleLogin: 'Success' } });
 * // { eventname: 'ConsoleLogin', useridentity: { type: 'Root', arn: null, … }, responseelements: '{"ConsoleLogin":"Success"}', … }
 */
const recordToRow = (record: unknown, location?: RowLocation): Row => {
  const object = isPlainObject(record) ? record : {};
  const where = location ?? locationOf(object);
  return {
    ...structOf(object, CLOUDTRAIL_COLUMNS),
    account: where.account,
    region: where.region,
    timestamp: where.timestamp,
  };
};

/** DuckDB's spelling of a column type. */
const duckdbType = (type: ColumnType): string => {
  switch (type.kind) {
    case 'text':
    case 'json':
      return 'VARCHAR';
    case 'map':
      return 'MAP(VARCHAR, VARCHAR)';
    case 'array':
      return `${duckdbType(type.of)}[]`;
    case 'struct':
      return `STRUCT(${type.fields.map((field) => `${quoteIdentifier(field.name)} ${duckdbType(field.type)}`).join(', ')})`;
  }
};

/**
 * The CREATE TABLE of AWS's CloudTrail table in DuckDB: the same columns and partition columns, structs as STRUCT,
 * arrays as lists, STRING as VARCHAR.
 *
 * @example
 * duckdbCreateTable('cloudtrail_logs'); // 'CREATE TABLE "cloudtrail_logs" ("eventversion" VARCHAR, …)'
 */
const duckdbCreateTable = (table: string): string => {
  const columns = [
    ...CLOUDTRAIL_COLUMNS.map((column) => `${quoteIdentifier(column.name)} ${duckdbType(column.type)}`),
    ...PARTITION_COLUMNS.map((name) => `${quoteIdentifier(name)} VARCHAR`),
  ];
  return `CREATE TABLE ${quoteIdentifier(table)} (${columns.join(', ')})`;
};

const duckdbLiteral = (value: RowValue, type: ColumnType): string => {
  if (value === null) return `CAST(NULL AS ${duckdbType(type)})`;
  switch (type.kind) {
    case 'text':
    case 'json':
      return quoteString(value as string);
    case 'array':
      return `CAST([${(value as readonly RowValue[]).map((item) => duckdbLiteral(item, type.of)).join(', ')}] AS ${duckdbType(type)})`;
    case 'map': {
      const entries = Object.entries(value as Record<string, RowValue>).map(
        ([key, item]) => `${quoteString(key)}: ${item === null ? 'NULL' : quoteString(item as string)}`,
      );
      return `CAST(MAP {${entries.join(', ')}} AS ${duckdbType(type)})`;
    }
    case 'struct': {
      const struct = value as Record<string, RowValue>;
      const fields = type.fields.map(
        (field) => `${quoteString(field.name)}: ${duckdbLiteral(struct[field.name] ?? null, field.type)}`,
      );
      return `CAST({${fields.join(', ')}} AS ${duckdbType(type)})`;
    }
  }
};

/**
 * An INSERT of `rows` (recordToRow's) into the DuckDB table duckdbCreateTable made; every value a literal.
 *
 * @example
 * duckdbInsert('cloudtrail_logs', [recordToRow({ eventName: 'StopLogging', eventSource: 'cloudtrail.amazonaws.com' })]);
 */
const duckdbInsert = (table: string, rows: readonly Row[]): string => {
  const values = rows.map((row) => {
    const data = CLOUDTRAIL_COLUMNS.map((column) => duckdbLiteral(row[column.name] ?? null, column.type));
    const partitions = PARTITION_COLUMNS.map((name) => quoteString(String(row[name] ?? '')));
    return `(${[...data, ...partitions].join(', ')})`;
  });
  return `INSERT INTO ${quoteIdentifier(table)} VALUES ${values.join(',\n')}`;
};

export type { RowValue };
export { duckdbCreateTable, duckdbInsert, recordToRow };
