/**
 * One pattern field (its list of values: literals and operator objects) as a SQL predicate over the field's leaves
 * (leaves.ts), with the matcher's semantics (core/event-pattern/fields.ts, operators.ts): the field matches when some
 * leaf matches some value, or, with `exists: false` in the list, when there is no leaf at all. Values compare by JSON
 * type ("300" never equals 300); a plain IPv4 literal also matches other spellings of the address; anything-but
 * matches any present leaf it does not exclude (null, booleans, numbers included).
 *
 * The pattern must already be valid (compilePattern accepted it at load): shapes are not checked again here. What SQL
 * cannot say is refused with AthenaUnsupported: IPv6 literals and CIDR blocks (IPv6 is not parsed in SQL).
 *
 * Pure: builds strings.
 */
import { caseInsensitive } from '../event-pattern/case-insensitive.js';
import { ipHex } from '../event-pattern/ip-ranges.js';
import { isPlainObject } from '../event-pattern/json.js';
import { parseWildcard } from '../event-pattern/wildcards.js';
import { type Dialect, doubleLiteral, likeEscape, quoteString, regexLiteral } from './dialect.js';
import { AthenaUnsupported, type Leaves, type Names } from './leaves.js';

/** One leaf as SQL: its JSON type tests and its value as text or double (meaningful when of that type). */
interface LeafRef {
  readonly isString: string;
  readonly isNumber: string;
  readonly isBoolean: string;
  readonly isNull: string;
  readonly text: string;
  readonly number: string;
}

const TRUE = 'TRUE';
const FALSE = 'FALSE';

const and = (...terms: string[]): string => {
  if (terms.includes(FALSE)) return FALSE;
  const kept = [...new Set(terms)].filter((term) => term !== TRUE);
  if (kept.length === 0) return TRUE;
  return kept.length === 1 ? (kept[0] as string) : `(${kept.join(' AND ')})`;
};

const or = (...terms: string[]): string => {
  if (terms.includes(TRUE)) return TRUE;
  const kept = [...new Set(terms)].filter((term) => term !== FALSE);
  if (kept.length === 0) return FALSE;
  return kept.length === 1 ? (kept[0] as string) : `(${kept.join(' OR ')})`;
};

const not = (term: string): string => (term === TRUE ? FALSE : term === FALSE ? TRUE : `(NOT ${term})`);

/** A scalar column (string, or readOnly's boolean) as a leaf: its type is fixed. */
const textRef = (sql: string, json: 'string' | 'boolean'): LeafRef => ({
  isString: json === 'string' ? TRUE : FALSE,
  isBoolean: json === 'boolean' ? TRUE : FALSE,
  isNumber: FALSE,
  isNull: FALSE,
  text: sql,
  number: 'NULL',
});

/** A JSON leaf: its type read from the JSON. */
const jsonRef = (d: Dialect, sql: string): LeafRef => ({
  isString: d.jsonIs(sql, 'string'),
  isBoolean: d.jsonIs(sql, 'boolean'),
  isNumber: d.jsonIs(sql, 'number'),
  isNull: d.jsonIs(sql, 'null'),
  text: d.jsonText(sql),
  number: d.jsonDouble(sql),
});

/** A leaf test: SQL over one leaf. */
type LeafTest = (leaf: LeafRef) => string;

/** An equals-ignore-case operand as a regular expression: each character in its lower or upper case (as EventBridge). */
const ignoringCase = (operand: string): string =>
  caseInsensitive(operand)
    .alternatives.map((options) =>
      options.length === 1 ? regexLiteral(options[0] as string) : `(?:${options.map(regexLiteral).join('|')})`,
    )
    .join('');

const IPV4_OCTETS = '0*([0-9]{1,3})[.]0*([0-9]{1,3})[.]0*([0-9]{1,3})[.]0*([0-9]{1,3})';

/**
 * Whether a leaf's text is an IPv4 address (event-ruler's shape: four dot-separated decimal octets, leading zeros
 * allowed, each at most 255) whose value as a 32-bit number lies in [bottom, top].
 */
const ipv4Within = (d: Dialect, text: string, bottom: number, top: number): string => {
  const octets = [1, 2, 3, 4].map((group) => `TRY_CAST(${d.regexGroup(text, IPV4_OCTETS, group)} AS bigint)`);
  const value = `(${octets[0]} * 16777216 + ${octets[1]} * 65536 + ${octets[2]} * 256 + ${octets[3]})`;
  return and(
    d.regexMatch(text, IPV4_OCTETS, 'whole'),
    ...octets.map((octet) => `${octet} <= 255`),
    `${value} BETWEEN ${bottom} AND ${top}`,
  );
};

