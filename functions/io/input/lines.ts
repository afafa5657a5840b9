import { groupDigits } from '../../core/render/text.js';
import { toError } from '../../errors.js';
import { fromSubscriptionData, isSubscriptionData } from './aws-tools.js';
import { describeFailure } from './bytes.js';
import { fromDocument } from './documents.js';
import {
  bigRecordMessage,
  formatBytes,
  type InputLimits,
  limitMessage,
  manyValuesMessage,
  maxRecordChars,
  maxRecordValues,
} from './limits.js';
import type { InputItem } from './read-input.js';
import { inputError, isObject } from './records.js';
import { RecordScanner, type ScanLimits, valueVerdict } from './scan.js';
import type { ReadContext } from './scanned.js';
import { JSON_LINES_FILE } from './sources.js';
import { type LineValue, LineValues, splitValues, valuesOver } from './values.js';

/*
 * The text of an input as lines and JSON values: JSON Lines, one JSON document, or values one after
 * another (several log files concatenated); each value handed to documents.ts.
 */

/** Lines of a file read whole are handed on in batches of about this many characters, as if streamed. */
const LINE_BATCH_CHARS = 64 * 1024;
/**
 * A file whose first line is not a JSON value on its own is read whole, as one (pretty-printed)
 * document. Past this many characters it is taken to be JSON Lines with a bad first line, or refused.
 */
const MAX_DOCUMENT_CHARS = 256 * 1024 * 1024;
/**
 * A streamed line longer than this that looks like JSON values one after another (`}{`, as `cat` of
 * log files that end without a newline writes them) is split into its values as it streams, so that
 * it is never held whole. Shorter lines are split only if they fail to parse as one value.
 */
