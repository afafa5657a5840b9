/**
 * The replay pre-filter: literal strings derived from a catalog's EventBridge patterns, such that a CloudTrail
 * record none of whose strings passes cannot match any pattern, and need not be parsed.
 *
 * Why it is sound. A pattern matches an event when every field of one of its branches (`$or` expanded) matches.
 * A field whose every value is a string test (an exact string, `exactly`, `prefix`, `suffix`, `wildcard`, or the
 * ASCII `equals-ignore-case` forms) matches only a JSON string leaf at its path (values compare by JSON type: "300"
 * never equals 300, and the string tests of fields.ts see strings only), and a field under `detail` reads the
 * record itself (core/event.ts: `detail` is the record, unchanged). So such a field's leaf is a string value of the
 * record's JSON text, and it passes the field's tokens. One such field per branch is enough; a catalog's tokens are
 * the union over its detections, patterns and branches. Severity modifiers need none: they only refine a detection
 * that matched; a `follows` modifier reads another detection of the same catalog, whose tokens are in the union.
 *
 * What gives no token (the field is then never chosen; a branch with no other field makes the whole pre-filter
 * undefined): envelope fields (`source`, `detail-type`, `account`, `region`… are derived from the record, not
 * written in it), `anything-but`, `exists`, `numeric`, `cidr`, numbers, booleans, null, a string that is an IP
 * literal (it also matches the same address written otherwise: "10.0.0.1" matches "010.0.0.1"), an empty prefix
 * or suffix, a wildcard with no literal text, and `equals-ignore-case` with a non-ASCII operand (it matches other
 * lengths: "ß" matches "SS"). ASCII `equals-ignore-case` (whole, prefix, suffix) is kept and compared folding A-Z
 * only, as case-insensitive.ts does.
 *
 * Which field a branch uses (the most selective, cheapest to test): fields are ranked, best first, by (1) all its
 * tokens needed anyway (a branch elsewhere in the catalog whose only candidate field gives them: root-api-call's
 * "Root" serves root-console-sign-in-failure too), (2) no wildcard without an anchored piece (those need a
 * substring search of every string), (3) the largest weakest token, its anchored literal length capped at 8 (a
 * longer literal is not rarer in practice), (4) the eventName field (see below), (5) the fewest tokens. The first
 * field in path order wins a tie.
 *
 * Where a token is looked for. A token of a `detail.eventName` field (an `eventName` token) can only be passed by the
 * record's own eventName, which CloudTrail writes once, at the top level: replay's fast path (io/input/quick-scan.ts)
 * reads that one value and tests it, at no cost per byte. Every other token (an `anywhere` token) is searched for in
 * the whole record's text. So at equal selectivity (ranking steps 1 to 3), a branch's eventName field is chosen
 * before the others (step 4, before the fewest tokens). The string-by-string scanner tests every string against every
 * token, whatever its field, which is looser and as sound.
 *
 * The test of a string never allocates: exact tokens are looked up by length and first character, prefixes by
 * first character, suffixes by last, and compared in place (String.prototype.startsWith at an offset).
 *
 * Pure: no I/O, no clock, no environment.
 */
import type { Detection } from '../detection.js';
import { ipHex } from './ip-ranges.js';
import { isPlainObject } from './json.js';
import { parseWildcard } from './wildcards.js';

/** A test of one JSON string of a record (key or value): false only when no pattern of the catalog can need it. */
interface StringPrefilter {
  /**
   * For a raw JSON string's content `text[start, end)` (between its quotes, UTF-16 offsets) holding NO backslash.
   * Allocates nothing: lengths and first characters are checked before any comparison, which reads in place.
   */
  raw(text: string, start: number, end: number): boolean;
  /** For a decoded string value (used when the raw string held escapes). Same answer as raw() on its text. */
  value(value: string): boolean;
  /**
   * How to look for the tokens in a compact CloudTrail record's raw text without walking its strings (io/input/
   * quick-scan.ts), or undefined when a token is not plain ASCII (a file decoded as Latin-1 could not show it): then the
   * text must be scanned string by string (raw()).
   */
  readonly search: RecordSearch | undefined;
}

/**
 * The tokens split by where a matching record shows them (see "Where a token is looked for" in the module comment).
 */
