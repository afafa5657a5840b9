import type { StringPrefilter } from '../../core/event-pattern/tokens.js';
import { toError } from '../../errors.js';
import { describeFailure } from './bytes.js';
import { fromArrayEntry, fromDocument, fromMembers } from './documents.js';
import { bigRecordMessage, type InputLimits, limitMessage, manyValuesMessage, maxRecordValues } from './limits.js';
import { laterLinesParse, lineBatches, readLines } from './lines.js';
import type { InputItem } from './read-input.js';
import { inputError, isObject, pushItems } from './records.js';
import { RecordScanner, type ScannedEntry, type ScanStop } from './scan.js';
import { JSON_LINES_FILE } from './sources.js';
import { valuesOver } from './values.js';

/*
 * CloudTrail log files and arrays of records read through the scanner (scan.ts): records split without parsing,
 * those that cannot match skipped, the rest parsed into the items today's reading gives, at the same positions. A
 * file the scanner does not read (another shape, broken structure) is read line by line as before (lines.ts).
 */

/** What reading a file needs besides its text. */
interface ReadContext {
  /** The catalog's pre-filter; undefined: no record is skipped. */
  readonly prefilter: StringPrefilter | undefined;
  readonly limits: InputLimits;
  /** Told of records counted but not parsed (none of their strings passes the pre-filter). */
  readonly onSkipped: (count: number) => void;
}

/**
 * A stream is scanned while holding its text until this many characters (so that a shape the scanner does not read
 * falls back to reading it line by line, exactly as before); past it, records flow and the text is no longer held.
 * The same size past which lines.ts splits a long line into its values.
 */
const COMMIT_CHARS = 8 * 1024 * 1024;

/** Where a scanned entry (or the point where scanning stopped) is: `Records[3]`, `[3]`, `line 2, Records[0]`. */
const positionOf = (
  container: ScannedEntry['container'],
  index: number,
  prefix: string | undefined,
): string | undefined => {
  if (container === 'value' || container === 'members') return prefix;
  const at = prefix === undefined ? '' : `${prefix}, `;
  return container === 'Records' ? `${at}Records[${index}]` : `${at}[${index}]`;
};

/** The position prefix of a value after the first, as lines.ts names the values of a text: `line 3`, `line 1, value 2`. */
const laterValuePrefix = (entry: Pick<ScannedEntry, 'valueLine' | 'valueOnLine' | 'sharesLine'>): string =>
  entry.valueOnLine === 1 && !entry.sharesLine
    ? `line ${entry.valueLine}`
    : `line ${entry.valueLine}, value ${entry.valueOnLine}`;

/**
 * The prefix of the first value, once it is known to be alone in the text: none, or `line N` when it is on one
 * line of a file named as JSON Lines (as lines.ts names a one-line JSON Lines file).
 */
const firstValuePrefix = (file: string, startLine: number, endLine: number): string | undefined =>
  JSON_LINES_FILE.test(file) && startLine === endLine ? `line ${startLine}` : undefined;

/**
 * Where the first two values of a text start, from the entries as they are emitted: the first value's prefix is none
 * when it is alone (or the one-line JSON Lines name), else as lines.ts names values one after another: `line 1`, or
 * `line 1, value 1` when the second starts on the same line.
 */
class ValueLines {
  private firstLine: number | undefined;
  private secondShares = false;

  public note(entry: Pick<ScannedEntry, 'value' | 'valueLine' | 'valueOnLine'>): void {
    if (entry.value === 1) this.firstLine ??= entry.valueLine;
    else if (entry.value === 2 && entry.valueOnLine > 1) this.secondShares = true;
  }

  public firstPrefix(
    file: string,
    scanner: Pick<RecordScanner, 'value' | 'valueLine' | 'valueEndLine'>,
  ): string | undefined {
    if (scanner.value <= 1) return firstValuePrefix(file, scanner.valueLine, scanner.valueEndLine);
    const line = this.firstLine ?? 1;
    return this.secondShares ? `line ${line}, value 1` : `line ${line}`;
  }
}

