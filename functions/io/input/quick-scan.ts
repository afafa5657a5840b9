import type { RawNeedle, RecordSearch, StringPrefilter } from '../../core/event-pattern/tokens.js';
import { type NeedlePlaces, wasmScan } from './layout-wasm.js';
import type { InputLimits } from './limits.js';
import type { ScannedEntry } from './scan.js';
import {
  BACKSLASH,
  backslashFrom,
  CLOSE_BRACE,
  CLOSE_BRACKET,
  COLON,
  COMMA,
  isSpace,
  OPEN_BRACE,
  OPEN_BRACKET,
  QUOTE,
} from './values.js';

/*
 * The fast path of a CloudTrail log file as CloudTrail writes it: `{"Records":[{…},{…}]}`, compact. One tight pass
 * over the text checks its structure as the scanner (scan.ts) would (strings, brackets paired by kind, keys and values
 * and commas where they belong, the limits) and
 * notes, per record, where it ends and its top-level eventName and eventSource (in WebAssembly, layout.wat, when the text
 * is ASCII; the same pass in JavaScript, layoutOf, otherwise); one regular-expression search (native code) finds the
 * places a passing string could be. Only the records that may match are handed on to be parsed.
 * Anything unusual (another shape, whitespace between tokens, a second document, a record past a limit, a non-object
 * in Records) gives undefined, and the file is scanned string by string as before, which decides and reports. Where
 * both read a file they find the same records; this path parses more (a token in a key, an escape) and tests an
 * event-name token only where it can match, on the record's own eventName (the scanner tests it on every string).
 */

const HEAD = '{"Records":[';
/** `"`, `\`, b, f, n, r, t: the escapes JSON.stringify writes. */
const STRINGIFY_ESCAPES = new Set([0x22, 0x5c, 0x62, 0x66, 0x6e, 0x72, 0x74]);
/** The deepest nesting this path follows (a stack of that many bytes per file). */
const MAX_STACK = 1 << 16;
/** A bracket's closing code minus its opening one: `}` − `{` and `]` − `[` (ASCII). */
const PAIR_OFFSET = 2;

/** Per-record flags of RecordLayout. */
const HAS_SOURCE = 1;
/**
 * Parse whatever the eventName says: a `\u` or `\/` escape or one that is not JSON, a top-level key spelled with
 * escapes, a second eventName or eventSource key, an eventName value with escapes, a `detail` or `detail-type` key.
 */
const MUST_PARSE = 2;
/** A token of `anywhere` was found in the record's text. */
const TOKEN = 4;
/** A top-level key eventName, eventSource was seen: a second one makes the record one to parse. */
const SEEN_NAME = 8;
const SEEN_SOURCE = 16;

/** Top-level keys the layout notes (a key's value, when it is a string, is noted as its field). */
const OTHER_KEY = 0;
const NAME_KEY = 1;
const SOURCE_KEY = 2;
const EVENT_KEY = 3;

/**
 * Whether `\` then `code` is an escape JSON.stringify writes: one that spells no character another way. `\u` and `\/`
 * may spell a token unseen (RFC 8259 section 7), and any other is not JSON: either makes the record one to parse.
 */
const writtenAsStringify = (code: number): boolean => STRINGIFY_ESCAPES.has(code);

/** A column of RecordLayout: a JavaScript array (layoutOf) or a view of WebAssembly memory (layout-wasm.ts). */
interface Column {
  readonly length: number;
  [index: number]: number;
}

/** Where a file's records are and what of them decides a skip, from one pass (layoutOf, or layout.wat). */
interface RecordLayout {
  /** Where each record starts (its `{`), ascending. */
  readonly starts: Column;
  /** Just past each record's closing `}`. */
  readonly ends: Column;
  /** Where each record's top-level eventName value starts (after its quote); -1 when it has none as a string. */
  readonly nameFrom: Column;
  /** Where that value's closing quote is. */
  readonly nameTo: Column;
  /** HAS_SOURCE, MUST_PARSE, TOKEN, SEEN_NAME, SEEN_SOURCE. */
  readonly flags: Column;
}

/**
 * The field a top-level key text[from, to) names, without escapes. `detail` and `detail-type` make an EventBridge
 * event of the element (records.ts toItem reads its detail as the record): its own eventName is not the one matched.
 */
