/*
 * JSON values one after another, as `jq` prints them and as `cat` of log files writes them: where
 * each value ends, told from strings and nesting alone, across pieces of text.
 */

/** The characters of JSON's structure, as char codes (RFC 8259 section 2); scan.ts reads them too. */
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** scanValues found no value ending in the text: the state carries over to the next text. */
const NONE = -1;
/** scanValues found, outside any value, a character that cannot start one: at `state.start`. */
const STRAY = -2;

interface ScanState {
  /** Nesting of objects and arrays: 0 between values. */
  depth: number;
  inString: boolean;
  /** The last text ended inside a string on an unpaired backslash: the next character is escaped. */
  escaped: boolean;
  /** In the text last scanned: where the value that is open began, or where the stray character is. */
  start: number;
}

const newScanState = (): ScanState => ({ depth: 0, inString: false, escaped: false, start: 0 });

const BACKSLASH_SEARCH = /\\/g;

/**
 * The index of the first backslash in `text` at or after `from`, or `none` when there is none. A regular-expression
 * search, not indexOf: the scanners call it only when the backslash they know of is behind them, and Node 20's
 * optimizing compiler moves a pure indexOf out of that condition, searching the rest of the text at every string (a
 * record of millions of keys then took minutes). A search that sets lastIndex has an effect, and stays where it is
 * written.
 */
const backslashFrom = (text: string, from: number, none: number): number => {
  BACKSLASH_SEARCH.lastIndex = from;
  return BACKSLASH_SEARCH.test(text) ? BACKSLASH_SEARCH.lastIndex - 1 : none;
};

/** JSON's whitespace (RFC 8259 section 2): space, line feed, carriage return, tab. */
/**
 * Whether the JSON text `text` holds more than `max` values (members and elements at any depth): `max` or more commas
 * outside its strings, each separating two of them (a text of values that holds no comma is counted as one). At least
 * two characters a value, a text of up to 2 × `max` characters cannot; longer ones are counted, stopping at `max`.
 * Escapes in strings are followed (`\"` does not end one). Linear.
 */
const valuesOver = (text: string, max: number): boolean => {
  if (text.length <= 2 * max) return false;
  const next = /[",]/g;
  let commas = 0;
  for (let found = next.exec(text); found !== null; found = next.exec(text)) {
    if (text.charCodeAt(found.index) === 0x2c) {
      if (++commas >= max) return true;
      continue;
    }
    const close = stringEnd(newScanState(), text, found.index + 1);
    if (close === NONE) return false;
    next.lastIndex = close + 1;
  }
  return false;
};

const isSpace = (code: number): boolean => code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;

/**
 * The index of the quote that closes the string whose text starts at `from`, or NONE when the text
 * ends first (state.escaped then says whether it ended on an unpaired backslash). Strings are most
 * of a CloudTrail record: they are skipped with indexOf rather than character by character.
 */
const stringEnd = (state: ScanState, text: string, from: number): number => {
  let low = from;
  if (state.escaped) {
    if (low >= text.length) return NONE;
    state.escaped = false;
    low++;
  }
  for (let index = low; ; ) {
    const quote = text.indexOf('"', index);
    let backslashes = 0;
    const end = quote === NONE ? text.length : quote;
    for (let at = end - 1; at >= low && text.charCodeAt(at) === BACKSLASH; at--) backslashes++;
    if (quote === NONE) {
      state.escaped = backslashes % 2 === 1;
      return NONE;
    }
    if (backslashes % 2 === 0) return quote;
    index = quote + 1;
  }
};

/**
 * Scans `text` from `from`: the index just past the first top-level object or array that ends in
 * it, NONE when none does, or STRAY. A value that begins in this text begins at `state.start`.
 */
const scanValues = (state: ScanState, text: string, from: number): number => {
  let index = from;
  if (state.inString) {
    const end = stringEnd(state, text, index);
    if (end === NONE) return NONE;
    state.inString = false;
    index = end + 1;
  }
  let depth = state.depth;
  for (; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === QUOTE && depth > 0) {
      const end = stringEnd(state, text, index + 1);
      if (end === NONE) {
        state.inString = true;
        state.depth = depth;
        return NONE;
      }
      index = end;
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      if (depth === 0) state.start = index;
      depth++;
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      if (depth === 0) {
        state.start = index;
        return STRAY;
      }
      depth--;
      if (depth === 0) {
        state.depth = 0;
        return index + 1;
      }
    } else if (depth === 0 && !isSpace(code)) {
      state.start = index;
      return STRAY;
    }
  }
  state.depth = depth;
  return NONE;
};

/**
 * Splits a text into the JSON objects and arrays it holds one after another, each with the line it
 * starts on. An unterminated last value is returned as is, and so is the rest of the text from a
 * character that cannot start a value: JSON.parse says what is wrong with them.
 */
const splitValues = (text: string): { line: number; text: string }[] => {
  const state = newScanState();
  const values: { line: number; text: string }[] = [];
  let line = 1;
  let nextNewline = text.indexOf('\n');
  const lineAt = (index: number): number => {
    while (nextNewline !== NONE && nextNewline < index) {
      line++;
      nextNewline = text.indexOf('\n', nextNewline + 1);
    }
    return line;
  };
  for (let from = 0; ; ) {
    const end = scanValues(state, text, from);
    if (end === NONE) {
      if (state.depth > 0) values.push({ line: lineAt(state.start), text: text.slice(state.start) });
      return values;
    }
    if (end === STRAY) {
      values.push({ line: lineAt(state.start), text: text.slice(state.start) });
      return values;
    }
    values.push({ line: lineAt(state.start), text: text.slice(state.start, end) });
    from = end;
  }
};