/**
 * The items of one scanned entry, appended to `out` (`skip` counted in `skipped`). An element of `Records` or of an
 * array whose text is not valid JSON (the structure the scanner checks held, the rest did not) is one error at its
 * position, and the other elements stand. A top-level value that is not valid JSON is one too with `brokenValue`
 * `report`; with `refuse`, false: nothing is appended then (the caller reads the text as lines, whose error it always
 * was).
 */
const fromEntry = (
  entry: ScannedEntry,
  file: string,
  prefix: string | undefined,
  explicit: boolean,
  context: ReadContext,
  out: InputItem[],
  brokenValue: 'refuse' | 'report' = 'refuse',
): boolean => {
  const position = positionOf(entry.container, entry.index, prefix);
  switch (entry.verdict) {
    case 'skip':
      context.onSkipped(1);
      return true;
    case 'deep':
      out.push(inputError(file, position, limitMessage('maxDepth', context.limits.maxDepth)));
      return true;
    case 'long':
      out.push(inputError(file, position, limitMessage('maxStringBytes', context.limits.maxStringBytes)));
      return true;
    case 'broken':
      out.push(inputError(file, position, `not valid JSON: ${entry.message}`));
      return true;
    case 'big':
      out.push(inputError(file, position, bigRecordMessage(context.limits)));
      return true;
    case 'parse':
      break;
  }
  if (valuesOver(entry.text as string, maxRecordValues(context.limits))) {
    out.push(inputError(file, position, manyValuesMessage(context.limits)));
    return true;
  }
  let value: unknown;
  try {
    value = JSON.parse(entry.text as string);
  } catch (error) {
    if (entry.container === 'value' && brokenValue === 'refuse') return false;
    out.push(inputError(file, position, `not valid JSON: ${toError(error).message}`));
    return true;
  }
  if (entry.container === 'Records') pushItems(value, file, position as string, out);
  else if (entry.container === 'members') {
    if (isObject(value)) fromMembers(value, file, prefix, out, context.limits);
  } else if (entry.container === 'array')
    fromArrayEntry(value, file, position as string, explicit, out, context.limits);
  else fromDocument(value, file, prefix, explicit, out, context.limits);
  return true;
};

/** What the error says of where scanning stopped early: the records limit, or structure it cannot read on from. */
const stopMessage = (stop: ScanStop, limits: InputLimits): string =>
  stop.kind === 'records'
    ? limitMessage('maxRecords', limits.maxRecords)
    : `not valid JSON: ${stop.kind === 'syntax' ? `${stop.message}: the rest of the file is not read` : 'unexpected text'}`;

/** The error item for where scanning stopped early: a limit, or broken structure past the text held. */
const stopItem = (
  stop: ScanStop,
  scanner: RecordScanner,
  file: string,
  prefix: string | undefined,
  limits: InputLimits,
): InputItem => inputError(file, positionOf(scanner.container, scanner.index, prefix), stopMessage(stop, limits));

/**
 * What scanning a whole text found, as plain data (it crosses from a worker thread): the entries to parse or report
 * (skipped ones only counted), or `fallback` when the text is not a shape the scanner reads.
 */
type TextScan =
  | {
      readonly kind: 'scanned';
      /** The position prefix of the text's one value. */
      readonly prefix: string | undefined;
      readonly entries: ScannedEntry[];
      readonly skipped: number;
      /** Where scanning stopped early (past maxRecords, or structure it cannot read on from), and why. */
      readonly stopped?: {
        readonly container: ScannedEntry['container'];
        readonly index: number;
        readonly prefix: string | undefined;
        readonly message: string;
      };
    }
  | { readonly kind: 'fallback' };

/**
 * Whether the text a scanner read (or stopped in) is for the line reader (lines.ts) instead: a shape the scanner does
 * not read, or broken structure in a text whose second and third lines are values on their own (JSON Lines with a
 * bad first line, as readLines reads it). Not the records limit, and not structure the scanner stopped at after
 * records of a log file or array otherwise: those records stand, and the stop is one error where it happened.
 */
const readsAsLines = (scanner: RecordScanner, text: () => string, limits: InputLimits): boolean => {
  const stop = scanner.stop;
  if (stop !== undefined && stop.kind !== 'records' && (stop.kind !== 'syntax' || !scanner.readRecords)) return true;
  return (scanner.brokeRecords || stop?.kind === 'syntax') && laterLinesParse(text(), maxRecordValues(limits));
};

