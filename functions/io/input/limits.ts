import { groupDigits } from '../../core/render/text.js';
import { UsageError } from '../../errors.js';

/*
 * The limits replay reads each input file under, so that no input (a gzip bomb, JSON nested thousands deep, a string
 * of hundreds of MB, a file of billions of records) can exhaust memory or the stack: their defaults, the flags that
 * raise them, and the words of the error each breach gives.
 */

/**
 * Per-file limits on what replay reads. A breach gives one InputError naming the file, the position, the limit and
 * the flag that raises it; reading goes on (see each field for where).
 */
interface InputLimits {
  /**
   * Bytes of a file once decompressed (as read, for a file that is not gzip). Past it the file stops there: the
   * records before stand, and the next file is read. `--max-file-bytes`.
   */
  maxFileBytes: number;
  /**
   * Nesting of objects and arrays inside one record (a record itself is level 1; outside `Records` and arrays of
   * records, of the whole JSON value). A record nested deeper is reported and skipped. `--max-depth`.
   */
  maxDepth: number;
  /**
   * Length of one JSON string (key or value) as written in the file, escapes included, in UTF-16 code units (bytes,
   * for ASCII text). A record holding a longer one is reported and skipped, never held whole. `--max-string-bytes`.
   */
  maxStringBytes: number;
  /** Records (and other top-level values) of one file. Past it the file stops there, as for maxFileBytes. `--max-records`. */
  maxRecords: number;
}

const KIB = 1024;
const MIB = 1024 * KIB;
const GIB = 1024 * MIB;

/**
 * The defaults, far above what AWS writes: CloudTrail records nest about a dozen levels; a record's
 * requestParameters and responseElements are capped at 100 KB each, larger ones omitted
 * (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html), and
 * an EventBridge event is at most 256 KB (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html).
 * A CloudTrail log file holds some minutes of one account and region: megabytes, not gigabytes.
 */
const DEFAULT_LIMITS: Readonly<InputLimits> = {
  maxFileBytes: GIB,
  maxDepth: 64,
  maxStringBytes: 16 * MIB,
  maxRecords: 10_000_000,
};

/** The command-line flag that raises each limit. */
const LIMIT_FLAGS: Readonly<Record<keyof InputLimits, string>> = {
  maxFileBytes: '--max-file-bytes',
  maxDepth: '--max-depth',
  maxStringBytes: '--max-string-bytes',
  maxRecords: '--max-records',
};

/** Which limits are sizes in bytes (they take K, M, G suffixes). */
const BYTE_LIMITS: ReadonlySet<keyof InputLimits> = new Set(['maxFileBytes', 'maxStringBytes']);
const SUFFIXES: Readonly<Record<string, number>> = { '': 1, K: KIB, M: MIB, G: GIB };
/** The largest a limit may be set to: beyond what a number counts exactly. */
const MAX_LIMIT = Number.MAX_SAFE_INTEGER;

