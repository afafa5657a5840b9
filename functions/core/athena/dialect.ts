/**
 * Every difference between Athena's SQL (Trino, engine version 3) and DuckDB's that the compiled query meets, in one
 * place, and the escaping of every literal the query holds. The compiler writes nothing engine-specific itself.
 *
 * | what | Athena (Trino) | DuckDB |
 * | --- | --- | --- |
 * | parse JSON text, NULL when it is not JSON | `try(json_parse(s))` | `TRY_CAST(s AS JSON)` |
 * | a key of a JSON object | `json_extract(j, '$["key"]')` | `json_extract(j, '$."key"')` |
 * | a JSON value's type | first character of `json_format(j)` | `json_type(j)` |
 * | a JSON scalar as text | `CAST(j AS varchar)` | `json_extract_string(j, '$')` |
 * | a JSON array's elements | `CAST(j AS array(json))` | `CAST(j AS JSON[])` |
 * | lambda | `x -> …` | `lambda x: …` |
 * | array functions | `transform`, `filter`, `flatten`, `cardinality` | `list_transform`, `list_filter`, `flatten`, `len` |
 * | regular expressions | `regexp_like` (Joni: `\A`, `\z` anchor the text) | `regexp_matches` (RE2: `^`, `$`) |
 * | an ISO 8601 time | `from_iso8601_timestamp` (try) | `TRY_CAST(s AS TIMESTAMPTZ)` |
 * | ends with | `substr(s, -n) = …` | `ends_with` |
 * | array holds | `contains` | `list_contains` |
 *
 * Both cast a JSON array's null element to SQL NULL; jsonNodes turns it back into JSON null, a value to
 * EventBridge. Trino reference: https://trino.io/docs/current/functions/json.html and /functions/array.html;
 * DuckDB: https://duckdb.org/docs/stable/data/json/json_functions and /sql/functions/list.
 *
 * Pure: builds strings.
 */

/** The engine a query is written for. */
type DialectName = 'athena' | 'duckdb';

/** One engine's spelling of each construct the compiler uses. Arguments are SQL expressions, already safe. */
interface Dialect {
  readonly name: DialectName;
  /** JSON text (varchar) to JSON, NULL when it is not JSON. */
  parseJson(text: string): string;
  /** The value under `key` of a JSON object, SQL NULL when there is none (a JSON null stays a JSON null). */
  jsonMember(json: string, key: string): string;
  /** The nodes EventBridge reads in a JSON value: an array's elements (null elements as JSON null), else the value. */
  jsonNodes(json: string): string;
  /** Whether a JSON value is an array. */
  jsonIsArray(json: string): string;
  /** Whether a JSON value is of the kind: a string, a number, a boolean, null, an object. */
  jsonIs(json: string, kind: 'string' | 'number' | 'boolean' | 'null' | 'object'): string;
  /** A JSON scalar's text: a string's characters, a number's or boolean's spelling. */
  jsonText(json: string): string;
  /** A JSON number as a double. */
  jsonDouble(json: string): string;
  /** `array(f(x) for x in list)`, `[x for x in list if p(x)]`, concatenation of an array of arrays. */
  transform(list: string, variable: string, body: string): string;
  filter(list: string, variable: string, predicate: string): string;
  flatten(list: string): string;
  /** Whether some element satisfies `predicate`. */
  anyMatch(list: string, variable: string, predicate: string): string;
  /** Whether the array has elements (false for NULL). */
  nonEmpty(list: string): string;
  /** Whether the array holds the value. */
  contains(list: string, value: string): string;
  /** The arrays one after another. */
  concat(lists: readonly string[]): string;
  /** Group `group` of the regular expression `body` matched against the whole of `text` (NULL or '' when it does not). */
  regexGroup(text: string, body: string, group: number): string;
  /** An array of varchar from expressions. */
  array(items: readonly string[]): string;
  /** Whether `text` matches the regular expression `body` (written for both engines: see regexLiteral), anchored. */
  regexMatch(text: string, body: string, anchor: 'whole' | 'start' | 'end'): string;
  /** Whether `text` starts or ends with the string literal `literal` (a SQL literal) of `length` characters. */
  startsWith(text: string, literal: string): string;
  endsWith(text: string, literal: string, length: number): string;
  /** An ISO 8601 time (varchar) as a timestamp with zone, NULL when it does not parse. */
  isoTime(text: string): string;
  /** A UTC timestamp literal from milliseconds since the epoch. */
  timeLiteral(ms: number): string;
}