/** One of the JSON values one line holds one after another. */
interface LineValue {
  /** Its JSON text ('' when `over`). */
  readonly text: string;
  /** Which value of its line, from 1. */
  readonly value: number;
  /** It ran past the most characters a value may hold (LineValues' `limit`), so its text was dropped as it came. */
  readonly over?: number;
}

/** The text after a character that cannot start a value, kept for the error that names it: its first MiB. */
const REST_KEPT_CHARS = 1024 * 1024;

/**
 * Splits one line into its JSON values as its text streams in, so that a long line of many log
 * files one after another (`cat *.json.gz`, whose files end without a newline) is never held whole.
 * Values are emitted once the line is known to hold several; `end` gives a line that held one
 * value (or none) back as plain text.
 */
class LineValues {
  private readonly state = newScanState();
  /** The text of the value being read, in pieces, and its length so far. */
  private current: string[] = [];
  private currentChars = 0;
  /** The most characters the value being read may hold (from `limit`), and whether it ran past them (not held). */
  private currentLimit = 0;
  private over = false;
  /** The line's first value, held until a second one shows that the line holds several. */
  private first: Omit<LineValue, 'value'> | undefined;
  private emitted = 0;
  /** After a character that cannot start a value: the rest of the line (its first REST_KEPT_CHARS). */
  private rest: string[] | undefined;
  private restChars = 0;

  /**
   * @param emit called with each value of a line that holds several, in order.
   * @param limit the most characters a value may hold, given its first characters (up to 1,024 of them): a longer
   *   one is dropped as it streams, and emitted as `over`.
   */
  public constructor(
    private readonly emit: (value: LineValue) => void,
    private readonly limit: (head: string) => number = () => Number.POSITIVE_INFINITY,
  ) {}

  public add(text: string): void {
    if (this.rest !== undefined) {
      if (this.restChars < REST_KEPT_CHARS) this.rest.push(text.slice(0, REST_KEPT_CHARS - this.restChars));
      this.restChars += text.length;
      return;
    }
    for (let from = 0; ; ) {
      // A value still open at the start of this text continues from its first character.
      if (this.state.depth > 0) this.state.start = from;
      const end = scanValues(this.state, text, from);
      if (end === NONE) {
        if (this.state.depth > 0) this.hold(text.slice(this.state.start));
        return;
      }
      if (end === STRAY) {
        this.rest = [text.slice(this.state.start, this.state.start + REST_KEPT_CHARS)];
        this.restChars = text.length - this.state.start;
        return;
      }
      this.hold(text.slice(this.state.start, end));
      if (this.over) this.take({ text: '', over: this.currentLimit });
      else this.take({ text: this.current.length === 1 ? (this.current[0] as string) : this.current.join('') });
      this.current = [];
      this.currentChars = 0;
      this.over = false;
      from = end;
    }
  }

  /** Holds a piece of the value being read, unless it has run past its limit (it is then no longer held). */
  private hold(piece: string): void {
    if (this.currentChars === 0) this.currentLimit = this.limit(piece.slice(0, 1024));
    this.currentChars += piece.length;
    if (this.over) return;
    if (this.currentChars > this.currentLimit) {
      this.over = true;
      this.current = [];
      return;
    }
    this.current.push(piece);
  }

  /** Ends the line: the line as plain text when it held one value or none; undefined when its values were emitted. */
  public end(): string | undefined {
    const open = this.state.depth > 0;
    // A value that never closes, past its limit: said as too long (it may be a value whose closing brace is lost).
    if (open && this.over) this.take({ text: '', over: this.currentLimit });
    const tail = open ? (this.over ? undefined : this.current.join('')) : this.rest?.join('');
    const first = this.first;
    if (this.emitted === 0 && (tail === undefined || first === undefined) && first?.over === undefined)
      return first?.text ?? tail ?? '';
    if (tail !== undefined) this.take({ text: tail });
    this.flushFirst();
    return undefined;
  }

  /**
   * Ends the line early, its input having failed: its complete values are emitted when it is known
   * to hold several (one complete and more begun), and the unfinished rest is dropped.
   */
  public abort(): void {
    if (this.emitted === 0 && (this.state.depth === 0 || this.first === undefined)) return;
    this.flushFirst();
  }

  private take(value: Omit<LineValue, 'value'>): void {
    if (this.emitted === 0 && this.first === undefined) {
      this.first = value;
      return;
    }
    this.flushFirst();
    this.emit({ ...value, value: ++this.emitted });
  }

  private flushFirst(): void {
    if (this.first === undefined) return;
    this.emit({ ...this.first, value: ++this.emitted });
    this.first = undefined;
  }
}

export type { LineValue };
export {
  BACKSLASH,
  backslashFrom,
  CLOSE_BRACE,
  CLOSE_BRACKET,
  COLON,
  COMMA,
  isSpace,
  LineValues,
  OPEN_BRACE,
  OPEN_BRACKET,
  QUOTE,
  splitValues,
  valuesOver,
};