interface RecordSearch {
  /**
   * A search over raw JSON text (global flag: run it with `exec` from lastIndex 0) that finds, in the text of any
   * record holding a string that passes an `anywhere` token and written without `\u` or `\/` escapes, at least one
   * place: each token as JSON writes it (`"Root"`, `"rootwatch-` for a prefix, `webhook"` for a suffix, a wildcard's
   * longest literal piece). A string may spell a token another way only with those escapes (RFC 8259 section 7
   * allows any character as `\uXXXX` and `/` as `\/`): the caller must also treat every record holding `\u` or `\/`
   * as passing (it sees them as it reads the strings, not as one more alternative here). Null when every token is an
   * eventName token.
   */
  readonly anywhere: RegExp | null;
  /**
   * The same search as literal needles, in the order of `anywhere`'s alternatives (empty when it is null): where
   * `anywhere` finds a place, the first needle in this order found there is the one it matched. For a search that
   * reads bytes (io/input/layout.wat).
   */
  readonly needles: readonly RawNeedle[];
  /**
   * The test of a record's own (top-level) eventName value, raw: text[start, end) between its quotes, holding no
   * backslash. True when it passes an eventName token. A record whose eventName cannot be read that way (absent, not
   * a string, escaped, or a second top-level eventName) must be treated as passing.
   */
  eventName(text: string, start: number, end: number): boolean;
}

/** One alternative of RecordSearch.anywhere: ASCII text as JSON writes it; with `fold`, its letters (all lower-case) match either case. */
interface RawNeedle {
  readonly text: string;
  readonly fold: boolean;
}

/**
 * One literal test a string may pass. `text` is what the operand says, lower-cased when `ignoreCase` (ASCII only);
 * `wildcard` holds the literal pieces between stars (at least two, not all empty).
 */
type PrefilterToken =
  | { readonly kind: 'equals' | 'prefix' | 'suffix'; readonly text: string; readonly ignoreCase: boolean }
  | { readonly kind: 'wildcard'; readonly text: string; readonly pieces: readonly string[] };

/** Where a token is looked for in a compact record: its own eventName value, or anywhere in its text. */
type TokenScope = 'eventName' | 'anywhere';

/** A chosen token, with where it is looked for. */
interface ScopedToken {
  readonly token: PrefilterToken;
  readonly scope: TokenScope;
}

/** The path of the one field whose tokens are eventName tokens. */
const EVENT_NAME_PATH = 'detail.eventName';

/** The tokens of one detection (the union of its patterns'), or undefined when some branch has none. */
interface DetectionTokens {
  readonly id: string;
  readonly tokens: readonly string[] | undefined;
}

const NON_ASCII = /[\u0080-\uffff]/;
/** Anchored literal lengths above this are deemed equally selective when ranking fields. */
const STRENGTH_CAP = 8;
const DETAIL = 'detail.';

// ------------------------------------------------------------------------------------------------
// Patterns → branches of raw field values (as compile.ts flattens them)
// ------------------------------------------------------------------------------------------------

/** One alternative of a pattern after `$or` is expanded: dotted path → the field's value list as written. */
type RawBranch = Map<string, readonly unknown[]>;

/** An EventBridge pattern as written (a detection's `patterns` item). */
type Pattern = Readonly<Record<string, unknown>>;

/**
 * Mirrors compile.ts's compileObject on an already validated pattern: `$or` forks every branch so far, a path set
 * again (through dots, or inside an alternative) replaces the earlier list, as the matcher sees it.
 */
const flatten = (object: Pattern, keys: readonly string[], branches: RawBranch[]) => {
  let current = branches;
  for (const name of Object.keys(object)) {
    const value = object[name];
    if (name === '$or' && Array.isArray(value)) {
      current = value.flatMap((alternative) =>
        isPlainObject(alternative)
          ? flatten(
              alternative,
              keys,
              current.map((branch) => new Map(branch)),
            )
          : [],
      );
    } else if (isPlainObject(value)) {
      current = flatten(value, [...keys, name], current);
    } else if (Array.isArray(value)) {
      const path = [...keys, name].join('.');
      for (const branch of current) branch.set(path, value);
    }
  }
  return current;
};

