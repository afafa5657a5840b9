import type { RecordSearch, StringPrefilter } from '../../core/event-pattern/tokens.js';
import type { InputLimits } from './limits.js';
import type { ScannedEntry } from './scan.js';
import { scanText, type TextScan } from './scanned.js';

/*
 * The fast path of a CloudTrail log file as CloudTrail writes it: `{"Records":[{"eventVersion":…},…]}` on one line.
 * Instead of walking every string (scan.ts), it finds the records by where they start, `{"eventVersion":`, and the
 * places a passing string could be by one regular-expression search of the whole text (the pre-filter's `search`),
 * both native code; only the records holding such a place are handed on to be parsed. Anything unusual (another
 * shape, a record that does not start with eventVersion, a split that does not parse) gives undefined, and the file is
 * scanned string by string as before, so this path decides nothing the scanner would decide otherwise.
 */

const HEAD = '{"Records":[{"eventVersion":';
const RECORD_START = '{"eventVersion":';
/** Where the first record starts in a file that starts with HEAD. */
const FIRST = HEAD.length - RECORD_START.length;
const NAME_KEY = '"eventName"';
const SOURCE_FIELD = '"eventSource":"';
const QUOTE = 0x22;
const COLON = 0x3a;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/**
 * The escapes that can spell a character otherwise than JSON.stringify writes it (RFC 8259 section 7), `\u` and `\/`,
 * as a regular expression source.
 */
const OTHER_SPELLINGS = String.raw`\\[u/]`;

const isSpace = (code: number): boolean => code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;

/**
 * The combined search of a record search: each record start, each `"eventName"` (a key, or a string of that text),
 * each `\u` or `\/` escape (a string so written may spell a token unseen otherwise), then the anywhere tokens;
 * undefined when a string `"eventName"` would itself show an anywhere token (a catalog with such a token gets no fast
 * path). Kept per search: files are read one after another with the same pre-filter.
 */
const combinedSearches = new WeakMap<RecordSearch, RegExp | undefined>();
const combinedSearch = (search: RecordSearch): RegExp | undefined => {
  if (combinedSearches.has(search)) return combinedSearches.get(search);
  const { anywhere } = search;
  let combined: RegExp | undefined;
  const structure = `\\{"eventVersion":|${NAME_KEY}|${OTHER_SPELLINGS}`;
  if (anywhere === null) combined = new RegExp(structure, 'g');
  else {
    anywhere.lastIndex = 0;
    combined = anywhere.test(NAME_KEY) ? undefined : new RegExp(`${structure}|${anywhere.source}`, 'g');
  }
  combinedSearches.set(search, combined);
  return combined;
};

/**
 * The value of a string that follows the `"eventName"` at `key`, right after `:`, as `[from, to)` between its quotes,
 * before `end`; undefined when there is none that way (spaces, another type) or it holds a backslash.
 */
const valueAfterKey = (text: string, key: number, end: number): [number, number] | undefined => {
  const from = key + NAME_KEY.length + 2;
  if (text.charCodeAt(from - 2) !== COLON || text.charCodeAt(from - 1) !== QUOTE) return undefined;
  for (let at = from; at < end; at++) {
    const code = text.charCodeAt(at);
    if (code === QUOTE) return [from, at];
    if (code === BACKSLASH) return undefined;
  }
  return undefined;
};

/** Whether text[start, end) holds `"eventSource":"`, looking first just before `key`, where CloudTrail writes it. */
const hasSource = (text: string, start: number, key: number, end: number): boolean => {
  const before = text.lastIndexOf(SOURCE_FIELD, key);
  if (before >= start) return true;
  const after = text.indexOf(SOURCE_FIELD, key);
  return after !== -1 && after < end;
};

/** The index of the `]` that closes `Records` in `…}]}` followed only by whitespace, or -1. */
const closingBracket = (text: string): number => {
  let end = text.length;
  while (end > 0 && isSpace(text.charCodeAt(end - 1))) end--;
  return text.startsWith('}]}', end - 3) ? end - 2 : -1;
};

/**
 * Reads a whole decoded text that is a compact CloudTrail log file: a record is counted as skipped when none of its
 * text shows a place `prefilter.search.anywhere` finds, no `\u` or `\/` escape, a string eventSource, and its own
 * eventName (eventNameOf) failing `prefilter.search.eventName`; the others are entries to parse (`Records[i]`), exactly
 * the positions scan.ts gives. Undefined when the text is not such a file, when the pre-filter has no search (a
 * non-ASCII token), when a record does not start with `{"eventVersion":` or does not parse as one object (a nested
 * `{"eventVersion":` inside a record, a broken file), or past maxRecords: the caller then scans the text string by
 * string (scanned.ts scanText), which says what is wrong.
 *
 * So a record is skipped only when it has no string that passes the pre-filter's `anywhere` tokens and its
 * eventName passes none of the eventName tokens: no branch of any pattern can match it (core/event-pattern/tokens.ts).
 * That is what scan.ts would skip, and sometimes less (a token in a key, a record with an escape or a second
 * `"eventName"`, is parsed). The depth and string limits are checked on the records to parse (scanText on the record
 * alone): one past them sends the file to the scanner, which reports it and reads on. The others are never parsed,
 * so they cannot strain the stack or memory beyond the file's text.
 */
/** Where a file's records are, from one pass of the combined search (see locateRecords). */
interface RecordLayout {
  /** Where each record starts (`{"eventVersion":`), ascending. */
  readonly starts: number[];
  /** 1 for a record to parse whatever its eventName says: a token in it, or a second `"eventName"`. */
  readonly candidate: number[];
  /** Where each record's one `"eventName"` is; -1 for none. */
  readonly keys: number[];
}

