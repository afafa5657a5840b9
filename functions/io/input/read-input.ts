import { createReadStream } from 'node:fs';
import { patternsPrefilter } from '../../core/event-pattern/tokens.js';
import type { InputError } from '../../errors.js';
import {
  countBytes,
  decodeText,
  decompressed,
  limitBytes,
  PROGRESS_STEP,
  readWhole,
  WHOLE_FILE_BYTES,
} from './bytes.js';
import { type InputLimits, withDefaults } from './limits.js';
import { readLines, textLineBatches } from './lines.js';
import { inputError } from './records.js';
import { ITEM_BATCH, itemsOfScan, type ReadContext, readScanned } from './scanned.js';
import { findSources, type Source, STDIN_NAME } from './sources.js';
import { scanWholeFile, type WholeFile } from './whole-file.js';
import { type ScanPool, startScanPool } from './workers.js';

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
  /**
   * The EventBridge patterns of the catalog (every detection's `patterns`). With them, a record none of whose strings
   * can satisfy any of them (core/event-pattern/tokens.ts) is counted (onSkipped) and never parsed nor yielded.
   */
  patterns?: readonly Readonly<Record<string, unknown>>[];
  /** Told how many records were counted but not parsed, as they are. */
  onSkipped?: (count: number) => void;
  /** The limits each file is read under, over DEFAULT_LIMITS (limits.ts). */
  limits?: Partial<InputLimits>;
  /**
   * Worker threads that read, gunzip and scan small files (default 0: all on this thread). Used only when at least
   * WORKER_MIN_FILES files are read whole; never more than there are such files.
   */
  workers?: number;
}

/**
 * Fewer files read whole than this are read on the main thread: starting a worker costs more than they take.
 */
const WORKER_MIN_FILES = 8;
/** Files read whole ahead of the one being consumed, per worker: enough to keep every worker busy. */
const AHEAD_PER_WORKER = 4;

/** The items of a stream of (possibly gzipped) UTF-8 bytes, at most maxFileBytes of them once gunzipped. */
const readStream = (
  file: string,
  raw: AsyncGenerator<Buffer>,
  explicit: boolean,
  tick: () => void,
  context: ReadContext,
): AsyncGenerator<InputItem[]> =>
  readScanned(file, decodeText(limitBytes(decompressed(raw), context.limits.maxFileBytes)), explicit, tick, context);

/**
 * Reads CloudTrail records and EventBridge events from files, directories and `-` (stdin), in
 * order, in batches (each non-empty). Never throws for bad input: each unreadable path or file, bad
 * line and bad record is an error item, and reading goes on. Progress is reported between batches,
 * once the caller has taken the batch before.
 */
async function* readInputBatches(paths: string[], options: ReadInputOptions = {}): AsyncGenerator<InputItem[]> {
  const sources = await findSources(paths);
  const limits = withDefaults(options.limits);
  const prefilter = options.patterns === undefined ? undefined : patternsPrefilter(options.patterns);
  const context: ReadContext = { prefilter, limits, onSkipped: options.onSkipped ?? (() => {}) };
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
  const wholeCount = sources.filter(readsWhole).length;
  const workers = Math.min(options.workers ?? 0, wholeCount);
  const pool: ScanPool | undefined =
    wholeCount >= WORKER_MIN_FILES && workers > 0
      ? startScanPool(workers, { patterns: options.patterns, limits })
      : undefined;
  /** Files read whole, by index in `sources`, read ahead of the one being consumed (one ahead on the main thread). */
  const ahead = new Map<number, Promise<WholeFile>>();
  const inThread = (path: string): Promise<WholeFile> => scanWholeFile(path, prefilter, limits);
  const request = (index: number): void => {
    const source = sources[index];
    if (ahead.has(index) || !readsWhole(source)) return;
    ahead.set(
      index,
      pool === undefined ? inThread(source.path) : pool.scan(source.path).then((file) => file ?? inThread(source.path)),
    );
  };
  const window = pool === undefined ? 1 : workers * AHEAD_PER_WORKER;
  let requested = 0;

  let stdinRead = false;
  try {
    for (const [index, source] of sources.entries()) {
      // Files read whole are requested in order, up to `window` of them ahead.
      requested = Math.max(requested, index);
      while (requested < sources.length && ahead.size <= window) request(requested++);
      request(index);
      const whole = ahead.get(index);
      ahead.delete(index);
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
          yield* readStream(STDIN_NAME, countBytes(stdin, counter), true, tick, context);
        } else {
          const file = whole === undefined ? undefined : await whole;
          if (file?.kind === 'scanned' || file?.kind === 'text') {
            yield* readWholeFile(source.path, file, source.explicit, tick, context);
          } else {
            const raw = countBytes(createReadStream(source.path), counter);
            yield* readStream(source.path, raw, source.explicit, tick, context);
          }
        }
        bytesRead += size;
      }
      filesRead++;
      report();
    }
  } finally {
    await pool?.close();
  }
}

/**
 * The items of a file read whole. When a record the scanner found is not valid JSON, the file is read again, as
 * lines, so that its error is the one it always was.
 */
async function* readWholeFile(
  path: string,
  file: WholeFile & { kind: 'scanned' | 'text' },
  explicit: boolean,
  tick: () => void,
  context: ReadContext,
): AsyncGenerator<InputItem[]> {
  if (file.kind === 'text') {
    yield* readLines(path, textLineBatches(file.text), explicit, tick, context);
    return;
  }
  const items = itemsOfScan(file.scan, path, explicit, context);
  if (items !== undefined) {
    for (let start = 0; start < items.length; start += ITEM_BATCH) yield items.slice(start, start + ITEM_BATCH);
    return;
  }
  const text = await readWhole(path, context.limits.maxFileBytes);
  if (text !== undefined) yield* readLines(path, textLineBatches(text), explicit, tick, context);
  else yield* readStream(path, countBytes(createReadStream(path), { bytes: 0 }), explicit, tick, context);
}

export type { InputItem, InputProgress, ReadInputOptions };
export { readInputBatches };