const keyField = (text: string, from: number, to: number): number => {
  const length = to - from;
  if (length === 9) return text.startsWith('eventName', from) ? NAME_KEY : OTHER_KEY;
  if (length === 11) {
    if (text.startsWith('eventSource', from)) return SOURCE_KEY;
    return text.startsWith('detail-type', from) ? EVENT_KEY : OTHER_KEY;
  }
  if (length === 6) return text.startsWith('detail', from) ? EVENT_KEY : OTHER_KEY;
  return OTHER_KEY;
};

/**
 * One pass over a text that starts with HEAD: each element of `Records`, which must be an object, its strings and
 * brackets as the scanner reads them (a bracket closes only its own kind; a string ends at an unescaped quote, is at
 * most maxStringBytes long as written, and is followed at once by `:`, `,`, `}` or `]`; a key is in an object after
 * its `{` or a `,`; a `{` or `[` follows a `:` in an object, `[` or `,` in an array; a `,` follows a value), nested
 * at most maxDepth
 * deep (the record itself is level 1), the limits as the scanner counts them. Between records exactly `,`; after the
 * last, `]}` and only whitespace. Undefined when any of this does not hold, or past maxRecords: the scanner decides.
 */
const layoutOf = (text: string, limits: InputLimits): RecordLayout | undefined => {
  const n = text.length;
  const { maxStringBytes, maxRecords } = limits;
  // Deeper than the stack holds (a limit raised that far), the scanner decides.
  const maxDepth = Math.min(limits.maxDepth, MAX_STACK);
  if (maxDepth < 1) return undefined;
  const stack = new Uint8Array(maxDepth + 1);
  const starts: number[] = [];
  const ends: number[] = [];
  const nameFrom: number[] = [];
  const nameTo: number[] = [];
  const flags: number[] = [];
  let at = HEAD.length;
  /** The first backslash at or after the string being read (n: none); -1 until looked for. */
  let nextBackslash = -1;
  for (;;) {
    if (text.charCodeAt(at) !== OPEN_BRACE || starts.length >= maxRecords) return undefined;
    const start = at;
    let depth = 1;
    stack[1] = OPEN_BRACE;
    let field = OTHER_KEY;
    let from = -1;
    let to = -1;
    let flag = 0;
    for (at++; depth > 0; at++) {
      if (at >= n) return undefined;
      const code = text.charCodeAt(at);
      if (code === QUOTE) {
        const open = at;
        let escaped = false;
        at = text.indexOf('"', open + 1);
        if (at === -1) return undefined;
        if (nextBackslash < open) nextBackslash = backslashFrom(text, open, n);
        if (nextBackslash < at) {
          // Escapes: the string read character by character.
          escaped = true;
          for (at = open + 1; ; at++) {
            if (at >= n) return undefined;
            const inner = text.charCodeAt(at);
            if (inner === QUOTE) break;
            if (inner === BACKSLASH) {
              at++;
              const next = text.charCodeAt(at);
              if (!writtenAsStringify(next)) flag |= MUST_PARSE;
            }
          }
          nextBackslash = -1;
        }
        if (at - open - 1 > maxStringBytes) return undefined;
        const after = text.charCodeAt(at + 1);
        if (after === COLON) {
          // A key: in an object, after its `{` or a `,` (as the scanner checks, lest a record cut short swallow the
          // records after it).
          const before = text.charCodeAt(open - 1);
          if ((before !== OPEN_BRACE && before !== COMMA) || stack[depth] !== OPEN_BRACE) return undefined;
          if (depth === 1) {
            if (escaped) flag |= MUST_PARSE;
            field = keyField(text, open + 1, at);
            if (field === EVENT_KEY) flag |= MUST_PARSE;
            else if (field !== OTHER_KEY) {
              const seen = field === NAME_KEY ? SEEN_NAME : SEEN_SOURCE;
              if ((flag & seen) !== 0) flag |= MUST_PARSE;
              flag |= seen;
            }
          }
          at++;
        } else if (after === COMMA || after === CLOSE_BRACE || after === CLOSE_BRACKET) {
          // A value: after its key's `:` in an object, after `[` or `,` in an array.
          const before = text.charCodeAt(open - 1);
          if (stack[depth] === OPEN_BRACE ? before !== COLON : before !== OPEN_BRACKET && before !== COMMA)
            return undefined;
          if (depth === 1) {
            if (field === NAME_KEY) {
              if (escaped) flag |= MUST_PARSE;
              from = open + 1;
              to = at;
            } else if (field === SOURCE_KEY) flag |= HAS_SOURCE;
            field = OTHER_KEY;
          }
          if (after === COMMA) at++;
        } else return undefined;
      } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
        // A member's value after its `:`, or an element after `[` or `,`.
        const before = text.charCodeAt(at - 1);
        if (stack[depth] === OPEN_BRACE ? before !== COLON : before !== OPEN_BRACKET && before !== COMMA)
          return undefined;
        if (depth === 1) field = OTHER_KEY;
        depth++;
        if (depth > maxDepth) return undefined;
        stack[depth] = code;
      } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
        if (stack[depth] !== code - PAIR_OFFSET) return undefined;
        depth--;
      } else if (code === COMMA) {
        // After a value (a string's comma is passed over with it), never after `[`, `{`, `:` or another `,`.
        const before = text.charCodeAt(at - 1);
        if (before === OPEN_BRACKET || before === OPEN_BRACE || before === COLON || before === COMMA) return undefined;
      }
    }
    starts.push(start);
    ends.push(at);
    nameFrom.push(from);
    nameTo.push(to);
    flags.push(flag);
    const next = text.charCodeAt(at);
    if (next === COMMA) {
      at++;
      continue;
    }
    if (next !== CLOSE_BRACKET || text.charCodeAt(at + 1) !== CLOSE_BRACE) return undefined;
    for (at += 2; at < n; at++) if (!isSpace(text.charCodeAt(at))) return undefined;
    return { starts, ends, nameFrom, nameTo, flags };
  }
};

