import type { StringPrefilter } from '../../core/event-pattern/tokens.js';
import { maxRecordChars } from './limits.js';
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
 * A JSON scanner over decoded text that splits CloudTrail input into records without JSON.parse: the elements of a
 * `{"Records":[…]}` log file or of a top-level array, and top-level values one after another. It tracks nesting and
 * string lengths (the limits), tests every string value against the catalog's pre-filter (decoded first when it holds
 * escapes; keys are not tested: a pattern tests values, keys only make its paths), and hands on, per record, either
 * its text (to be parsed) or a verdict (skipped, too deep, a string too long). A record is skipped only when none of
 * its values passes and it reads as a record or event as records.ts's toItem takes them (string eventName and
 * eventSource, or a string detail-type and an object detail holding them), so that a broken one is still parsed and
 * reported. It reads the text in pieces as a stream gives them, holding only the record being read. Pure: no I/O.
 */

const NEWLINE = 0x0a;
const BOM = 0xfeff;
const LOWER_D = 0x64;
const LOWER_E = 0x65;
const UPPER_N = 0x4e;
/**
 * No backslash ahead in the current piece: past any index of a string (V8 holds at most 2^29 - 24 characters), and a
 * small integer, so that the hot loop's comparisons with it stay on 32-bit integers.
 */
const NONE_AHEAD = 2 ** 30 - 1;