/** A string literal: single quotes, each inner quote doubled (the same in both engines, and in Hive's DDL). */
const quoteString = (value: string): string => `'${value.replaceAll("'", "''")}'`;

/** An identifier in double quotes, inner double quotes doubled. */
const quoteIdentifier = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** The characters that LIKE reads specially, escaped with `\` (the query says `ESCAPE '\'`). */
const likeEscape = (text: string): string => text.replace(/[\\%_]/g, (char) => `\\${char}`);

/** A double literal both engines read: `1.5E0`; non-finite numbers never reach here (patterns are JSON). */
const doubleLiteral = (value: number): string => {
  const text = String(value);
  return /[eE]/.test(text) ? text.replace('e', 'E') : `${text}E0`;
};

/**
 * One character as a regular expression matching only that character, for Joni (Trino) and RE2 (DuckDB) alike:
 * letters and digits as they are, every other character inside a class (`[.]`), the four a class reads specially
 * escaped with a backslash.
 */
const regexChar = (char: string): string => {
  if (/^[A-Za-z0-9]$/.test(char)) return char;
  if (char === ']' || char === '\\' || char === '^' || char === '-') return `[\\${char}]`;
  return `[${char}]`;
};

/** A literal text as a regular expression (see regexChar), for both engines. */
const regexLiteral = (text: string): string => Array.from(text, regexChar).join('');

const ATHENA: Dialect = {
  name: 'athena',
  parseJson: (text) => `try(json_parse(${text}))`,
  jsonMember: (json, key) => `json_extract(${json}, ${quoteString(`$[${JSON.stringify(key)}]`)})`,
  jsonNodes: (json) =>
    `coalesce(transform(TRY_CAST(${json} AS array(json)), e -> coalesce(e, JSON 'null')), ARRAY[${json}])`,
  jsonIsArray: (json) => `(json_array_length(${json}) IS NOT NULL)`,
  jsonIs: (json, kind) => {
    const formatted = `json_format(${json})`;
    switch (kind) {
      case 'string':
        return `(substr(${formatted}, 1, 1) = '"')`;
      case 'null':
        return `(${formatted} = 'null')`;
      case 'boolean':
        return `(${formatted} IN ('true', 'false'))`;
      case 'object':
        return `(substr(${formatted}, 1, 1) = '{')`;
      case 'number':
        return `(substr(${formatted}, 1, 1) IN ('-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'))`;
    }
  },
  jsonText: (json) => `CAST(${json} AS varchar)`,
  jsonDouble: (json) => `TRY_CAST(${json} AS double)`,
  transform: (list, variable, body) => `transform(${list}, ${variable} -> ${body})`,
  filter: (list, variable, predicate) => `filter(${list}, ${variable} -> ${predicate})`,
  flatten: (list) => `flatten(${list})`,
  anyMatch: (list, variable, predicate) => `coalesce(any_match(${list}, ${variable} -> ${predicate}), false)`,
  nonEmpty: (list) => `coalesce(cardinality(${list}) > 0, false)`,
  contains: (list, value) => `contains(${list}, ${value})`,
  concat: (lists) => (lists.length === 1 ? (lists[0] as string) : `flatten(ARRAY[${lists.join(', ')}])`),
  regexGroup: (text, body, group) => `regexp_extract(${text}, ${quoteString(`\\A(?:${body})\\z`)}, ${group})`,
  array: (items) => `CAST(ARRAY[${items.join(', ')}] AS array(varchar))`,
  regexMatch: (text, body, anchor) => {
    const anchored =
      anchor === 'whole' ? `\\A(?:${body})\\z` : anchor === 'start' ? `\\A(?:${body})` : `(?:${body})\\z`;
    return `regexp_like(${text}, ${quoteString(anchored)})`;
  },
  startsWith: (text, literal) => `starts_with(${text}, ${literal})`,
  endsWith: (text, literal, length) => `(length(${text}) >= ${length} AND substr(${text}, -${length}) = ${literal})`,
  isoTime: (text) => `try(from_iso8601_timestamp(${text}))`,
  timeLiteral: (ms) => `from_iso8601_timestamp(${quoteString(new Date(ms).toISOString())})`,
};