// ------------------------------------------------------------------------------------------------
// Field values → tokens
// ------------------------------------------------------------------------------------------------

const asciiOperand = (operand: unknown): string | undefined =>
  typeof operand === 'string' && !NON_ASCII.test(operand) ? operand.toLowerCase() : undefined;

/** `prefix` / `suffix`: a non-empty string, or `{ "equals-ignore-case": <ASCII, non-empty> }`. */
const anchoredToken = (kind: 'prefix' | 'suffix', operand: unknown): PrefilterToken | undefined => {
  if (typeof operand === 'string') return operand === '' ? undefined : { kind, text: operand, ignoreCase: false };
  if (!isPlainObject(operand)) return undefined;
  const keys = Object.keys(operand);
  if (keys.length !== 1 || keys[0] !== 'equals-ignore-case') return undefined;
  const folded = asciiOperand(operand['equals-ignore-case']);
  return folded === undefined || folded === '' ? undefined : { kind, text: folded, ignoreCase: true };
};

const wildcardToken = (operand: unknown): PrefilterToken | undefined => {
  if (typeof operand !== 'string') return undefined;
  const { segments } = parseWildcard(operand, []);
  if (segments.length === 1) return { kind: 'equals', text: segments[0] ?? '', ignoreCase: false };
  if (segments.every((piece) => piece === '')) return undefined;
  return { kind: 'wildcard', text: operand, pieces: segments };
};

/** The token of one value of a field's list, or undefined when a string that passes no token could match it. */
const valueToken = (value: unknown): PrefilterToken | undefined => {
  if (typeof value === 'string') {
    return ipHex(value) === undefined ? { kind: 'equals', text: value, ignoreCase: false } : undefined;
  }
  if (!isPlainObject(value)) return undefined; // numbers, booleans, null compare by JSON type
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const operator = keys[0] as string;
  const operand = value[operator];
  switch (operator) {
    case 'exactly':
      return typeof operand === 'string' ? { kind: 'equals', text: operand, ignoreCase: false } : undefined;
    case 'prefix':
    case 'suffix':
      return anchoredToken(operator, operand);
    case 'equals-ignore-case': {
      const folded = asciiOperand(operand);
      return folded === undefined ? undefined : { kind: 'equals', text: folded, ignoreCase: true };
    }
    case 'wildcard':
      return wildcardToken(operand);
    default:
      return undefined; // anything-but, exists, numeric, cidr
  }
};

/** A field's tokens: one per value, or undefined if any value has none. */
const fieldTokens = (values: readonly unknown[]): PrefilterToken[] | undefined => {
  const tokens: PrefilterToken[] = [];
  for (const value of values) {
    const token = valueToken(value);
    if (token === undefined) return undefined;
    tokens.push(token);
  }
  return tokens.length === 0 ? undefined : tokens;
};

/** The literal length a token anchors (its whole text for equals; first and last pieces for a wildcard). */
const anchoredLength = (token: PrefilterToken): number =>
  token.kind === 'wildcard'
    ? (token.pieces[0] as string).length + (token.pieces[token.pieces.length - 1] as string).length
    : token.text.length;

/** How the README and the summary print a token: `"Root"`, `prefix "rootwatch-"`, `wildcard "*:x-*"`. */
const describeToken = (token: PrefilterToken): string => {
  if (token.kind === 'wildcard') return `wildcard ${JSON.stringify(token.text)}`;
  const text = JSON.stringify(token.text);
  const shown = token.kind === 'equals' ? text : `${token.kind} ${text}`;
  return token.ignoreCase ? `${shown} (ignoring case)` : shown;
};

/** Tokens are the same exactly when they print the same and are looked for in the same place. */
const tokenKey = ({ token, scope }: ScopedToken): string => `${scope} ${describeToken(token)}`;

/** A field's tokens, and where they are looked for. */
interface FieldTokens {
  readonly scope: TokenScope;
  readonly tokens: readonly PrefilterToken[];
}

const scoped = (field: FieldTokens): ScopedToken[] => field.tokens.map((token) => ({ token, scope: field.scope }));

