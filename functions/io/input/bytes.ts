import { isAscii } from 'node:buffer';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { promisify } from 'node:util';
import { gunzip, gunzipSync, type ZlibOptions } from 'node:zlib';
import { groupDigits } from '../../core/render/text.js';
import { toError } from '../../errors.js';
import { type GzipFault, gunzipMembers, MEMBER_START } from './gzip-members.js';
import { FileTooLargeError } from './limits.js';

/*
 * The bytes of an input: a file read whole or streamed, gunzipped when it is gzip, counted for
 * progress, and why a read failed.
 */

const PROGRESS_STEP = 1024 * 1024;
/**
 * A regular file smaller than this (CloudTrail log files mostly are) is read and gunzipped in one go
 * rather than streamed, which is much cheaper per file. A streamed file this small reports no
 * progress inside it either, so progress is the same both ways.
 */
const WHOLE_FILE_BYTES = PROGRESS_STEP;
/**
 * A small file that gunzips to more than this is streamed after all, so it is never held whole: with workers, several
 * files are read ahead (read-input.ts AHEAD_PER_WORKER), and 16 files of 60 MiB each once took 2.5 GB. A CloudTrail
 * log file under WHOLE_FILE_BYTES gzipped is a few MiB of text.
 */
const WHOLE_FILE_TEXT_BYTES = 16 * 1024 * 1024;
/** Output chunk size for gunzipping a file read whole: one step on the thread pool, not one per 16 KiB. */
const WHOLE_FILE_CHUNK = 1024 * 1024;

const FS_MESSAGES: Partial<Record<string, string>> = {
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ELOOP: 'too many levels of symbolic links',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EPERM: 'permission denied',
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

/** Counts the raw bytes of a stream as they are read. */
async function* countBytes(source: AsyncIterable<Buffer | string>, counter: { bytes: number }): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    counter.bytes += buffer.length;
    yield buffer;
  }
}

/**
 * The bytes of a stream, gunzipped when they start with the gzip magic bytes 1f 8b, whatever the file name, member by
 * member (gzip-members.ts): damaged gzip data is skipped to the next intact member and pushed to `faults`.
 *
 * @throws GzipCutError when the gzip data ends inside a member, after the text before the cut.
 */
async function* decompressed(raw: AsyncGenerator<Buffer>, faults: GzipFault[], name = ''): AsyncGenerator<Buffer> {
  const head: Buffer[] = [];
  let headLength = 0;
  // Two bytes tell gzip; a stream whose first byte no text starts with is read on (up to GZIP_LOOKAHEAD) for a
  // member's first bytes, which make it gzip damaged at the start whatever its name (damagedGzip).
  const wanted = (): boolean => {
    if (headLength < 2) return true;
    const first = head[0]?.[0];
    return (
      headLength < GZIP_LOOKAHEAD &&
      first !== undefined &&
      !startsText(first) &&
      !isGzip(Buffer.concat(head)) &&
      !head.some((piece) => piece.includes(MEMBER_START))
    );
  };
  while (wanted()) {
    const next = await raw.next();
    if (next.done) break;
    head.push(next.value);
    headLength += next.value.length;
  }
  async function* replayed(): AsyncGenerator<Buffer> {
    yield* head;
    yield* raw;
  }
  const start = Buffer.concat(head);
  if (!isGzip(start) && !damagedGzip(start, name)) {
    yield* replayed();
    return;
  }
  yield* gunzipMembers(replayed(), faults);
}

/**
 * The bytes of a stream, at most `maxBytes` of them: past that, the bytes up to the limit and then
 * FileTooLargeError. Stops reading there (the source, a gunzip stream, is destroyed).
 */
async function* limitBytes(chunks: AsyncIterable<Buffer>, maxBytes: number): AsyncGenerator<Buffer> {
  let total = 0;
  for await (const chunk of chunks) {
    total += chunk.length;
    if (total > maxBytes) {
      const keep = chunk.length - (total - maxBytes);
      if (keep > 0) yield chunk.subarray(0, keep);
      throw new FileTooLargeError(maxBytes);
    }
    yield chunk;
  }
}

