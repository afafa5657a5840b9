/**
 * Amazon EventBridge event patterns, validated and matched locally.
 *
 * The semantics follow the EventBridge User Guide ("Event patterns", "Content filtering") and, where
 * the guide is silent, aws/event-ruler, the library EventBridge matches with:
 * - A pattern is flattened into fields: the path of object keys joined with "." (so `{"a": {"b": …}}`
 *   and `{"a.b": …}` are the same field) and the array of values to match. `$or` forks the pattern
 *   into branches; the event matches when every field of some branch matches.
 * - An event is read the same way: each JSON leaf (string, number, boolean, null) sits at a dotted
 *   path; arrays are "crushed" (every element sits at the array's path). A match never combines
 *   leaves from different elements of the same array (event-ruler's array consistency).
 * - Values compare by JSON type: "300" never equals 300; numbers compare as doubles; null is a value
 *   (exists:true holds for it) while an empty array or an object node is no value at all.
 * - An IP literal in a value list matches the same address however it is written; equals-ignore-case
 *   accepts each operand character in its lower or upper case, as EventBridge does.
 * - Validation messages reproduce AWS's reasons word for word and add the JSON path. The wildcard
 *   "too complex" check models event-ruler's MachineComplexityEvaluator rather than copying it.
 *
 * Pure: no I/O, no clock, no environment.
 */
import { InvalidPatternError } from '../errors.js';

// ------------------------------------------------------------------------------------------------
// Types
// ------------------------------------------------------------------------------------------------

/** An EventBridge event pattern, as parsed from JSON. */
type EventPattern = Record<string, unknown>;

/** A JSON leaf of an event: the only thing a pattern value is compared with. */
type Leaf = string | number | boolean | null;

/** Keys and array indexes from the pattern root to a place in the pattern, for error messages. */
type JsonPath = readonly (string | number)[];

/** One element of one array of the event: leaves under it carry it in their membership. */
interface ArrayPosition {
  readonly array: readonly unknown[];
  readonly index: number;
}

/** The array elements a leaf sits in. Two leaves combine only if they agree on every shared array. */
type Membership = readonly ArrayPosition[];

/** A leaf found at a field's path, with the array elements it came from. */
interface Candidate {
  readonly value: Leaf;
  readonly membership: Membership;
}

/** An inclusive range of IP addresses as fixed-width upper-case hex (8 digits for IPv4, 32 for IPv6). */
interface IpRange {
  readonly bottom: string;
  readonly top: string;
}

/** A wildcard operand, parsed: the literal text between unescaped stars, and its UTF-8 bytes for the complexity check. */
interface Wildcard {
  readonly segments: readonly string[];
  readonly tokens: readonly number[];
}

/** The wildcards of one pattern value, kept to measure how non-deterministic a field's matcher becomes. */
interface WildcardTerm {
  readonly identity: string;
  readonly wildcards: readonly Wildcard[];
}

/** `folded` is the value with only A-Z lower-cased (see foldAscii), computed once per value when needed. */
type StringTest = (value: string, folded: string) => boolean;
type NumberTest = (value: number) => boolean;
type LeafTest = (value: Leaf, folded: string) => boolean;

/** One value of a field's array, compiled. A field matches a leaf when any of its conditions does. */
type Condition =
  | { readonly kind: 'exact'; readonly value: Leaf }
  | { readonly kind: 'ip'; readonly hex: string }
  | { readonly kind: 'ip-range'; readonly range: IpRange }
  | { readonly kind: 'ignore-case'; readonly folded: string }
  | { readonly kind: 'string'; readonly needsFold: boolean; readonly test: StringTest }
  | { readonly kind: 'number'; readonly test: NumberTest }
  | { readonly kind: 'leaf'; readonly needsFold: boolean; readonly test: LeafTest }
  | { readonly kind: 'exists'; readonly present: boolean };

/** A pattern value compiled, with its wildcard term if it has one. */
interface CompiledValue {
  readonly condition: Condition;
  readonly wildcard?: WildcardTerm;
}

/** Decides one leaf for one field, and whether the field may be absent. */
interface FieldMatcher {
  readonly test: (value: Leaf) => boolean;
  readonly allowsAbsent: boolean;
}

/** One field of the pattern: its dotted path, where it was written, and its compiled values. */
interface FieldSpec {
  readonly path: string;
  readonly at: JsonPath;
  readonly matcher: FieldMatcher;
  readonly wildcards: readonly WildcardTerm[];
}

/** One alternative of the pattern after `$or` is expanded: dotted path → field. */
type Branch = Map<string, FieldSpec>;

/** How to find a dotted path in an event: `keys[start][length - 1]` joins `length` segments from `start`. */
interface PathLookup {
  readonly segments: number;
  readonly keys: readonly (readonly string[])[];
}

/** A field ready for matching: where its leaves are cached, how to find and test them. */
interface MatchField {
  readonly slot: number;
  readonly lookup: PathLookup;
  readonly matcher: FieldMatcher;
  /** Whether a later field of the branch has exists:false (see matchBranch for why this matters). */
  readonly absenceFollows: boolean;
}

type EventPredicate = (event: unknown) => boolean;

// ------------------------------------------------------------------------------------------------
// Constants
// ------------------------------------------------------------------------------------------------

const AWS_PREFIX = 'Event pattern is not valid. Reason: ';
const OR = '$or';
const STAR = 256;

/** EventBridge rejects a field whose wildcards could keep more than this many partial matches alive at once. */
const WILDCARD_COMPLEXITY_LIMIT = 10;
/** Bounds the work of the complexity check itself on pathological inputs. */
const WILDCARD_COMPLEXITY_STATE_BUDGET = 20_000;

/** Field names event-ruler reserves inside `$or`, so a misplaced operator is not read as a field. */
const RESERVED_IN_OR = new Set([
  'exactly',
  'equals-ignore-case',
  'prefix',
  'suffix',
  'anything-but',
  'exists',
  'wildcard',
  'numeric',
  'cidr',
  '=',
  '<',
  '<=',
  '>',
  '>=',
  'regex',
  'not-wildcard',
  'not-equals-ignore-case',
  'date-after',
  'date-on-or-after',
  'date-before',
  'date-on-or-before',
  'in-date-range',
  'ip-address-in-range',
  'ip-address-not-in-range',
]);