/**
 * The ranking key of a field's tokens (see the module comment), compared element by element, larger is better:
 * whether all its tokens are `free` (some other branch needs them anyway, looked for in the same place), whether it
 * has no unanchored wildcard, its weakest anchored length (capped), whether it is the eventName field, and how few
 * tokens it has.
 */
const fieldRank = (field: FieldTokens, free: ReadonlySet<string>): number[] => {
  const { tokens } = field;
  return [
    scoped(field).every((token) => free.has(tokenKey(token))) ? 1 : 0,
    tokens.some((token) => token.kind === 'wildcard' && anchoredLength(token) === 0) ? 0 : 1,
    Math.min(...tokens.map((token) => Math.min(anchoredLength(token), STRENGTH_CAP))),
    field.scope === 'eventName' ? 1 : 0,
    -tokens.length,
  ];
};

const better = (a: readonly number[], b: readonly number[]): boolean => {
  for (let i = 0; i < a.length; i++) {
    if ((a[i] as number) !== (b[i] as number)) return (a[i] as number) > (b[i] as number);
  }
  return false;
};

/** The tokenizable `detail.*` fields of a branch, each as its tokens, in path order. */
const candidateFields = (branch: RawBranch): FieldTokens[] =>
  [...branch.keys()]
    .filter((path) => path.startsWith(DETAIL))
    .sort()
    .flatMap((path) => {
      const tokens = fieldTokens(branch.get(path) ?? []);
      const scope: TokenScope = path === EVENT_NAME_PATH ? 'eventName' : 'anywhere';
      return tokens === undefined ? [] : [{ scope, tokens }];
    });

/** The best-ranked of a branch's candidate fields (at least one); the first in path order wins a tie. */
const bestField = (fields: readonly FieldTokens[], free: ReadonlySet<string>): FieldTokens => {
  let best = fields[0] as FieldTokens;
  let bestRank = fieldRank(best, free);
  for (const field of fields.slice(1)) {
    const rank = fieldRank(field, free);
    if (better(rank, bestRank)) {
      best = field;
      bestRank = rank;
    }
  }
  return best;
};

/**
 * The tokens of each group of patterns (a detection's), deduplicated, or undefined for a group with a branch that
 * has no tokenizable field. Fields are chosen across all groups at once: the tokens of branches with a single
 * candidate field are needed anyway, so a field made only of those is preferred wherever it is a candidate.
 */
const chooseTokens = (groups: readonly (readonly Pattern[])[]): (ScopedToken[] | undefined)[] => {
  const candidates = groups.map((patterns) =>
    patterns.flatMap((pattern) => flatten(pattern, [], [new Map()])).map(candidateFields),
  );
  const forced = new Set<string>();
  for (const group of candidates) {
    for (const fields of group)
      if (fields.length === 1) for (const token of scoped(fields[0] as FieldTokens)) forced.add(tokenKey(token));
  }
  return candidates.map((group) => {
    if (group.some((fields) => fields.length === 0)) return undefined;
    const chosen = new Map<string, ScopedToken>();
    for (const fields of group)
      for (const token of scoped(bestField(fields, forced))) chosen.set(tokenKey(token), token);
    return [...chosen.values()];
  });
};

/**
 * The tokens of a list of patterns (EventBridge patterns as written, already validated), deduplicated, or undefined
 * when some branch of some pattern has no tokenizable `detail.*` field.
 * For `[{ detail: { eventName: ['StopLogging'], userIdentity: { type: ['Root'] } } }]`: the one token
 * `{ kind: 'equals', text: 'StopLogging', ignoreCase: false }` (the longer of the two fields' tokens), an eventName one.
 */
const patternTokens = (patterns: readonly Pattern[]): ScopedToken[] | undefined => chooseTokens([patterns])[0];

// ------------------------------------------------------------------------------------------------
// Tokens → the string test
// ------------------------------------------------------------------------------------------------

const UPPER_A = 65;
const UPPER_Z = 90;
const CASE_BIT = 32;

const foldCode = (code: number): number => (code >= UPPER_A && code <= UPPER_Z ? code + CASE_BIT : code);

/** Whether text[at, at + folded.length) equals `folded` (lower-case ASCII) with A-Z folded; the caller checks bounds. */
const startsFolded = (text: string, folded: string, at: number): boolean => {
  for (let i = 0; i < folded.length; i++) if (foldCode(text.charCodeAt(at + i)) !== folded.charCodeAt(i)) return false;
  return true;
};