/** A byte count as the messages say it: `1 GiB`, `16 MiB`, `1,000 bytes`. */
const formatBytes = (bytes: number): string => {
  for (const [unit, size] of [
    ['GiB', GIB],
    ['MiB', MIB],
    ['KiB', KIB],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${groupDigits(bytes / size)} ${unit}`;
  }
  return `${groupDigits(bytes)} ${bytes === 1 ? 'byte' : 'bytes'}`;
};

/**
 * The value of one limit flag: a whole number ≥ 1; for byte limits optionally followed by K, M or G (binary:
 * 1K = 1024), with or without `iB`/`B` (`2G`, `2GiB`, `512MB` are 2 GiB, 2 GiB, 512 MiB).
 *
 * @throws UsageError `--max-depth must be a whole number from 1 (got "x")` or, for bytes,
 *   `--max-file-bytes must be a whole number of bytes from 1, optionally with K, M or G (got "x")`.
 * @example
 * parseLimit('maxFileBytes', '2G'); // 2147483648
 * parseLimit('maxDepth', '100'); // 100
 */
const parseLimit = (limit: keyof InputLimits, text: string): number => {
  const bytes = BYTE_LIMITS.has(limit);
  const match = bytes ? /^(\d+)\s*([KMG]?)(?:i?B)?$/i.exec(text.trim()) : /^(\d+)()$/.exec(text.trim());
  const value = match === null ? Number.NaN : Number(match[1]) * (SUFFIXES[(match[2] ?? '').toUpperCase()] ?? 1);
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_LIMIT) {
    throw new UsageError(
      `${LIMIT_FLAGS[limit]} must be a whole number${bytes ? ' of bytes' : ''} from 1` +
        `${bytes ? ', optionally with K, M or G' : ''} (got "${text}")`,
    );
  }
  return value;
};

/** `limits` over the defaults. */
const withDefaults = (limits: Partial<InputLimits> | undefined): InputLimits => ({ ...DEFAULT_LIMITS, ...limits });

/**
 * The longest record of a log file or array the scanner holds (characters): 32 MiB, or twice `maxStringBytes` if
 * more. Far past any record AWS writes (a record's requestParameters and responseElements are capped at 100 KB
 * each): a longer one most likely lost its closing brace, and is reported and skipped, never held.
 */
const maxRecordChars = (limits: Pick<InputLimits, 'maxStringBytes'>): number =>
  Math.max(32 * MIB, 2 * limits.maxStringBytes);

/**
 * The most values a record may hold (members and elements at any depth, counted by the commas between them): one per
 * 32 characters of maxRecordChars, 1,048,576 by default, far past any record AWS writes (a few thousand). JSON.parse
 * of a record of millions of tiny values (`[{},{},…]`, 32 MiB of them) takes seconds and gigabytes.
 */
const maxRecordValues = (limits: Pick<InputLimits, 'maxStringBytes'>): number =>
  Math.floor(maxRecordChars(limits) / 32);

/** What the error says of a record holding more than maxRecordValues values. */
const manyValuesMessage = (limits: Pick<InputLimits, 'maxStringBytes'>): string =>
  `holds more than ${groupDigits(maxRecordValues(limits))} values, too many to parse: skipped (a record may hold one per 32 characters of twice --max-string-bytes)`;

/** What the error says of a record longer than maxRecordChars. */
const bigRecordMessage = (limits: Pick<InputLimits, 'maxStringBytes'>): string =>
  `is longer than ${formatBytes(maxRecordChars(limits))}, or its closing brace is missing: skipped (a record may be twice --max-string-bytes)`;

/** What a breach of each limit says (after the file and position): `nested deeper than 64 levels (--max-depth)`. */
const limitMessage = (limit: keyof InputLimits, value: number): string => {
  const flag = LIMIT_FLAGS[limit];
  switch (limit) {
    case 'maxFileBytes':
      return `holds more than ${formatBytes(value)} of text (gunzipped, if gzip): the rest of the file is not read (${flag})`;
    case 'maxDepth':
      return `nested deeper than ${groupDigits(value)} ${value === 1 ? 'level' : 'levels'}: skipped (${flag})`;
    case 'maxStringBytes':
      return `holds a string longer than ${formatBytes(value)}: skipped (${flag})`;
    case 'maxRecords':
      return `holds more than ${groupDigits(value)} ${value === 1 ? 'record' : 'records'}: the rest of the file is not read (${flag})`;
  }
};

/** Thrown by the byte stream of a file past maxFileBytes: the reader reports it where reading stopped. */
class FileTooLargeError extends Error {
  public constructor(limit: number) {
    super(limitMessage('maxFileBytes', limit));
    this.name = 'FileTooLargeError';
  }
}

export type { InputLimits };
export {
  bigRecordMessage,
  DEFAULT_LIMITS,
  FileTooLargeError,
  formatBytes,
  limitMessage,
  manyValuesMessage,
  maxRecordChars,
  maxRecordValues,
  parseLimit,
  withDefaults,
};
