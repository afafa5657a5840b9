import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline, Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { promisify } from 'node:util';
import { createGunzip, gunzip } from 'node:zlib';
import { InputError, toError } from '../errors.js';

/**
 * The input layer of `rootwatch replay`: turns files, directories and stdin holding CloudTrail data
 * in any of the shapes responders meet into a stream of records and events. Bad input never stops
 * it: each bad file, line or record becomes an error item and reading goes on.
 */

type InputItem =
  /** A raw CloudTrail record. */
  | { kind: 'record'; record: Record<string, unknown>; file: string; position: string }
  /** An EventBridge event whose detail is a CloudTrail record. */
  | { kind: 'event'; event: Record<string, unknown>; file: string; position: string }
  | { kind: 'error'; error: InputError };

interface InputProgress {
  /** Bytes of regular files read so far (compressed bytes for gzip files, as on disk). */
  bytesRead: number;
  /** Sum of the sizes of the regular files found; stdin and pipes count 0. */
  bytesTotal: number;
  filesRead: number;
  /** Files found, stdin included. */
  filesTotal: number;
}

interface ReadInputOptions {
  /** Read for the path `-`; defaults to process.stdin. */
  stdin?: NodeJS.ReadableStream;
  /** Called once before reading, after each file, and about every MiB inside a file. */
  onProgress?: (progress: InputProgress) => void;
}

const STDIN_PATH = '-';
const STDIN_NAME = '<stdin>';
/** Files a directory walk takes; named paths are read whatever their name. */
const INPUT_FILE = /\.(json|jsonl|ndjson)(\.gz)?$/i;
const JSON_LINES_FILE = /\.(jsonl|ndjson)(\.gz)?$/i;
const PROGRESS_STEP = 1024 * 1024;
/**
 * A regular file smaller than this (CloudTrail log files mostly are) is read and gunzipped in one go
 * rather than streamed, which is much cheaper per file. A streamed file this small reports no
 * progress inside it either, so progress is the same both ways.
 */
const WHOLE_FILE_BYTES = PROGRESS_STEP;
/** A small file that gunzips to more than this is streamed after all, so it is never held whole. */
const WHOLE_FILE_TEXT_BYTES = 64 * 1024 * 1024;
/** Output chunk size for gunzipping a file read whole: one step on the thread pool, not one per 16 KiB. */
const WHOLE_FILE_CHUNK = 1024 * 1024;
/** Lines of a file read whole are handed on in batches of about this many characters, as if streamed. */
const LINE_BATCH_CHARS = 64 * 1024;
/**
 * A file whose first line is not a JSON value on its own is read whole, as one (pretty-printed)
 * document. Past this many characters it is taken to be JSON Lines with a bad first line, or refused.
 */
const MAX_DOCUMENT_CHARS = 256 * 1024 * 1024;
const NOT_INPUT = 'not a CloudTrail record or EventBridge event';
const FS_MESSAGES: Partial<Record<string, string>> = {
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ELOOP: 'too many levels of symbolic links',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EPERM: 'permission denied',
};

type Source =
  | { kind: 'file'; path: string; size: number; regular: boolean; explicit: boolean }
  | { kind: 'stdin' }
  | { kind: 'error'; error: InputError };

type Parsed = { ok: true; value: unknown } | { ok: false; message: string };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isBlank = (line: string): boolean => line.trim() === '';

const parseJson = (text: string): Parsed => {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, message: toError(error).message };
  }
};

/** Why a read failed, in words a responder can act on. */
const describeFailure = (error: unknown): string => {
  const err = toError(error);
  const code = (err as NodeJS.ErrnoException).code;
  const known = code === undefined ? undefined : FS_MESSAGES[code];
  if (known !== undefined) return known;
  if (code?.startsWith('Z_')) return `corrupt or truncated gzip data: ${err.message}`;
  if (err instanceof RangeError) return `a line is too long to read: ${err.message}`;
  return err.message;
};

const inputError = (file: string, position: string | undefined, message: string, cause?: unknown): InputItem => ({
  kind: 'error',
  error: new InputError(file, position, message, cause === undefined ? undefined : { cause }),
});

const REQUIRED_FIELDS = ['eventName', 'eventSource'] as const;