/** The first offset in [from, limit - piece.length] where `piece` starts, or -1; never reads past `limit`. */
const indexWithin = (text: string, piece: string, from: number, limit: number): number => {
  const first = piece.charCodeAt(0);
  const last = limit - piece.length;
  for (let at = from; at <= last; at++) if (text.charCodeAt(at) === first && text.startsWith(piece, at)) return at;
  return -1;
};

/** wildcards.ts's matchesWildcard on text[start, end): anchored first and last pieces, the middle ones leftmost. */
const matchesPieces = (text: string, start: number, end: number, pieces: readonly string[], minimum: number) => {
  if (end - start < minimum) return false;
  const first = pieces[0] as string;
  const last = pieces[pieces.length - 1] as string;
  if (!text.startsWith(first, start) || !text.startsWith(last, end - last.length)) return false;
  let from = start + first.length;
  const limit = end - last.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i] as string;
    if (piece === '') continue;
    const found = indexWithin(text, piece, from, limit);
    if (found === -1) return false;
    from = found + piece.length;
  }
  return true;
};

/** Tokens are grouped by a character code's low 7 bits: every ASCII code has its own slot, other codes share them. */
const SLOTS = 128;
const SLOT_MASK = 127;

/** A table of token lists by slot, filled with null so that V8 keeps it a packed array. */
const newTable = (size: number): (string[] | null)[] => new Array<string[] | null>(size).fill(null);

const addTo = (table: (string[] | null)[], slot: number, text: string): void => {
  const list = table[slot];
  if (list === null || list === undefined) table[slot] = [text];
  else list.push(text);
};

/**
 * Builds the string test of a token list (StringPrefilter.raw). Every table is keyed by a character's low 7 bits (a
 * collision only costs a comparison): exact strings by length and first character, prefixes by first character,
 * suffixes by last character (the case-insensitive ones by the A-Z-folded character), wildcards tried in turn.
 */