/** UTF-8 bytes as text, piece by piece; a character split between chunks is joined. Invalid bytes become U+FFFD. */
async function* decodeText(chunks: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  for await (const chunk of chunks) yield decoder.write(chunk);
  const last = decoder.end();
  if (last !== '') yield last;
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

const gunzipAsync = promisify(gunzip) as unknown as (bytes: Buffer, options: GunzipOptions) => Promise<Gunzipped>;
const gunzipInfoSync = gunzipSync as unknown as (bytes: Buffer, options: GunzipOptions) => Gunzipped;
type GunzipOptions = ZlibOptions & { info: true };

/** What zlib gives with `info: true`: the text, and the engine, whose bytesWritten is the compressed bytes it read. */
interface Gunzipped {
  buffer: Buffer;
  engine: { bytesWritten: number };
}

/**
 * The text of gzip bytes gunzipped whole, or undefined when zlib left bytes unread that are not zero padding: Node's
 * gunzip stops without an error at a zero byte after a member, so `a.gz`, a zero byte, then `b.gz` would lose b. Such
 * bytes, like every other fault, are for the stream (gunzipMembers) to read past and report.
 */
const allOf = ({ buffer, engine }: Gunzipped, bytes: Buffer): Buffer | undefined => {
  for (let at = engine.bytesWritten; at < bytes.length; at += 1) if (bytes[at] !== 0) return undefined;
  return buffer;
};

/**
 * The output chunk size for gunzipping `bytes` whole: the size its gzip trailer states (ISIZE, the last 4 bytes:
 * the uncompressed size mod 2^32, RFC 1952 section 2.3.1, https://www.rfc-editor.org/rfc/rfc1952#page-8) plus one,
 * so that the text comes out in one buffer, not in chunks then copied together. Only a hint: the trailer may lie
 * (or name the last member only), so it is kept between WHOLE_FILE_CHUNK and `maxOutputLength` + 1, and
 * maxOutputLength alone bounds the output.
 */
const chunkSizeFor = (bytes: Buffer, maxOutputLength: number): number => {
  const stated = bytes.length >= 18 ? bytes.readUInt32LE(bytes.length - 4) : 0;
  return Math.max(WHOLE_FILE_CHUNK, Math.min(stated + 1, maxOutputLength + 1));
};

/**
 * The text of a small regular file, read whole and gunzipped (when it starts with the gzip magic
 * bytes) in one go, on the thread pool, so that the main thread can go on with the file before it.
 * Undefined when the file is to be streamed instead: it is too big (see readSmallFile), it gunzips
 * to more than WHOLE_FILE_TEXT_BYTES or `maxFileBytes` (the limit, which the stream then reports),
 * or it fails to read or to gunzip; the stream then reports the error exactly as it always has,
 * after the items read before it.
 */
const readWhole = async (path: string, maxFileBytes: number): Promise<string | undefined> => {
  let bytes: Buffer | undefined;
  try {
    bytes = readSmallFile(path);
  } catch {
    return undefined;
  }
  return bytes === undefined ? undefined : textOfBytes(bytes, maxFileBytes, path);
};

/**
 * readWhole for bytes already in memory (an S3 object's body): their text, gunzipped (when they start with the gzip
 * magic bytes) on the thread pool, or undefined when they are to be streamed instead (too much text, corrupt gzip).
 */
const textOfBytes = async (bytes: Buffer, maxFileBytes: number, name: string): Promise<string | undefined> => {
  const max = outputLimit(maxFileBytes);
  if (damagedGzip(bytes, name)) return undefined;
  try {
    return wholeText(isGzip(bytes) ? allOf(await gunzipAsync(bytes, gunzipOptions(bytes, max)), bytes) : bytes, max);
  } catch {
    return undefined;
  }
};

/**
 * readWhole on the calling thread (a worker's), gunzipped synchronously: the same answers, as the bytes of the text
 * (UTF-8; textOf decodes them), so that a caller that reads bytes need not make a string.
 */
const readWholeBytesSync = (path: string, maxFileBytes: number): Buffer | undefined => {
  const max = outputLimit(maxFileBytes);
  try {
    const bytes = readSmallFile(path);
    if (bytes !== undefined && damagedGzip(bytes, path)) return undefined;
    const whole =
      bytes !== undefined && isGzip(bytes) ? allOf(gunzipInfoSync(bytes, gunzipOptions(bytes, max)), bytes) : bytes;
    return within(whole, max);
  } catch {
    return undefined;
  }
};

/**
 * One gzip payload (a CloudWatch Logs subscription's) gunzipped on the calling thread, at most `maxOutputLength`
 * bytes of it.
 *
 * @throws zlib's errors (code Z_…), and an Error when bytes other than zero padding follow a zero byte after the
 *   gzip data: zlib stops there without a word.
 */
const gunzipPayload = (bytes: Buffer, maxOutputLength: number): Buffer => {
  const result = gunzipInfoSync(bytes, { info: true, maxOutputLength });
  const text = allOf(result, bytes);
  if (text === undefined)
    throw new Error(`data after the gzip data (from byte ${groupDigits(result.engine.bytesWritten)}) is not read`);
  return text;
};

/** The most text a file read whole may give: past it (or past the limit), it is streamed, and the stream reports. */
const outputLimit = (maxFileBytes: number): number => Math.min(WHOLE_FILE_TEXT_BYTES, maxFileBytes);

const isGzip = (bytes: Buffer): boolean => bytes[0] === 0x1f && bytes[1] === 0x8b;

/**
 * Whether bytes that do not start with the gzip magic bytes (false when they do) are gzip all the same, damaged at the start (a flipped
 * magic byte, zero padding, junk before the first member): their name ends `.gz`, and their first byte is one no text
 * starts with (not a tab, newline, carriage return, printable ASCII or a UTF-8 byte-order mark's first byte) or they
 * hold a member's first bytes `1f 8b 08` (0x1f never stands unescaped in JSON). They are then read member by member
 * (gzip-members.ts), which skips to the first intact member and names what it skipped; a `.gz` file of plain JSON is
 * still read as text. Without the name (stdin, or a name that does not say gzip) both must hold: a first byte no text
 * starts with, and a member's first bytes. `bytes`: the file, or the first piece of a stream.
 */
const damagedGzip = (bytes: Buffer, name: string): boolean => {
  const first = bytes[0];
  if (first === undefined || isGzip(bytes)) return false;
  const text = startsText(first);
  return /\.gz$/i.test(name) ? !text || bytes.includes(MEMBER_START) : !text && bytes.includes(MEMBER_START);
};

/** Whether text may start with the byte `first`: a tab, newline, carriage return, printable ASCII, or a BOM's first. */
const startsText = (first: number): boolean =>
  first === 0x09 || first === 0x0a || first === 0x0d || (first >= 0x20 && first <= 0x7e) || first === 0xef;

/** How far a stream that starts with a byte no text starts with is read for a gzip member's first bytes. */
const GZIP_LOOKAHEAD = 64 * 1024;

const gunzipOptions = (bytes: Buffer, maxOutputLength: number): GunzipOptions => ({
  info: true as const,
  maxOutputLength,
  chunkSize: chunkSizeFor(bytes, maxOutputLength),
});

/** A file's (gunzipped) bytes, or undefined when there are none or more than `maxOutputLength`. */
const within = (bytes: Buffer | undefined, maxOutputLength: number): Buffer | undefined =>
  bytes === undefined || bytes.length > maxOutputLength ? undefined : bytes;

/** The text of a file's (gunzipped) bytes, or undefined as `within`. */
const wholeText = (bytes: Buffer | undefined, maxOutputLength: number): string | undefined => {
  const kept = within(bytes, maxOutputLength);
  return kept === undefined ? undefined : textOf(kept);
};

/** UTF-8 bytes as text; ASCII (most CloudTrail logs) copied as Latin-1, which is the same text and half the work. */
const textOf = (bytes: Buffer): string => {
  if (isAscii(bytes)) return bytes.toString('latin1');
  const decoder = new StringDecoder('utf8');
  return decoder.write(bytes) + decoder.end();
};

export {
  countBytes,
  decodeText,
  decompressed,
  describeFailure,
  gunzipPayload,
  limitBytes,
  PROGRESS_STEP,
  readWhole,
  readWholeBytesSync,
  textOf,
  textOfBytes,
  WHOLE_FILE_BYTES,
};