/** An IP literal's or CIDR's hex (core/event-pattern/ip-ranges.ts) as a number, for IPv4; IPv6 is refused. */
const ipv4Number = (hex: string, what: string): number => {
  if (hex.length !== 8) throw new AthenaUnsupported(`${what} is IPv6, which the query does not parse`);
  return Number.parseInt(hex, 16);
};

const stringIs = (leaf: LeafRef, test: string): string => and(leaf.isString, test);

/** A plain value of the list. */
const literalTest = (d: Dialect, value: unknown): LeafTest => {
  if (typeof value === 'string') {
    const hex = ipHex(value);
    if (hex === undefined) return (leaf) => stringIs(leaf, `${leaf.text} = ${quoteString(value)}`);
    const address = ipv4Number(
      hex,
      `the IP literal ${JSON.stringify(value)} (it matches every spelling of the address)`,
    );
    return (leaf) =>
      stringIs(leaf, or(`${leaf.text} = ${quoteString(value)}`, ipv4Within(d, leaf.text, address, address)));
  }
  if (typeof value === 'number') return (leaf) => and(leaf.isNumber, `${leaf.number} = ${doubleLiteral(value)}`);
  if (typeof value === 'boolean') return (leaf) => and(leaf.isBoolean, `${leaf.text} = '${String(value)}'`);
  return (leaf) => leaf.isNull;
};

const prefixTest = (d: Dialect, operand: unknown): LeafTest => {
  if (isPlainObject(operand)) {
    const body = ignoringCase(String(operand['equals-ignore-case']));
    return (leaf) => stringIs(leaf, d.regexMatch(leaf.text, body, 'start'));
  }
  const prefix = String(operand);
  if (prefix === '') return (leaf) => leaf.isString;
  return (leaf) => stringIs(leaf, d.startsWith(leaf.text, quoteString(prefix)));
};

const suffixTest = (d: Dialect, operand: unknown): LeafTest => {
  if (isPlainObject(operand)) {
    const body = ignoringCase(String(operand['equals-ignore-case']));
    return (leaf) => stringIs(leaf, d.regexMatch(leaf.text, body, 'end'));
  }
  const suffix = String(operand);
  if (suffix === '') return (leaf) => leaf.isString;
  return (leaf) => stringIs(leaf, d.endsWith(leaf.text, quoteString(suffix), Array.from(suffix).length));
};

/** A wildcard operand as LIKE: `*` is `%`, the rest literal (`%`, `_` and `\` escaped). */
const wildcardLike = (operand: string): string => parseWildcard(operand, []).segments.map(likeEscape).join('%');

const wildcardTest = (operand: string): LeafTest => {
  const pattern = quoteString(wildcardLike(operand));
  return (leaf) => stringIs(leaf, `${leaf.text} LIKE ${pattern} ESCAPE '\\'`);
};

const numericTest = (operand: readonly unknown[]): LeafTest => {
  const bounds: string[] = [];
  for (let i = 0; i + 1 < operand.length; i += 2) {
    bounds.push(`${String(operand[i])} ${doubleLiteral(Number(operand[i + 1]))}`);
  }
  return (leaf) => and(leaf.isNumber, ...bounds.map((bound) => `${leaf.number} ${bound}`));
};

const cidrTest = (d: Dialect, operand: string): LeafTest => {
  const [address = '', mask = '0'] = operand.split('/');
  const hex = ipHex(address);
  const bits = Number(mask);
  const base = ipv4Number(hex ?? '', `the CIDR ${JSON.stringify(operand)}`);
  const size = 2 ** (32 - bits);
  const bottom = Math.floor(base / size) * size;
  return (leaf) => stringIs(leaf, ipv4Within(d, leaf.text, bottom, bottom + size - 1));
};

/** The list of an anything-but form's operands. */
const operands = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

/** anything-but: any present leaf except those the operands exclude. */
const anythingButTest = (d: Dialect, value: unknown): LeafTest => {
  if (!isPlainObject(value)) {
    const items = operands(value);
    if (items.every((item) => typeof item === 'number')) {
      const list = items.map((item) => doubleLiteral(item as number)).join(', ');
      return (leaf) => not(and(leaf.isNumber, `${leaf.number} IN (${list})`));
    }
    const list = items.map((item) => quoteString(String(item))).join(', ');
    return (leaf) => not(stringIs(leaf, `${leaf.text} IN (${list})`));
  }
  const [form = ''] = Object.keys(value);
  const texts = operands(value[form]).map(String);
  const excluded: LeafTest[] = texts.map((text) => {
    switch (form) {
      case 'prefix':
        return prefixTest(d, text);
      case 'suffix':
        return suffixTest(d, text);
      case 'equals-ignore-case': {
        const body = ignoringCase(text);
        return (leaf) => stringIs(leaf, d.regexMatch(leaf.text, body, 'whole'));
      }
      default:
        return wildcardTest(text);
    }
  });
  return (leaf) => not(or(...excluded.map((test) => test(leaf))));
};