const SPLIT_LINE_CHARS = 8 * 1024 * 1024;
/** Where one top-level JSON value ends and the next begins, without a newline between them. */
const VALUE_BOUNDARY = /[}\]]\s*[{[]/;
/**
 * A streamed line this long that cannot be JSON (its first character starts no JSON value nor base64 text: a gzip
 * bomb of zeros) or is blank so far is no longer held: only its first characters are kept, enough for the error that
 * names it. So memory stays flat until the decompressed size limit stops the file.
 */
const GARBAGE_PROBE_CHARS = 1024 * 1024;
const NEWLINE = 0x0a;
/** What a JSON value, or the base64 text of a subscription payload, may start with. */
const VALUE_START = /[{["\-0-9tfnA-Za-z+/=]/;

/** A log file's opening, `{"Records":[`, at the start of a line. */
const LOG_FILE_LINE = /^\s*\{\s*"Records"\s*:\s*\[/;

/**
 * A line dropped as it streamed, reported at its line: it broke the depth or string limit (`deep`, `long`), or it is
 * longer than a record may be (`big`: limits.ts maxRecordChars; `trailing`, when text that is not whitespace follows
 * its value) or, a log file on one line, than a document read whole (`huge`: MAX_DOCUMENT_CHARS).
 */
interface LineBreach {
  readonly breach: 'deep' | 'long' | 'big' | 'trailing' | 'huge';
}
/** Consecutive empty lines (`\n` only), counted rather than handed on one by one. */
interface EmptyLines {
  readonly empty: number;
}
type LineEntry = string | LineValue | LineBreach | EmptyLines;

/** JSON.parse's answer; `tooMany`: not parsed, holding more values than a record may (limits.ts maxRecordValues). */
type Parsed = { ok: true; value: unknown } | { ok: false; message: string; tooMany?: true };

const isBlank = (line: string): boolean => line.trim() === '';

/** Consecutive blank lines held while a file's shape is unsettled: how many, and their characters without newlines. */
interface BlankRun {
  lines: number;
  chars: number;
}

/**
 * The lines of a file held until its shape is settled, a run of blank lines kept as its count so that a file of
 * hundreds of millions of newlines (a gzip of a few hundred KB) costs one entry. `text()` gives back a text of the
 * same length and line breaks (blank lines' whitespace as spaces), so JSON.parse's positions stay true.
 */
class HeldLines {
  private entries: (string | BlankRun)[] = [];
  /** Characters held, newlines included. */
  public chars = 0;

  public push(line: string): void {
    this.chars += line.length + 1;
    if (!isBlank(line)) {
      this.entries.push(line);
      return;
    }
    const last = this.entries.at(-1);
    if (typeof last === 'object') {
      last.lines++;
      last.chars += line.length;
    } else this.entries.push({ lines: 1, chars: line.length });
  }

  /** Holds `count` empty lines. */
  public pushEmpty(count: number): void {
    this.chars += count;
    const last = this.entries.at(-1);
    if (typeof last === 'object') last.lines += count;
    else this.entries.push({ lines: count, chars: 0 });
  }

  /** Appends `text` to the last line held (a value rejoined with the values before it on its line). */
  public extendLast(text: string): void {
    const last = this.entries.length - 1;
    const line = this.entries[last];
    if (typeof line !== 'string') {
      this.push(text);
      return;
    }
    this.entries[last] = line + text;
    this.chars += text.length;
  }

  /** Calls `each` with every non-blank line held and its line number (the first held is line 1). */
  public forEachLine(each: (line: string, number: number) => void): void {
    let number = 0;
    for (const entry of this.entries) {
      if (typeof entry === 'string') each(entry, ++number);
      else number += entry.lines;
    }
  }

  public text(): string {
    return this.entries
      .map((entry) => (typeof entry === 'string' ? entry : ' '.repeat(entry.chars) + '\n'.repeat(entry.lines - 1)))
      .join('\n');
  }
}

/** What the error of a line dropped as it streamed says, after its file and line. */
const lineBreachMessage = (breach: LineBreach['breach'], limits: InputLimits): string => {
  switch (breach) {
    case 'deep':
      return limitMessage('maxDepth', limits.maxDepth);
    case 'long':
      return limitMessage('maxStringBytes', limits.maxStringBytes);
    case 'big':
      return bigRecordMessage(limits);
    case 'trailing':
      return `is longer than ${formatBytes(maxRecordChars(limits))}, most of it text after its JSON value: skipped`;
    case 'huge':
      return `is a log file longer than ${formatBytes(MAX_DOCUMENT_CHARS)} on one line among other lines: skipped (given as a file of its own, a log file of any size is read record by record)`;
  }
};

/**
 * JSON.parse's value, or its message; a failure's SyntaxError is made without a stack (only its message is used). A
 * text of more than `maxValues` values (limits.ts maxRecordValues) is not parsed: that is its message.
 */
const parseJson = (text: string, maxValues: number): Parsed => {
  if (valuesOver(text, maxValues)) {
    return { ok: false, message: `holds more than ${groupDigits(maxValues)} values, too many to parse`, tooMany: true };
  }
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, message: toError(error).message };
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
};

/**
 * Whether the second non-blank line of `text`, and the third if there is one, are JSON values on their own other than
 * log files: a text whose first value is broken is then read as JSON Lines with a bad first line, as readLines reads
 * it (log files one per line are read on by the scanner, which costs the broken one only its broken records). Looks
 * at the first three lines.
 */
const laterLinesParse = (text: string, maxValues: number): boolean => {
  let start = 0;
  let seen = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end);
    if (!isBlank(line) && ++seen >= 2) {
      const parsed = parseJson(line, maxValues);
      // A third line, if any, must be one too: a log file laid out one record a line, commas first, is not.
      if (!parsed.ok || (isObject(parsed.value) && Array.isArray(parsed.value.Records))) return false;
      if (seen === 3) return true;
    }
    start = end + 1;
  }
  return seen >= 2;
};

/**
 * The lines of decoded text, one batch per piece (possibly empty); a BOM is dropped. A line longer
 * than SPLIT_LINE_CHARS that holds JSON values one after another comes as those values instead; a
 * long line that cannot be JSON is cut to its first GARBAGE_PROBE_CHARS characters; a long line that
 * breaks the depth or string limit (`limits`), or runs past maxRecordChars (MAX_DOCUMENT_CHARS for a log file on one
 * line), is dropped as it streams and comes as a LineBreach. Whitespace after a long line's value is not held.
 */
async function* lineBatches(pieces: AsyncIterable<string>, limits: ScanLimits): AsyncGenerator<LineEntry[]> {
  let partial: string[] = [];
  let partialChars = 0;
  /** The first non-blank character of the line being read (undefined while it is blank so far). */
  let firstChar: string | undefined;
  /** The line being read is past GARBAGE_PROBE_CHARS and cannot be JSON: the rest of it is dropped. */
  let dropping = false;
  /**
   * A line past GARBAGE_PROBE_CHARS is scanned as it comes: once it breaks the depth or string limit, the rest of it
   * is dropped and it ends as a LineBreach, so that a line of JSON Lines holding a string of hundreds of MB is never
   * held whole.
   */
  let probe: RecordScanner | undefined;
  let breach: LineBreach['breach'] | undefined;
  /** The most characters the long line being read may hold: a record's, or a log file's read whole. */
  let lineLimit = 0;
  const recordLimit = maxRecordChars(limits);
  /** The most characters one of a long line's values may hold: a record's, or a log file's read whole. */
  const valueLimit = (head: string): number => (LOG_FILE_LINE.test(head) ? MAX_DOCUMENT_CHARS : recordLimit);
  /** The line being read, once it is being split into its values. */
  let values: LineValues | undefined;
  let batch: LineEntry[] = [];
  const emit = (value: LineValue): void => {
    batch.push(value);
  };
  const extend = (text: string): void => {
    if (values !== undefined) {
      values.add(text);
      return;
    }
    if (dropping) return;
    if (partialChars > GARBAGE_PROBE_CHARS) {
      if (firstChar === undefined) {
        // Blank so far: only what is not blank is worth keeping.
        if (text.trim() === '') return;
      } else if (!VALUE_START.test(firstChar)) {
        dropping = true;
        return;
      }
      if (probe === undefined) {
        probe = new RecordScanner({
          limits: { ...limits, maxRecords: Number.MAX_SAFE_INTEGER },
          mode: 'value',
          emit: () => {},
        });
        for (const piece of partial) probe.push(piece);
        lineLimit = valueLimit(partial.join('').slice(0, 1024));
      }
      // Whitespace after the line's value (a record padded with hundreds of MB of blanks): nothing to hold.
      const after = probe.betweenValues;
      probe.push(text);
      if (after && isBlank(text)) return;
      if (probe.breach !== undefined) breach = probe.breach;
      else if (partialChars + text.length > lineLimit)
        breach = lineLimit !== recordLimit ? 'huge' : probe.stop?.kind === 'trailing' ? 'trailing' : 'big';
      if (breach !== undefined) {
        dropping = true;
        partial = [];
        partialChars = 0;
        return;
      }
    }
    const previous = partial.at(-1);
    partial.push(text);
    partialChars += text.length;
    if (firstChar === undefined) firstChar = text.trimStart().charAt(0) || undefined;
    if (
      partialChars > SPLIT_LINE_CHARS &&
      (VALUE_BOUNDARY.test(text) ||
        (previous !== undefined && VALUE_BOUNDARY.test(previous.slice(-64) + text.slice(0, 64))))
    ) {
      values = new LineValues(emit, valueLimit);
      for (const piece of partial) values.add(piece);
      partial = [];
      partialChars = 0;
    }
  };
  const endLine = (): void => {
    dropping = false;
    probe = undefined;
    firstChar = undefined;
    if (breach !== undefined) {
      batch.push({ breach });
      breach = undefined;
      partial = [];
      partialChars = 0;
      return;
    }
    if (values === undefined) {
      batch.push(partial.length === 1 ? (partial[0] as string) : partial.join(''));
      partial = [];
      partialChars = 0;
      return;
    }
    const line = values.end();
    values = undefined;
    if (line !== undefined) batch.push(line);
  };
  let first = true;
  try {
    for await (const piece of pieces) {
      let text = piece;
      if (first && text !== '') {
        if (text.startsWith('\uFEFF')) text = text.slice(1);
        first = false;
      }
      batch = [];
      let start = 0;
      for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
        if (partial.length === 0 && values === undefined && !dropping) {
          if (newline === start) {
            // A run of empty lines (hundreds of millions in a gzip of a few hundred KB): one entry.
            let end = newline + 1;
            while (text.charCodeAt(end) === NEWLINE) end++;
            batch.push({ empty: end - start });
            start = end;
            continue;
          }
          batch.push(text.slice(start, newline));
        } else {
          extend(text.slice(start, newline));
          endLine();
        }
        start = newline + 1;
      }
      if (start < text.length) extend(text.slice(start));
      yield batch;
    }
  } catch (error) {
    // The input failed (a corrupt gzip member of `cat *.json.gz`): the complete values of an
    // unfinished line that holds several stand, as the lines before it do.
    batch = [];
    if (values === undefined) {
      values = new LineValues(emit, valueLimit);
      for (const piece of partial) values.add(piece);
    }
    values.abort();
    if (batch.length > 0) yield batch;
    throw error;
  }
  batch = [];
  if (partial.length > 0 || values !== undefined) endLine();
  if (batch.length > 0) yield batch;
}

/** The lines of a whole text, in batches of about LINE_BATCH_CHARS characters, split as lineBatches splits them. */
function* textLineBatches(text: string): Generator<LineEntry[]> {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let batch: LineEntry[] = [];
  let chars = 0;
  let start = 0;
  for (let newline = body.indexOf('\n'); newline !== -1; newline = body.indexOf('\n', start)) {
    if (newline === start) {
      let end = newline + 1;
      while (body.charCodeAt(end) === NEWLINE) end++;
      batch.push({ empty: end - start });
      chars += end - start;
      start = end;
    } else {
      batch.push(body.slice(start, newline));
      // The newline counts, as the empty lines do: a text of short lines still comes in bounded batches.
      chars += newline - start + 1;
      start = newline + 1;
    }
    if (chars >= LINE_BATCH_CHARS) {
      yield batch;
      batch = [];
      chars = 0;
    }
  }
  if (start < body.length) batch.push(body.slice(start));
  if (batch.length > 0) yield batch;
}

/**
 * The items of one file or stream, given as batches of its lines; one batch of items per batch of
 * lines that yields any, so that callers pay per batch rather than per record. Its shape is told
 * from its content: when the first non-blank line is a JSON value on its own and more non-blank
 * lines follow, it is JSON Lines, read line by line. Otherwise it is one JSON document (a CloudTrail
 * log file, single-line or pretty-printed) and is read whole; if that fails to parse, it is re-read
 * as JSON Lines with a bad first line (when its second non-blank line is a JSON value on its own) or
 * as JSON values one after another (`jq` output, log files concatenated), else it is one error. A
 * line that is not one JSON value is likewise read as the values it holds one after another
 * (`line N, value K`), or as a subscription payload's base64 text.
 */
async function* readLines(
  file: string,
  batches: AsyncIterable<LineEntry[]> | Iterable<LineEntry[]>,
  explicit: boolean,
  tick: () => void,
  context: ReadContext,
): AsyncGenerator<InputItem[]> {
  let mode: 'detect' | 'lines' | 'document' = 'detect';
  let lineNumber = 0;
  /** Every line so far, while the shape is not settled. */
  let held = new HeldLines();
  let first: (Parsed & { line: number; text: string }) | undefined;
  /**
   * Whether the second line is a JSON value of its own, or a later one a non-empty object of its own: a text whose
   * first lines are broken is then JSON Lines, each bad line one error, not one broken document.
   */
  let secondParses = false;
  /** Which value of its line the last entry was (0: a whole line). */
  let lastValue = 0;

  /** Values (lines, values of a line, documents) read: past maxRecords the rest of the file is not read. */
  let values = 0;
  let overRecords = false;
  const maxValues = maxRecordValues(context.limits);
  /** The error of a value JSON.parse refused, or that held too many values to parse. */
  const notParsed = (parsed: Parsed & { ok: false }): string =>
    parsed.tooMany ? manyValuesMessage(context.limits) : `not valid JSON: ${parsed.message}`;
  /**
   * Whether the text of a value at `position` is settled without parsing: a record none of whose strings passes the
   * pre-filter (counted, skipped), or one that breaks the depth or string limit (reported, skipped).
   */
  const screened = (text: string, position: string | undefined, out: InputItem[]): boolean => {
    values++;
    if (values > context.limits.maxRecords) {
      if (!overRecords) out.push(inputError(file, position, limitMessage('maxRecords', context.limits.maxRecords)));
      overRecords = true;
      return true;
    }
    const verdict = valueVerdict(text, context.prefilter, context.limits);
    if (verdict === 'parse') return false;
    if (verdict === 'skip') context.onSkipped(1);
    else if (verdict === 'deep')
      out.push(inputError(file, position, limitMessage('maxDepth', context.limits.maxDepth)));
    else out.push(inputError(file, position, limitMessage('maxStringBytes', context.limits.maxStringBytes)));
    return true;
  };
  const fromValue = (text: string, position: string, out: InputItem[]): void => {
    if (screened(text, position, out)) return;
    const parsed = parseJson(text, maxValues);
    if (parsed.ok) fromDocument(parsed.value, file, position, explicit, out, context.limits);
    else out.push(inputError(file, position, notParsed(parsed)));
  };
  /**
   * Text that is not one JSON value: a line (prefix `line N`) or the whole input (prefix undefined),
   * starting on line `firstLine`. It is read as the JSON values it holds one after another, each at
   * `line L` (`line L, value K` when several start on line L), or as a subscription payload's
   * base64 text; else it is `problem`.
   */
  const fromUnparsed = (
    text: string,
    prefix: string | undefined,
    firstLine: number,
    problem: string,
    out: InputItem[],
  ): void => {
    const values = splitValues(text);
    if (values.length >= 2) {
      let number = 0;
      for (let index = 0; index < values.length; index++) {
        const value = values[index] as { line: number; text: string };
        const line = firstLine + value.line - 1;
        number = values[index - 1]?.line === value.line ? number + 1 : 1;
        const several = number > 1 || values[index + 1]?.line === value.line;
        fromValue(value.text, several ? `line ${line}, value ${number}` : `line ${line}`, out);
      }
    } else if (isSubscriptionData(text)) {
      fromSubscriptionData(text, file, prefix, out, context.limits);
    } else {
      out.push(inputError(file, prefix, problem));
    }
  };
  const fromLine = (line: string, number: number, out: InputItem[]): void => {
    if (isBlank(line)) return;
    if (screened(line, `line ${number}`, out)) return;
    const parsed = parseJson(line, maxValues);
    if (parsed.ok) fromDocument(parsed.value, file, `line ${number}`, explicit, out, context.limits);
    else if (parsed.tooMany) out.push(inputError(file, `line ${number}`, notParsed(parsed)));
    else fromUnparsed(line, `line ${number}`, number, notParsed(parsed), out);
  };
  const fromFirst = (
    settled: Parsed & { line: number; text: string },
    prefix: string | undefined,
    out: InputItem[],
  ) => {
    if (settled.ok && screened(settled.text, prefix, out)) return;
    if (settled.ok) fromDocument(settled.value, file, prefix, explicit, out, context.limits);
    else if (settled.tooMany) out.push(inputError(file, prefix, notParsed(settled)));
    else fromUnparsed(settled.text, prefix, settled.line, notParsed(settled), out);
  };
  const fromHeldLines = (out: InputItem[]): void => {
    held.forEachLine((line, number) => fromLine(line, number, out));
    held = new HeldLines();
  };

  try {
    for await (const batch of batches) {
      const out: InputItem[] = [];
      let refused = false;
      for (const entry of batch) {
        let line: string;
        if (typeof entry === 'string') {
          line = entry;
          lineNumber++;
          lastValue = 0;
        } else if ('empty' in entry) {
          lineNumber += entry.empty;
          lastValue = 0;
          if (mode !== 'lines') held.pushEmpty(entry.empty);
          continue;
        } else if ('breach' in entry) {
          // A line dropped as it streamed: its error, and the line counts as read (never held for a document).
          lineNumber++;
          lastValue = 0;
          if (mode === 'detect' && first?.ok) {
            // A non-blank line after a first that is a value on its own: JSON Lines.
            mode = 'lines';
            held = new HeldLines();
            fromFirst(first, `line ${first.line}`, out);
          }
          out.push(inputError(file, `line ${lineNumber}`, lineBreachMessage(entry.breach, context.limits)));
          continue;
        } else {
          // One of several JSON values on one long line (lineBatches): a document of its own.
          line = entry.text;
          lastValue = entry.value;
          if (entry.value === 1) lineNumber++;
          if (entry.over !== undefined) {
            // Dropped as it streamed, for its length: its error, at its place.
            if (mode === 'detect') {
              mode = 'lines';
              held = new HeldLines();
              if (first !== undefined) fromFirst(first, `line ${first.line}`, out);
            }
            const breach = entry.over === MAX_DOCUMENT_CHARS ? 'huge' : 'big';
            out.push(
              inputError(file, `line ${lineNumber}, value ${entry.value}`, lineBreachMessage(breach, context.limits)),
            );
            continue;
          }
          if (mode !== 'document') {
            if (mode === 'detect') {
              mode = 'lines';
              held = new HeldLines();
              if (first !== undefined) fromFirst(first, `line ${first.line}`, out);
            }
            fromValue(line, `line ${lineNumber}, value ${entry.value}`, out);
            continue;
          }
          if (entry.value > 1) {
            // Rejoined with the values before it on its line, for the document read whole.
            held.extendLast(line);
            continue;
          }
        }
        if (mode === 'lines') {
          fromLine(line, lineNumber, out);
          continue;
        }
        held.push(line);
        if (isBlank(line)) continue;
        if (first === undefined) {
          first = { ...parseJson(line, maxValues), line: lineNumber, text: line };
          continue;
        }
        if (mode === 'detect') {
          if (first.ok) {
            mode = 'lines';
            held = new HeldLines();
            fromFirst(first, `line ${first.line}`, out);
            fromLine(line, lineNumber, out);
            continue;
          }
          mode = 'document';
          secondParses = parseJson(line, maxValues).ok;
        } else if (mode === 'document' && !secondParses) {
          // A record on a line of its own after two broken lines (a pretty-printed document's lines are not objects;
          // only a line that starts with `{` and ends with `}` is parsed to see).
          const trimmed = line.trim();
          if (trimmed.startsWith('{') && trimmed.endsWith('}')) {
            const parsed = parseJson(trimmed, maxValues);
            secondParses = parsed.ok && isObject(parsed.value) && Object.keys(parsed.value).length > 0;
          }
        }
        if (held.chars > MAX_DOCUMENT_CHARS) {
          if (!secondParses) {
            out.push(
              inputError(file, undefined, 'neither JSON Lines nor small enough (256 MiB) to read as one JSON document'),
            );
            refused = true;
            break;
          }
          mode = 'lines';
          fromHeldLines(out);
        }
      }
      if (out.length > 0) yield out;
      if (refused || overRecords) return;
      tick();
    }
  } catch (error) {
    // Items already yielded stand; the error names where reading stopped.
    const out: InputItem[] = [];
    // One value and blank lines so far (a record padded with newlines past the size limit): it stands, as at the end.
    if (mode === 'detect' && first !== undefined)
      fromFirst(first, JSON_LINES_FILE.test(file) ? `line ${first.line}` : undefined, out);
    const position =
      mode === 'document' || (mode === 'detect' && first === undefined)
        ? undefined
        : lastValue > 0
          ? `line ${lineNumber}, value ${lastValue + 1}`
          : `line ${lineNumber + 1}`;
    out.push(inputError(file, position, describeFailure(error), error));
    yield out;
    return;
  }

  const out: InputItem[] = [];
  if (mode === 'detect') {
    // An empty or blank input holds no records: no items. A single non-blank line is one document,
    // or the one line of a JSON Lines file when the name says so.
    if (first !== undefined) fromFirst(first, JSON_LINES_FILE.test(file) ? `line ${first.line}` : undefined, out);
  } else if (mode === 'document') {
    const text = held.text();
    if (screened(text, undefined, out)) {
      if (out.length > 0) yield out;
      return;
    }
    const parsed = parseJson(text, maxValues);
    if (parsed.ok) {
      held = new HeldLines();
      fromDocument(parsed.value, file, undefined, explicit, out, context.limits);
    } else if (secondParses) {
      fromHeldLines(out);
    } else {
      held = new HeldLines();
      fromUnparsed(text, undefined, 1, `not valid JSON or JSON Lines: ${parsed.message}`, out);
    }
  }
  if (out.length > 0) yield out;
}

export { laterLinesParse, lineBatches, readLines, textLineBatches };