const stringTest = (tokens: readonly PrefilterToken[]): StringPrefilter['raw'] => {
  let emptyPasses = false;
  let shortest = Number.POSITIVE_INFINITY;
  let longestExact = -1;
  for (const token of tokens) {
    if (token.kind === 'wildcard') continue;
    shortest = Math.min(shortest, token.text.length);
    if (token.text === '')
      emptyPasses = true; // only an equals token can be empty
    else if (token.kind === 'equals') longestExact = Math.max(longestExact, token.text.length);
  }
  const exact = newTable((longestExact + 1) * SLOTS);
  const foldedExact = newTable((longestExact + 1) * SLOTS);
  const prefixes = newTable(SLOTS);
  const foldedPrefixes = newTable(SLOTS);
  const suffixes = newTable(SLOTS);
  const foldedSuffixes = newTable(SLOTS);
  const wildcards: { pieces: readonly string[]; minimum: number }[] = [];
  let hasExact = false;
  let hasFoldedExact = false;
  let hasPrefix = false;
  let hasFoldedPrefix = false;
  let hasSuffix = false;
  let hasFoldedSuffix = false;
  for (const token of tokens) {
    if (token.kind === 'wildcard') {
      const minimum = token.pieces.reduce((sum, piece) => sum + piece.length, 0);
      wildcards.push({ pieces: token.pieces, minimum });
      shortest = Math.min(shortest, minimum);
      continue;
    }
    const { text } = token;
    if (text === '') continue;
    const first = text.charCodeAt(0) & SLOT_MASK;
    const last = text.charCodeAt(text.length - 1) & SLOT_MASK;
    if (token.kind === 'equals') {
      addTo(token.ignoreCase ? foldedExact : exact, text.length * SLOTS + first, text);
      if (token.ignoreCase) hasFoldedExact = true;
      else hasExact = true;
    } else if (token.kind === 'prefix') {
      addTo(token.ignoreCase ? foldedPrefixes : prefixes, first, text);
      if (token.ignoreCase) hasFoldedPrefix = true;
      else hasPrefix = true;
    } else {
      addTo(token.ignoreCase ? foldedSuffixes : suffixes, last, text);
      if (token.ignoreCase) hasFoldedSuffix = true;
      else hasSuffix = true;
    }
  }
  const hasWildcard = wildcards.length > 0;
  // Without suffixes or wildcards, a string can pass only if some token starts with its first character.
  const startsOnly = !hasSuffix && !hasFoldedSuffix && !hasWildcard;
  const starts = new Uint8Array(SLOTS);
  for (const token of tokens) if (token.text !== '') starts[foldCode(token.text.charCodeAt(0)) & SLOT_MASK] = 1;

  const raw = (text: string, start: number, end: number): boolean => {
    const length = end - start;
    if (length < shortest) return false;
    if (length === 0) return emptyPasses;
    const first = text.charCodeAt(start);
    if (startsOnly && starts[foldCode(first) & SLOT_MASK] === 0) return false;
    if (length <= longestExact) {
      if (hasExact) {
        const list = exact[length * SLOTS + (first & SLOT_MASK)];
        if (list != null) for (const token of list) if (text.startsWith(token, start)) return true;
      }
      if (hasFoldedExact) {
        const list = foldedExact[length * SLOTS + (foldCode(first) & SLOT_MASK)];
        if (list != null) for (const token of list) if (startsFolded(text, token, start)) return true;
      }
    }
    if (hasPrefix) {
      const list = prefixes[first & SLOT_MASK];
      if (list != null) {
        for (const prefix of list) if (prefix.length <= length && text.startsWith(prefix, start)) return true;
      }
    }
    if (hasFoldedPrefix) {
      const list = foldedPrefixes[foldCode(first) & SLOT_MASK];
      if (list != null) {
        for (const prefix of list) if (prefix.length <= length && startsFolded(text, prefix, start)) return true;
      }
    }
    if (hasSuffix) {
      const list = suffixes[text.charCodeAt(end - 1) & SLOT_MASK];
      if (list != null) {
        for (const suffix of list) {
          if (suffix.length <= length && text.startsWith(suffix, end - suffix.length)) return true;
        }
      }
    }
    if (hasFoldedSuffix) {
      const list = foldedSuffixes[foldCode(text.charCodeAt(end - 1)) & SLOT_MASK];
      if (list != null) {
        for (const suffix of list) {
          if (suffix.length <= length && startsFolded(text, suffix, end - suffix.length)) return true;
        }
      }
    }
    if (hasWildcard) {
      for (const { pieces, minimum } of wildcards) if (matchesPieces(text, start, end, pieces, minimum)) return true;
    }
    return false;
  };
  return raw;
};

/** The pre-filter of a catalog's chosen tokens: every token for a string, split by scope for a record's text. */
const buildPrefilter = (tokens: readonly ScopedToken[]): StringPrefilter => {
  const raw = stringTest(tokens.map(({ token }) => token));
  const anywhere = tokens.filter((token) => token.scope === 'anywhere').map(({ token }) => token);
  const eventName = stringTest(tokens.filter((token) => token.scope === 'eventName').map(({ token }) => token));
  const needles = rawTextNeedles(anywhere);
  return {
    raw,
    value: (value) => raw(value, 0, value.length),
    search: needles === undefined ? undefined : { anywhere: rawTextSearch(needles), needles, eventName },
  };
};

const REGEXP_SPECIAL = /[\\^$.*+?()[\]{}|/]/g;

/** A needle as a regular expression's source: specials escaped, folded letters as `[xX]`. */
const needleSource = ({ text, fold }: RawNeedle): string => {
  const escaped = text.replace(REGEXP_SPECIAL, '\\$&');
  return fold ? escaped.replace(/[a-z]/g, (letter) => `[${letter}${letter.toUpperCase()}]`) : escaped;
};

/** `text` as JSON writes it inside a string's quotes. */
const jsonBody = (text: string): string => JSON.stringify(text).slice(1, -1);

/**
 * The needles of StringPrefilter.search for these tokens, in the order the search tries them (those that open with a
 * quote first), or undefined when one is not plain ASCII or a wildcard has no literal piece. Needles that search alike
 * are kept once.
 */