/** Why an object is not a CloudTrail record, or undefined when it is one. */
const recordProblem = (value: Record<string, unknown>): string | undefined => {
  for (const field of REQUIRED_FIELDS) {
    if (value[field] === undefined) return `missing ${field}`;
    if (typeof value[field] !== 'string') return `${field} is not a string`;
  }
  return undefined;
};

const describeType = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;

/** Classifies one value found at a record position. */
const toItem = (value: unknown, file: string, position: string): InputItem => {
  if (!isObject(value))
    return inputError(file, position, `${NOT_INPUT}: expected an object, found ${describeType(value)}`);
  if (typeof value['detail-type'] === 'string' && isObject(value.detail)) {
    const problem = recordProblem(value.detail);
    if (problem !== undefined) {
      return inputError(
        file,
        position,
        `an EventBridge event whose detail is not a CloudTrail record: detail ${problem}`,
      );
    }
    return { kind: 'event', event: value, file, position };
  }
  const problem = recordProblem(value);
  if (problem === undefined) return { kind: 'record', record: value, file, position };
  if ('detail-type' in value || 'detail' in value) {
    return inputError(
      file,
      position,
      `${NOT_INPUT}: an EventBridge event needs a string detail-type and an object detail`,
    );
  }
  return inputError(file, position, `${NOT_INPUT}: ${problem}`);
};

/** A CloudTrail digest file (CloudTrail-Digest/ in the trail's bucket): log file hashes, no records. */
const isDigest = (value: unknown): boolean =>
  isObject(value) && typeof value.digestStartTime === 'string' && Array.isArray(value.logFiles);

/**
 * The items of one JSON document, appended to `out`: a whole file (prefix undefined) or one line or
 * value of it (prefix `line N`). A document is a `{"Records": [...]}` log file, an array of records
 * or events, or a single record or event.
 */
const fromDocument = (
  value: unknown,
  file: string,
  prefix: string | undefined,
  explicit: boolean,
  out: InputItem[],
): void => {
  const at = prefix === undefined ? '' : `${prefix}, `;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) out.push(toItem(value[index], file, `${at}[${index}]`));
    return;
  }
  if (isObject(value) && 'Records' in value) {
    const records = value.Records;
    if (!Array.isArray(records)) {
      out.push(
        inputError(file, prefix, `Records is ${describeType(records)}, expected an array of CloudTrail records`),
      );
      return;
    }
    for (let index = 0; index < records.length; index++) {
      out.push(toItem(records[index], file, `${at}Records[${index}]`));
    }
    return;
  }
  if (prefix === undefined && isDigest(value)) {
    // A synced trail bucket holds digest files beside the logs: a walk skips them, a named one is a mistake.
    if (explicit) out.push(inputError(file, undefined, 'a CloudTrail digest file, which holds no records'));
    return;
  }
  out.push(toItem(value, file, prefix ?? 'document'));
};

/**
 * Splits text holding JSON objects or arrays one after another, as `jq` prints them, into each
 * value's text and first line; undefined when the text is not such a sequence. An unterminated
 * last value is returned as is, for JSON.parse to report.
 */
const splitValues = (text: string): { line: number; text: string }[] | undefined => {
  const values: { line: number; text: string }[] = [];
  let depth = 0;
  let inString = false;
  let start = 0;
  let line = 1;
  let startLine = 1;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === 0x0a) line++;
    if (inString) {
      if (code === 0x5c) index++;
      else if (code === 0x22) inString = false;
    } else if (code === 0x7b || code === 0x5b) {
      if (depth === 0) {
        start = index;
        startLine = line;
      }
      depth++;
    } else if (depth === 0) {
      if (code !== 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) return undefined;
    } else if (code === 0x22) {
      inString = true;
    } else if (code === 0x7d || code === 0x5d) {
      depth--;
      if (depth === 0) values.push({ line: startLine, text: text.slice(start, index + 1) });
    }
  }
  if (depth > 0) values.push({ line: startLine, text: text.slice(start) });
  return values;
};

/** Counts the raw bytes of a stream as they are read. */
async function* countBytes(source: AsyncIterable<Buffer | string>, counter: { bytes: number }): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    counter.bytes += buffer.length;
    yield buffer;
  }
}

