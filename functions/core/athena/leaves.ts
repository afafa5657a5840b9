/**
 * Where a pattern field's values are in a row of the CloudTrail table: the SQL for the JSON leaves EventBridge would
 * find at the field's path in the event that recordToEvent (core/event.ts) builds from the row's record.
 *
 * - The envelope is derived as recordToEvent derives it: `source` from eventSource, `detail-type` from eventType
 *   (or eventSource), `account`, `region` and `time` from the record with the same fallbacks.
 * - `detail.*` is a column, a field of a struct column, a field of each struct of `resources`, or a path inside a
 *   column that holds JSON text (requestParameters, responseElements, additionalEventData, …). Inside JSON, arrays are
 *   crushed as EventBridge crushes them (every element sits at the array's path, arrays in arrays too, two deep), and a
 *   dotted path also reads keys that contain dots (`a.b` is `{"a":{"b":…}}` or `{"a.b":…}`), as the matcher does.
 *
 * What the table cannot give is refused with a reason (AthenaUnsupported): a record key AWS's table has no column for,
 * a map column, the envelope's `id` of a record without eventID (a hash of the whole record).
 *
 * Pure: builds strings.
 */
import type { Dialect } from './dialect.js';
import { quoteIdentifier, quoteString } from './dialect.js';
import { CLOUDTRAIL_COLUMNS, type Column, type ColumnType } from './table.js';

/**
 * The leaves at a path, as SQL:
 * - `none`: never a value (a path into a string, an object node, a key the envelope never has);
 * - `text`: one scalar, NULL when absent, of JSON type `json` (CloudTrail's SerDe keeps no other type);
 * - `texts`: an array of such scalars (a field of each of `resources`), NULL elements absent;
 * - `json`: an array of JSON leaves (strings, numbers, booleans, nulls), every element present.
 */
type Leaves =
  | { readonly kind: 'none' }
  | {
      readonly kind: 'text';
      readonly sql: string;
      readonly json: 'string' | 'boolean';
      /** A shorter test that the value is one of these strings, for the envelope's derived fields. */
      readonly equalsAny?: (values: readonly string[]) => string;
    }
  | { readonly kind: 'texts'; readonly sql: string; readonly json: 'string' | 'boolean' }
  | { readonly kind: 'json'; readonly sql: string };

/** A path the table cannot answer for, with why: the compiler names the branch that holds it. */
class AthenaUnsupported extends Error {}

const NONE: Leaves = { kind: 'none' };

/** JSON keys the query writes inside a JSON path; others are refused rather than escaped for two path languages. */
const SAFE_KEY = /^[A-Za-z0-9_.:@$+-]+$/;

/** Names for lambda variables, unique within one query, and the SQL already written for a key (a field's test). */
interface Names {
  next(): string;
  readonly written: Map<string, string>;
}

/** A fresh supply of lambda variable names (`v1`, `v2`, …) and an empty memo. */
const lambdaNames = (): Names => {
  let count = 0;
  return {
    next: () => {
      count++;
      return `v${count}`;
    },
    written: new Map(),
  };
};

const list = (values: readonly string[]): string => `(${values.map(quoteString).join(', ')})`;

/** `detail-type` is one of `values`: the eventTypes EventBridge names so, or the fallback for the others. */
const detailTypeIn = (values: readonly string[]): string => {
  const wanted = new Set(values);
  const types = DETAIL_TYPES.filter(([, name]) => wanted.has(name)).map(([type]) => type);
  const eventType = `lower(${col('eventtype')})`;
  const known = `${eventType} IN ${list(DETAIL_TYPES.map(([type]) => type))}`;
  const signIn = wanted.has('AWS Console Sign In via CloudTrail');
  const apiCall = wanted.has('AWS API Call via CloudTrail');
  const fallback =
    signIn && apiCall
      ? 'TRUE'
      : signIn
        ? `${col('eventsource')} = 'signin.amazonaws.com'`
        : apiCall
          ? `${col('eventsource')} <> 'signin.amazonaws.com'`
          : 'FALSE';
  const listed = types.length === 0 ? 'FALSE' : `coalesce(${eventType} IN ${list(types)}, false)`;
  return `(${listed} OR (NOT coalesce(${known}, false) AND coalesce(${fallback}, false)))`;
};

/** `source` is one of `values`: `aws.` and the first label of eventSource. */
const sourceIn = (values: readonly string[]): string => {
  const services = values.filter((value) => value.startsWith('aws.')).map((value) => value.slice(4));
  if (services.length === 0) return 'FALSE';
  return `coalesce(split_part(${col('eventsource')}, '.', 1) IN ${list(services)}, false)`;
};

/** The detail-type EventBridge gives each eventType (core/event.ts DETAIL_TYPES), keys lower-cased. */
const DETAIL_TYPES: readonly (readonly [string, string])[] = [
  ['awsapicall', 'AWS API Call via CloudTrail'],
  ['awsvpceevent', 'AWS API Call via CloudTrail'],
  ['awsconsolesignin', 'AWS Console Sign In via CloudTrail'],
  ['awsconsoleaction', 'AWS Console Action via CloudTrail'],
  ['awsserviceevent', 'AWS Service Event via CloudTrail'],
  ['awscloudtrailinsight', 'AWS Insight via CloudTrail'],
];

const col = (name: string): string => quoteIdentifier(name);