const ANYTHING_BUT_FORMS = new Set(['equals-ignore-case', 'prefix', 'suffix', 'wildcard']);

/** event-ruler's `[0-9a-fA-F:]*:[0-9a-fA-F:]*`, written so a long near-miss cannot backtrack quadratically. */
const IPV6_CHARS = /^[0-9a-fA-F:]+$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;
const JAVA_INT = /^[+-]?[0-9]+$/;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

const EMPTY_MEMBERSHIP: Membership = [];
const UTF8 = new TextEncoder();

// ------------------------------------------------------------------------------------------------
// Errors
// ------------------------------------------------------------------------------------------------

/** `$.detail["x-limit"][0].numeric`: the JSONPath of a place in the pattern. */
const formatPath = (at: JsonPath): string =>
  `$${at
    .map((step) => {
      if (typeof step === 'number') return `[${step}]`;
      return IDENTIFIER.test(step) ? `.${step}` : `[${JSON.stringify(step)}]`;
    })
    .join('')}`;

/** Throws AWS's reason for rejecting the pattern, followed by where in the pattern the problem is. */
const fail = (reason: string, at: JsonPath): never => {
  throw new InvalidPatternError(`${AWS_PREFIX}${reason} (at ${formatPath(at)})`);
};

// ------------------------------------------------------------------------------------------------
// JSON helpers
// ------------------------------------------------------------------------------------------------

const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
};

/** Only what JSON can express reaches EventBridge; anything else (undefined, NaN, a Date, a cycle) is a caller bug. */
const assertJson = (value: unknown, at: JsonPath, ancestors: Set<object>): void => {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) fail(`${value} is not a JSON number`, at);
    return;
  }
  if (Array.isArray(value) || isPlainObject(value)) {
    if (ancestors.has(value)) fail('the pattern contains a cycle', at);
    ancestors.add(value);
    const entries: [string | number, unknown][] = Array.isArray(value)
      ? value.map((item, index) => [index, item])
      : Object.entries(value);
    for (const [step, item] of entries) assertJson(item, [...at, step], ancestors);
    ancestors.delete(value);
    return;
  }
  const kind =
    value === undefined ? 'undefined' : typeof value === 'object' ? 'a non-plain object' : `a ${typeof value}`;
  fail(`${kind} is not a JSON value`, at);
};

/** How Jackson would print the token at this place of an array, for AWS's "Invalid member …" messages. */
const tokenText = (value: unknown): string => {
  if (value === undefined) return ']';
  if (Array.isArray(value)) return '[';
  if (value !== null && typeof value === 'object') return '{';
  return String(value);
};

// ------------------------------------------------------------------------------------------------
// IP addresses
// ------------------------------------------------------------------------------------------------

const HEX_BYTES = Array.from({ length: 256 }, (_, byte) => byte.toString(16).toUpperCase().padStart(2, '0'));

const toHex = (bytes: readonly number[]): string => {
  let hex = '';
  for (const byte of bytes) hex += HEX_BYTES[byte] as string;
  return hex;
};

const DOT = 46;
const DIGIT_0 = 48;
const DIGIT_9 = 57;

/**
 * Reads event-ruler's IPv4 shape, four dot-separated runs of digits, in one pass (this runs on every
 * string a cidr field sees): undefined if `text` is not that shape, `invalid` if an octet exceeds 255.
 * Octets are decimal, leading zeros and all, as Java's InetAddress reads them.
 */
const parseIpv4 = (text: string): number[] | 'invalid' | undefined => {
  const octets: number[] = [];
  let octet = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const code = i < text.length ? text.charCodeAt(i) : DOT;
    if (code >= DIGIT_0 && code <= DIGIT_9) {
      octet = Math.min(octet * 10 + code - DIGIT_0, 256);
      digits++;
    } else if (code === DOT && digits > 0 && octets.length < 4) {
      octets.push(octet);
      octet = 0;
      digits = 0;
    } else return undefined;
  }
  if (octets.length !== 4) return undefined;
  return octets.every((value) => value <= 255) ? octets : 'invalid';
};

const parseIpv6Groups = (text: string): number[] | undefined => {
  if (text === '') return [];
  const groups = text.split(':');
  if (!groups.every((group) => IPV6_GROUP.test(group))) return undefined;
  return groups.map((group) => Number.parseInt(group, 16));
};