/** The bytes of a stream, gunzipped when they start with the gzip magic bytes 1f 8b, whatever the file name. */
async function* decompressed(raw: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  const head: Buffer[] = [];
  let headLength = 0;
  while (headLength < 2) {
    const next = await raw.next();
    if (next.done) break;
    head.push(next.value);
    headLength += next.value.length;
  }
  async function* replayed(): AsyncGenerator<Buffer> {
    yield* head;
    yield* raw;
  }
  const start = Buffer.concat(head, Math.min(headLength, 2));
  if (start[0] !== 0x1f || start[1] !== 0x8b) {
    yield* replayed();
    return;
  }
  const gunzip = createGunzip();
  // pipeline destroys the gunzip stream with the source's error, so iterating it throws; and
  // stopping early destroys the source. Errors reach us through the iteration, not this callback.
  pipeline(Readable.from(replayed()), gunzip, () => {});
  yield* gunzip;
}

/** The items of a stream of (possibly gzipped) UTF-8 bytes. */
const readStream = (
  file: string,
  raw: AsyncGenerator<Buffer>,
  explicit: boolean,
  tick: () => void,
): AsyncGenerator<InputItem[]> => readLines(file, lineBatches(decompressed(raw)), explicit, tick);

/** The lines of UTF-8 bytes, one batch per chunk (possibly empty); a BOM is dropped. */
async function* lineBatches(chunks: AsyncIterable<Buffer>): AsyncGenerator<string[]> {
  const decoder = new StringDecoder('utf8');
  let partial: string[] = [];
  let first = true;
  for await (const chunk of chunks) {
    let text = decoder.write(chunk);
    if (first && text !== '') {
      if (text.startsWith('\uFEFF')) text = text.slice(1);
      first = false;
    }
    const batch: string[] = [];
    let start = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      partial.push(text.slice(start, newline));
      batch.push(partial.length === 1 ? (partial[0] as string) : partial.join(''));
      partial = [];
      start = newline + 1;
    }
    if (start < text.length) partial.push(text.slice(start));
    yield batch;
  }
  const last = partial.join('') + decoder.end();
  if (last !== '') yield [last];
}

/** The lines of a whole text, in batches of about LINE_BATCH_CHARS characters, split as lineBatches splits them. */
function* textLineBatches(text: string): Generator<string[]> {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let batch: string[] = [];
  let chars = 0;
  let start = 0;
  for (let newline = body.indexOf('\n'); newline !== -1; newline = body.indexOf('\n', start)) {
    batch.push(body.slice(start, newline));
    chars += newline - start;
    start = newline + 1;
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
 * The bytes of a regular file smaller than WHOLE_FILE_BYTES, read at once; undefined when it is (or,
 * having grown since it was found, has become) too big. Never reads more than WHOLE_FILE_BYTES.
 */
const readSmallFile = (path: string): Buffer | undefined => {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size >= WHOLE_FILE_BYTES) return undefined;
    // One byte more than the file holds, to tell that it has ended rather than still growing.
    const buffer = Buffer.allocUnsafe(size + 1);
    let length = 0;
    while (length < buffer.length) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) return buffer.subarray(0, length);
      length += read;
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
};

const gunzipAsync = promisify(gunzip);

/**
 * The text of a small regular file, read whole and gunzipped (when it starts with the gzip magic
 * bytes) in one go, on the thread pool, so that the main thread can go on with the file before it.
 * Undefined when the file is to be streamed instead: it is too big (see readSmallFile), it gunzips
 * to more than WHOLE_FILE_TEXT_BYTES, or it fails to read or to gunzip; the stream then reports the
 * error exactly as it always has, after the items read before it.
 */
const readWhole = async (path: string): Promise<string | undefined> => {
  let bytes: Buffer | undefined;
  try {
    bytes = readSmallFile(path);
    if (bytes === undefined) return undefined;
    if (bytes[0] === 0x1f && bytes[1] === 0x8b)
      bytes = await gunzipAsync(bytes, { maxOutputLength: WHOLE_FILE_TEXT_BYTES, chunkSize: WHOLE_FILE_CHUNK });
  } catch {
    return undefined;
  }
  const decoder = new StringDecoder('utf8');
  return decoder.write(bytes) + decoder.end();
};

/**
 * The items of one file or stream, given as batches of its lines; one batch of items per batch of
 * lines that yields any, so that callers pay per batch rather than per record. Its shape is told
 * from its content: when the first non-blank line is a JSON value on its own and more non-blank
 * lines follow, it is JSON Lines, read line by line. Otherwise it is one JSON document (a CloudTrail
 * log file, single-line or pretty-printed) and is read whole; if that fails to parse, it is re-read
 * as JSON Lines with a bad first line (when its second non-blank line is a JSON value on its own) or
 * as JSON values one after another (`jq` output), else it is one error.
 */