/** `{"Records":[`, whitespace allowed between the tokens. */
const RECORDS_HEADER = /\{\s*"Records"\s*:\s*\[/y;
/**
 * `{"Records":` then a record's start, `{"eventVersion":`: a log file whose array lost its `[` (the header's end is
 * lastIndex). Another object there (valid JSON, not a log file) is the document's to report.
 */
const RECORDS_WITHOUT_ARRAY = /\{\s*"Records"\s*:\s*(?=\{\s*"eventVersion"\s*:)/y;
/** The start of a log file's opening (`{"Rec`), up to the end of the text: too little to tell. */
/** The start of a record as CloudTrail writes it, its first key eventVersion. */
const RECORD_START = /\{\s*"eventVersion"\s*:/g;
/** A log file's header without whitespace, and the most edits (RFC-free: insert, delete, replace) a damaged one has. */
const HEADER_TEXT = '{"Records":[';
const HEADER_EDITS = 3;
/** How far past a value's `{` its first record may start for the text before it to be a damaged header. */
const DAMAGED_HEADER_CHARS = 64;

/** The edit distance (Levenshtein) of two short strings; past `max`, any number above it. */
const editDistance = (a: string, b: string, max: number): number => {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const replace = (row[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      next.push(Math.min(replace, (row[j] as number) + 1, (next[j - 1] as number) + 1));
    }
    row = next;
  }
  return row[b.length] as number;
};

const RECORDS_HEADER_START = /^\{\s*(?:"(?:R(?:e(?:c(?:o(?:r(?:d(?:s(?:"\s*(?::\s*)?)?)?)?)?)?)?)?)?)?$/;
/** `"Records":[` again after the first Records array's `],`. */
const RECORDS_AGAIN = /\s*"Records"\s*:\s*\[/y;
/*
 * What the scanner notes of a record's fields, so that it skips only what reads as a record or event (records.ts
 * toItem): string eventName and eventSource, or a string detail-type and an object detail holding them.
 */
const NAME = 1;
const SOURCE = 2;
const DETAIL_TYPE = 4;
const DETAIL_OBJECT = 8;
const DETAIL_NAME = 16;
const DETAIL_SOURCE = 32;
/** The key `detail` at depth 1: an object opening next is the detail. */
const DETAIL_KEY = 64;

/** The field bit a key names, at depth 1 (`detail` false) or inside the detail. */
const fieldOf = (name: string, detail: boolean): number => {
  if (name === 'eventName') return detail ? DETAIL_NAME : NAME;
  if (name === 'eventSource') return detail ? DETAIL_SOURCE : SOURCE;
  if (detail) return 0;
  return name === 'detail-type' ? DETAIL_TYPE : name === 'detail' ? DETAIL_KEY : 0;
};

/**
 * The field bit of a key written without escapes, `text[start, start + length)`, as fieldOf gives it. The names are
 * 6 to 11 characters: most keys are told apart by their length alone, the rest read in place (nothing allocated).
 */
const keyField = (text: string, start: number, length: number, detail: boolean): number => {
  const first = text.charCodeAt(start);
  if (first === LOWER_E) {
    // eventName, eventSource; not eventTime, eventType… (their sixth character tells them apart first).
    if (length === 9) {
      return text.charCodeAt(start + 5) === UPPER_N && text.startsWith('eventName', start)
        ? detail
          ? DETAIL_NAME
          : NAME
        : 0;
    }
    if (length === 11) return text.startsWith('eventSource', start) ? (detail ? DETAIL_SOURCE : SOURCE) : 0;
    return 0;
  }
  if (first !== LOWER_D || detail) return 0;
  if (length === 11) return text.startsWith('detail-type', start) ? DETAIL_TYPE : 0;
  return length === 6 && text.startsWith('detail', start) ? DETAIL_KEY : 0;
};

/** Whether the fields noted make a record or an event, as toItem takes them. */
const readsAsRecord = (fields: number): boolean =>
  (fields & DETAIL_TYPE) !== 0 && (fields & DETAIL_OBJECT) !== 0
    ? (fields & DETAIL_NAME) !== 0 && (fields & DETAIL_SOURCE) !== 0
    : (fields & NAME) !== 0 && (fields & SOURCE) !== 0;

/** The longest a first key written with escapes can be and still be eventVersion (each character as \uXXXX). */
const RECORD_KEY_CHARS = 12 * 6;
/** How much text the header test wants to see before it says a `{` does not open a log file. */
const HEADER_LOOKAHEAD = 256;
/**
 * Where reading may start again after an element whose structure is broken: the next record start of a CloudTrail
 * log file (CloudTrail writes every record with eventVersion first), or of an array (also an EventBridge event,
 * version first), or the next log file (`{"Records":[`, a top-level value of its own). Inside a valid string these
 * can only appear escaped (`{\"eventVersion\"`), so a match is real structure or damage, never a string's content.
 */
const RESYNC_RECORDS = /\{\s*"(?:eventVersion"\s*:|Records"\s*:\s*\[)/g;
const RESYNC_ARRAY = /\{\s*"(?:eventVersion"\s*:|version"\s*:|Records"\s*:\s*\[)/g;
/** In an array of EventBridge events (the broken one starts with `version`): not the record in an event's detail. */
const RESYNC_EVENTS = /\{\s*"(?:version"\s*:|Records"\s*:\s*\[)/g;
const EVENT_START = /^\{\s*"version"\s*:/;
/** After a broken top-level value among log files one after another: the next log file. */
const RESYNC_DOCS = /\{\s*"Records"\s*:\s*\[/g;
/**
 * Text scanned again after broken elements, past which the scanner stops reading on (a `syntax` stop: the rest of
 * the input is not read), so that damage that swallows every record after it costs linear time, not quadratic:
 * this many characters plus as many as the input has given so far.
 */
const RESCAN_ALLOWANCE = 64 * 1024 * 1024;
/** How much of a piece's end the search for a record start carries over to the next piece (a start split between). */
const RESYNC_CARRY = 64;

/**
 * Whether `code` (the first character after a string that is not whitespace; NaN at the end of the text) may follow
 * a string in JSON: `:` after a key, `,` `}` `]` after a value. Anything else is broken structure, most often a string
 * cut short, whose quotes after it then pair the wrong way.
 */
const followsString = (code: number): boolean =>
  code === COLON || code === COMMA || code === CLOSE_BRACE || code === CLOSE_BRACKET || Number.isNaN(code);

/**
 * Where the first record starts after a value's `{` at `i` in `text`, when what comes before it is a log file's header
 * damaged by a few edits (`{""Records":[`, `{"Recrds":[`, `{"Records"[`), or the value starts like one and the first
 * record's start is damaged too; -1 otherwise. A lone record starts at `i` itself, another shape's value does not
 * start with a header-like text.
 */
const damagedHeaderEnd = (text: string, i: number): number => {
  RECORD_START.lastIndex = i + 1;
  const found = RECORD_START.exec(text);
  if (found === null) return -1;
  if (found.index - i <= DAMAGED_HEADER_CHARS) {
    const before = text.slice(i, found.index).replace(/\s+/g, '');
    if (editDistance(before, HEADER_TEXT, HEADER_EDITS) <= HEADER_EDITS) return found.index;
  }
  // The header and the first record's start both damaged (`{"Records"entVersion":…`): the value starts like a log
  // file, and is read from its next record start, the first record lost with its start.
  const start = text
    .slice(i, i + DAMAGED_HEADER_CHARS)
    .replace(/\s+/g, '')
    .slice(0, HEADER_TEXT.length);
  return editDistance(start, HEADER_TEXT, HEADER_EDITS) <= HEADER_EDITS ? found.index : -1;
};

/** How many newlines `text[from, to)` holds. */
const newlinesIn = (text: string, from: number, to: number): number => {
  let count = 0;
  for (let at = text.indexOf('\n', from); at !== -1 && at < to; at = text.indexOf('\n', at + 1)) count++;
  return count;
};

/** The limits the scanner checks (see limits.ts). */
interface ScanLimits {
  readonly maxDepth: number;
  readonly maxStringBytes: number;
  readonly maxRecords: number;
}

/**
 * What became of one record (or other value):
 * - `skip`: a record none of whose string values passes the pre-filter, in a place where it can only be one record
 *   (an element of `Records`; elsewhere an object whose first key is eventVersion or version), that reads as a
 *   record or event: it needs no parsing.
 * - `parse`: its text is to be parsed (a string passes, there is no pre-filter, or it may be something else).
 * - `deep`: nested deeper than maxDepth. - `long`: holds a string longer than maxStringBytes. Neither is held.
 * - `big`: an element of `Records` or of an array longer than limits.ts maxRecordChars: not held past it, never
 *   parsed.
 * - `broken`: an element of `Records` or of an array whose structure is broken (a stray or mismatched bracket, a
 *   string cut short, the text ending inside it); `message` says what and where. Reading goes on at the next record
 *   start found after it (RESYNC).
 */
type Verdict = 'skip' | 'parse' | 'deep' | 'long' | 'big' | 'broken';

/** Where a record sits: an element of `Records`, an element of a top-level array, or a top-level value itself. */
type Container = 'Records' | 'array' | 'value';

interface ScannedEntry {
  /**
   * Where it sits; `members`: the members beside a log file's `Records` (none in a log file CloudTrail writes), as an
   * object of their own: a record given a `Records` member (`{"Records":[],"eventName":…}`) is read as a record.
   */
  readonly container: Container | 'members';
  /** Index in `Records` or the array; 0 for a value. */
  readonly index: number;
  /** Which top-level value of the text holds it, from 1. */
  readonly value: number;
  /** The line (from 1) on which that value starts. */
  readonly valueLine: number;
  /** Which of the values starting on that line it is, from 1. */
  readonly valueOnLine: number;
  /** Whether the value before ended on the line this value starts on. */
  readonly sharesLine: boolean;
  readonly verdict: Verdict;
  /** The JSON text, for verdict `parse`. */
  readonly text?: string;
  /** What is broken and on which line, for verdict `broken`. */
  readonly message?: string;
}

/**
 * Why the scanner stopped before the end of the text:
 * - `shape`: the first value is not a `{"Records":[…]}` log file nor an array (or, in value mode, not one value).
 * - `trailing`: more text follows the first value (values are scanned on only with `multiValue`).
 * - `syntax`: the structure is broken (a stray or mismatched bracket, text ending inside a value), at `line`.
 * - `records`: a value would be past maxRecords.
 */
type ScanStop =
  | { readonly kind: 'shape' | 'trailing' | 'records' }
  | { readonly kind: 'syntax'; readonly message: string };

interface ScannerOptions {
  /** The catalog's pre-filter; without one no record is skipped. */
  prefilter?: StringPrefilter | undefined;
  limits: ScanLimits;
  /** Called for each record or value, in order. */
  emit: (entry: ScannedEntry) => void;
  /** 'file' (default): a whole input. 'value': the text is one JSON value (a line), scanned as a `value` entry. */
  mode?: 'file' | 'value';
}

/** `resync`: after a broken element, looking for the next record start (RESYNC_RECORDS, RESYNC_ARRAY). */
type State = 'start' | 'elements' | 'element' | 'afterRecords' | 'members' | 'between' | 'resync' | 'stopped';
/** What ends the element being scanned: a `,` or the container's close at depth 0, its own close, a `}` at depth 0. */
type EndAt = 'separator' | 'close' | 'object';

/** The decoded value of a JSON string's content (between its quotes) that holds escapes; undefined when invalid. */
const decodeString = (content: string): string | undefined => {
  try {
    return JSON.parse(`"${content}"`) as string;
  } catch {
    return undefined;
  }
};

/**
 * The scanner: `push` the text in pieces (a record may span pieces), then `end`. Entries are emitted as their
 * records end; `stop` says why scanning ended early, if it did. Holds only the record being read (its text, unless
 * it broke a limit) and at most HEADER_LOOKAHEAD characters of look-ahead.
 *
 * @example
 * import { DEFAULT_LIMITS } from './limits.js';
 *
 * const entries: ScannedEntry[] = [];
 * const scanner = new RecordScanner({ limits: DEFAULT_LIMITS, emit: (entry) => entries.push(entry) });
 * scanner.push('{"Records":[{"eventName":"A"},');
 * scanner.push('{"eventName":"B"}]}');
 * scanner.end();
 * // entries: two `Records` entries, index 0 and 1, verdict 'parse', text '{"eventName":"A"}' and '{"eventName":"B"}'
 */
class RecordScanner {
  /** With it, values after the first are scanned too (each a log file, an array or one value); else `trailing`. */
  public multiValue = false;
  public stop: ScanStop | undefined;
  /** The current line, from 1. */
  public line = 1;
  /** Records and values emitted (or stopped at). */
  public entries = 0;
  /** Where the next entry will be (for an error at the point scanning stopped): its container and index. */
  public container: Container = 'value';
  public index = 0;
  /** The top-level value being read, from 1 (0 before the first). */
  public value = 0;
  /** Whether an element of `Records` or an array was emitted, and whether one of them was `broken`. */
  public readRecords = false;
  public brokeRecords = false;

  private readonly prefilter: StringPrefilter | undefined;
  private readonly limits: ScanLimits;
  private readonly emitEntry: (entry: ScannedEntry) => void;
  private readonly valueMode: boolean;
  private state: State = 'start';
  private first = true;
  private carry = '';
  /** This scan is of the last text: nothing more will come to look ahead into. */
  private final = false;
  /** Where, in the piece being scanned, the text to carry over to the next piece starts (-1: none). */
  private carryFrom = -1;
  /** After `[` or `,` in a container: an element must come (after `,`) or may come (after `[`). */
  private needElement = false;
  private afterOpen = false;
  /** The line on which the current (or last) top-level value starts. */
  public valueLine = 1;
  /** Which of the values starting on that line it is, from 1. */
  public valueOnLine = 0;
  /** Whether the value before it ended on that line. */
  public sharesLine = false;
  /** The line on which the last top-level value ended. */
  public valueEndLine = 0;

  // The element being scanned.
  private endAt: EndAt = 'separator';
  private depth = 0;
  private readonly stack: Uint8Array;
  private inString = false;
  private escaped = false;
  private stringLength = 0;
  private stringPieces: string[] | undefined;
  private stringEscapes = false;
  private stringEscapesSoFar = false;
  private passed = false;
  private breachKind: 'deep' | 'long' | undefined;
  private isObject = false;
  private keyPending = false;
  private recordKey = false;
  /** The record's fields noted so far (NAME, SOURCE…), and what a string value coming next would note. */
  private fields = 0;
  private lastKey = 0;
  /** Inside the record's `detail` object (depth 2 then). */
  private inDetail = false;
  private holding = true;
  private pieces: string[] = [];
  private elementStart = -1;
  /** The line on which the text from elementStart (or, past a piece not held, the piece) starts. */
  private elementLine = 1;
  private nextBackslash = -1;
  /** After a broken element: the text to scan on from (the next record start), replacing the rest of the piece. */
  private resume: string | undefined;
  /** For a string running into the next piece: significantBefore its opening quote, for keyProblem and valueProblem. */
  private beforeString = -1;
  /** The last character of the pieces before this one that is not whitespace (-1: none yet), for significantBefore. */
  private lastOfPieces = -1;
  /** The current top-level value had a broken element: text after it is read on from, not a stop. */
  private damagedValue = false;
  /** What marks the next record start after a broken element (RESYNC_RECORDS, RESYNC_ARRAY, RESYNC_EVENTS). */
  private resyncPattern = RESYNC_RECORDS;
  /** Characters of the input so far, and of text scanned again after broken elements (RESCAN_ALLOWANCE). */
  private scannedChars = 0;
  private rescanned = 0;
  /**
   * Characters of the element held in `pieces`, and the most it may hold (limits.ts maxRecordChars): longer, it is
   * reported (`big`) and no longer held, so that a record whose closing brace is missing never holds a huge file.
   */
  private heldChars = 0;
  /** The element ran past maxElementChars: its verdict is `big`. */
  private tooBig = false;
  private readonly maxElementChars: number;

  public constructor(options: ScannerOptions) {
    this.prefilter = options.prefilter;
    this.limits = options.limits;
    this.emitEntry = (entry) => {
      if (entry.container === 'Records' || entry.container === 'array') this.readRecords = true;
      options.emit(entry);
    };
    this.valueMode = options.mode === 'value';
    this.stack = new Uint8Array(Math.min(options.limits.maxDepth, 1 << 16) + 2);
    this.maxElementChars = maxRecordChars(options.limits);
  }

  /** Scans the next piece of text. */
  public push(piece: string): void {
    if (this.state === 'stopped') return;
    this.scannedChars += piece.length;
    let text = piece;
    if (this.carry !== '') {
      text = this.carry + text;
      this.carry = '';
    }
    if (this.first && text !== '') {
      this.first = false;
      if (text.charCodeAt(0) === BOM) text = text.slice(1);
    }
    this.scan(text, false);
  }

  /**
   * Ends the text. A file cut short inside `Records` or an array (inside a record, or between records) ends with a
   * `broken` entry, the records before it standing, and any whole record the cut one's text holds is read; another
   * value still open is a syntax error.
   */
  public end(): void {
    if (this.state === 'stopped') return;
    if (this.carry !== '') {
      const text = this.carry;
      this.carry = '';
      this.scan(text, true);
    }
    this.final = true;
    while (this.state === 'element') {
      if (this.container !== 'value')
        this.broken('this record never closes (a string cut short or a bracket missing)', '', 0, true);
      else if (this.logFileFollows(''))
        // A value that never closes among log files one after another swallowed the next: read on at it.
        this.broken('this value never closes (a string cut short or a bracket missing)', '', 0, true, RESYNC_DOCS);
      else break;
      this.scan('', true);
    }
    if (this.stopped) return;
    if ((this.state === 'elements' || this.state === 'afterRecords') && this.container !== 'value') {
      const what = this.container === 'Records' ? 'the log file' : 'the array';
      this.broken(`the text ends before ${what} closes`, '', 0, false);
      this.state = 'between';
      return;
    }
    if (this.state === 'start' && this.value === 0 && !this.valueMode) {
      // Nothing but whitespace: not a shape of ours (the caller reads it as before: no items).
      this.halt({ kind: 'shape' });
      return;
    }
    if (this.state !== 'between' && this.state !== 'start') {
      this.halt({ kind: 'syntax', message: 'the text ends inside a JSON value' });
    } else if (this.valueMode && this.value === 0) {
      this.halt({ kind: 'shape' });
    }
  }

  /**
   * The element being read, or with `element` false the separator expected at `from` in `text`, is broken
   * (`message`): a `broken` entry at its position (the element's index is used up; a separator's is not). Scanning
   * goes on at the next record start (RESYNC_RECORDS, RESYNC_ARRAY) after the element's start, in what is held of
   * it and `text` from `from`: this.resume is the text from there; found nowhere yet, the search goes on in the
   * pieces to come (state `resync`). `scannedTo`: how far `text` was scanned (where the damage showed), so that only
   * text read again counts against RESCAN_ALLOWANCE.
   */
  private broken(
    message: string,
    text: string,
    from: number,
    element: boolean,
    pattern?: RegExp,
    scannedTo: number = from,
  ): void {
    const { container, index, value, valueLine, valueOnLine, sharesLine } = this;
    this.damagedValue = true;
    this.brokeRecords = true;
    this.entries++;
    this.emitEntry({
      container,
      index,
      value,
      valueLine,
      valueOnLine,
      sharesLine,
      verdict: 'broken',
      message: `${message}; reading goes on at the next record`,
    });
    let search = text.slice(from);
    /** Characters of `search` scanned already: those read again from the next record start count as rescanned. */
    let scanned = Math.max(0, scannedTo - from);
    if (element) {
      this.index++;
      if (this.holding && this.pieces.length > 0) {
        const held = this.pieces.join('');
        search = held + search;
        scanned += held.length;
      }
      this.line = this.elementLine;
    }
    this.pieces = [];
    this.heldChars = 0;
    this.stringPieces = undefined;
    this.inString = false;
    this.state = 'resync';
    this.resyncPattern =
      pattern ??
      (this.container === 'Records' ? RESYNC_RECORDS : EVENT_START.test(search) ? RESYNC_EVENTS : RESYNC_ARRAY);
    // Not the broken element's own start: the search begins past its first character.
    const at = this.resync(search, element ? 1 : 0);
    if (at < 0) return;
    this.rescanned += Math.max(0, scanned - at);
    if (this.rescanned > RESCAN_ALLOWANCE + this.scannedChars) {
      this.halt({ kind: 'syntax', message: `broken structure again and again, the last on line ${this.line}` });
      return;
    }
    this.resume = search.slice(at);
  }

  /**
   * In state `resync`: the next record start in `text` from `from` (this.line is the line `text` starts on), where
   * the state becomes `elements` (a record of the same container) or `between` (a log file of its own); its index,
   * or -1 when `text` holds none (its last RESYNC_CARRY characters are carried over to the next piece; at the end of
   * the last text, the value is over: `between`).
   */
  private resync(text: string, from: number): number {
    const pattern = this.resyncPattern;
    pattern.lastIndex = from;
    const found = pattern.exec(text);
    if (found !== null) {
      this.line += newlinesIn(text, 0, found.index);
      if (found[0].endsWith('[')) {
        this.valueEndLine = this.line;
        this.state = 'between';
      } else {
        this.state = 'elements';
        this.needElement = true;
        this.afterOpen = false;
      }
      return found.index;
    }
    const cut = this.final ? text.length : Math.max(from, text.length - RESYNC_CARRY);
    this.line += newlinesIn(text, 0, cut);
    this.carry = text.slice(cut);
    if (this.final) this.state = 'between';
    return -1;
  }

  /** Whether the last top-level value read has ended, and only whitespace has followed it. */
  public get betweenValues(): boolean {
    return this.state === 'between';
  }

  /** Whether the scan is over (stopped early, or ended). */
  public get stopped(): boolean {
    return this.state === 'stopped';
  }

  private halt(stop: ScanStop): void {
    this.stop = stop;
    this.state = 'stopped';
    this.pieces = [];
    this.stringPieces = undefined;
  }

  private scan(piece: string, final: boolean): void {
    let text = piece;
    let n = text.length;
    this.final = final;
    this.nextBackslash = -1;
    let i = 0;
    for (;;) {
      if (this.resume !== undefined) {
        // After a broken element: the rest of the piece is the text from the next record start.
        text = this.resume;
        this.resume = undefined;
        n = text.length;
        i = 0;
        this.nextBackslash = -1;
      }
      if (i >= n) break;
      switch (this.state) {
        case 'start':
        case 'between': {
          const code = text.charCodeAt(i);
          if (isSpace(code)) {
            if (code === NEWLINE) this.line++;
            i++;
            continue;
          }
          if (
            this.state === 'between' &&
            (this.damagedValue || (this.logFilesInRow && this.container === 'Records')) &&
            code !== OPEN_BRACE &&
            code !== OPEN_BRACKET
          ) {
            // Text after a log file that was broken (its damage closed it early: a `]}` inside a broken record), or
            // junk between log files one after another (a damaged gzip member's text): reading goes on at the next.
            this.broken(`unexpected "${text[i]}" on line ${this.line}`, text, i, false);
            i = n;
            continue;
          }
          if (this.state === 'between' && !this.logFilesInRow) {
            this.halt({ kind: 'trailing' });
            return;
          }
          const next = this.startValue(text, i, final);
          if (next < 0) return;
          i = next;
          continue;
        }
        case 'elements': {
          const code = text.charCodeAt(i);
          if (isSpace(code)) {
            if (code === NEWLINE) this.line++;
            i++;
            continue;
          }
          if (code === CLOSE_BRACKET && !this.needElement) {
            i++;
            this.closeContainer();
            continue;
          }
          if (code === COMMA && !this.needElement && !this.afterOpen) {
            this.needElement = true;
            i++;
            continue;
          }
          if (
            code === COMMA ||
            code === CLOSE_BRACKET ||
            code === CLOSE_BRACE ||
            (!this.needElement && !this.afterOpen)
          ) {
            const message =
              !this.needElement && !this.afterOpen && (code === OPEN_BRACE || code === OPEN_BRACKET || code === QUOTE)
                ? `no "," between records on line ${this.line}`
                : `unexpected "${text[i]}" in an array on line ${this.line}`;
            if (this.container === 'value') {
              this.halt({ kind: 'syntax', message });
              return;
            }
            this.broken(message, text, i, false);
            i = n;
            continue;
          }
          if (this.container === 'Records' && code === OPEN_BRACE && this.logFilesInRow) {
            RECORDS_HEADER.lastIndex = i;
            if (RECORDS_HEADER.test(text)) {
              // A log file where a record should be: the one being read was cut short (a damaged gzip member, a file
              // cut before `cat` wrote the next). It ends here, and the next is read.
              this.broken(
                `a log file starts on line ${this.line} where a record should: the one before it is cut short`,
                text,
                i,
                false,
                RESYNC_DOCS,
              );
              i = n;
              continue;
            }
            if (!final && RECORDS_HEADER_START.test(text.slice(i, i + HEADER_LOOKAHEAD))) {
              // The piece ends in what may be a log file's opening: wait for the next piece to tell.
              this.carry = text.slice(i);
              return;
            }
          }
          if (this.entries >= this.limits.maxRecords) {
            this.halt({ kind: 'records' });
            return;
          }
          this.beginElement(text, i, 'separator');
          continue;
        }
        case 'afterRecords': {
          const code = text.charCodeAt(i);
          if (isSpace(code)) {
            if (code === NEWLINE) this.line++;
            i++;
            continue;
          }
          if (code === CLOSE_BRACE) {
            i++;
            this.endValue();
            continue;
          }
          if (code === COMMA) {
            // A second Records array (JSON.parse would keep only it, hiding the first): its records are read too.
            RECORDS_AGAIN.lastIndex = i + 1;
            if (RECORDS_AGAIN.test(text)) {
              this.line += newlinesIn(text, i, RECORDS_AGAIN.lastIndex);
              i = RECORDS_AGAIN.lastIndex;
              this.openContainer('Records');
              continue;
            }
            if (!final && n - i < HEADER_LOOKAHEAD) {
              // Too little text to tell: wait for the next piece.
              this.carry = text.slice(i);
              return;
            }
            // Members after Records (none in a CloudTrail log file): read up to the object's close (finishElement).
            i++;
            this.beginElement(text, i, 'object');
            this.state = 'members';
            continue;
          }
          // Damage after the array: the records before stand, and reading goes on at the next record start (the next
          // log file, when files were concatenated and one was cut short just before its closing brace).
          this.broken(`unexpected "${text[i]}" after Records on line ${this.line}`, text, i, false);
          i = n;
          continue;
        }
        case 'element':
        case 'members': {
          i = this.scanElement(text, i, n);
          continue;
        }
        case 'resync': {
          const at = this.resync(text, i);
          if (at < 0) return;
          i = at;
          continue;
        }
        case 'stopped':
          return;
      }
    }
    // The piece ends inside an element: keep its text (up to what is carried over to the next piece).
    if ((this.state === 'element' || this.state === 'members') && this.elementStart >= 0) {
      const end = this.carryFrom >= 0 ? this.carryFrom : n;
      for (let at = end - 1; at >= 0; at--) {
        const code = text.charCodeAt(at);
        if (!isSpace(code)) {
          this.lastOfPieces = code;
          break;
        }
      }
      if (this.holding && end > this.elementStart) {
        this.pieces.push(text.slice(this.elementStart, end));
        this.heldChars += end - this.elementStart;
      }
      if (this.carryFrom >= 0) this.carry = text.slice(this.carryFrom);
      this.carryFrom = -1;
      this.elementStart = 0;
      if (!this.holding) this.elementLine = this.line;
      if (this.heldChars > this.maxElementChars && this.container !== 'value') {
        // Far longer than any record AWS writes: reported (`big`), no longer held, and never searched for records,
        // which a valid record's nested objects could fake.
        this.tooBig = true;
        this.holding = false;
        this.pieces = [];
        this.heldChars = 0;
        this.elementLine = this.line;
      }
    }
  }

  /** A top-level value begins at `i`: a log file, an array, or (after the first, or in value mode) any object or array. */
  private startValue(text: string, i: number, final: boolean): number {
    const code = text.charCodeAt(i);
    const first = this.value === 0;
    if (!this.valueMode && code === OPEN_BRACE) {
      RECORDS_HEADER.lastIndex = i;
      const header = RECORDS_HEADER.test(text);
      if (!header && !final && text.length - i < HEADER_LOOKAHEAD) {
        // Too little text to tell: wait for the next piece.
        this.carry = text.slice(i);
        return -1;
      }
      if (header) {
        const end = RECORDS_HEADER.lastIndex;
        this.openValue();
        for (let at = i; at < end; at++) if (text.charCodeAt(at) === NEWLINE) this.line++;
        this.openContainer('Records');
        return end;
      }
      RECORDS_WITHOUT_ARRAY.lastIndex = i;
      if (RECORDS_WITHOUT_ARRAY.test(text)) {
        // A log file whose `[` is lost: its records are read from the first (as after any damage), and its `]}`
        // closes it.
        const end = RECORDS_WITHOUT_ARRAY.lastIndex;
        this.openValue();
        this.line += newlinesIn(text, i, end);
        this.openContainer('Records');
        this.broken(`"[" missing after "Records" on line ${this.line}`, text, end, false);
        return this.state === 'stopped' ? -1 : text.length;
      }
    }
    // A `{` or a header's first characters lost are damage too (`"Records":[{…`).
    if (!this.valueMode && code !== OPEN_BRACKET) {
      const recordAt = damagedHeaderEnd(text, i);
      if (recordAt >= 0) {
        // A log file whose header is damaged (a byte lost, added or changed): its records are read from the first.
        this.openValue();
        const line = this.line;
        this.line += newlinesIn(text, i, recordAt);
        this.openContainer('Records');
        this.broken(`a damaged "{"Records":[" on line ${line}`, text, recordAt, false);
        return this.state === 'stopped' ? -1 : text.length;
      }
      if (code !== OPEN_BRACE && !final && text.length - i < HEADER_LOOKAHEAD) {
        // Too little text to tell: wait for the next piece.
        this.carry = text.slice(i);
        return -1;
      }
    }
    if (!this.valueMode && code === OPEN_BRACKET) {
      this.openValue();
      this.openContainer('array');
      return i + 1;
    }
    if ((first && !this.valueMode) || (code !== OPEN_BRACE && code !== OPEN_BRACKET)) {
      this.halt(
        first ? { kind: 'shape' } : { kind: 'syntax', message: `unexpected "${text[i]}" on line ${this.line}` },
      );
      return -1;
    }
    if (this.entries >= this.limits.maxRecords) {
      this.halt({ kind: 'records' });
      return -1;
    }
    this.openValue();
    this.container = 'value';
    this.index = 0;
    this.beginElement(text, i, 'close');
    return i;
  }

  private openValue(): void {
    this.damagedValue = false;
    this.value++;
    this.sharesLine = this.valueEndLine === this.line;
    this.valueOnLine = this.valueLine === this.line && this.value > 1 ? this.valueOnLine + 1 : 1;
    this.valueLine = this.line;
  }

  private openContainer(container: 'Records' | 'array'): void {
    this.container = container;
    this.index = 0;
    this.state = 'elements';
    this.needElement = false;
    this.afterOpen = true;
  }

  private closeContainer(): void {
    if (this.container === 'Records') this.state = 'afterRecords';
    else this.endValue();
  }

  private endValue(): void {
    this.valueEndLine = this.line;
    this.state = 'between';
  }

  private beginElement(text: string, i: number, endAt: EndAt): void {
    this.state = 'element';
    this.endAt = endAt;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.passed = this.prefilter === undefined;
    this.breachKind = undefined;
    const code = text.charCodeAt(i);
    this.isObject = code === OPEN_BRACE;
    this.keyPending = this.isObject;
    this.recordKey = false;
    this.fields = 0;
    this.lastKey = 0;
    this.inDetail = false;
    this.holding = true;
    if (this.pieces.length > 0) this.pieces = [];
    this.heldChars = 0;
    this.tooBig = false;
    this.elementStart = i;
    this.elementLine = this.line;
    this.afterOpen = false;
    this.needElement = false;
  }

  private finishElement(text: string, end: number): void {
    if (this.state === 'members') {
      this.finishMembers(text, end);
      return;
    }
    const verdict: Verdict =
      this.breachKind ??
      (this.tooBig
        ? 'big'
        : !this.passed &&
            this.isObject &&
            (this.container === 'Records' || this.recordKey) &&
            readsAsRecord(this.fields)
          ? 'skip'
          : 'parse');
    let entryText: string | undefined;
    if (verdict === 'parse') {
      const tail = text.slice(this.elementStart, end);
      entryText = this.pieces.length === 0 ? tail : this.pieces.join('') + tail;
    }
    if (this.pieces.length > 0) this.pieces = [];
    this.entries++;
    const { container, index, value, valueLine, valueOnLine, sharesLine } = this;
    this.emitEntry(
      entryText === undefined
        ? { container, index, value, valueLine, valueOnLine, sharesLine, verdict }
        : { container, index, value, valueLine, valueOnLine, sharesLine, verdict, text: entryText },
    );
    this.index++;
    if (this.endAt === 'close') this.endValue();
    else this.state = 'elements';
  }

  /**
   * The members beside Records end at `end` (the object's `}`): emitted as an object of their own (`members`), for
   * fromEntry to read as a record or as what an AWS tool writes (whose records may be encoded, out of the pre-filter's
   * sight), whatever the pre-filter says. No log file CloudTrail writes has any, so this costs nothing in the usual case.
   */
  private finishMembers(text: string, end: number): void {
    const verdict: Verdict = this.breachKind ?? (this.tooBig ? 'big' : 'parse');
    const { index, value, valueLine, valueOnLine, sharesLine } = this;
    const members = verdict === 'parse' ? `{${this.pieces.join('')}${text.slice(this.elementStart, end + 1)}` : '';
    this.emitEntry({
      container: 'members',
      index,
      value,
      valueLine,
      valueOnLine,
      sharesLine,
      verdict,
      ...(verdict === 'parse' ? { text: members } : {}),
    });
    this.pieces = [];
    this.endValue();
  }

  /** The limit the record or value being read (or last read) broke, if any. */
  public get breach(): 'deep' | 'long' | undefined {
    return this.breachKind;
  }

  /**
   * The element breaks a limit: it will be reported, not parsed. A string too long is no longer held (it may be
   * hundreds of MB); a record of `Records` or an array too deep still is, up to maxElementChars, so that if it turns
   * out broken too, reading goes on at the next record start inside what it swallowed. A top-level value is not.
   */
  private overLimit(kind: 'deep' | 'long'): void {
    if (this.breachKind === undefined) this.breachKind = kind;
    this.stringPieces = undefined;
    if (kind === 'deep' && this.container !== 'value') return;
    this.holding = false;
    this.pieces = [];
    this.heldChars = 0;
  }

  /** Where the string whose content starts at `from` closes in `text`, or -1; sets stringEscapes. */
  private closingQuote(text: string, from: number, low: number): number {
    let quote = text.indexOf('"', from);
    if (this.nextBackslash < from) this.nextBackslash = backslashFrom(text, from, NONE_AHEAD);
    if (this.nextBackslash >= (quote === -1 ? text.length : quote)) {
      this.stringEscapes = false;
      return quote;
    }
    this.stringEscapes = true;
    while (quote !== -1) {
      let backslashes = 0;
      for (let at = quote - 1; at >= low && text.charCodeAt(at) === BACKSLASH; at--) backslashes++;
      if (backslashes % 2 === 0) break;
      quote = text.indexOf('"', quote + 1);
    }
    return quote;
  }

  /**
   * A complete string of the element: its length, the record's first key, and for a value the pre-filter. Keys are
   * not tested: a pattern tests values only (the keys make its paths), so only a value can witness a match.
   */
  private onString(text: string, start: number, end: number, escapes: boolean, length: number, key: boolean): void {
    if (length > this.limits.maxStringBytes) {
      this.overLimit('long');
      return;
    }
    if (this.keyPending && this.depth === 1) {
      this.keyPending = false;
      if (!escapes && this.stringPieces === undefined) {
        this.recordKey =
          (length === 12 && text.startsWith('eventVersion', start)) ||
          (length === 7 && text.startsWith('version', start));
      } else if (length <= RECORD_KEY_CHARS) {
        const content = (this.stringPieces?.join('') ?? '') + text.slice(start, end);
        const name = escapes ? decodeString(content) : content;
        this.recordKey = name === 'eventVersion' || name === 'version';
      }
    }
    if (this.passed || this.breachKind !== undefined || key) {
      this.stringPieces = undefined;
      return;
    }
    const prefilter = this.prefilter as StringPrefilter;
    if (this.stringPieces !== undefined) {
      const content = this.stringPieces.join('') + text.slice(start, end);
      this.stringPieces = undefined;
      const decoded = escapes ? decodeString(content) : content;
      this.passed = decoded === undefined || prefilter.value(decoded);
    } else if (escapes) {
      const decoded = decodeString(text.slice(start, end));
      this.passed = decoded === undefined || prefilter.value(decoded);
    } else {
      this.passed = prefilter.raw(text, start, end);
    }
  }

  /** Notes a string at depth 1 (or 2 in the detail): a key names the field a string value next would note. */
  private noteField(text: string, start: number, end: number, escapes: boolean, key: boolean, depth: number): void {
    if (!key) {
      if (this.lastKey !== DETAIL_KEY) this.fields |= this.lastKey;
      this.lastKey = 0;
      return;
    }
    const length = end - start;
    if (!escapes) this.lastKey = keyField(text, start, length, depth === 2);
    else {
      const name = length <= RECORD_KEY_CHARS ? decodeString(text.slice(start, end)) : undefined;
      this.lastKey = name === undefined ? 0 : fieldOf(name, depth === 2);
    }
  }

  /**
   * The first character after a string that is not whitespace (a `:` makes it a key), NaN at the end of the last
   * text, or -1 at the end of a piece: the next piece must be seen.
   */
  private afterString(text: string, from: number, n: number): number {
    let at = from;
    while (at < n && isSpace(text.charCodeAt(at))) at++;
    if (at < n) return text.charCodeAt(at);
    return this.final ? Number.NaN : -1;
  }

  /**
   * What is wrong with `next` (afterString's) following a string at `depth`, or undefined: anything but `:` `,` `}`
   * `]` (followsString), or a key outside any object, which an element never holds.
   */
  private afterStringProblem(next: number, depth: number): string | undefined {
    if (!followsString(next)) return `unexpected text after a string on line ${this.line}`;
    if (next === COLON && depth === 0 && this.endAt !== 'object') return `unexpected key on line ${this.line}`;
    return undefined;
  }

  /**
   * The last character before `at` in `text` that is not whitespace, looking into the pieces before when `text` has
   * none there; -1 when nothing came before.
   */
  private significantBefore(text: string, at: number): number {
    let i = at - 1;
    while (i >= 0 && isSpace(text.charCodeAt(i))) i--;
    return i < 0 ? this.lastOfPieces : text.charCodeAt(i);
  }

  /** Whether keys, values, brackets and commas `depth` levels into the element are checked: inside it, within the stack. */
  private checkable(depth: number): boolean {
    return depth >= 1 && depth < this.stack.length && depth <= this.limits.maxDepth;
  }

  /**
   * What is wrong with a key (a string a `:` follows) `depth` levels into the element (1: the record's own keys), the
   * last character before its opening quote that is not whitespace being `before` (-1: unknown), or undefined. A key
   * belongs in an object, after its `{` or a `,`: one inside an array, or where a value should be (after a `:`), is
   * broken structure that pairing brackets alone would find only far away, if at all (a record cut short swallows
   * the records after it). Not checked deeper than the stack, or at the top level (the scanner's own checks).
   */
  private keyProblem(before: number, depth: number): string | undefined {
    if (!this.checkable(depth)) return undefined;
    if (this.stack[depth] !== OPEN_BRACE) return `unexpected key inside an array on line ${this.line}`;
    return before === OPEN_BRACE || before === COMMA || before === -1
      ? undefined
      : `unexpected key where a value should be on line ${this.line}`;
  }

  /**
   * What is wrong with a string value (one a `,`, `}` or `]` follows) `depth` levels into the element, `before` as
   * keyProblem's, or undefined: in an object it follows its key's `:`, in an array a `[` or `,`.
   * One where a key should be lets the object run on into the records after it. Not checked where keyProblem is not.
   */
  private valueProblem(before: number, depth: number): string | undefined {
    if (!this.checkable(depth) || before === -1) return undefined;
    if (this.stack[depth] === OPEN_BRACE) {
      return before === COLON ? undefined : `unexpected string where a key should be on line ${this.line}`;
    }
    return before === OPEN_BRACKET || before === COMMA
      ? undefined
      : `unexpected string after a value on line ${this.line}`;
  }

  /**
   * What is wrong with a `{` or `[` at `at` in `text`, inside the object or array `depth` levels into the element, or
   * undefined: inside an object it must be a member's value, after a `:`. A `{` where a key should be is most often
   * the next record's, the one before it cut short. Not checked where keyProblem is not.
   */
  private openProblem(text: string, at: number, depth: number): string | undefined {
    if (!this.checkable(depth)) return undefined;
    const before = this.significantBefore(text, at);
    if (this.stack[depth] === OPEN_BRACE) {
      return before === COLON || before === -1
        ? undefined
        : `unexpected "${text[at]}" where a key should be on line ${this.line}`;
    }
    return before === OPEN_BRACKET || before === COMMA || before === -1
      ? undefined
      : `unexpected "${text[at]}" after a value on line ${this.line}`;
  }

  /**
   * What is wrong with a `,` at `at` in `text`, `depth` levels into the element, or undefined: a comma follows a
   * value, never an opening bracket, a `:` or another comma (`[,{…}` would make the records after it elements of an
   * array the record opened). Not checked where keyProblem is not.
   */
  private commaProblem(text: string, at: number, depth: number): string | undefined {
    if (!this.checkable(depth)) return undefined;
    const before = this.significantBefore(text, at);
    return before === OPEN_BRACKET || before === OPEN_BRACE || before === COMMA || before === COLON
      ? `unexpected "," on line ${this.line}`
      : undefined;
  }

  /** Broken structure inside the element being read from `text`: a `broken` entry in Records or an array, else a stop. */
  private damaged(message: string, text: string, at: number): void {
    if (this.state === 'element' && this.container !== 'value')
      this.broken(message, text, this.elementStart, true, undefined, at);
    else if (this.state === 'element' && this.logFilesInRow)
      // A broken value among log files one after another (a damaged gzip member's text): read on at the next one,
      // which may come in a later piece (the next member); without one, the text is read to its end.
      this.broken(message, text, this.elementStart, true, RESYNC_DOCS, at);
    else if (this.state === 'members' && this.logFilesInRow)
      // Damage after what closed Records early (a damaged gzip member's text, most often): as above.
      this.broken(message, text, this.elementStart, false, RESYNC_DOCS, at);
    else this.halt({ kind: 'syntax', message });
  }

  /** Whether values are read one after another as log files are (`multiValue`, not `valueMode`). */
  private get logFilesInRow(): boolean {
    return this.multiValue && !this.valueMode;
  }

  /**
   * Whether, reading log files one after another, a log file starts in what is held of the broken top-level value and
   * `text`, after its first character: reading then goes on at it.
   */
  private logFileFollows(text: string): boolean {
    if (!this.logFilesInRow) return false;
    const search = (this.holding ? this.pieces.join('') : '') + text.slice(Math.max(0, this.elementStart));
    RESYNC_DOCS.lastIndex = 1;
    return RESYNC_DOCS.test(search);
  }

  /** Scans the element from `i`; returns where it stopped (the text's end, or just past the element). */
  private scanElement(text: string, from: number, n: number): number {
    let i = from;
    if (this.inString) {
      // A string begun in an earlier piece; an odd run of backslashes ending it escapes this piece's first character.
      const low = this.escaped ? 1 : 0;
      const close = this.closingQuote(text, low, low);
      const escapes = this.stringEscapesSoFar || this.stringEscapes;
      if (close === -1) {
        this.continueString(text, 0, low, n, this.stringLength + n, escapes);
        return n;
      }
      const after = this.afterString(text, close + 1, n);
      if (after === -1) {
        // Whether it is a key shows only in the next piece: this one is scanned again with it.
        this.carryFrom = 0;
        return n;
      }
      // Its opening quote was in an earlier piece, which noted what came before it.
      const problem =
        this.afterStringProblem(after, this.depth) ??
        (after === COLON
          ? this.keyProblem(this.beforeString, this.depth)
          : this.valueProblem(this.beforeString, this.depth));
      if (problem !== undefined) {
        this.damaged(problem, text, close + 1);
        return n;
      }
      this.inString = false;
      if (!this.passed && this.breachKind === undefined && (this.depth === 1 || (this.inDetail && this.depth === 2))) {
        const content = (this.stringPieces?.join('') ?? '') + text.slice(0, close);
        this.noteField(content, 0, content.length, escapes, after === COLON, this.depth);
      }
      this.onString(text, 0, close, escapes, this.stringLength + close, after === COLON);
      i = close + 1;
    }
    // Small integers in the hot loop, as NONE_AHEAD (a limit may be set as high as 2^53 - 1, a double).
    const maxDepth = Math.min(this.limits.maxDepth, NONE_AHEAD);
    const maxString = Math.min(this.limits.maxStringBytes, NONE_AHEAD);
    const prefilter = this.prefilter as StringPrefilter;
    const stack = this.stack;
    const stackSize = stack.length;
    const endAt = this.endAt;
    // The hot loop keeps the element's state in locals, written back (save) before any call that reads it, read
    // again (load) after any call that may change it.
    let depth = this.depth;
    let nextBackslash = this.nextBackslash;
    let keyPending = this.keyPending;
    let passed = this.passed;
    let fields = this.fields;
    let lastKey = this.lastKey;
    let inDetail = this.inDetail;
    /** The record's fields and the pre-filter still matter: no string has passed and no limit is broken. */
    let watching = !passed && this.breachKind === undefined;
    for (; i < n; i++) {
      const code = text.charCodeAt(i);
      if (code === QUOTE) {
        const start = i + 1;
        const close = text.indexOf('"', start);
        if (nextBackslash < start) nextBackslash = backslashFrom(text, start, NONE_AHEAD);
        // The common case: the string closes in this piece, holds no backslash, is not too long, and a `:` (a key)
        // or `,` `}` `]` (a value) follows it at once.
        if (close !== -1 && close < nextBackslash && close - start <= maxString) {
          const next = text.charCodeAt(close + 1);
          if (next === COLON) {
            if (depth === 0 && endAt !== 'object') {
              // A key outside any object: a record's opening brace is missing, or an extra `}` closed it early.
              this.damaged(this.afterStringProblem(next, depth) as string, text, close + 1);
              return n;
            }
            const before = text.charCodeAt(i - 1);
            if (depth > 0 && ((before !== OPEN_BRACE && before !== COMMA) || stack[depth] !== OPEN_BRACE)) {
              const problem = this.keyProblem(this.significantBefore(text, i), depth);
              if (problem !== undefined) {
                this.depth = depth;
                this.damaged(problem, text, i);
                return n;
              }
            }
            if (keyPending && depth === 1) {
              // The record's first key: it says whether an object outside `Records` is one record.
              keyPending = false;
              const length = close - start;
              this.recordKey =
                (length === 12 && text.startsWith('eventVersion', start)) ||
                (length === 7 && text.startsWith('version', start));
            }
            if (watching && (depth === 1 || (depth === 2 && inDetail))) {
              lastKey = keyField(text, start, close - start, depth === 2);
            }
            i = close + 1;
            continue;
          }
          if ((next === COMMA || next === CLOSE_BRACE || next === CLOSE_BRACKET) && !keyPending) {
            const before = text.charCodeAt(i - 1);
            if (
              depth > 0 &&
              (stack[depth] === OPEN_BRACE ? before !== COLON : before !== OPEN_BRACKET && before !== COMMA)
            ) {
              const problem = this.valueProblem(this.significantBefore(text, i), depth);
              if (problem !== undefined) {
                this.depth = depth;
                this.damaged(problem, text, i);
                return n;
              }
            }
            if (watching) {
              if (depth === 1 || (depth === 2 && inDetail)) {
                if (lastKey !== DETAIL_KEY) fields |= lastKey;
                lastKey = 0;
              }
              if (prefilter.raw(text, start, close)) {
                passed = true;
                watching = false;
              }
            }
            // A `,` inside the element needs nothing: it is passed over with the string.
            i = next === COMMA && depth > 0 ? close + 1 : close;
            continue;
          }
        }
        // Anything else: the general way, on the state in `this`.
        this.depth = depth;
        this.nextBackslash = nextBackslash;
        this.keyPending = keyPending;
        this.passed = passed;
        this.fields = fields;
        this.lastKey = lastKey;
        this.inDetail = inDetail;
        const end = this.generalString(text, i, n);
        if (end < 0) return n;
        nextBackslash = this.nextBackslash;
        keyPending = this.keyPending;
        passed = this.passed;
        fields = this.fields;
        lastKey = this.lastKey;
        watching = !passed && this.breachKind === undefined;
        i = end;
      } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
        const before = text.charCodeAt(i - 1);
        // What is sure to be right goes without a call: after a `:`, or in an array after `[` or `,`.
        if (
          depth > 0 &&
          before !== COLON &&
          (stack[depth] === OPEN_BRACE || (before !== COMMA && before !== OPEN_BRACKET))
        ) {
          const problem = this.openProblem(text, i, depth);
          if (problem !== undefined) {
            this.depth = depth;
            this.damaged(problem, text, i);
            return n;
          }
        }
        if (depth === 1) {
          if (code === OPEN_BRACE && lastKey === DETAIL_KEY) {
            fields |= DETAIL_OBJECT;
            inDetail = true;
          }
          lastKey = 0;
        }
        depth++;
        if (depth > maxDepth) {
          if (this.breachKind !== 'deep') this.overLimit('deep');
          watching = false;
        } else if (depth < stackSize) stack[depth] = code;
      } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
        if (depth === 0) {
          this.depth = 0;
          this.nextBackslash = nextBackslash;
          this.keyPending = keyPending;
          this.passed = passed;
          this.fields = fields;
          this.lastKey = lastKey;
          this.inDetail = inDetail;
          if (endAt === 'separator' && code === CLOSE_BRACKET) {
            this.finishElement(text, i);
            this.closeContainer();
            return i + 1;
          }
          if (endAt === 'object' && code === CLOSE_BRACE) {
            this.finishElement(text, i);
            return i + 1;
          }
          this.damaged(`unexpected "${text[i]}" on line ${this.line}`, text, i);
          return n;
        }
        if (
          depth <= maxDepth &&
          depth < stackSize &&
          stack[depth] !== (code === CLOSE_BRACE ? OPEN_BRACE : OPEN_BRACKET)
        ) {
          this.damaged(`mismatched "${text[i]}" on line ${this.line}`, text, i);
          return n;
        }
        depth--;
        if (depth === 1) inDetail = false;
        if (depth === 0 && endAt !== 'object') {
          // The element's value is whole: what follows it (`,`, the array's `]`, or anything else, broken) is the
          // array's to read.
          this.depth = 0;
          this.nextBackslash = nextBackslash;
          this.keyPending = keyPending;
          this.passed = passed;
          this.fields = fields;
          this.lastKey = lastKey;
          this.inDetail = inDetail;
          this.finishElement(text, i + 1);
          return i + 1;
        }
      } else if (code === COMMA) {
        if (depth > 0) {
          const before = text.charCodeAt(i - 1);
          if (
            before === OPEN_BRACKET ||
            before === OPEN_BRACE ||
            before === COMMA ||
            before === COLON ||
            isSpace(before)
          ) {
            const problem = this.commaProblem(text, i, depth);
            if (problem !== undefined) {
              this.depth = depth;
              this.damaged(problem, text, i);
              return n;
            }
          }
        } else if (endAt === 'separator') {
          this.depth = 0;
          this.nextBackslash = nextBackslash;
          this.keyPending = keyPending;
          this.passed = passed;
          this.fields = fields;
          this.lastKey = lastKey;
          this.inDetail = inDetail;
          this.finishElement(text, i);
          this.needElement = true;
          return i + 1;
        }
      } else if (code === NEWLINE) {
        this.line++;
      }
    }
    this.depth = depth;
    this.nextBackslash = nextBackslash;
    this.keyPending = keyPending;
    this.passed = passed;
    this.fields = fields;
    this.lastKey = lastKey;
    this.inDetail = inDetail;
    return n;
  }

  /**
   * One string of the element, whose opening quote is at `i`, read the general way (on the state in `this`): one
   * with escapes, running past the piece, followed by whitespace, too long, or the record's first key. The index of
   * its closing quote, or -1 when the piece ends first (what is needed of it is then kept for the next piece).
   */
  private generalString(text: string, i: number, n: number): number {
    const start = i + 1;
    let close = text.indexOf('"', start);
    if (this.nextBackslash < start) this.nextBackslash = backslashFrom(text, start, NONE_AHEAD);
    let escapes = false;
    if (close === -1 || this.nextBackslash < close) {
      close = this.closingQuote(text, start, start);
      escapes = this.stringEscapes;
      if (close === -1) {
        this.stringPieces = undefined;
        this.beforeString = this.significantBefore(text, i);
        this.continueString(text, start, start, n, n - start, escapes);
        return -1;
      }
    }
    const length = close - start;
    let next = text.charCodeAt(close + 1);
    if (next !== COLON && next !== COMMA && next !== CLOSE_BRACE && next !== CLOSE_BRACKET) {
      next = this.afterString(text, close + 1, n);
      if (next === -1) {
        // Whether it is a key shows only in the next piece: the string is scanned again with it.
        this.carryFrom = i;
        return -1;
      }
    }
    // A string cut short turns the quotes after it inside out: text follows what reads as a string.
    const problem =
      this.afterStringProblem(next, this.depth) ??
      (next === COLON
        ? this.keyProblem(this.significantBefore(text, i), this.depth)
        : this.valueProblem(this.significantBefore(text, i), this.depth));
    if (problem !== undefined) {
      this.damaged(problem, text, close + 1);
      return -1;
    }
    const key = next === COLON;
    const depth = this.depth;
    if ((depth === 1 || (depth === 2 && this.inDetail)) && !this.passed && this.breachKind === undefined) {
      this.noteField(text, start, close, escapes, key, depth);
    }
    if (
      length > this.limits.maxStringBytes ||
      this.keyPending ||
      (!key && !this.passed && this.breachKind === undefined)
    ) {
      this.onString(text, start, close, escapes, length, key);
    }
    return close;
  }

  /**
   * The piece ends inside a string whose content in it is text[start, n), `length` characters in all so far; `low`
   * is where a run of backslashes may start (past a first character escaped by the piece before).
   */
  private continueString(text: string, start: number, low: number, n: number, length: number, escapes: boolean): void {
    this.inString = true;
    this.stringLength = length;
    this.stringEscapesSoFar = escapes;
    let backslashes = 0;
    for (let at = n - 1; at >= low && text.charCodeAt(at) === BACKSLASH; at--) backslashes++;
    this.escaped = backslashes % 2 === 1;
    if (length > this.limits.maxStringBytes) {
      this.overLimit('long');
      return;
    }
    if (!this.passed && this.breachKind === undefined) {
      if (this.stringPieces === undefined) this.stringPieces = [];
      this.stringPieces.push(text.slice(start, n));
    }
  }
}

/**
 * The verdict on one JSON value's text (a line of JSON Lines, a document): `skip` when it is one object whose first
 * key is eventVersion or version, that reads as a record or an EventBridge event, and none of whose string values
 * passes the pre-filter;
 * `deep` or `long` when it breaks those limits; else `parse` (also when it is not one well-formed value: JSON.parse
 * then says what is wrong).
 */
const valueVerdict = (text: string, prefilter: StringPrefilter | undefined, limits: ScanLimits): Verdict => {
  let verdict = 'parse' as Verdict;
  const scanner = new RecordScanner({
    prefilter,
    limits: { ...limits, maxRecords: Number.MAX_SAFE_INTEGER },
    mode: 'value',
    emit: (entry) => {
      verdict = entry.verdict;
    },
  });
  scanner.push(text);
  scanner.end();
  // Not one well-formed value (or more than one): JSON.parse says what is wrong, each value is screened on its own.
  if (scanner.stop !== undefined) return 'parse';
  return verdict;
};

export type { ScanLimits, ScannedEntry, ScanStop };
export { RecordScanner, valueVerdict };
