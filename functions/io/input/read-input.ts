import { createReadStream, statSync } from 'node:fs';
import type { LogScope } from '../../commands/scope.js';
import { isS3Url } from '../../core/cloudtrail-keys.js';
import { patternsPrefilter } from '../../core/event-pattern/tokens.js';
import type { InputError } from '../../errors.js';
import {
  countBytes,
  decodeText,
  decompressed,
  limitBytes,
  PROGRESS_STEP,
  readWhole,
  textOfBytes,
  WHOLE_FILE_BYTES,
} from './bytes.js';
import { type GzipFault, gzipFaultsMessage } from './gzip-members.js';
import { type InputLimits, withDefaults } from './limits.js';
import { readLines, textLineBatches } from './lines.js';
import { inputError } from './records.js';
import { createTrailBucket, type TrailBucket } from './s3-client.js';
import { DEFAULT_CONCURRENCY, readS3Objects } from './s3-input.js';
import { ITEM_BATCH, itemsOfScan, type ReadContext, readScanned } from './scanned.js';
import { findSources, type Source, STDIN_NAME } from './sources.js';
import { scanWholeBytes, scanWholeFile, type WholeFile } from './whole-file.js';
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
  /**
   * The S3 calls for `s3://` paths (s3-client.ts); default: createTrailBucket() with the SDK's chain, made only when
   * such a path is given.
   */
  s3?: TrailBucket;
  /** GETs in flight at once for `s3://` paths, 1 to 64 (default DEFAULT_CONCURRENCY, 8). */
  concurrency?: number;
  /** What of a trail's bucket is listed for `s3://` paths: the accounts, regions and delivery days it keeps. */
  scope?: LogScope;
  /** Told things worth saying once that are not errors (an S3 prefix read without pruning). */
  onNotice?: (message: string) => void;
}

/**
 * Fewer files read whole than this are read on the main thread: starting a worker costs more than they take.
 */
const WORKER_MIN_FILES = 8;
/** Files read whole ahead of the one being consumed, per worker: enough to keep every worker busy. */
const AHEAD_PER_WORKER = 4;

/**
 * The items of a stream of (possibly gzipped) UTF-8 bytes, at most maxFileBytes of them once gunzipped; then one error
 * naming the damaged gzip data read past, if any (the intact members around it are read).
 */
async function* readStream(
  file: string,
  raw: AsyncGenerator<Buffer>,
  explicit: boolean,
  tick: () => void,
  context: ReadContext,
): AsyncGenerator<InputItem[]> {
  const faults: GzipFault[] = [];
  const text = decodeText(limitBytes(decompressed(raw, faults, file), context.limits.maxFileBytes));
  yield* readScanned(file, text, explicit, tick, context);
  if (faults.length > 0) yield [inputError(file, undefined, gzipFaultsMessage(faults))];
}

/**
 * The error for a file or S3 object that is empty though its name ends `.gz`, or undefined: a gzip file holds at least
 * a header and a trailer (18 bytes, RFC 1952 section 2.2, https://www.rfc-editor.org/rfc/rfc1952#section-2.2), and
 * CloudTrail writes no empty log file, so such a file was cut short (a copy or a download that stopped) and its records
 * are missing. An empty file of another name holds no record and is no error.
 */
const emptyGzip = (name: string, size: number): InputItem | undefined =>
  size === 0 && /\.gz$/i.test(name)
    ? inputError(
        name,
        undefined,
        'empty, though named .gz: CloudTrail writes no empty log file, so a copy or download was cut short (nothing read)',
      )
    : undefined;

/** What reading all the paths shares: the progress so far, whether stdin was read, and how to report. */
interface ReadState {
  readonly progress: InputProgress;
  stdinRead: boolean;
  readonly context: ReadContext;
  readonly options: ReadInputOptions;
  /** Reports the progress, with `current` bytes of the file being read. */
  readonly report: (current?: number) => void;
}

/**
 * Reads CloudTrail records and EventBridge events from files, directories, `-` (stdin) and `s3://BUCKET[/PREFIX]`
 * (s3-input.ts), in the order given, in batches (each non-empty). Never throws for bad input: each unreadable path,
 * file, object or S3 folder, bad line and bad record is an error item, and reading goes on. Progress is reported
 * between batches, once the caller has taken the batch before.
 *
 * @throws UsageError for an `s3://` URL that names no valid bucket; ConfigError when S3 is to be read and there are
 *   no AWS credentials or no region (s3-client.ts fatalS3Error).
 */
async function* readInputBatches(paths: string[], options: ReadInputOptions = {}): AsyncGenerator<InputItem[]> {
  const limits = withDefaults(options.limits);
  const prefilter = options.patterns === undefined ? undefined : patternsPrefilter(options.patterns);
  const context: ReadContext = { prefilter, limits, onSkipped: options.onSkipped ?? (() => {}) };
  const progress: InputProgress = { bytesRead: 0, bytesTotal: 0, filesRead: 0, filesTotal: 0 };
  const state: ReadState = {
    progress,
    stdinRead: false,
    context,
    options,
    report: (current = 0) => options.onProgress?.({ ...progress, bytesRead: progress.bytesRead + current }),
  };
  let s3: TrailBucket | undefined;
  // Local paths in a row are read as one group (their sizes known up front); each s3:// path on its own.
  let local: string[] = [];
  for (const [index, path] of paths.entries()) {
    if (!isS3Url(path)) local.push(path);
    if (local.length > 0 && (isS3Url(path) || index === paths.length - 1)) {
      yield* readLocalBatches(local, state);
      local = [];
    }
    if (isS3Url(path)) {
      s3 ??= options.s3 ?? createTrailBucket();
      yield* readS3Batches(path, s3, state);
    }
  }
}