const parseIpv6 = (text: string): number[] | undefined => {
  const gap = text.indexOf('::');
  if (gap !== text.lastIndexOf('::')) return undefined;
  const head = parseIpv6Groups(gap === -1 ? text : text.slice(0, gap));
  const tail = gap === -1 ? [] : parseIpv6Groups(text.slice(gap + 2));
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (gap === -1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<number>(gap === -1 ? 0 : missing).fill(0), ...tail];
  const bytes = groups.flatMap((group) => [group >> 8, group & 0xff]);
  // Java's InetAddress turns an IPv4-mapped IPv6 address into the IPv4 address.
  const mapped = bytes.slice(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? bytes.slice(12) : bytes;
};

/**
 * The address bytes of an IP literal: `nonstandard` when it does not even look like one, `invalid`
 * when it looks like one but is not (event-ruler distinguishes the two in its messages).
 */
const parseIp = (text: string): number[] | 'nonstandard' | 'invalid' => {
  const ipv4 = parseIpv4(text);
  if (ipv4 !== undefined) return ipv4;
  if (text.includes(':') && IPV6_CHARS.test(text)) return parseIpv6(text) ?? 'invalid';
  return 'nonstandard';
};

/** The hex form of an IP literal, or undefined for any other string. */
const ipHex = (text: string): string | undefined => {
  const bytes = parseIp(text);
  return typeof bytes === 'string' ? undefined : toHex(bytes);
};

/** Java's String.split drops trailing empty strings; AWS's CIDR messages depend on it. */
const javaSplit = (text: string, separator: string): string[] => {
  if (!text.includes(separator)) return [text];
  const parts = text.split(separator);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
};

/** The bytes of an address with its host bits (all but the first `mask` bits) cleared or set. */
const withHostBits = (bytes: readonly number[], mask: number, set: boolean): number[] => {
  const hostBits = bytes.length * 8 - mask;
  return bytes.map((byte, index) => {
    const bitsInByte = Math.min(8, Math.max(0, hostBits - (bytes.length - 1 - index) * 8));
    const hostMask = (1 << bitsInByte) - 1;
    return set ? byte | hostMask : byte & ~hostMask & 0xff;
  });
};

/** A CIDR block as an inclusive range. As in event-ruler, a full-length mask (/32, /128) is rejected. */
const parseCidr = (text: string, at: JsonPath): IpRange => {
  const parts = javaSplit(text, '/');
  if (parts.length !== 2) fail("Malformed CIDR, one '/' required", at);
  const [address = '', maskText = ''] = parts;
  const mask = JAVA_INT.test(maskText) ? Number(maskText) : Number.NaN;
  if (!Number.isSafeInteger(mask) || Math.abs(mask) > 2 ** 31) fail('Malformed CIDR, mask bits must be an integer', at);
  if (mask < 0) fail('Malformed CIDR, mask bits must not be negative', at);
  const bytes = parseIp(address);
  if (bytes === 'nonstandard') return fail(`Nonstandard IP address: ${address}`, at);
  if (bytes === 'invalid') return fail(`Invalid IP address: ${address}`, at);
  if (bytes.length === 4 && mask > 31) fail('IPv4 mask bits must be < 32', at);
  if (bytes.length === 16 && mask > 127) fail('IPv6 mask bits must be < 128', at);
  return { bottom: toHex(withHostBits(bytes, mask, false)), top: toHex(withHostBits(bytes, mask, true)) };
};

const inIpRange = (hex: string, range: IpRange): boolean =>
  hex.length === range.bottom.length && hex >= range.bottom && hex <= range.top;

// ------------------------------------------------------------------------------------------------
// Wildcards
// ------------------------------------------------------------------------------------------------

const utf8Length = (codeUnit: number, next: number): number => {
  if (codeUnit < 0x80) return 1;
  if (codeUnit < 0x800) return 2;
  const isPair = codeUnit >= 0xd800 && codeUnit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff;
  return isPair ? 4 : 3;
};

/**
 * Splits a wildcard operand at its unescaped stars. `\*` is a literal star and `\\` a literal
 * backslash; any other escape, and two stars in a row, are rejected. Positions in the messages are
 * UTF-8 byte offsets into the operand wrapped in quotes, as event-ruler reports them.
 */
const parseWildcard = (text: string, at: JsonPath): Wildcard => {
  const segments: string[] = [];
  let segment = '';
  let position = 1; // the opening quote
  for (let i = 0; i < text.length; i++) {
    const char = text.charAt(i);
    const width = utf8Length(text.charCodeAt(i), text.charCodeAt(i + 1));
    if (char === '*') {
      if (text.charAt(i + 1) === '*') fail(`Consecutive wildcard characters at pos ${position}`, at);
      segments.push(segment);
      segment = '';
    } else if (char === '\\') {
      const escaped = text.charAt(i + 1);
      if (escaped !== '*' && escaped !== '\\') fail(`Invalid escape character at pos ${position}`, at);
      segment += escaped;
      i++;
      position++;
    } else {
      const whole = width === 4 ? text.slice(i, i + 2) : char;
      segment += whole;
      if (width === 4) i++;
    }
    position += width;
  }
  segments.push(segment);
  const tokens = segments.flatMap((part, index) => [...(index > 0 ? [STAR] : []), ...UTF8.encode(part)]);
  return { segments, tokens };
};

/** Glob match with `*` only: anchored first and last segments, the middle ones leftmost in order. */
const matchesWildcard = (value: string, { segments }: Wildcard): boolean => {
  const first = segments[0] ?? '';
  if (segments.length === 1) return value === first;
  const last = segments[segments.length - 1] ?? '';
  if (value.length < first.length + last.length || !value.startsWith(first) || !value.endsWith(last)) return false;
  const end = value.length - last.length;
  let from = first.length;
  for (let i = 1; i < segments.length - 1; i++) {
    const middle = segments[i] ?? '';
    const found = value.indexOf(middle, from);
    if (found === -1 || found + middle.length > end) return false;
    from = found + middle.length;
  }
  return true;
};

/** A state of the byte automaton that EventBridge builds from a field's wildcards. */
interface WildcardState {
  readonly literal: Map<number, number[]>;
  readonly any: number[];
  readonly weight: Set<string>;
  readonly prefix: Map<number, number>;
  star: number;
}

const newWildcardState = (): WildcardState => ({
  literal: new Map(),
  any: [],
  weight: new Set(),
  prefix: new Map(),
  star: 0,
});

const addEdge = (edges: Map<number, number[]>, byte: number, to: number): void => {
  const targets = edges.get(byte);
  if (targets) targets.push(to);
  else edges.set(byte, [to]);
};

/**
 * Builds the automaton for a field's wildcards: stars are self-looping states; the text before the
 * first star is shared between terms (a trie), the text after it is not. Each state is weighted by
 * the terms that pass through it.
 */
const buildWildcardAutomaton = (terms: readonly WildcardTerm[]): { states: WildcardState[]; alphabet: Set<number> } => {
  const states = [newWildcardState()];
  const accepting = new Map<string, number>();
  const alphabet = new Set<number>();
  const quote = '"'.charCodeAt(0);
  for (const term of terms) {
    for (const wildcard of term.wildcards) {
      const tokens = [quote, ...wildcard.tokens, quote];
      let current = 0;
      let previous = -1;
      let determinate = true;
      for (let i = 0; i < tokens.length; i++) {
        const token = tokens[i] as number;
        const isLast = i === tokens.length - 1;
        const wasDeterminate = determinate;
        const origin = states[current] as WildcardState;
        let next = 0;
        if (isLast) next = accepting.get(term.identity) ?? 0;
        else if (token === STAR) {
          if (wasDeterminate) next = origin.star;
          determinate = false;
        } else if (wasDeterminate) next = origin.prefix.get(token) ?? 0;
        const created = next === 0;
        if (created) {
          next = states.push(newWildcardState()) - 1;
          // Text up to the first star is a trie shared by all terms; text after it never is.
          if (isLast) accepting.set(term.identity, next);
          else if (wasDeterminate && token === STAR) origin.star = next;
          else if (wasDeterminate) origin.prefix.set(token, next);
        }
        const to = states[next] as WildcardState;
        if (token === STAR) {
          if (to.any.length === 0) {
            origin.any.push(next);
            to.any.push(next);
          }
        } else if (isLast || created) {
          alphabet.add(token);
          addEdge(origin.literal, token, next);
          // A star may also match nothing: the state before it reaches the byte after it directly.
          if (i > 0 && tokens[i - 1] === STAR) addEdge((states[previous] as WildcardState).literal, token, next);
        }
        to.weight.add(term.identity);
        previous = current;
        current = next;
      }
    }
  }
  return { states, alphabet };
};

/**
 * The largest number of partial wildcard matches (weighted by term) that one input could keep alive
 * at once, counting star states one byte away: the measure behind AWS's "Rule is too complex".
 */
const wildcardComplexity = (terms: readonly WildcardTerm[]): number => {
  const { states, alphabet } = buildWildcardAutomaton(terms);
  const bytes = [STAR, ...alphabet]; // STAR stands for any byte without a literal edge
  const seen = new Set<string>();
  const pending: number[][] = [[0]];
  let maximum = 0;
  while (pending.length > 0 && seen.size < WILDCARD_COMPLEXITY_STATE_BUDGET) {
    const active = pending.pop() as number[];
    for (const byte of bytes) {
      const next = new Set<number>();
      for (const id of active) {
        const state = states[id] as WildcardState;
        for (const target of state.any) next.add(target);
        if (byte !== STAR) for (const target of state.literal.get(byte) ?? []) next.add(target);
      }
      if (next.size === 0) continue;
      let complexity = 0;
      for (const id of next) {
        const state = states[id] as WildcardState;
        complexity += state.weight.size;
        for (const star of state.any) if (!next.has(star)) complexity += (states[star] as WildcardState).weight.size;
      }
      if (complexity > WILDCARD_COMPLEXITY_LIMIT) return complexity;
      maximum = Math.max(maximum, complexity);
      const sorted = [...next].sort((a, b) => a - b);
      const key = sorted.join(',');
      if (!seen.has(key)) {
        seen.add(key);
        pending.push(sorted);
      }
    }
  }
  return maximum;
};

/** Rejects a pattern if any field's wildcards, across all `$or` branches, are too non-deterministic. */
const assertWildcardComplexity = (branches: readonly Branch[]): void => {
  const byPath = new Map<string, { at: JsonPath; terms: Map<string, WildcardTerm> }>();
  for (const branch of branches) {
    for (const field of branch.values()) {
      if (field.wildcards.length === 0) continue;
      const entry = byPath.get(field.path) ?? { at: field.at, terms: new Map<string, WildcardTerm>() };
      for (const term of field.wildcards) entry.terms.set(term.identity, term);
      byPath.set(field.path, entry);
    }
  }
  for (const { at, terms } of byPath.values()) {
    if (wildcardComplexity([...terms.values()]) > WILDCARD_COMPLEXITY_LIMIT) {
      fail(
        'Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character',
        at,
      );
    }
  }
};

// ------------------------------------------------------------------------------------------------
// Case-insensitive text
// ------------------------------------------------------------------------------------------------

const NON_ASCII = /[\u0080-\uffff]/;

/** Lower-cases A-Z only, so a non-ASCII character (the Kelvin sign, say) never passes for an ASCII letter. */
const foldAscii = (text: string): string =>
  NON_ASCII.test(text) ? text.replace(/[A-Z]+/g, (run) => run.toLowerCase()) : text.toLowerCase();

/**
 * An equals-ignore-case operand. EventBridge accepts, at each operand character, that character's
 * lower-case or upper-case form (so "ß" matches "SS", and nothing folds the value). For an ASCII
 * operand that is equality after foldAscii, which the matcher does with a Set; other operands keep
 * the alternatives and are walked.
 */
interface CaseInsensitiveText {
  readonly folded: string | undefined;
  readonly alternatives: readonly (readonly string[])[];
}

const caseInsensitive = (operand: string): CaseInsensitiveText => ({
  folded: NON_ASCII.test(operand) ? undefined : operand.toLowerCase(),
  alternatives: Array.from(operand, (char) => {
    const lower = char.toLowerCase();
    const upper = char.toUpperCase();
    return lower === upper ? [lower] : [lower, upper];
  }),
});

/**
 * The offsets of `value` at which the operand's alternatives can end, reading forwards from the start
 * (or backwards from the end). A set, because alternatives differ in length ("ß" against "SS").
 */
const caseInsensitiveReach = (
  value: string,
  { alternatives }: CaseInsensitiveText,
  backwards: boolean,
): Set<number> => {
  let reachable = new Set([backwards ? value.length : 0]);
  const steps = backwards ? [...alternatives].reverse() : alternatives;
  for (const options of steps) {
    const next = new Set<number>();
    for (const offset of reachable) {
      for (const option of options) {
        const start = backwards ? offset - option.length : offset;
        if (start >= 0 && value.startsWith(option, start)) next.add(backwards ? start : offset + option.length);
      }
    }
    if (next.size === 0) return next;
    reachable = next;
  }
  return reachable;
};

const equalsIgnoringCase = (value: string, folded: string, text: CaseInsensitiveText): boolean =>
  text.folded !== undefined ? folded === text.folded : caseInsensitiveReach(value, text, false).has(value.length);

const startsIgnoringCase = (value: string, folded: string, text: CaseInsensitiveText): boolean =>
  text.folded !== undefined ? folded.startsWith(text.folded) : caseInsensitiveReach(value, text, false).size > 0;

const endsIgnoringCase = (value: string, folded: string, text: CaseInsensitiveText): boolean =>
  text.folded !== undefined ? folded.endsWith(text.folded) : caseInsensitiveReach(value, text, true).size > 0;

// ------------------------------------------------------------------------------------------------
// Match expressions: one operator object such as { "prefix": "us-" }
// ------------------------------------------------------------------------------------------------

const requireString = (value: unknown, reason: string, at: JsonPath): string =>
  typeof value === 'string' ? value : fail(reason, at);

/** `{ "equals-ignore-case": "…" }` under prefix or suffix; `label` names the outer operator in messages. */
const ignoreCaseOperand = (
  value: Record<string, unknown>,
  label: 'Prefix' | 'Suffix',
  at: JsonPath,
): CaseInsensitiveText => {
  const [name, ...extra] = Object.keys(value);
  if (name === undefined) return fail(`${label} expression name not found`, at);
  if (name !== 'equals-ignore-case') fail(`Unsupported ${label.toLowerCase()} pattern: ${name}`, [...at, name]);
  const operand = requireString(value[name], 'equals-ignore-case match pattern must be a string', [...at, name]);
  if (extra.length > 0) fail('Only one key allowed in match expression', [...at, extra[0] as string]);
  return caseInsensitive(operand);
};

const compilePrefix = (value: unknown, at: JsonPath): CompiledValue => {
  if (isPlainObject(value)) {
    const text = ignoreCaseOperand(value, 'Prefix', at);
    return {
      condition: {
        kind: 'string',
        needsFold: true,
        test: (candidate, folded) => startsIgnoringCase(candidate, folded, text),
      },
    };
  }
  const prefix = requireString(value, 'prefix match pattern must be a string', at);
  return { condition: { kind: 'string', needsFold: false, test: (candidate) => candidate.startsWith(prefix) } };
};

const compileSuffix = (value: unknown, at: JsonPath): CompiledValue => {
  if (isPlainObject(value)) {
    const text = ignoreCaseOperand(value, 'Suffix', at);
    return {
      condition: {
        kind: 'string',
        needsFold: true,
        test: (candidate, folded) => endsIgnoringCase(candidate, folded, text),
      },
    };
  }
  const suffix = requireString(value, 'suffix match pattern must be a string', at);
  return { condition: { kind: 'string', needsFold: false, test: (candidate) => candidate.endsWith(suffix) } };
};

const compileEqualsIgnoreCase = (value: unknown, at: JsonPath): CompiledValue => {
  const text = caseInsensitive(requireString(value, 'equals-ignore-case match pattern must be a string', at));
  if (text.folded !== undefined) return { condition: { kind: 'ignore-case', folded: text.folded } };
  return {
    condition: { kind: 'string', needsFold: false, test: (candidate) => equalsIgnoringCase(candidate, '', text) },
  };
};

const compileExactly = (value: unknown, at: JsonPath): CompiledValue => ({
  condition: { kind: 'exact', value: requireString(value, 'exact match pattern must be a string', at) },
});

const compileWildcard = (value: unknown, at: JsonPath): CompiledValue => {
  const text = requireString(value, 'wildcard match pattern must be a string', at);
  const wildcard = parseWildcard(text, at);
  return {
    condition: { kind: 'string', needsFold: false, test: (candidate) => matchesWildcard(candidate, wildcard) },
    wildcard: { identity: `wildcard:${JSON.stringify(text)}`, wildcards: [wildcard] },
  };
};

const compileCidr = (value: unknown, at: JsonPath): CompiledValue => {
  // AWS really does answer a non-string CIDR with the prefix message.
  const text = requireString(value, 'prefix match pattern must be a string', at);
  return { condition: { kind: 'ip-range', range: parseCidr(text, at) } };
};

const compileExists = (value: unknown, at: JsonPath): CompiledValue => {
  if (typeof value !== 'boolean') return fail('exists match pattern must be either true or false.', at);
  return { condition: { kind: 'exists', present: value } };
};

const requireNumber = (value: unknown, label: string, at: JsonPath): number =>
  typeof value === 'number' ? value : fail(`Value of ${label} must be numeric`, at);

/**
 * A numeric range over JSON numbers; open ends exclude their bound. EventBridge compares any double
 * (it rejects a literal no double holds exactly, which JSON.parse has already rounded away here).
 */
const rangeTest = (bottom: number, openBottom: boolean, top: number, openTop: boolean): CompiledValue => ({
  condition: {
    kind: 'number',
    test: (value) => (openBottom ? value > bottom : value >= bottom) && (openTop ? value < top : value <= top),
  },
});

/** `[">", 0, "<=", 5]`: the second half of a two-sided range, after a lower bound. */
const compileUpperHalf = (
  items: readonly unknown[],
  bottom: number,
  openBottom: boolean,
  at: JsonPath,
): CompiledValue => {
  const operator = items[2];
  if (typeof operator !== 'string') return fail(`Bad value in numeric range: ${tokenText(operator)}`, [...at, 2]);
  if (operator !== '<' && operator !== '<=') fail(`Bad numeric range operator: ${operator}`, [...at, 2]);
  const top = requireNumber(items[3], operator, [...at, 3]);
  if (items.length > 4) fail('Too many terms in numeric range expression', [...at, 4]);
  if (!(bottom < top)) fail('Bottom must be less than top', at);
  return rangeTest(bottom, openBottom, top, operator === '<');
};

const compileNumeric = (value: unknown, at: JsonPath): CompiledValue => {
  if (!Array.isArray(value)) return fail('Value of numeric must be an array.', at);
  const [operator, operand] = value;
  if (typeof operator !== 'string') return fail(`Invalid member in numeric match: ${tokenText(operator)}`, [...at, 0]);
  const tooMany = (): never => fail('Too many elements in numeric expression', [...at, 2]);
  switch (operator) {
    case '=': {
      const target = requireNumber(operand, 'equals', [...at, 1]);
      if (value.length > 2) tooMany();
      return { condition: { kind: 'number', test: (candidate) => candidate === target } };
    }
    case '>':
    case '>=': {
      const bottom = requireNumber(operand, operator, [...at, 1]);
      if (value.length > 2) return compileUpperHalf(value, bottom, operator === '>', at);
      return rangeTest(bottom, operator === '>', Number.POSITIVE_INFINITY, false);
    }
    case '<':
    case '<=': {
      const top = requireNumber(operand, operator, [...at, 1]);
      if (value.length > 2) tooMany();
      return rangeTest(Number.NEGATIVE_INFINITY, false, top, operator === '<');
    }
    default:
      return fail(`Unrecognized numeric range operator: ${operator}`, [...at, 0]);
  }
};

/** `anything-but` with a plain value or list: strings or numbers, never both. */
const compileAnythingButValues = (value: unknown, at: JsonPath): CompiledValue => {
  const items: [unknown, JsonPath][] = Array.isArray(value)
    ? value.map((item, index) => [item, [...at, index]])
    : [[value, at]];
  const strings = new Set<string>();
  const numbers = new Set<number>();
  for (const [item, itemAt] of items) {
    if (typeof item === 'string') strings.add(item);
    else if (typeof item === 'number') numbers.add(item);
    else if (Array.isArray(value)) fail('Inside anything but list, start|null|boolean is not supported.', itemAt);
    else fail('Value of anything-but must be an array or single string/number value.', at);
  }
  const hasStrings = strings.size > 0;
  const hasNumbers = numbers.size > 0;
  if (hasStrings === hasNumbers) {
    fail('Inside anything but list, either all values are number or string, mixed type is not supported', at);
  }
  // Any present leaf that is not excluded matches: null, booleans and the other type included.
  const test: LeafTest = hasNumbers
    ? (leaf) => !(typeof leaf === 'number' && numbers.has(leaf))
    : (leaf) => !(typeof leaf === 'string' && strings.has(leaf));
  return { condition: { kind: 'leaf', needsFold: false, test } };
};

const ANYTHING_BUT_TYPE_ERRORS: Record<string, string> = {
  'equals-ignore-case': 'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.',
  wildcard: 'wildcard match pattern must be a string',
  prefix: 'prefix/suffix match pattern must be a string',
  suffix: 'prefix/suffix match pattern must be a string',
};

/** A string operand of an anything-but form, with where it was written. */
interface Operand {
  readonly text: string;
  readonly at: JsonPath;
}

/** The string operands of `anything-but: { <form>: "…" | ["…", …] }`, all type-checked before any is parsed. */
const anythingButOperands = (form: string, operand: unknown, at: JsonPath): Operand[] => {
  const items: [unknown, JsonPath][] = Array.isArray(operand)
    ? operand.map((item, index) => [item, [...at, index]])
    : [[operand, at]];
  return items.map(([item, itemAt]) => {
    const text = requireString(item, ANYTHING_BUT_TYPE_ERRORS[form] ?? '', itemAt);
    if ((form === 'prefix' || form === 'suffix') && text === '') fail('Null prefix/suffix not allowed', itemAt);
    return { text, at: itemAt };
  });
};

/** Anything but the strings an exclusion test picks out; every other present leaf (number, null, …) matches. */
const excluding = (
  excluded: (text: string, folded: string) => boolean,
  needsFold: boolean,
  wildcard?: WildcardTerm,
): CompiledValue => ({
  condition: { kind: 'leaf', needsFold, test: (leaf, folded) => !(typeof leaf === 'string' && excluded(leaf, folded)) },
  ...(wildcard ? { wildcard } : {}),
});

const anythingButExclusion = (form: string, operands: readonly Operand[]): CompiledValue => {
  const texts = operands.map((operand) => operand.text);
  switch (form) {
    case 'prefix':
      return excluding((text) => texts.some((prefix) => text.startsWith(prefix)), false);
    case 'suffix':
      return excluding((text) => texts.some((suffix) => text.endsWith(suffix)), false);
    case 'equals-ignore-case': {
      const operandsIgnoringCase = texts.map(caseInsensitive);
      const asciiFolded = new Set(
        operandsIgnoringCase.flatMap((text) => (text.folded === undefined ? [] : [text.folded])),
      );
      const others = operandsIgnoringCase.filter((text) => text.folded === undefined);
      return excluding(
        (text, folded) => asciiFolded.has(folded) || others.some((other) => equalsIgnoringCase(text, folded, other)),
        true,
      );
    }
    default: {
      const wildcards = operands.map((operand) => parseWildcard(operand.text, operand.at));
      const identity = `anything-but-wildcard:${JSON.stringify([...new Set(texts)].sort())}`;
      return excluding((text) => wildcards.some((w) => matchesWildcard(text, w)), false, { identity, wildcards });
    }
  }
};

const compileAnythingBut = (value: unknown, at: JsonPath): CompiledValue => {
  if (!isPlainObject(value)) {
    if (!Array.isArray(value) && typeof value !== 'string' && typeof value !== 'number') {
      return fail('Value of anything-but must be an array or single string/number value.', at);
    }
    return compileAnythingButValues(value, at);
  }
  const [form, ...extra] = Object.keys(value);
  if (form === undefined) return fail('Anything-But expression name not found', at);
  const formAt = [...at, form];
  if (!ANYTHING_BUT_FORMS.has(form)) fail(`Unsupported anything-but pattern: ${form}`, formAt);
  const operand = value[form];
  if (!Array.isArray(operand) && typeof operand !== 'string' && typeof operand !== 'number') {
    fail('Value of anything-but must be an array or single string/number value.', formAt);
  }
  const compiled = anythingButExclusion(form, anythingButOperands(form, operand, formAt));
  if (extra.length > 0) fail('Too many elements in numeric expression', [...at, extra[0] as string]);
  return compiled;
};

type OperatorCompiler = (value: unknown, at: JsonPath) => CompiledValue;

/** Operator names are case-sensitive: `NUMERIC` or `EXISTS` is an unrecognized match type. */
const OPERATORS: ReadonlyMap<string, OperatorCompiler> = new Map([
  ['exactly', compileExactly],
  ['prefix', compilePrefix],
  ['suffix', compileSuffix],
  ['numeric', compileNumeric],
  ['anything-but', compileAnythingBut],
  ['exists', compileExists],
  ['cidr', compileCidr],
  ['equals-ignore-case', compileEqualsIgnoreCase],
  ['wildcard', compileWildcard],
]);

/** An operator object holds exactly one operator; AWS checks the operand before complaining about extra keys. */
const compileMatchExpression = (expression: Record<string, unknown>, at: JsonPath): CompiledValue => {
  const [operator, ...extra] = Object.keys(expression);
  if (operator === undefined) return fail('Match expression name not found', at);
  const compile = OPERATORS.get(operator);
  if (compile === undefined) return fail(`Unrecognized match type ${operator}`, [...at, operator]);
  const compiled = compile(expression[operator], [...at, operator]);
  if (extra.length > 0) {
    const numericLike = operator === 'numeric' || operator === 'anything-but';
    fail(numericLike ? 'Too many elements in numeric expression' : 'Only one key allowed in match expression', [
      ...at,
      extra[0] as string,
    ]);
  }
  return compiled;
};

// ------------------------------------------------------------------------------------------------
// Fields: the array of values under a pattern key
// ------------------------------------------------------------------------------------------------

/** A plain value in a field's array: strings that are IP literals also match the same address written differently. */
const compileLiteral = (value: unknown, at: JsonPath): CompiledValue[] => {
  if (typeof value === 'string') {
    const hex = ipHex(value);
    const exact: CompiledValue = { condition: { kind: 'exact', value } };
    return hex === undefined ? [exact] : [exact, { condition: { kind: 'ip', hex } }];
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) {
    return [{ condition: { kind: 'exact', value } }];
  }
  return fail('Match value must be String, number, true, false, or null', at);
};

/** Folds a field's conditions into one test, with Sets for the exact values. */
const buildFieldMatcher = (conditions: readonly Condition[]): FieldMatcher => {
  const exact = new Set<Leaf>();
  const ipHexes = new Set<string>();
  const ipRanges: IpRange[] = [];
  const ignoreCase = new Set<string>();
  const stringTests: StringTest[] = [];
  const numberTests: NumberTest[] = [];
  const leafTests: LeafTest[] = [];
  let anyPresent = false;
  let allowsAbsent = false;
  let needsFold = false;
  for (const condition of conditions) {
    switch (condition.kind) {
      case 'exact':
        exact.add(condition.value);
        break;
      case 'ip':
        ipHexes.add(condition.hex);
        break;
      case 'ip-range':
        ipRanges.push(condition.range);
        break;
      case 'ignore-case':
        ignoreCase.add(condition.folded);
        needsFold = true;
        break;
      case 'string':
        stringTests.push(condition.test);
        needsFold ||= condition.needsFold;
        break;
      case 'number':
        numberTests.push(condition.test);
        break;
      case 'leaf':
        leafTests.push(condition.test);
        needsFold ||= condition.needsFold;
        break;
      case 'exists':
        if (condition.present) anyPresent = true;
        else allowsAbsent = true;
        break;
    }
  }
  const needsIp = ipHexes.size > 0 || ipRanges.length > 0;
  const testString = (value: string): boolean => {
    if (exact.has(value)) return true;
    if (needsIp) {
      const hex = ipHex(value);
      if (hex !== undefined && (ipHexes.has(hex) || ipRanges.some((range) => inIpRange(hex, range)))) return true;
    }
    const folded = needsFold ? foldAscii(value) : value;
    if (ignoreCase.has(folded)) return true;
    for (const test of stringTests) if (test(value, folded)) return true;
    for (const test of leafTests) if (test(value, folded)) return true;
    return false;
  };
  const test = (value: Leaf): boolean => {
    if (anyPresent) return true;
    if (typeof value === 'string') return testString(value);
    if (exact.has(value)) return true;
    if (typeof value === 'number') for (const numberTest of numberTests) if (numberTest(value)) return true;
    for (const leafTest of leafTests) if (leafTest(value, '')) return true;
    return false;
  };
  return { test, allowsAbsent };
};

const compileField = (values: readonly unknown[], path: string, at: JsonPath): FieldSpec => {
  if (values.length === 0) fail('Empty arrays are not allowed', at);
  const compiled = values.flatMap((value, index) =>
    isPlainObject(value) ? [compileMatchExpression(value, [...at, index])] : compileLiteral(value, [...at, index]),
  );
  return {
    path,
    at,
    matcher: buildFieldMatcher(compiled.map((value) => value.condition)),
    wildcards: compiled.flatMap((value) => (value.wildcard ? [value.wildcard] : [])),
  };
};

// ------------------------------------------------------------------------------------------------
// Pattern objects and $or
// ------------------------------------------------------------------------------------------------

/**
 * `$or` forks every branch so far once per alternative. Alternatives must be objects, at least two;
 * AWS reports a bad alternative before it counts them.
 */
const compileOr = (value: unknown, keys: readonly string[], at: JsonPath, branches: Branch[]): Branch[] => {
  if (!Array.isArray(value)) return fail(`It must be an Array followed with ${OR}.`, at);
  const forked = value.flatMap((alternative, index) => {
    if (!isPlainObject(alternative))
      return fail(`Only JSON object is allowed in array of ${OR} relationship.`, [...at, index]);
    const copies = branches.map((branch) => new Map(branch));
    return compileObject(alternative, keys, [...at, index], copies, true);
  });
  if (value.length < 2) fail(`There must have at least 2 Objects in ${OR} relationship.`, at);
  return forked;
};

/**
 * Walks a pattern object. A key repeated through dots (`{"a.b": …, "a": {"b": …}}`) is one field and
 * the later one wins, as with a duplicate JSON key.
 */
const compileObject = (
  object: Record<string, unknown>,
  keys: readonly string[],
  at: JsonPath,
  branches: Branch[],
  insideOr: boolean,
): Branch[] => {
  const names = Object.keys(object);
  if (names.length === 0) fail('Empty objects are not allowed', at);
  let current = branches;
  for (const name of names) {
    const value = object[name];
    const nameAt = [...at, name];
    if (name === OR) {
      current = compileOr(value, keys, nameAt, current);
      continue;
    }
    if (insideOr && RESERVED_IN_OR.has(name)) {
      fail(`${name} is Ruler reserved fieldName which cannot be used inside ${OR}.`, nameAt);
    }
    if (isPlainObject(value)) {
      current = compileObject(value, [...keys, name], nameAt, current, insideOr);
    } else if (Array.isArray(value)) {
      const field = compileField(value, [...keys, name].join('.'), nameAt);
      for (const branch of current) branch.set(field.path, field);
    } else {
      fail(`"${name}" must be an object or an array`, nameAt);
    }
  }
  return current;
};

/** Validates the whole pattern and returns its branches; throws InvalidPatternError on the first problem. */
const compileBranches = (pattern: unknown): Branch[] => {
  if (!isPlainObject(pattern)) return fail('Filter is not an object', []);
  assertJson(pattern, [], new Set());
  const branches = compileObject(pattern, [], [], [new Map()], false);
  assertWildcardComplexity(branches);
  return branches;
};

// ------------------------------------------------------------------------------------------------
// Matching
// ------------------------------------------------------------------------------------------------

const isEventObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isLeaf = (value: unknown): value is Leaf =>
  value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';

/** Precomputes every way a dotted path can be spelled in an event, since event keys may contain dots too. */
const pathLookup = (path: string): PathLookup => {
  const parts = path.split('.');
  const keys = parts.map((_, start) =>
    parts.slice(start).map((__, length) => parts.slice(start, start + length + 1).join('.')),
  );
  return { segments: parts.length, keys };
};

const withPosition = (membership: Membership, array: readonly unknown[], index: number): Membership => [
  ...membership,
  { array, index },
];

/** What a path holds no leaf of: shared, never written to. */
const NO_CANDIDATES: readonly Candidate[] = [];

/**
 * Leaves at the end of the path: a leaf itself, or every leaf inside (nested) arrays; objects hold
 * none. Appends them to `out`, created on the first leaf (most paths hold one leaf or none), and
 * returns it.
 */
const collectLeaves = (
  node: unknown,
  membership: Membership,
  out: Candidate[] | undefined,
): Candidate[] | undefined => {
  if (isLeaf(node)) {
    const candidate: Candidate = { value: node, membership };
    if (out === undefined) return [candidate];
    out.push(candidate);
  } else if (Array.isArray(node)) {
    for (let index = 0; index < node.length; index++) {
      out = collectLeaves(node[index], withPosition(membership, node, index), out);
    }
  }
  return out;
};

/** Follows the path from segment `start`, through objects and (crushed) arrays; appends as collectLeaves does. */
const descend = (
  node: unknown,
  lookup: PathLookup,
  start: number,
  membership: Membership,
  out: Candidate[] | undefined,
): Candidate[] | undefined => {
  if (Array.isArray(node)) {
    for (let index = 0; index < node.length; index++) {
      out = descend(node[index], lookup, start, withPosition(membership, node, index), out);
    }
    return out;
  }
  if (!isEventObject(node)) return out;
  const spellings = lookup.keys[start] ?? [];
  for (let length = 1; length <= spellings.length; length++) {
    // A plain read is much faster than Object.hasOwn on this path; inherited members are functions,
    // which no JSON value is, except `__proto__`, which must not lead into Object.prototype.
    const child = node[spellings[length - 1] as string];
    if (child === undefined || child === Object.prototype) continue;
    if (start + length === lookup.segments) out = collectLeaves(child, membership, out);
    else out = descend(child, lookup, start + length, membership, out);
  }
  return out;
};

const findCandidates = (event: Record<string, unknown>, lookup: PathLookup): readonly Candidate[] =>
  descend(event, lookup, 0, EMPTY_MEMBERSHIP, undefined) ?? NO_CANDIDATES;

/** Adds a leaf's array elements to those chosen so far, or undefined when the two disagree on an array. */
const combine = (chosen: Membership, leaf: Membership): Membership | undefined => {
  if (leaf.length === 0) return chosen;
  if (chosen.length === 0) return leaf;
  const added: ArrayPosition[] = [];
  for (const position of leaf) {
    const shared = chosen.find((known) => known.array === position.array);
    if (shared === undefined) added.push(position);
    else if (shared.index !== position.index) return undefined;
  }
  return added.length === 0 ? chosen : [...chosen, ...added];
};

/**
 * Matches the branch's fields in sorted path order, as event-ruler walks them, backtracking over the
 * leaves each field could use so that the leaves chosen agree on array elements. exists:false holds
 * when no leaf at the path agrees with the elements chosen by the earlier fields.
 */
const matchBranch = (
  fields: readonly MatchField[],
  index: number,
  membership: Membership,
  event: Record<string, unknown>,
  cache: (readonly Candidate[] | undefined)[],
): boolean => {
  const field = fields[index];
  if (field === undefined) return true;
  let candidates = cache[field.slot];
  if (candidates === undefined) {
    candidates = findCandidates(event, field.lookup);
    cache[field.slot] = candidates;
  }
  let present = false;
  for (const candidate of candidates) {
    const combined = combine(membership, candidate.membership);
    if (combined === undefined) continue;
    present = true;
    if (!field.matcher.test(candidate.value)) continue;
    if (matchBranch(fields, index + 1, combined, event, cache)) return true;
    // A leaf outside every array adds no constraint, so no other leaf can do better, unless a later
    // exists:false would be helped by a narrower choice of elements.
    if (candidate.membership.length === 0 && !field.absenceFollows) return false;
  }
  return !present && field.matcher.allowsAbsent && matchBranch(fields, index + 1, membership, event, cache);
};

/** Turns validated branches into matching plans that share one leaf cache slot per distinct path. */
const planBranches = (branches: readonly Branch[]): { plans: MatchField[][]; slots: number } => {
  const slots = new Map<string, { slot: number; lookup: PathLookup }>();
  const plans = branches.map((branch) => {
    const specs = [...branch.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return specs.map((spec, index): MatchField => {
      let entry = slots.get(spec.path);
      if (entry === undefined) {
        entry = { slot: slots.size, lookup: pathLookup(spec.path) };
        slots.set(spec.path, entry);
      }
      const absenceFollows = specs.slice(index + 1).some((later) => later.matcher.allowsAbsent);
      return { slot: entry.slot, lookup: entry.lookup, matcher: spec.matcher, absenceFollows };
    });
  });
  return { plans, slots: slots.size };
};

// ------------------------------------------------------------------------------------------------
// API
// ------------------------------------------------------------------------------------------------

/** Throws InvalidPatternError, with AWS's reason and the JSON path, for any pattern EventBridge rejects. */
const validatePattern = (pattern: unknown): void => {
  compileBranches(pattern);
};

/**
 * Validates once and returns a predicate over events (parsed JSON objects, the whole EventBridge
 * envelope). Everything that does not depend on the event is computed here.
 */
const compilePattern = (pattern: unknown): EventPredicate => {
  const { plans, slots } = planBranches(compileBranches(pattern));
  return (event) => {
    if (!isEventObject(event)) return false;
    const cache = new Array<readonly Candidate[] | undefined>(slots);
    for (const fields of plans) if (matchBranch(fields, 0, EMPTY_MEMBERSHIP, event, cache)) return true;
    return false;
  };
};

/** Validates and matches in one call; compile once with compilePattern for repeated use. */
const matchesPattern = (pattern: unknown, event: unknown): boolean => compilePattern(pattern)(event);

export type { EventPattern, EventPredicate };
export { compilePattern, matchesPattern, validatePattern };