/**
 * Marks TOKEN on every record a found span [at, stop) reaches, for spans given in ascending order (a span running
 * over a record's end marks the next ones it reaches too). Returns false once past the last record.
 */
const tokenMarker = ({ starts, ends, flags }: RecordLayout): ((at: number, stop: number) => boolean) => {
  let record = 0;
  return (at, stop) => {
    while (record < ends.length && (ends[record] as number) <= at) record++;
    if (record === ends.length) return false;
    for (let marked = record; marked < ends.length && (starts[marked] as number) < stop; marked++) {
      flags[marked] = (flags[marked] as number) | TOKEN;
    }
    return true;
  };
};

/** Marks TOKEN on every record whose text holds a place `anywhere` finds (tokenMarker). */
const markTokens = (text: string, anywhere: RegExp, layout: RecordLayout): void => {
  const mark = tokenMarker(layout);
  anywhere.lastIndex = layout.starts[0] ?? 0;
  for (let found = anywhere.exec(text); found !== null; found = anywhere.exec(text)) {
    if (found[0].length === 0) anywhere.lastIndex++;
    if (!mark(found.index, found.index + Math.max(found[0].length, 1))) return;
  }
};

/** markTokens for the places layout.wat's search found the needles, which are the same as the expression's. */
const markPlaces = (places: NeedlePlaces, needles: readonly RawNeedle[], layout: RecordLayout): void => {
  const mark = tokenMarker(layout);
  for (let index = 0; index < places.at.length; index++) {
    const at = places.at[index] as number;
    if (!mark(at, at + (needles[places.needle[index] as number] as RawNeedle).text.length)) return;
  }
};

/** What quickScan gives for a file it reads. */
interface QuickScan {
  readonly kind: 'scanned';
  readonly prefix: undefined;
  readonly entries: ScannedEntry[];
  readonly skipped: number;
}

/**
 * The records of a laid-out file, marked, to parse (quickScan says which), given how to test the eventName between
 * two positions and how to take a record's text.
 */
const entriesOf = (
  layout: RecordLayout,
  eventNamePasses: (from: number, to: number) => boolean,
  slice: (start: number, end: number) => string,
): QuickScan => {
  const { starts, ends, nameFrom, nameTo, flags } = layout;
  const entries: ScannedEntry[] = [];
  for (let index = 0; index < starts.length; index++) {
    const flag = flags[index] as number;
    const from = nameFrom[index] as number;
    const skips =
      (flag & (MUST_PARSE | TOKEN)) === 0 &&
      (flag & HAS_SOURCE) !== 0 &&
      from !== -1 &&
      !eventNamePasses(from, nameTo[index] as number);
    if (skips) continue;
    entries.push({
      container: 'Records',
      index,
      value: 1,
      valueLine: 1,
      valueOnLine: 1,
      sharesLine: false,
      verdict: 'parse',
      text: slice(starts[index] as number, ends[index] as number),
    });
  }
  return { kind: 'scanned', prefix: undefined, entries, skipped: starts.length - entries.length };
};