/**
 * One pass of `combined` over text[0, close): where each record starts, every `"eventName"`, the escapes and the
 * anywhere tokens (either makes its record a candidate).
 * Undefined when a start is not where a record of a compact file starts, or past `maxRecords`. A start inside a record
 * (a nested object whose first key is eventVersion) shows when its pieces do not parse, later, and sends the file to
 * the scanner; so does a start a token's text swallowed (the record before it then holds two).
 */
const locateRecords = (text: string, combined: RegExp, close: number, maxRecords: number): RecordLayout | undefined => {
  const starts: number[] = [];
  const candidate: number[] = [];
  const keys: number[] = [];
  combined.lastIndex = 0;
  for (let found = combined.exec(text); found !== null && found.index < close; found = combined.exec(text)) {
    const at = found.index;
    const match = found[0];
    if (match.length === 0) combined.lastIndex++;
    if (match === RECORD_START) {
      const follows = starts.length > 0;
      if (follows ? text.charCodeAt(at - 1) !== 0x2c || text.charCodeAt(at - 2) !== 0x7d : at !== FIRST)
        return undefined;
      starts.push(at);
      candidate.push(0);
      keys.push(-1);
      if (starts.length > maxRecords) return undefined;
    } else if (starts.length > 0) {
      // (Before the first record: the `Records` key, which no pattern reads.)
      const record = starts.length - 1;
      if (match === NAME_KEY && keys[record] === -1) keys[record] = at;
      else candidate[record] = 1;
    }
  }
  return starts.length === 0 ? undefined : { starts, candidate, keys };
};

/**
 * Whether the record text[start, end), holding no token and its one `"eventName"` at `key` (-1: none), can be
 * skipped: its eventName is a string that passes no eventName token, and it names a string eventSource. Otherwise it
 * is parsed, so that what is wrong with it is reported.
 */
const skips = (text: string, start: number, end: number, key: number, search: RecordSearch): boolean => {
  if (key === -1) return false;
  const name = valueAfterKey(text, key, end);
  return name !== undefined && hasSource(text, start, key, end) && !search.eventName(text, name[0], name[1]);
};

/** How far below the depth and string limits surelyWithin asks a record to be: nearer, the scanner decides. */
const LIMIT_MARGIN = 2;

/**
 * Whether text[start, end) is surely one value within the limits: its brackets close at its last character and not
 * before, it is nested at most maxDepth - LIMIT_MARGIN deep, and no string is longer than maxStringBytes - LIMIT_MARGIN
 * (as written, between its quotes). A quick count for the usual record; one near a limit, or of another shape (two
 * records where a record did not start with eventVersion), is left to the scanner (scanned.ts), which decides exactly.
 */
const surelyWithin = (text: string, start: number, end: number, limits: InputLimits): boolean => {
  const depthCap = limits.maxDepth - LIMIT_MARGIN;
  const stringCap = limits.maxStringBytes - LIMIT_MARGIN;
  let depth = 0;
  for (let at = start; at < end; at++) {
    const code = text.charCodeAt(at);
    if (code === QUOTE) {
      const open = at;
      for (at++; at < end; at++) {
        const inner = text.charCodeAt(at);
        if (inner === BACKSLASH) at++;
        else if (inner === QUOTE) break;
      }
      if (at - open - 1 > stringCap) return false;
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      depth++;
      if (depth > depthCap) return false;
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      depth--;
      // The record's object closes at its last character, not before: else it holds more than one value.
      if (depth === 0 && at !== end - 1) return false;
    }
  }
  return depth === 0;
};

/** The entry of a record to parse, or undefined past the depth or string limit (or not one value). */
const entryOf = (text: string, start: number, end: number, index: number, limits: InputLimits) => {
  const recordText = text.slice(start, end);
  // Within the depth and string limits, and one value (it starts with `{`): else the scanner reads the file and says
  // what is wrong. Its JSON is parsed once, on the main thread: a text that does not parse sends the file to the
  // scanner from there (read-input.ts, itemsOfScan).
  if (!surelyWithin(text, start, end, limits)) {
    const checked = scanText(`[${recordText}]`, '', undefined, limits);
    if (checked.kind !== 'scanned' || checked.entries.length !== 1 || checked.entries[0]?.verdict !== 'parse') {
      return undefined;
    }
  }
  const entry: ScannedEntry = {
    container: 'Records',
    index,
    value: 1,
    valueLine: 1,
    valueOnLine: 1,
    sharesLine: false,
    verdict: 'parse',
    text: recordText,
  };
  return entry;
};

const quickScan = (
  text: string,
  prefilter: StringPrefilter | undefined,
  limits: InputLimits,
): (TextScan & { kind: 'scanned' }) | undefined => {
  const search = prefilter?.search;
  const combined = search === undefined ? undefined : combinedSearch(search);
  if (search === undefined || combined === undefined || !text.startsWith(HEAD)) return undefined;
  const close = closingBracket(text);
  if (close === -1) return undefined;
  const layout = locateRecords(text, combined, close, limits.maxRecords);
  if (layout === undefined) return undefined;
  const { starts, candidate, keys } = layout;
  const entries: ScannedEntry[] = [];
  for (let index = 0; index < starts.length; index++) {
    const start = starts[index] as number;
    const end = index + 1 < starts.length ? (starts[index + 1] as number) - 1 : close;
    if (candidate[index] === 0 && skips(text, start, end, keys[index] as number, search)) continue;
    const entry = entryOf(text, start, end, index, limits);
    if (entry === undefined) return undefined;
    entries.push(entry);
  }
  return { kind: 'scanned', prefix: undefined, entries, skipped: starts.length - entries.length };
};

export { quickScan };