/**
 * Scans a whole decoded text (a file read whole): one CloudTrail log file or one array, else `fallback`.
 *
 * @example
 * import type { StringPrefilter } from '../../core/event-pattern/tokens.js';
 * import { DEFAULT_LIMITS } from './limits.js';
 *
 * declare const prefilter: StringPrefilter; // the catalog's: catalogPrefilter(loadDetections())
 * scanText('{"Records":[{"eventVersion":"1.08"}]}', 'trail.json', prefilter, DEFAULT_LIMITS);
 * // { kind: 'scanned', prefix: undefined, entries: [], skipped: 1 } when no string passes the pre-filter
 */
const scanText = (
  text: string,
  file: string,
  prefilter: StringPrefilter | undefined,
  limits: InputLimits,
): TextScan => {
  const entries: ScannedEntry[] = [];
  let skipped = 0;
  const values = new ValueLines();
  const scanner = new RecordScanner({
    prefilter,
    limits,
    emit: (entry) => {
      values.note(entry);
      if (entry.verdict === 'skip') skipped++;
      else entries.push(entry);
    },
  });
  // Log files one after another (`cat`): each scanned record by record, so that one bad record costs only itself.
  scanner.multiValue = true;
  scanner.push(text);
  scanner.end();
  const stop = scanner.stop;
  if (readsAsLines(scanner, () => text, limits)) return { kind: 'fallback' };
  const prefix = values.firstPrefix(file, scanner);
  return {
    kind: 'scanned',
    prefix,
    entries,
    skipped,
    ...(stop !== undefined
      ? {
          stopped: {
            container: scanner.container,
            index: scanner.index,
            prefix: scanner.value === 1 ? prefix : laterValuePrefix(scanner),
            message: stopMessage(stop, limits),
          },
        }
      : {}),
  };
};

/**
 * The items of a scanned whole text, or undefined when a record's text is not valid JSON (the text is then read as
 * before, so that its error is the one it always was).
 */
const itemsOfScan = (
  scan: TextScan & { kind: 'scanned' },
  file: string,
  explicit: boolean,
  context: ReadContext,
): InputItem[] | undefined => {
  const out: InputItem[] = [];
  for (const entry of scan.entries) {
    const prefix = entry.value === 1 ? scan.prefix : laterValuePrefix(entry);
    if (!fromEntry(entry, file, prefix, explicit, context, out)) return undefined;
  }
  if (scan.skipped > 0) context.onSkipped(scan.skipped);
  if (scan.stopped !== undefined) {
    const { container, index, prefix, message } = scan.stopped;
    out.push(inputError(file, positionOf(container, index, prefix), message));
  }
  return out;
};

/** Batches of at most this many items from a file read whole, as a stream would give them. */
const ITEM_BATCH = 4096;

/** The pieces held, then the rest of the stream; a failure of the stream is thrown where it happened. */
async function* replayed(
  held: string[],
  rest: AsyncIterator<string>,
  failure: { error: unknown } | undefined,
): AsyncGenerator<string> {
  yield* held;
  if (failure !== undefined) throw failure.error;
  for (;;) {
    const next = await rest.next();
    if (next.done) return;
    yield next.value;
  }
}

/**
 * The items of a streamed file or stdin, given as decoded text in pieces. A CloudTrail log file or array of records
 * is scanned, holding its text only until COMMIT_CHARS: a shape the scanner does not read, found before, is read as
 * lines and values exactly as before (lines.ts), from the text held. Past COMMIT_CHARS records flow with flat
 * memory: a record too deep or with a string too long is reported and skipped; broken structure, a failing stream or
 * the records limit end the file with an error where reading stopped, the items before it standing. Values that
 * follow the first (log files one after another) are scanned too, at `line N` or `line N, value K`.
 */