/** Whether a newline stands before the end of the last record (a file on one line allows one only after it). */
const newlineInside = (newline: number, layout: RecordLayout): boolean =>
  newline !== -1 && newline < (layout.ends[layout.ends.length - 1] as number);

/** The depth layoutOf and layout.wat follow: the limit, at most MAX_STACK. */
const stackDepth = (limits: InputLimits): number => Math.min(limits.maxDepth, MAX_STACK);

/** layout.wat's layout of a text or its bytes under `limits`, and where the needles are (when there are any). */
const scanOf = (source: string | Uint8Array, needles: readonly RawNeedle[], limits: InputLimits) =>
  wasmScan(
    source,
    stackDepth(limits),
    limits.maxStringBytes,
    limits.maxRecords,
    needles.length > 0 ? needles : undefined,
  );

/**
 * Reads a whole decoded text that is a compact CloudTrail log file (layout.wat, or layoutOf). A record is counted as skipped when its
 * text holds no place `prefilter.search.anywhere` finds and no `\u` or `\/` escape, it has a top-level string
 * eventSource, and its one top-level eventName is a string without escapes that passes no eventName token
 * (`prefilter.search.eventName`): no branch of any pattern can match it (core/event-pattern/tokens.ts), and the scanner
 * would skip it too. Every other record is an entry to parse (`Records[i]`), exactly the positions scan.ts gives.
 * Undefined when the text is not such a file, or the pre-filter has no search (a non-ASCII token): the caller then
 * scans the text string by string (scanned.ts scanText), which says what is wrong.
 */
const quickScan = (
  text: string,
  prefilter: StringPrefilter | undefined,
  limits: InputLimits,
): QuickScan | undefined => {
  const search: RecordSearch | undefined = prefilter?.search;
  if (search === undefined || !text.startsWith(HEAD) || stackDepth(limits) < 1) return undefined;
  const { needles } = search;
  const scan = scanOf(text, needles, limits);
  const layout = scan.layout === 'fallback' ? layoutOf(text, limits) : scan.layout;
  if (layout === undefined || newlineInside(text.indexOf('\n'), layout)) return undefined;
  if (scan.places !== undefined && scan.places !== 'fallback') markPlaces(scan.places, needles, layout);
  else if (search.anywhere !== null) markTokens(text, search.anywhere, layout);
  return entriesOf(
    layout,
    (from, to) => search.eventName(text, from, to),
    (start, end) => text.slice(start, end),
  );
};

const HEAD_BYTES = Buffer.from(HEAD, 'latin1');

/**
 * quickScan for a file's bytes when they are all ASCII (the text is then their Latin-1 reading, position for
 * position): the same answer, without making the whole text a string. Only the records to parse, and each record's
 * eventName, become strings; where WebAssembly does not answer, the text is made and quickScan reads it.
 */
const quickScanBytes = (
  bytes: Buffer,
  prefilter: StringPrefilter | undefined,
  limits: InputLimits,
): QuickScan | undefined => {
  const search: RecordSearch | undefined = prefilter?.search;
  if (search === undefined || bytes.length < HEAD.length || stackDepth(limits) < 1) return undefined;
  if (bytes.compare(HEAD_BYTES, 0, HEAD.length, 0, HEAD.length) !== 0) return undefined;
  const { needles } = search;
  const scan = scanOf(bytes, needles, limits);
  if (scan.layout === 'fallback' || scan.places === 'fallback') {
    return quickScan(bytes.toString('latin1'), prefilter, limits);
  }
  const { layout, places } = scan;
  if (layout === undefined || newlineInside(bytes.indexOf(0x0a), layout)) return undefined;
  if (places !== undefined) markPlaces(places, needles, layout);
  return entriesOf(
    layout,
    (from, to) => {
      const name = bytes.toString('latin1', from, to);
      return search.eventName(name, 0, name.length);
    },
    (start, end) => bytes.toString('latin1', start, end),
  );
};

export type { QuickScan, RecordLayout };
export { layoutOf, markTokens, quickScan, quickScanBytes };
