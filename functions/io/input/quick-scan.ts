import type { StringPrefilter } from '../../core/event-pattern/tokens.js';
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
const NAME_FIELD = '"eventName":"';
const SOURCE_FIELD = '"eventSource":"';

/** The escapes that can spell a character otherwise than JSON.stringify writes it (RFC 8259 section 7). */
const OTHER_SPELLINGS = ['\\u', '\\/'];

/** The index of the record whose text holds position `at`: the last start at or before it (starts ascending). */
const recordAt = (starts: readonly number[], at: number): number => {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if ((starts[middle] as number) <= at) low = middle;
    else high = middle - 1;
  }
  return low;
};

const isSpace = (code: number): boolean => code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;

/** The index of the `]` that closes `Records` in `…}]}` followed only by whitespace, or -1. */
const closingBracket = (text: string): number => {
  let end = text.length;
  while (end > 0 && isSpace(text.charCodeAt(end - 1))) end--;
  return text.startsWith('}]}', end - 3) ? end - 2 : -1;
};

/**
 * Reads a whole decoded text that is a compact CloudTrail log file: the records none of whose text shows a place
 * `prefilter.search` finds, and that name a string eventName and eventSource, are counted as skipped; the others are
 * entries to parse (`Records[i]`), exactly the positions scan.ts gives. Undefined when the text is not such a file,
 * when the pre-filter has no search (a non-ASCII token), when a record does not start with `{"eventVersion":` or
 * does not parse as one object (a nested `{"eventVersion":` inside a record, a broken file), or past maxRecords: the
 * caller then scans the text string by string (scanned.ts scanText), which says what is wrong.
 *
 * A record is skipped only when its text holds no token as JSON writes it (StringPrefilter.search) and no `\u` or
 * `\/` escape, so that it has no string the pre-filter passes: what scan.ts would skip, and sometimes
 * less (a token in a key, or a record with an escape, is parsed). The depth and string limits are checked on the
 * records to parse (scanText on the record alone): one past them sends the file to the scanner, which reports it and
 * reads on. The others are never parsed, so they cannot strain the stack or memory beyond the file's text.
 */
const quickScan = (
  text: string,
  prefilter: StringPrefilter | undefined,
  limits: InputLimits,
): (TextScan & { kind: 'scanned' }) | undefined => {
  const search = prefilter?.search;
  if (search === undefined || !text.startsWith(HEAD)) return undefined;
  const close = closingBracket(text);
  if (close === -1) return undefined;
  // Where each record starts; a start inside a record (a nested object whose first key is eventVersion) shows when
  // its pieces do not parse below, and sends the file to the scanner.
  const starts: number[] = [];
  for (let at = HEAD.length - RECORD_START.length; at !== -1 && at < close; at = text.indexOf(RECORD_START, at + 1)) {
    if (starts.length > 0 && (text.charCodeAt(at - 1) !== 0x2c || text.charCodeAt(at - 2) !== 0x7d)) return undefined;
    starts.push(at);
    if (starts.length > limits.maxRecords) return undefined;
  }
  const endOf = (index: number): number => (index + 1 < starts.length ? (starts[index + 1] as number) - 1 : close);
  const candidate = new Uint8Array(starts.length);
  search.lastIndex = 0;
  let record = 0;
  for (let found = search.exec(text); found !== null && found.index < close; found = search.exec(text)) {
    if (found[0].length === 0) search.lastIndex++;
    while (record + 1 < starts.length && (starts[record + 1] as number) <= found.index) record++;
    candidate[record] = 1;
    // The rest of this record needs no more looking: go on from the next.
    if (record + 1 < starts.length) search.lastIndex = Math.max(search.lastIndex, starts[record + 1] as number);
  }
  // A string written with \u or \/ escapes may spell a token unseen by the search: its record is parsed too.
  for (const spelling of OTHER_SPELLINGS) {
    for (let at = text.indexOf(spelling); at !== -1 && at < close; at = text.indexOf(spelling, at + 1)) {
      candidate[recordAt(starts, at)] = 1;
    }
  }
  const entries: ScannedEntry[] = [];
  for (let index = 0; index < starts.length; index++) {
    const start = starts[index] as number;
    const end = endOf(index);
    if (candidate[index] === 0) {
      // A record that does not name a string eventName and eventSource is parsed, so that what is wrong is reported.
      // CloudTrail writes eventName right after eventSource: look there first, then from the record's start.
      const source = text.indexOf(SOURCE_FIELD, start);
      if (source !== -1 && source < end) {
        let name = text.indexOf(NAME_FIELD, source);
        if (name === -1 || name >= end) name = text.indexOf(NAME_FIELD, start);
        if (name !== -1 && name < end) continue;
      }
    }
    const recordText = text.slice(start, end);
    // Within the depth and string limits, and one value (it starts with `{`): else the scanner reads the file and says
    // what is wrong. Its JSON is parsed once, on the main thread: a text that does not parse sends the file to the
    // scanner from there (read-input.ts, itemsOfScan).
    const checked = scanText(`[${recordText}]`, '', undefined, limits);
    if (checked.kind !== 'scanned' || checked.entries.length !== 1 || checked.entries[0]?.verdict !== 'parse') {
      return undefined;
    }
    entries.push({
      container: 'Records',
      index,
      value: 1,
      valueLine: 1,
      valueOnLine: 1,
      sharesLine: false,
      verdict: 'parse',
      text: recordText,
    });
  }
  return { kind: 'scanned', prefix: undefined, entries, skipped: starts.length - entries.length };
};

export { quickScan };