/** The envelope's fields, derived from the record's columns exactly as recordToEvent derives them. */
const envelopeField = (name: string): Leaves => {
  const text = (sql: string) => ({ kind: 'text', sql, json: 'string' }) as const;
  switch (name) {
    case 'version':
      return text("'0'");
    case 'source':
      return { ...text(`('aws.' || split_part(${col('eventsource')}, '.', 1))`), equalsAny: sourceIn };
    case 'detail-type': {
      const known = DETAIL_TYPES.map(
        ([type, detailType]) => `WHEN ${quoteString(type)} THEN ${quoteString(detailType)}`,
      );
      const fallback = `CASE WHEN ${col('eventsource')} = 'signin.amazonaws.com' THEN 'AWS Console Sign In via CloudTrail' ELSE 'AWS API Call via CloudTrail' END`;
      return {
        ...text(`coalesce(CASE lower(${col('eventtype')}) ${known.join(' ')} END, ${fallback})`),
        equalsAny: detailTypeIn,
      };
    }
    case 'account':
      return text(`coalesce(${col('recipientaccountid')}, ${col('useridentity')}.${col('accountid')}, 'unknown')`);
    case 'region':
      return text(`coalesce(${col('awsregion')}, 'us-east-1')`);
    case 'time':
      return text(`coalesce(${col('eventtime')}, '')`);
    case 'id':
      throw new AthenaUnsupported(
        'the envelope id of a record without eventID is a hash of the whole record, which the table does not hold',
      );
    default:
      // `resources` is always empty, `detail` an object: no leaves; any other key is not in the envelope.
      return NONE;
  }
};

/**
 * The JSON values at `keys` below each node of `nodes` (an array of JSON), arrays crushed: every spelling of the
 * dotted path (`a.b.c` as a→b→c, a.b→c, a→b.c, a.b.c), concatenated.
 */
const descendJson = (d: Dialect, names: Names, nodes: string, keys: readonly string[]): string => {
  if (keys.length === 0) return nodes;
  const spellings: string[] = [];
  for (let length = 1; length <= keys.length; length++) {
    const key = keys.slice(0, length).join('.');
    if (!SAFE_KEY.test(key)) {
      throw new AthenaUnsupported(
        `the key ${JSON.stringify(key)} has characters the query does not write in a JSON path`,
      );
    }
    const node = names.next();
    const children = d.flatten(d.transform(nodes, node, crush(d, names, d.jsonMember(node, key))));
    spellings.push(descendJson(d, names, children, keys.slice(length)));
  }
  return d.concat(spellings);
};

/**
 * A JSON value as the array of the nodes EventBridge reads at its path: its elements for an array (an array's arrays'
 * elements too), else itself; SQL NULL (no such key) stays a NULL node, which descends to NULL and is dropped at the end.
 */
const crush = (d: Dialect, names: Names, json: string): string => {
  const element = names.next();
  return d.flatten(d.transform(d.jsonNodes(json), element, d.jsonNodes(element)));
};

/** The leaves at `keys` inside a column that holds JSON text. */
const jsonLeaves = (d: Dialect, names: Names, text: string, keys: readonly string[]): Leaves => {
  const nodes = descendJson(d, names, crush(d, names, d.parseJson(text)), keys);
  const leaf = names.next();
  // Objects hold no value; an array still here was nested three deep, past what the crush reads.
  return {
    kind: 'json',
    sql: d.filter(nodes, leaf, `${leaf} IS NOT NULL AND NOT (${d.jsonIs(leaf, 'object')} OR ${d.jsonIsArray(leaf)})`),
  };
};

/** The leaves at `keys` below a value of type `type` written `sql`; `at` names the path so far, for reasons. */
const typedLeaves = (
  d: Dialect,
  names: Names,
  sql: string,
  type: ColumnType,
  keys: readonly string[],
  at: string,
): Leaves => {
  switch (type.kind) {
    case 'text':
      return keys.length === 0 ? { kind: 'text', sql, json: type.json ?? 'string' } : NONE;
    case 'json':
      return jsonLeaves(d, names, sql, keys);
    case 'map':
      throw new AthenaUnsupported(`${at} is a map column, which the compiler does not read`);
    case 'struct': {
      const [key, ...rest] = keys;
      if (key === undefined) return NONE;
      const field = type.fields.find((candidate) => candidate.field === key);
      if (field === undefined) throw new AthenaUnsupported(`AWS's CloudTrail table has no column for ${at}.${key}`);
      return typedLeaves(d, names, `${sql}.${quoteIdentifier(field.name)}`, field.type, rest, `${at}.${key}`);
    }
    case 'array': {
      if (keys.length === 0) return NONE;
      const element = names.next();
      const inner = typedLeaves(d, names, element, type.of, keys, at);
      if (inner.kind === 'none') return NONE;
      if (inner.kind !== 'text') throw new AthenaUnsupported(`${at} nests arrays deeper than the compiler reads`);
      return { kind: 'texts', sql: d.transform(sql, element, inner.sql), json: inner.json };
    }
  }
};

/**
 * The leaves at a pattern field's dotted path (`detail.userIdentity.type`, `source`).
 *
 * @throws AthenaUnsupported with the reason when the table cannot give them.
 * @example
 * import { dialectOf } from './dialect.js';
 *
 * fieldLeaves(dialectOf('athena'), lambdaNames(), 'detail.eventName');
 * // { kind: 'text', sql: '"eventname"', json: 'string' }
 */
const fieldLeaves = (d: Dialect, names: Names, path: string): Leaves => {
  const [first, ...rest] = path.split('.');
  if (first !== 'detail') return rest.length === 0 ? envelopeField(first ?? '') : NONE;
  const [key, ...keys] = rest;
  if (key === undefined) return NONE;
  const column: Column | undefined = CLOUDTRAIL_COLUMNS.find((candidate) => candidate.field === key);
  if (column === undefined) throw new AthenaUnsupported(`AWS's CloudTrail table has no column for detail.${key}`);
  return typedLeaves(d, names, col(column.name), column.type, keys, `detail.${key}`);
};

export type { Leaves, Names };
export { AthenaUnsupported, fieldLeaves, lambdaNames };