async function* readLines(
  file: string,
  batches: AsyncIterable<string[]> | Iterable<string[]>,
  explicit: boolean,
  tick: () => void,
): AsyncGenerator<InputItem[]> {
  let mode: 'detect' | 'lines' | 'document' = 'detect';
  let lineNumber = 0;
  /** Every line so far, while the shape is not settled. */
  let held: string[] = [];
  let heldChars = 0;
  let first: (Parsed & { line: number }) | undefined;
  let secondParses = false;

  const fromLine = (line: string, number: number, out: InputItem[]): void => {
    if (isBlank(line)) return;
    const parsed = parseJson(line);
    if (parsed.ok) fromDocument(parsed.value, file, `line ${number}`, explicit, out);
    else out.push(inputError(file, `line ${number}`, `not valid JSON: ${parsed.message}`));
  };
  const fromHeldLines = (out: InputItem[]): void => {
    for (let index = 0; index < held.length; index++) fromLine(held[index] as string, index + 1, out);
    held = [];
  };

  try {
    for await (const batch of batches) {
      const out: InputItem[] = [];
      let refused = false;
      for (const line of batch) {
        lineNumber++;
        if (mode === 'lines') {
          fromLine(line, lineNumber, out);
          continue;
        }
        held.push(line);
        heldChars += line.length;
        if (isBlank(line)) continue;
        if (first === undefined) {
          first = { ...parseJson(line), line: lineNumber };
          continue;
        }
        if (mode === 'detect') {
          if (first.ok) {
            mode = 'lines';
            held = [];
            fromDocument(first.value, file, `line ${first.line}`, explicit, out);
            fromLine(line, lineNumber, out);
            continue;
          }
          mode = 'document';
          secondParses = parseJson(line).ok;
        }
        if (heldChars > MAX_DOCUMENT_CHARS) {
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
      if (refused) return;
      tick();
    }
  } catch (error) {
    // Items already yielded stand; the error names where reading stopped.
    yield [inputError(file, mode === 'lines' ? `line ${lineNumber + 1}` : undefined, describeFailure(error), error)];
    return;
  }

  const out: InputItem[] = [];
  if (mode === 'detect') {
    // An empty or blank input holds no records: no items. A single non-blank line is one document.
    if (first === undefined) return;
    // It is the one line of a JSON Lines file when the name says so.
    const prefix = JSON_LINES_FILE.test(file) ? `line ${first.line}` : undefined;
    if (first.ok) fromDocument(first.value, file, prefix, explicit, out);
    else out.push(inputError(file, prefix, `not valid JSON: ${first.message}`));
  } else if (mode === 'document') {
    const text = held.join('\n');
    const parsed = parseJson(text);
    if (parsed.ok) {
      held = [];
      fromDocument(parsed.value, file, undefined, explicit, out);
    } else if (secondParses) {
      fromHeldLines(out);
    } else {
      held = [];
      const values = splitValues(text);
      if (values === undefined || values.length < 2) {
        out.push(inputError(file, undefined, `not valid JSON or JSON Lines: ${parsed.message}`));
      } else {
        for (const value of values) {
          const parsedValue = parseJson(value.text);
          if (parsedValue.ok) fromDocument(parsedValue.value, file, `line ${value.line}`, explicit, out);
          else out.push(inputError(file, `line ${value.line}`, `not valid JSON: ${parsedValue.message}`));
        }
      }
    }
  }
  if (out.length > 0) yield out;
}

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Appends the input files under a directory, recursively and in sorted order: names ending .json,
 * .jsonl or .ndjson, each optionally .gz. Dot-files and dot-directories are skipped. Symbolic links
 * are followed, each directory read once.
 */
const walk = async (dir: string, sources: Source[], seen: Set<string>): Promise<void> => {
  try {
    const real = await realpath(dir);
    if (seen.has(real)) return;
    seen.add(real);
    const entries = (await readdir(dir, { withFileTypes: true })).filter((entry) => !entry.name.startsWith('.'));
    entries.sort(byName);
    // Stat in parallel, then take the entries in order.
    const stats = entries.map((entry) =>
      entry.isDirectory() || (entry.isFile() && !INPUT_FILE.test(entry.name))
        ? undefined
        : stat(join(dir, entry.name)).catch((error: unknown) => toError(error)),
    );
    for (const [index, entry] of entries.entries()) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        await walk(path, sources, seen);
        continue;
      }
      const found = await stats[index];
      if (found === undefined) continue;
      if (found instanceof Error) {
        // A broken link, or a file gone since readdir: worth saying only for a file we would read.
        if (INPUT_FILE.test(entry.name)) sources.push({ kind: 'error', error: failure(path, found) });
      } else if (found.isDirectory()) {
        await walk(path, sources, seen);
      } else if (found.isFile() && INPUT_FILE.test(entry.name)) {
        sources.push({ kind: 'file', path, size: found.size, regular: true, explicit: false });
      }
    }
  } catch (error) {
    sources.push({ kind: 'error', error: failure(dir, error) });
  }
};