/** The items of an S3 prefix's objects (s3-input.ts), each read as a file of the same bytes would be. */
async function* readS3Batches(url: string, s3: TrailBucket, state: ReadState): AsyncGenerator<InputItem[]> {
  const { progress, context, options, report } = state;
  report();
  for await (const item of readS3Objects(url, {
    bucket: s3,
    scope: options.scope ?? {},
    concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
    onListed: (size) => {
      progress.bytesTotal += size;
      progress.filesTotal++;
    },
    ...(options.onNotice ? { onNotice: options.onNotice } : {}),
  })) {
    if (item.kind === 'error') {
      yield [{ kind: 'error', error: item.error }];
      continue;
    }
    const counter = { bytes: 0 };
    let reported = 0;
    const tick = (): void => {
      if (options.onProgress === undefined || counter.bytes - reported < PROGRESS_STEP) return;
      reported = counter.bytes;
      report(Math.min(counter.bytes, item.size));
    };
    const body = item.body;
    const empty = emptyGzip(item.name, item.size);
    if (empty !== undefined) yield [empty];
    else if (body.kind === 'stream') {
      yield* readStream(item.name, countBytes(body.body, counter), false, tick, context);
    } else {
      const bytes = body.bytes;
      const again: Reread = {
        text: () => textOfBytes(bytes, context.limits.maxFileBytes, item.name),
        stream: () => countBytes(oneChunk(bytes), { bytes: 0 }),
      };
      const file = await scanWholeBytes(bytes, item.name, context.prefilter, context.limits);
      if (file.kind === 'scanned' || file.kind === 'text')
        yield* readWholeFile(item.name, file, false, tick, context, again);
      else yield* readStream(item.name, again.stream(), false, tick, context);
    }
    progress.bytesRead += item.size;
    progress.filesRead++;
    report();
  }
}

async function* oneChunk(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}

/** Whether `path` is a directory (or a link to one); false when it cannot be found. */
const isDirectory = (path: string): boolean => {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    return false;
  }
};

/** The files, directories and stdin of a run of local paths. */
async function* readLocalBatches(paths: string[], state: ReadState): AsyncGenerator<InputItem[]> {
  const { progress, context, options } = state;
  const { limits, prefilter } = context;
  // A worker takes tens of milliseconds to start: when the paths may hold enough files for workers (a directory, or
  // WORKER_MIN_FILES paths), they are started while the paths are walked, and stopped if the walk finds too few.
  const early =
    (options.workers ?? 0) > 0 && (paths.length >= WORKER_MIN_FILES || paths.some(isDirectory))
      ? startScanPool(options.workers ?? 0, { patterns: options.patterns, limits })
      : undefined;
  let sources: Source[];
  try {
    sources = await findSources(paths, options.onNotice);
  } catch (error) {
    await early?.close();
    throw error;
  }
  for (const source of sources) {
    if (source.kind === 'file') progress.bytesTotal += source.size;
    if (source.kind !== 'error') progress.filesTotal++;
  }
  const report = state.report;
  report();

  const readsWhole = (source: Source | undefined): source is Source & { kind: 'file' } =>
    source?.kind === 'file' && source.regular && source.size < WHOLE_FILE_BYTES;
  const wholeCount = sources.filter(readsWhole).length;
  const workers = Math.min(options.workers ?? 0, wholeCount);
  const wanted = wholeCount >= WORKER_MIN_FILES && workers > 0;
  if (!wanted) await early?.close();
  const pool: ScanPool | undefined = wanted
    ? (early ?? startScanPool(workers, { patterns: options.patterns, limits }))
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
      if (source.kind === 'stdin' && state.stdinRead) {
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
          state.stdinRead = true;
          const stdin = options.stdin ?? process.stdin;
          yield* readStream(STDIN_NAME, countBytes(stdin, counter), true, tick, context);
        } else {
          const file = whole === undefined ? undefined : await whole;
          const empty = source.regular ? emptyGzip(source.path, source.size) : undefined;
          if (empty !== undefined) yield [empty];
          else if (file?.kind === 'scanned' || file?.kind === 'text') {
            yield* readWholeFile(source.path, file, source.explicit, tick, context, fileReread(source.path, limits));
          } else {
            const raw = countBytes(createReadStream(source.path), counter);
            yield* readStream(source.path, raw, source.explicit, tick, context);
          }
        }
        progress.bytesRead += size;
      }
      progress.filesRead++;
      report();
    }
  } finally {
    await pool?.close();
  }
}

/** How to read a file (or an object's bytes) again: whole as text, or streamed. */
interface Reread {
  text(): Promise<string | undefined>;
  stream(): AsyncGenerator<Buffer>;
}

const fileReread = (path: string, limits: InputLimits): Reread => ({
  text: () => readWhole(path, limits.maxFileBytes),
  stream: () => countBytes(createReadStream(path), { bytes: 0 }),
});

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
  again: Reread,
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
  const text = await again.text();
  if (text !== undefined) yield* readLines(path, textLineBatches(text), explicit, tick, context);
  else yield* readStream(path, again.stream(), explicit, tick, context);
}

export type { InputItem, InputProgress, ReadInputOptions };
export { readInputBatches };