const DUCKDB: Dialect = {
  name: 'duckdb',
  parseJson: (text) => `TRY_CAST(${text} AS JSON)`,
  jsonMember: (json, key) => `json_extract(${json}, ${quoteString(`$.${JSON.stringify(key)}`)})`,
  jsonNodes: (json) =>
    `coalesce(list_transform(TRY_CAST(${json} AS JSON[]), lambda e: coalesce(e, 'null'::JSON)), [${json}])`,
  jsonIsArray: (json) => `(json_type(${json}) = 'ARRAY')`,
  jsonIs: (json, kind) => {
    const types = {
      string: "'VARCHAR'",
      number: "'BIGINT', 'UBIGINT', 'HUGEINT', 'DOUBLE'",
      boolean: "'BOOLEAN'",
      null: "'NULL'",
      object: "'OBJECT'",
    };
    return `(json_type(${json}) IN (${types[kind]}))`;
  },
  jsonText: (json) => `json_extract_string(${json}, '$')`,
  jsonDouble: (json) => `TRY_CAST(${json} AS DOUBLE)`,
  transform: (list, variable, body) => `list_transform(${list}, lambda ${variable}: ${body})`,
  filter: (list, variable, predicate) => `list_filter(${list}, lambda ${variable}: ${predicate})`,
  flatten: (list) => `flatten(${list})`,
  anyMatch: (list, variable, predicate) =>
    `coalesce(len(list_filter(${list}, lambda ${variable}: ${predicate})) > 0, false)`,
  nonEmpty: (list) => `coalesce(len(${list}) > 0, false)`,
  contains: (list, value) => `list_contains(${list}, ${value})`,
  concat: (lists) => (lists.length === 1 ? (lists[0] as string) : `flatten([${lists.join(', ')}])`),
  regexGroup: (text, body, group) => `regexp_extract(${text}, ${quoteString(`^(?:${body})$`)}, ${group})`,
  array: (items) => `CAST([${items.join(', ')}] AS VARCHAR[])`,
  regexMatch: (text, body, anchor) => {
    const anchored = anchor === 'whole' ? `^(?:${body})$` : anchor === 'start' ? `^(?:${body})` : `(?:${body})$`;
    return `regexp_matches(${text}, ${quoteString(anchored)})`;
  },
  startsWith: (text, literal) => `starts_with(${text}, ${literal})`,
  endsWith: (text, literal) => `ends_with(${text}, ${literal})`,
  isoTime: (text) => `TRY_CAST(${text} AS TIMESTAMPTZ)`,
  timeLiteral: (ms) => `CAST(${quoteString(new Date(ms).toISOString())} AS TIMESTAMPTZ)`,
};

/**
 * The dialect of an engine.
 *
 * @example
 * dialectOf('duckdb').jsonText('x'); // "json_extract_string(x, '$')"
 */
const dialectOf = (name: DialectName): Dialect => (name === 'athena' ? ATHENA : DUCKDB);

export type { Dialect, DialectName };
export { dialectOf, doubleLiteral, likeEscape, quoteIdentifier, quoteString, regexLiteral };