const rawTextNeedles = (tokens: readonly PrefilterToken[]): RawNeedle[] | undefined => {
  const needles = new Map<string, RawNeedle>();
  const add = (needle: RawNeedle): void => {
    const source = needleSource(needle);
    if (!needles.has(source)) needles.set(source, needle);
  };
  for (const token of tokens) {
    if (NON_ASCII.test(token.text)) return undefined;
    if (token.kind === 'wildcard') {
      const { pieces } = token;
      const longest = pieces.reduce(
        (best, piece, index) => (piece.length > (pieces[best] ?? '').length ? index : best),
        0,
      );
      // A wildcard of stars alone has no literal to look for: the text must be scanned string by string.
      if ((pieces[longest] ?? '') === '') return undefined;
      const opens = longest === 0 ? '"' : '';
      const closes = longest === pieces.length - 1 ? '"' : '';
      add({ text: `${opens}${jsonBody(pieces[longest] ?? '')}${closes}`, fold: false });
      continue;
    }
    const body = jsonBody(token.text);
    const text = token.kind === 'equals' ? `"${body}"` : token.kind === 'prefix' ? `"${body}` : `${body}"`;
    add({ text, fold: token.ignoreCase });
  }
  const all = [...needles.values()];
  return [...all.filter(({ text }) => text.startsWith('"')), ...all.filter(({ text }) => !text.startsWith('"'))];
};

/**
 * The search of StringPrefilter.search for these needles: their alternatives in order, those that open with a quote
 * sharing it, so that the engine looks for one character before trying them.
 */
const rawTextSearch = (needles: readonly RawNeedle[]): RegExp | null => {
  if (needles.length === 0) return null;
  const sources = needles.map(needleSource);
  const quoted = sources.filter((source) => source.startsWith('"')).map((source) => source.slice(1));
  const others = sources.filter((source) => !source.startsWith('"'));
  return new RegExp([...(quoted.length > 0 ? [`"(?:${quoted.join('|')})`] : []), ...others].join('|'), 'g');
};

// ------------------------------------------------------------------------------------------------
// API
// ------------------------------------------------------------------------------------------------

/**
 * The pre-filter of a list of EventBridge patterns (as written, already validated: compilePattern accepts them),
 * or undefined when some branch of some pattern has no `detail.*` field that a literal string can witness.
 */
const patternsPrefilter = (patterns: readonly Pattern[]): StringPrefilter | undefined => {
  const tokens = patternTokens(patterns);
  return tokens === undefined ? undefined : buildPrefilter(tokens);
};

/**
 * The pre-filter of a catalog: a test of each JSON string (key or value) of a record, such that when
 * `detection.matches(recordToEvent(record))` (or an EventBridge event carrying the record as `detail`) for some
 * detection, some string of the record passes it. Undefined when some detection has a pattern with a branch that
 * no literal string can witness (then every record must be parsed). Only the detections' `patterns` are read.
 *
 * @example
 * import { loadDetections } from '../../io/detections.js';
 *
 * const prefilter = catalogPrefilter(loadDetections());
 * prefilter?.value('StopLogging'); // true
 * prefilter?.raw('{"eventName":"Describe"}', 14, 22); // false
 */
const catalogPrefilter = (detections: readonly Detection[]): StringPrefilter | undefined => {
  const groups = chooseTokens(detections.map((detection) => detection.patterns));
  const tokens = new Map<string, ScopedToken>();
  for (const group of groups) {
    if (group === undefined) return undefined;
    for (const token of group) tokens.set(tokenKey(token), token);
  }
  return buildPrefilter([...tokens.values()]);
};

/**
 * Each detection's tokens as the README shows them (`"Root"`, `prefix "rootwatch-"`, `wildcard "*:x-*"`), or
 * undefined tokens for a detection that has a branch with none.
 */
const prefilterSummary = (detections: readonly Detection[]): DetectionTokens[] => {
  const groups = chooseTokens(detections.map((detection) => detection.patterns));
  return detections.map((detection, i) => ({
    id: detection.id,
    tokens: groups[i]?.map(({ token }) => describeToken(token)),
  }));
};

export type { RawNeedle, RecordSearch, StringPrefilter };
export { catalogPrefilter, patternsPrefilter, prefilterSummary, rawTextSearch };