async function* readScanned(
  file: string,
  pieces: AsyncIterable<string>,
  explicit: boolean,
  tick: () => void,
  context: ReadContext,
): AsyncGenerator<InputItem[]> {
  const iterator = pieces[Symbol.asyncIterator]();
  let held: string[] = [];
  let heldChars = 0;
  let committed = false;
  let pending: ScannedEntry[] = [];
  let out: InputItem[] = [];
  let firstPrefix: string | undefined;
  const prefixOf = (entry: Pick<ScannedEntry, 'value' | 'valueLine' | 'valueOnLine' | 'sharesLine'>) =>
    entry.value === 1 ? firstPrefix : laterValuePrefix(entry);
  const deliver = (entry: ScannedEntry): void => {
    fromEntry(entry, file, prefixOf(entry), explicit, context, out, 'report');
  };
  const values = new ValueLines();
  const scanner = new RecordScanner({
    prefilter: context.prefilter,
    limits: context.limits,
    emit: (entry) => {
      values.note(entry);
      if (committed) deliver(entry);
      else pending.push(entry);
    },
  });
  // Log files one after another (`cat *.json.gz | rootwatch replay -`): each scanned record by record.
  scanner.multiValue = true;
  const fallback = (failure?: { error: unknown }) =>
    readLines(file, lineBatches(replayed(held, iterator, failure), context.limits), explicit, tick, context);
  /** The entries held before, as items; false when one's text is not valid JSON (the held text is then re-read). */
  const flushPending = (): boolean => {
    const items: InputItem[] = [];
    let skipped = 0;
    const counting: ReadContext = { ...context, onSkipped: (count) => (skipped += count) };
    for (const entry of pending) if (!fromEntry(entry, file, prefixOf(entry), explicit, counting, items)) return false;
    if (skipped > 0) context.onSkipped(skipped);
    pending = [];
    // One by one: spread as arguments, hundreds of thousands of items (`{"Records":[1,1,…]}`) overflow the stack.
    for (const item of items) out.push(item);
    return true;
  };
  const stopHere = (): InputItem[] => {
    out.push(stopItem(scanner.stop as ScanStop, scanner, file, prefixOf(scanner), context.limits));
    return out;
  };

  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      if (!committed) {
        held.push(next.value);
        heldChars += next.value.length;
      }
      scanner.push(next.value);
      if (scanner.stopped) break;
      if (!committed && heldChars > COMMIT_CHARS && scanner.value === 0) {
        // Blank so far, past what is worth holding: read as lines, which drop blank ones as they come.
        yield* fallback();
        return;
      }
      if (!committed && heldChars > COMMIT_CHARS && scanner.value >= 1) {
        // One line so far: a one-line file named as JSON Lines, most likely (lines.ts's naming).
        firstPrefix =
          scanner.value > 1
            ? values.firstPrefix(file, scanner)
            : scanner.line === scanner.valueLine
              ? firstValuePrefix(file, scanner.valueLine, scanner.valueLine)
              : undefined;
        if (!flushPending()) {
          yield* fallback();
          return;
        }
        committed = true;
        scanner.multiValue = true;
        held = [];
      }
      if (committed) {
        if (out.length > 0) yield out;
        out = [];
        tick();
      }
    }
  } catch (error) {
    if (!committed) {
      // The stream failed (a truncated gzip, the size limit) inside a log file or array: its complete records stand,
      // as past COMMIT_CHARS. Any other shape is read as lines, which say what they can.
      const inRecords = scanner.value >= 1 && scanner.container !== 'value';
      firstPrefix = values.firstPrefix(file, scanner);
      if (!inRecords || !flushPending()) {
        yield* fallback({ error });
        return;
      }
    }
    out.push(
      inputError(file, positionOf(scanner.container, scanner.index, prefixOf(scanner)), describeFailure(error), error),
    );
    yield out;
    return;
  }
  if (scanner.stopped) {
    // Stopped before the end of the stream: the rest is read as lines (fallback, below) or not at all.
    if (committed || scanner.stop?.kind === 'records') await iterator.return?.();
  } else scanner.end();
  const stop = scanner.stop;
  if (!committed) {
    if (readsAsLines(scanner, () => held.join(''), context.limits)) {
      yield* fallback();
      return;
    }
    firstPrefix = values.firstPrefix(file, scanner);
    if (!flushPending()) {
      yield* fallback();
      return;
    }
  }
  if (stop !== undefined) stopHere();
  if (out.length > 0) yield out;
}

export type { ReadContext, TextScan };
export { firstValuePrefix, ITEM_BATCH, itemsOfScan, readScanned, scanText };
