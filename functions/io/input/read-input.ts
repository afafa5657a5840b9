import { createReadStream } from 'node:fs';
import type { InputError } from '../../errors.js';
import { countBytes, decompressed, PROGRESS_STEP, readWhole, WHOLE_FILE_BYTES } from './bytes.js';
import { lineBatches, readLines, textLineBatches } from './lines.js';
import { inputError } from './records.js';
import { findSources, type Source, STDIN_NAME } from './sources.js';

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

/** The items of a stream of (possibly gzipped) UTF-8 bytes. */
const readStream = (
  file: string,
  raw: AsyncGenerator<Buffer>,
  explicit: boolean,
  tick: () => void,
): AsyncGenerator<InputItem[]> => readLines(file, lineBatches(decompressed(raw)), explicit, tick);

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