/** One operator object of the list. */
const operatorTest = (d: Dialect, expression: Record<string, unknown>): LeafTest => {
  const [operator = ''] = Object.keys(expression);
  const operand = expression[operator];
  switch (operator) {
    case 'exactly':
      return (leaf) => stringIs(leaf, `${leaf.text} = ${quoteString(String(operand))}`);
    case 'prefix':
      return prefixTest(d, operand);
    case 'suffix':
      return suffixTest(d, operand);
    case 'equals-ignore-case': {
      const body = ignoringCase(String(operand));
      return (leaf) => stringIs(leaf, d.regexMatch(leaf.text, body, 'whole'));
    }
    case 'wildcard':
      return wildcardTest(String(operand));
    case 'numeric':
      return numericTest(operand as unknown[]);
    case 'cidr':
      return cidrTest(d, String(operand));
    case 'anything-but':
      return anythingButTest(d, operand);
    default:
      throw new AthenaUnsupported(`the operator ${JSON.stringify(operator)} is not one the compiler knows`);
  }
};

/**
 * The predicate of one field: `values` (the pattern's list at the field) over `leaves`. Never NULL.
 *
 * @throws AthenaUnsupported naming the value that SQL cannot test.
 * @example
 * import { dialectOf } from './dialect.js';
 * import { fieldLeaves, lambdaNames } from './leaves.js';
 *
 * const d = dialectOf('athena');
 * const names = lambdaNames();
 * fieldPredicate(d, names, fieldLeaves(d, names, 'detail.eventName'), ['StopLogging']);
 * // `("eventname" IS NOT NULL AND "eventname" = 'StopLogging')`
 */
const fieldPredicate = (d: Dialect, names: Names, leaves: Leaves, values: readonly unknown[]): string => {
  let anyPresent = false;
  let allowsAbsent = false;
  const tests: LeafTest[] = [];
  const strings: string[] = [];
  for (const value of values) {
    if (isPlainObject(value) && 'exists' in value) {
      if (value.exists === true) anyPresent = true;
      else allowsAbsent = true;
    } else if (isPlainObject(value)) {
      tests.push(operatorTest(d, value));
    } else if (typeof value === 'string' && ipHex(value) === undefined) {
      strings.push(value);
    } else {
      tests.push(literalTest(d, value));
    }
  }
  if (leaves.kind === 'text' && leaves.equalsAny && tests.length === 0 && !anyPresent && !allowsAbsent) {
    return leaves.equalsAny(strings);
  }
  if (strings.length > 0) {
    const list = strings.map(quoteString);
    tests.push((leaf) =>
      stringIs(leaf, list.length === 1 ? `${leaf.text} = ${list[0]}` : `${leaf.text} IN (${list.join(', ')})`),
    );
  }
  const matches = (leaf: LeafRef): string => (anyPresent ? TRUE : or(...tests.map((test) => test(leaf))));
  switch (leaves.kind) {
    case 'none':
      return allowsAbsent ? TRUE : FALSE;
    case 'text': {
      const present = `${leaves.sql} IS NOT NULL`;
      const some = and(present, matches(textRef(leaves.sql, leaves.json)));
      return or(
        some === TRUE || some === FALSE ? some : `coalesce(${some}, false)`,
        allowsAbsent ? `${leaves.sql} IS NULL` : FALSE,
      );
    }
    case 'texts': {
      const leaf = names.next();
      const some = d.anyMatch(
        leaves.sql,
        leaf,
        `coalesce(${and(`${leaf} IS NOT NULL`, matches(textRef(leaf, leaves.json)))}, false)`,
      );
      const other = names.next();
      return or(some, allowsAbsent ? not(d.anyMatch(leaves.sql, other, `${other} IS NOT NULL`)) : FALSE);
    }
    case 'json': {
      const leaf = names.next();
      const some = d.anyMatch(leaves.sql, leaf, `coalesce(${matches(jsonRef(d, leaf))}, false)`);
      return or(some, allowsAbsent ? not(d.nonEmpty(leaves.sql)) : FALSE);
    }
  }
};

export { and, fieldPredicate, or };