const failure = (file: string, error: unknown): InputError =>
  new InputError(file, undefined, describeFailure(error), { cause: error });

/** Everything to read, in order, with the sizes the progress bar needs. */
const findSources = async (paths: string[]): Promise<Source[]> => {
  const sources: Source[] = [];
  const seen = new Set<string>();
  for (const path of paths) {
    if (path === STDIN_PATH) {
      sources.push({ kind: 'stdin' });
      continue;
    }
    try {
      const stats = await stat(path);
      if (stats.isDirectory()) await walk(path, sources, seen);
      // Pipes and devices (e.g. `<(zcat ...)`) are read too; only regular files have a size.
      else {
        const regular = stats.isFile();
        sources.push({ kind: 'file', path, size: regular ? stats.size : 0, regular, explicit: true });
      }
    } catch (error) {
      sources.push({ kind: 'error', error: failure(path, error) });
    }
  }
  return sources;
};

/**
 * Reads CloudTrail records and EventBridge events from files, directories and `-` (stdin), in
 * order, in batches (each non-empty). Never throws for bad input: each unreadable path or file, bad
 * line and bad record is an error item, and reading goes on. Progress is reported between batches,
 * once the caller has taken the batch before.
 */
async function* readInputBatches(paths: string[], options: ReadInputOptions = {}): AsyncGenerator<InputItem[]> {
  const sources = await findSources(paths);
  let bytesRead = 0;
  let bytesTotal = 0;
  let filesRead = 0;
  let filesTotal = 0;
  for (const source of sources) {
    if (source.kind === 'file') bytesTotal += source.size;
    if (source.kind !== 'error') filesTotal++;
  }
  const report = (current = 0): void => {
    options.onProgress?.({ bytesRead: bytesRead + current, bytesTotal, filesRead, filesTotal });
  };
  report();

  const readsWhole = (source: Source | undefined): source is Source & { kind: 'file' } =>
    source?.kind === 'file' && source.regular && source.size < WHOLE_FILE_BYTES;
  /** The text of the next source read whole, read while the one before it is processed. */
  let prefetched: Promise<string | undefined> | undefined;

  let stdinRead = false;
  for (const [index, source] of sources.entries()) {
    const whole = readsWhole(source) ? (prefetched ?? readWhole(source.path)) : undefined;
    const next = sources[index + 1];
    prefetched = readsWhole(next) ? readWhole(next.path) : undefined;
    if (source.kind === 'error') {
      yield [{ kind: 'error', error: source.error }];
      continue;
    }
    if (source.kind === 'stdin' && stdinRead) {
      yield [inputError(STDIN_NAME, undefined, 'stdin can be read only once')];
    } else {
      const size = source.kind === 'file' ? source.size : 0;
      const counter = { bytes: 0 };
      let reported = 0;
      const tick = (): void => {
        if (options.onProgress === undefined || counter.bytes - reported < PROGRESS_STEP) return;
        reported = counter.bytes;
        report(Math.min(counter.bytes, size));
      };
      if (source.kind === 'stdin') {
        stdinRead = true;
        const stdin = options.stdin ?? process.stdin;
        yield* readStream(STDIN_NAME, countBytes(stdin, counter), true, tick);
      } else {
        const text = await whole;
        if (text !== undefined) yield* readLines(source.path, textLineBatches(text), source.explicit, tick);
        else yield* readStream(source.path, countBytes(createReadStream(source.path), counter), source.explicit, tick);
      }
      bytesRead += size;
    }
    filesRead++;
    report();
  }
}

export type { InputItem, InputProgress, ReadInputOptions };
export { readInputBatches };
