import { isAscii } from 'node:buffer';
import type { StringPrefilter } from '../../core/event-pattern/tokens.js';
import { readWhole, readWholeBytesSync, textOf, textOfBytes } from './bytes.js';
import type { InputLimits } from './limits.js';
import { type QuickScan, quickScan, quickScanBytes } from './quick-scan.js';
import { firstValuePrefix, scanText, type TextScan } from './scanned.js';

/*
 * A file read whole (small: most CloudTrail log files), read, gunzipped, decoded and scanned in one step, on a worker
 * thread (replay-worker.ts) or on the main thread. The result is plain data: only the records to parse, with their
 * positions, the count of those skipped, and the limits broken cross between threads.
 */

/**
 * What reading one file whole gave:
 * - `scanned`: a CloudTrail log file or an array of records, scanned (scanned.ts).
 * - `text`: another shape, to be read line by line on the main thread (lines.ts).
 * - `stream`: to be streamed after all (too big once gunzipped, unreadable, corrupt): the stream reports why.
 */
type WholeFile =
  | { readonly kind: 'scanned'; readonly scan: TextScan & { kind: 'scanned' } }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'stream' };

/** A file quickScan read. One line: named as JSON Lines, its records are at `line 1, Records[i]`, as the scanner says. */
const quickFile = (quick: QuickScan, path: string): WholeFile => ({
  kind: 'scanned',
  scan: { ...quick, prefix: firstValuePrefix(path, 1, 1) },
});

/** A file's text scanned: by quickScan (unless `tryQuick` is false: it was tried), else by the scanner. */
const fromText = (
  text: string | undefined,
  path: string,
  prefilter: StringPrefilter | undefined,
  limits: InputLimits,
  tryQuick = true,
): WholeFile => {
  if (text === undefined) return { kind: 'stream' };
  const quick = tryQuick ? quickScan(text, prefilter, limits) : undefined;
  if (quick !== undefined) return quickFile(quick, path);
  const scan = scanText(text, path, prefilter, limits);
  return scan.kind === 'scanned' ? { kind: 'scanned', scan } : { kind: 'text', text };
};

/**
 * Reads and scans a small file on the calling thread, blocking it (for a worker). An ASCII file (nearly every
 * CloudTrail log file) is read by quickScanBytes, and made a string only when that path does not take it.
 */
const scanWholeFileSync = (path: string, prefilter: StringPrefilter | undefined, limits: InputLimits): WholeFile => {
  const bytes = readWholeBytesSync(path, limits.maxFileBytes);
  if (bytes === undefined || !isAscii(bytes)) return fromText(bytes && textOf(bytes), path, prefilter, limits);
  const quick = quickScanBytes(bytes, prefilter, limits);
  return quick === undefined
    ? fromText(bytes.toString('latin1'), path, prefilter, limits, false)
    : quickFile(quick, path);
};

/** Reads a small file (gunzipped on libuv's thread pool) and scans it on the main thread. */
const scanWholeFile = async (
  path: string,
  prefilter: StringPrefilter | undefined,
  limits: InputLimits,
): Promise<WholeFile> => fromText(await readWhole(path, limits.maxFileBytes), path, prefilter, limits);

/** Scans bytes already in memory (an S3 object's body, named `name`) as scanWholeFile scans a small file. */
const scanWholeBytes = async (
  bytes: Buffer,
  name: string,
  prefilter: StringPrefilter | undefined,
  limits: InputLimits,
): Promise<WholeFile> => fromText(await textOfBytes(bytes, limits.maxFileBytes, name), name, prefilter, limits);

export type { WholeFile };
export { scanWholeBytes, scanWholeFile, scanWholeFileSync };
