import { crc32, createInflateRaw, type InflateRaw } from 'node:zlib';
import { groupDigits } from '../../core/render/text.js';

/*
 * A gzip stream read member by member, so that damage costs only the damaged bytes. A gzip file is a series of
 * members, each a header, a deflate stream and an 8-byte trailer (RFC 1952 section 2.2,
 * https://www.rfc-editor.org/rfc/rfc1952#section-2.2); `cat a.gz b.gz` writes one. zlib's own gunzip fails the
 * whole write on data after a member (the text of its last 64 KiB is lost with it) and, in Node, stops without a
 * word at a zero byte after a member, dropping every member after it. Here each member is inflated on its own:
 * bytes that are not gzip are skipped up to the next member header, a member that fails to inflate is searched
 * for the next header from its second byte, and each such fault is recorded for the caller to report.
 */

const NEWLINE = Buffer.from('\n');
/** `{` and `[`: the text of a member that starts a JSON object or array. */
const OPENERS = new Set([0x7b, 0x5b]);
/** Flag bits of a member header's FLG byte (RFC 1952 section 2.3.1). */
const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;
const FRESERVED = 0xe0;
/** ID1, ID2 and CM (8: deflate), the first three bytes of every member. */
const MAGIC = [0x1f, 0x8b, 0x08] as const;
/** The same bytes, to search for. */
const MEMBER_START = Buffer.from(MAGIC);
const FIXED_HEADER = 10;
const TRAILER = 8;
/** The fewest bytes a member takes: its fixed header, the smallest deflate data (an empty final block), its trailer. */
const MIN_MEMBER = FIXED_HEADER + 2 + TRAILER;
/**
 * A file name or comment in a header longer than this is taken for damage, not read on (RFC 1952 sets no bound). It is
 * bytes.ts's WHOLE_FILE_BYTES: a file gunzipped whole (by zlib, which has no bound) is smaller, so a member is read
 * alike whole or streamed.
 */
const MAX_HEADER_TEXT = 1024 * 1024;
/** A header this long or shorter has its CRC-16 checked (FHCRC); real headers are a few dozen bytes. */
const CHECKED_HEADER = 4096;
/** Compressed bytes written to the inflater at once, and the size of its output buffers. */
const SLICE = 64 * 1024;
/**
 * The first piece of a member written to the inflater; each next is four times as long, up to SLICE. A false header
 * that passes deflateStartFails then costs about this much zlib work, not a whole SLICE.
 */
const FIRST_PIECE = 1024;
/**
 * What a member that fails costs of SEARCH_ALLOWANCE at the least: about the work of starting an inflater, in bytes.
 * False headers in junk made to pass deflateStartFails are then bounded in time, not only in bytes.
 */
const FAILED_MEMBER_COST = 16 * 1024;
/** Compressed bytes written at once when a failed member is inflated again up to its damage. */
const RETRY_PIECE = 256;
/** The last compressed bytes of a member kept, so that a member that fails can be searched for a later header. */
const KEPT_FOR_SEARCH = 1024 * 1024;
/**
 * Compressed bytes past a member header found inside a member's deflate data (a member cut short runs on into the next
 * member's bytes, inflating them to garbage), within which the member's text is held back: if the member then fails or
 * is cut and the next member is found at that header, the held text (from the next member's bytes) is dropped. Past
 * this many bytes, or HOLD_TEXT of text, with no fault, the header was a false one and the text is given.
 */
const HOLD_INPUT = 64 * 1024;
const HOLD_TEXT = 4 * 1024 * 1024;
/**
 * Bytes inflated or looked at again for members that failed, past which the search stops, beyond the input's own
 * size: so that no input costs more than linear time (see lookAgain).
 */
const SEARCH_ALLOWANCE = 64 * 1024 * 1024;

/**
 * One fault read past: bytes `from` to `to` (0-based offsets into the compressed input, `to` exclusive) that gave
 * no intact member, or a member whose trailer check failed. `membersBefore` intact members came before it.
 */
interface GzipFault {
  readonly from: number;
  readonly to: number;
  /** Why, in words for the error item: `not gzip: skipped`, `a member that does not inflate (zlib's reason): …`, … */
  readonly reason: string;
  readonly membersBefore: number;
  /** The last fault: the search for a member gave up, and the rest of the input is not read. */
  readonly stop?: true;
}

/** The compressed input: pulled chunk by chunk, with bytes looked at before they are taken, and put back. */
class ByteQueue {
  private chunks: Buffer[] = [];
  private held = 0;
  private done = false;
  /** The input offset of the first byte held. */
  offset = 0;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  get length(): number {
    return this.held;
  }

  /** Whether the input has no byte left. */
  async atEnd(): Promise<boolean> {
    return !(await this.want(1));
  }

  /** Pulls until `n` bytes are held; false when the input ends first. */
  async want(n: number): Promise<boolean> {
    while (this.held < n && !this.done) {
      const next = await this.source.next();
      if (next.done) this.done = true;
      else if (next.value.length > 0) {
        this.chunks.push(next.value);
        this.held += next.value.length;
      }
    }
    return this.held >= n;
  }

  /** Puts `bytes` in place of as many bytes at the front (a copy: the source's buffers are never written to). */
  replaceFront(bytes: Buffer): void {
    const front = this.peek(bytes.length);
    this.chunks[0] = Buffer.concat([bytes, (this.chunks[0] as Buffer).subarray(front.length)]);
  }

  /** The first `n` bytes held (n ≤ length), in one buffer. */
  peek(n: number): Buffer {
    if (this.chunks[0] === undefined || this.chunks[0].length < n) this.chunks = [Buffer.concat(this.chunks)];
    return (this.chunks[0] as Buffer).subarray(0, n);
  }

  /** Takes up to `n` bytes (at least one when any are held) from the front, without copying them. */
  take(n: number): Buffer {
    const first = this.chunks[0];
    if (first === undefined) return Buffer.alloc(0);
    const piece = first.length <= n ? first : first.subarray(0, n);
    if (piece === first) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.held -= piece.length;
    this.offset += piece.length;
    return piece;
  }

  /** Drops `n` bytes (n ≤ length). */
  skip(n: number): void {
    for (let left = n; left > 0; ) left -= this.take(left).length;
  }

  /** Drops zero bytes (padding) at the front; false when the input ends in them. */
  async skipZeros(): Promise<boolean> {
    while (await this.want(1)) {
      const first = this.peek(1)[0] === 0 ? (this.chunks[0] as Buffer) : undefined;
      if (first === undefined) return true;
      let zeros = 0;
      while (zeros < first.length && first[zeros] === 0) zeros += 1;
      this.skip(zeros);
    }
    return false;
  }

  /** Puts bytes taken back at the front: they start at input offset `offset`. */
  unshift(bytes: Buffer, offset: number): void {
    if (bytes.length === 0) return;
    this.chunks.unshift(bytes);
    this.held += bytes.length;
    this.offset = offset;
  }

  /**
   * The offset (relative to the front) of the first zero byte at or after `from`, pulling up to `from + within`; -1.
   * The last two searches are remembered (lastZeros), so that headers looked at one after another in junk
   * (`1f 8b 08 08` repeated, names and comments) search each byte once, not once each.
   */
  async indexOfZero(from: number, within: number): Promise<number> {
    const start = this.offset + from;
    let at = from;
    for (const last of this.lastZeros) {
      if (start < last.from) continue;
      if (last.at >= start) return last.at - start < within ? last.at - this.offset : -1;
      if (last.at < 0) {
        if (last.seen - start >= within) return -1;
        at = Math.max(at, last.seen - this.offset);
      }
    }
    for (;;) {
      if (at - from >= within || !(await this.want(at + 1))) {
        this.remember({ from: start, at: -1, seen: this.offset + Math.min(at, this.held) });
        return -1;
      }
      const found = this.findZero(at);
      if (found >= 0) {
        this.remember({ from: start, at: this.offset + found, seen: this.offset + found });
        return found - from < within ? found : -1;
      }
      at = this.held;
    }
  }

  /** The first zero byte held at or after `from` (relative to the front), chunk by chunk, without joining them; -1. */
  private findZero(from: number): number {
    let base = 0;
    for (const chunk of this.chunks) {
      if (from < base + chunk.length) {
        const found = chunk.indexOf(0, Math.max(0, from - base));
        if (found >= 0) return base + found;
      }
      base += chunk.length;
    }
    return -1;
  }

  /**
   * The last two searches (a header's name and its comment search one after the other), newest first: where each
   * began, the zero found or -1, how far it looked (input offsets).
   */
  private lastZeros: Array<{ from: number; at: number; seen: number }> = [];

  private remember(search: { from: number; at: number; seen: number }): void {
    this.lastZeros = [search, ...this.lastZeros.slice(0, 1)];
  }

  /**
   * Drops bytes up to the next place a member header could start (ID1 ID2 CM and a FLG with no reserved bit), pulling
   * as needed; false when the input ends first (everything is dropped then).
   */
  async skipToHeader(): Promise<boolean> {
    for (;;) {
      if (!(await this.want(4))) {
        this.skip(this.held);
        return false;
      }
      const bytes = this.peek(this.held);
      let at = bytes.indexOf(MAGIC[0]);
      while (at >= 0 && at + 4 <= bytes.length && !looksLikeHeader(bytes, at)) at = bytes.indexOf(MAGIC[0], at + 1);
      if (at < 0) {
        this.skip(this.held);
        continue;
      }
      this.skip(at);
      if (at + 4 <= bytes.length) return true;
      // The candidate's first bytes end the held input: pull more, then look again from it.
      if (!(await this.want(4))) {
        this.skip(this.held);
        return false;
      }
      if (looksLikeHeader(this.peek(4), 0)) return true;
      this.skip(1);
    }
  }
}

/** How many bits are set in a byte. */
const bitsIn = (byte: number): number => {
  let bits = 0;
  for (let rest = byte & 0xff; rest !== 0; rest &= rest - 1) bits++;
  return bits;
};

/**
 * `fixed` (a member's 10 fixed header bytes) as the header it is but for one flipped bit in its magic bytes, its method
 * or its reserved flag bits; undefined when it is a header, or further from one. Bit rot in a header would else cost
 * the whole member, its deflate data intact.
 */
const repairedHeader = (fixed: Buffer): Buffer | undefined => {
  const flags = fixed[3] as number;
  let bits = bitsIn(flags & FRESERVED);
  for (const [at, byte] of MAGIC.entries()) bits += bitsIn((fixed[at] as number) ^ byte);
  if (bits !== 1) return undefined;
  const repaired = Buffer.from(fixed);
  repaired.set(MAGIC, 0);
  repaired[3] = flags & ~FRESERVED;
  return repaired;
};

const looksLikeHeader = (bytes: Buffer, at: number): boolean =>
  bytes[at] === MAGIC[0] &&
  bytes[at + 1] === MAGIC[1] &&
  bytes[at + 2] === MAGIC[2] &&
  ((bytes[at + 3] as number) & FRESERVED) === 0;

/**
 * The length of the member header at the front of `input`: a number, `not gzip` when the bytes there are not one,
 * or `cut` when the input ends inside it. Checks the header's CRC-16 when FHCRC is set and the header is at most
 * CHECKED_HEADER bytes.
 */
const headerLength = async (input: ByteQueue): Promise<number | 'not gzip' | 'cut'> => {
  if (!(await input.want(FIXED_HEADER)))
    return input.length >= 4 && looksLikeHeader(input.peek(4), 0) ? 'cut' : 'not gzip';
  const fixed = input.peek(FIXED_HEADER);
  if (!looksLikeHeader(fixed, 0)) return 'not gzip';
  const flags = fixed[3] as number;
  let length = FIXED_HEADER;
  if (flags & FEXTRA) {
    if (!(await input.want(length + 2))) return 'cut';
    length += 2 + input.peek(length + 2).readUInt16LE(length);
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if ((flags & flag) === 0) continue;
    const zero = await input.indexOfZero(length, MAX_HEADER_TEXT);
    if (zero < 0) return input.length < length + MAX_HEADER_TEXT ? 'cut' : 'not gzip';
    length = zero + 1;
  }
  if (flags & FHCRC) {
    if (!(await input.want(length + 2))) return 'cut';
    // Checked for a header of common length only: false headers in junk can share a name of up to MAX_HEADER_TEXT,
    // and checking each would cost that much; their deflate data is still checked.
    const header = input.peek(length + 2);
    if (length <= CHECKED_HEADER && (crc32(header.subarray(0, length)) & 0xffff) !== header.readUInt16LE(length))
      return 'not gzip';
    length += 2;
  }
  return (await input.want(length)) ? length : 'cut';
};

/**
 * Whether the first deflate block header (RFC 1951 section 3.2.3, https://www.rfc-editor.org/rfc/rfc1951#section-3.2.3)
 * at the start of `bytes` (5 of them) is one zlib refuses: block type 3; a stored block whose LEN and NLEN are not
 * complements (section 3.2.4); a dynamic block naming more than 286 literal/length or 30 distance codes (section
 * 3.2.7; zlib's "too many length or distance symbols"). Bits are read from each byte's least significant bit.
 */
const deflateStartFails = (bytes: Buffer): boolean => {
  const first = bytes[0] as number;
  const type = (first >> 1) & 3;
  if (type === 3) return true;
  if (type === 0) return (bytes.readUInt16LE(1) ^ bytes.readUInt16LE(3)) !== 0xffff;
  if (type === 1) return false;
  const bits = first | ((bytes[1] as number) << 8);
  return ((bits >> 3) & 31) > 29 || ((bits >> 8) & 31) > 29;
};

/**
 * How inflating a member's deflate stream ended. `kept` holds the last compressed bytes written to it (about
 * KEPT_FOR_SEARCH of them), from input offset `keptFrom`, to search again for a member header after a fault.
 */
type Inflated = (
  | { readonly kind: 'done'; readonly crc: number; readonly size: number; readonly kept: Kept }
  /** `reason`: zlib's; `textRead`: how far the member's text was read (`up to the damage`, `before byte N`). */
  | {
      readonly kind: 'failed';
      readonly reason: string;
      readonly textRead: string;
      readonly kept: Kept;
      /** Compressed bytes zlib looked at (an upper bound), for SEARCH_ALLOWANCE. */
      readonly looked: number;
    }
  | { readonly kind: 'cut'; readonly reason: string; readonly kept: Kept }
) & {
  /** Text held back (not yet given) since a member header found at input offset `at` (HOLD_INPUT). */
  readonly held?: Held;
};

/** The text of a member inflated from the bytes after a member header inside it, not yet given. */
interface Held {
  readonly at: number;
  readonly text: readonly Buffer[];
}

/**
 * Where a member header's first bytes (MEMBER_START) are in `piece`: `index` in it (0 for one that starts in the last
 * two bytes of `before`, the piece written just before) and `at`, its offset from the piece's start (-2 or -1 then);
 * undefined when there is none.
 */
const headerIn = (before: Buffer | undefined, piece: Buffer): { index: number; at: number } | undefined => {
  if (before !== undefined && before.length >= 2) {
    const seam = Buffer.concat([before.subarray(-2), piece.subarray(0, 2)]).indexOf(MEMBER_START);
    if (seam >= 0 && seam < 2) return { index: 0, at: seam - 2 };
  }
  const index = piece.indexOf(MEMBER_START);
  return index < 0 ? undefined : { index, at: index };
};

/** Compressed bytes kept: the pieces, and the input offset of the first. */
interface Kept {
  readonly pieces: readonly Buffer[];
  readonly from: number;
}

/** Writes one piece to the inflater and yields its output as it comes; throws the inflater's error. */
async function* inflatePiece(inflater: InflateRaw, piece: Buffer): AsyncGenerator<Buffer> {
  let written = false;
  let failure: Error | undefined;
  let wake: () => void = () => {};
  const onError = (error: Error) => {
    failure = error;
    wake();
  };
  const onReadable = () => wake();
  inflater.on('error', onError);
  inflater.on('readable', onReadable);
  try {
    const settled = new Promise<void>((resolve) => {
      inflater.write(piece, () => {
        written = true;
        resolve();
      });
    });
    for (;;) {
      for (let out = inflater.read() as Buffer | null; out !== null; out = inflater.read() as Buffer | null) yield out;
      if (failure !== undefined) throw failure;
      if (written) return;
      await Promise.race([settled, new Promise<void>((resolve) => (wake = resolve))]);
    }
  } finally {
    inflater.off('error', onError);
    inflater.off('readable', onReadable);
  }
}

/**
 * Inflates the deflate stream at the front of `input` (its header taken), yielding its text; the bytes after the
 * stream's end are put back. Keeps the last KEPT_FOR_SEARCH compressed bytes, for the search after a failure.
 */
async function* inflateMember(input: ByteQueue): AsyncGenerator<Buffer, Inflated> {
  const deflateFrom = input.offset;
  const inflater = createInflateRaw({ chunkSize: SLICE });
  let crc = 0;
  let size = 0;
  const kept: Buffer[] = [];
  let keptBytes = 0;
  /** The input offset just past the last piece written: the kept pieces end there. */
  let written = deflateFrom;
  const keptNow = (): Kept => ({ pieces: kept, from: written - keptBytes });
  let pieceSize = FIRST_PIECE;
  /** The input offset of a member header inside this member, from which its text is held (-1: none). */
  let holdAt = -1;
  let held: Buffer[] = [];
  let heldBytes = 0;
  const heldNow = (): { held?: Held } => (holdAt < 0 ? {} : { held: { at: holdAt, text: held } });
  /** Text to give: held while holdAt is set. Answers the text to yield now (none while held). */
  const give = (out: Buffer): Buffer | undefined => {
    if (holdAt < 0) return out;
    held.push(out);
    heldBytes += out.length;
    return undefined;
  };
  try {
    for (;;) {
      if (holdAt >= 0 && (written - holdAt > HOLD_INPUT || heldBytes > HOLD_TEXT)) {
        // No fault so far past the header: a false one, inside intact data.
        for (const out of held) yield out;
        holdAt = -1;
        held = [];
        heldBytes = 0;
      }
      if (await input.atEnd()) {
        const reason = await finish(inflater);
        const why =
          reason === undefined
            ? 'its 8-byte trailer is missing'
            : reason === 'unexpected end of file'
              ? 'its compressed data is cut short'
              : reason;
        return { kind: 'cut', reason: why, kept: keptNow(), ...heldNow() };
      }
      const from = input.offset;
      const piece = input.take(pieceSize);
      pieceSize = Math.min(SLICE, pieceSize * 4);
      written = from + piece.length;
      const header = holdAt < 0 ? headerIn(kept.at(-1), piece) : undefined;
      kept.push(piece);
      keptBytes += piece.length;
      while (keptBytes - (kept[0] as Buffer).length >= KEPT_FOR_SEARCH) keptBytes -= (kept.shift() as Buffer).length;
      // Written in two parts around a header inside it: the text of the bytes after it is held.
      const parts = header === undefined || header.index === 0 ? [0] : [0, header.index];
      for (const [index, partFrom] of parts.entries()) {
        const part = piece.subarray(partFrom, parts[index + 1] ?? piece.length);
        if (header !== undefined && partFrom === header.index) holdAt = from + header.at;
        const before = inflater.bytesWritten;
        try {
          for await (const out of inflatePiece(inflater, part)) {
            crc = crc32(out, crc);
            size += out.length;
            const now = give(out);
            if (now !== undefined) yield now;
          }
        } catch (error) {
          // zlib gives no text from a write that fails: inflate the member again, the failed part in small steps.
          const again = keptNow().from === deflateFrom;
          if (again) {
            for await (const out of textBeforeDamage(Buffer.concat(kept), from + partFrom - deflateFrom, size)) {
              const now = give(out);
              if (now !== undefined) yield now;
            }
          }
          const textRead = again ? 'up to the damage' : `before byte ${groupDigits(from + partFrom)}`;
          const looked = Math.max(FAILED_MEMBER_COST, (again ? 2 : 1) * (written - deflateFrom));
          return { kind: 'failed', reason: (error as Error).message, textRead, kept: keptNow(), looked, ...heldNow() };
        }
        const used = inflater.bytesWritten - before;
        if (used < part.length) {
          input.unshift(piece.subarray(partFrom + used), from + partFrom + used);
          return { kind: 'done', crc, size, kept: keptNow(), ...heldNow() };
        }
      }
    }
  } finally {
    inflater.destroy();
  }
}

/**
 * The text of a deflate stream that fails, past the `given` bytes of it already given: `bytes` (the stream from its
 * start) inflated again, the first `good` bytes at once (they gave `given`), the rest RETRY_PIECE bytes at a time up to
 * the one that fails, so that only the text of that small piece is lost.
 */
async function* textBeforeDamage(bytes: Buffer, good: number, given: number): AsyncGenerator<Buffer> {
  const inflater = createInflateRaw({ chunkSize: SLICE });
  let skip = given;
  try {
    for (let at = 0; at < bytes.length; ) {
      const end = at < good ? good : Math.min(at + RETRY_PIECE, bytes.length);
      for await (const out of inflatePiece(inflater, bytes.subarray(at, end))) {
        if (out.length <= skip) skip -= out.length;
        else {
          yield out.subarray(skip);
          skip = 0;
        }
      }
      at = end;
    }
  } catch {
    // The damage: the text before it has been given.
  } finally {
    inflater.destroy();
  }
}

/** Ends the inflater at the end of the input: undefined when its deflate stream was complete, else zlib's reason. */
const finish = (inflater: InflateRaw): Promise<string | undefined> =>
  new Promise((resolve) => {
    inflater.once('error', (error) => resolve(error.message));
    inflater.once('end', () => resolve(undefined));
    inflater.end();
    inflater.resume();
  });

/** Thrown when the input ends inside a member: the text before the cut has been given. */
class GzipCutError extends Error {
  /** Read as zlib's own errors are (bytes.ts describeFailure). */
  readonly code = 'Z_BUF_ERROR';
}

/**
 * The text of a gzip stream (starting with a member header), member after member. Every intact member is read;
 * bytes that give none are skipped to the next member header, and each such run, or a member whose CRC-32 or size
 * check fails (its text is given), is pushed to `faults` as it is passed. A zero byte where a member could start
 * (padding) is passed over without a fault. The text a damaged member gives is followed by a newline when a member
 * follows it, so that the next log file starts a line of its own.
 *
 * @throws GzipCutError (code Z_BUF_ERROR) when the input ends inside a member, after the text up to the cut; its
 *   message names the cut (the faults before it are in `faults`, for the caller to report once).
 */
async function* gunzipMembers(source: AsyncIterator<Buffer>, faults: GzipFault[]): AsyncGenerator<Buffer> {
  try {
    yield* readMembers(new ByteQueue(source), faults);
  } finally {
    await source.return?.();
  }
}

/** gunzipMembers, once the input is a queue. */
async function* readMembers(input: ByteQueue, faults: GzipFault[]): AsyncGenerator<Buffer> {
  /** Members read to their trailer, and those of them whose trailer checks held. */
  let members = 0;
  let intact = 0;
  /** Whether the text given so far ends a line (or none was given). */
  let lineStart = true;
  /**
   * Whether the text given last may not join the next member's: a damaged member gave it, or gave none, or bytes
   * enough to have held a member were skipped. Junk shorter than any member, or a member whose check alone failed
   * (its text is whole), leaves the texts to join: one log file may go on in the next member.
   */
  let textBroken = false;
  /** Where a header with one bit flipped was repaired (once each). */
  const repairedAt = new Set<number>();
  let searched = 0;
  /** Where the bytes that gave no member began, and why, while a member is being looked for after damage. */
  let damage: { from: number; reason: string } | undefined;
  /** Records a fault; the bytes of one already recorded are not named again (a search can go back into them). */
  const fault = (from: number, to: number, reason: string, stop?: true) => {
    const start = Math.max(from, faults.at(-1)?.to ?? 0);
    if (start < to || stop)
      faults.push({ from: start, to: Math.max(start, to), reason, membersBefore: intact, ...(stop ? { stop } : {}) });
  };
  /** Ends the run of damage at `to`, where a member starts or the input ends. */
  const closeDamage = (to: number, stop?: true) => {
    if (damage !== undefined) fault(damage.from, to, damage.reason, stop);
    damage = undefined;
  };
  const cut = (start: number, reason: string): GzipCutError => {
    closeDamage(start);
    return cutError(start, members, reason);
  };
  /**
   * After a fault in the member at `start`: the input from its second byte (as far back as kept) up to where it was
   * read, put back and skipped to the next member header, since a member cut short is followed by the next. False when
   * the search is over: the input ended, or the bytes looked at again (each also inflated once, at most) are more
   * than SEARCH_ALLOWANCE beyond the input read so far (the rest is then not read, so that no input costs more than
   * linear time).
   */
  const lookAgain = async (
    start: number,
    header: Buffer,
    kept: Kept,
    looked = 0,
  ): Promise<'found' | 'end' | 'gave up'> => {
    // The header too, when the whole member is kept: a header cut short runs on into the next member's.
    const whole = kept.from === start + header.length;
    const keptFrom = whole ? start : kept.from;
    const from = Math.max(start + 1, keptFrom);
    const pieces = whole ? [header, ...kept.pieces] : kept.pieces;
    const bytes = pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces);
    const again = bytes.subarray(from - keptFrom, input.offset - keptFrom);
    // What zlib looked at, given; else (a member inflated to its end) the bytes to be looked at again.
    searched += looked > 0 ? looked : again.length;
    if (searched > SEARCH_ALLOWANCE + input.offset) {
      const reason = `damaged again and again: the search for the next member stopped after ${groupDigits(searched)} bytes looked at again, and the rest of the input is not read`;
      if (damage !== undefined) damage.reason += `; ${reason}`;
      else damage = { from: input.offset, reason };
      closeDamage(input.offset, true);
      return 'gave up';
    }
    input.unshift(again, from);
    return (await input.skipToHeader()) ? 'found' : 'end';
  };
  // The text of a damaged member ends its line when a member follows, so that the text after it starts afresh: the
  // next log file is then read even when the damaged text is not the start of one (as a line of its own).
  for (;;) {
    if (!(await input.skipZeros())) break;
    const start = input.offset;
    const header = await headerLength(input);
    if (header === 'cut') {
      // The input ends inside the header, or the header names more than there is: a later member is read all the same.
      input.skip(1);
      textBroken = true;
      if (!(await input.skipToHeader())) throw cut(start, 'inside a member header');
      damage ??= { from: start, reason: 'a member header cut short: skipped' };
      continue;
    }
    const repaired = header === 'not gzip' && input.length >= FIXED_HEADER && repairedHeader(input.peek(FIXED_HEADER));
    if (repaired && !repairedAt.has(start)) {
      // One bit flipped in a header where a member starts: read as the member it is (its deflate data and trailer
      // check whether it was one).
      repairedAt.add(start);
      input.replaceFront(repaired);
      closeDamage(start);
      fault(start, start + 4, 'a member header with one bit flipped: read as the member it is');
      continue;
    }
    if (header === 'not gzip') {
      damage ??= { from: start, reason: 'not gzip: skipped' };
      input.skip(1);
      const found = await input.skipToHeader();
      if (input.offset - start >= MIN_MEMBER) textBroken = true;
      if (!found) break;
      continue;
    }
    if ((await input.want(header + 5)) && deflateStartFails(input.peek(header + 5).subarray(header))) {
      // zlib would fail on its first bytes: no inflater is started for it (a false header in junk, most often).
      damage ??= {
        from: start,
        reason: 'a member that does not inflate (its first deflate block is invalid): skipped',
      };
      // Its header's name, if any, was searched once for all the headers that share it: a small cost each.
      searched += FIXED_HEADER + 5;
      input.skip(1);
      const found = await input.skipToHeader();
      if (input.offset - start >= MIN_MEMBER) textBroken = true;
      if (!found) break;
      continue;
    }
    const headerBytes = input.peek(header);
    input.skip(header);
    const member = inflateMember(input);
    let next = await member.next();
    let gave = false;
    while (!next.done) {
      // After damage, a member whose text starts a JSON value starts a line too: the text before it may be a damaged
      // member's that is not a log file, which would else make the next log files unreadable as lines.
      const opens = OPENERS.has(next.value[0] as number);
      if (!gave && !lineStart && opens && textBroken) yield NEWLINE;
      textBroken = false;
      gave = true;
      lineStart = next.value[next.value.length - 1] === 0x0a;
      yield next.value;
      next = await member.next();
    }
    const end = next.value;
    /**
     * The text held back from a header inside the member: dropped when the next member was found there (`found`: it
     * is the text of the next member's bytes read as this one's), else given.
     */
    const settle = function* (found: boolean): Generator<Buffer> {
      const held = end.held;
      if (held === undefined || (found && input.offset === held.at)) return;
      for (const out of held.text) {
        gave = true;
        lineStart = out[out.length - 1] === 0x0a;
        yield out;
      }
    };
    const trailer = end.kind === 'done' && (await input.want(TRAILER)) ? input.peek(TRAILER) : undefined;
    const checks =
      end.kind === 'done' &&
      trailer !== undefined &&
      trailer.readUInt32LE(0) === end.crc &&
      trailer.readUInt32LE(4) === end.size % 2 ** 32;
    if (end.kind === 'cut') {
      // Its text has been given. Nothing follows a member cut by the end of the input, unless its damage swallowed a
      // later member: that one is read, and the cut is a fault of its own.
      const before = damage;
      damage ??= { from: start, reason: `a member cut short (${end.reason}): its text was read` };
      const found = await lookAgain(start, headerBytes, end.kept);
      yield* settle(found === 'found');
      if (found === 'found') {
        if (gave) {
          lineStart = true;
          yield NEWLINE;
        } else textBroken = true;
        continue;
      }
      if (found === 'gave up') break;
      damage = before;
      throw cut(start, end.reason);
    }
    if (end.kind === 'failed') {
      damage ??= {
        from: start,
        reason: `a member that does not inflate (${end.reason}): its text ${end.textRead} was read, the rest skipped`,
      };
      const found = await lookAgain(start, headerBytes, end.kept, end.looked);
      yield* settle(found === 'found');
      if (found !== 'found') break;
      if (gave) {
        lineStart = true;
        yield NEWLINE;
      } else textBroken = true;
      continue;
    }
    if (trailer === undefined) {
      yield* settle(false);
      throw cut(start, 'its 8-byte trailer is cut short');
    }
    closeDamage(start);
    members += 1;
    if (checks) {
      yield* settle(false);
      intact += 1;
      input.skip(TRAILER);
      continue;
    }
    // Its text has been given. A member cut short can inflate to an end on the next member's first bytes (no trailer
    // then): the next member is looked for from this one's second byte, and bytes after its trailer that give none
    // are damage of their own.
    const before = faults.length;
    fault(
      start,
      input.offset + TRAILER,
      'a member that fails its CRC-32 or size check: its text was read and may be damaged',
    );
    const crcFault = faults.length > before ? faults.length - 1 : -1;
    const after = input.offset + TRAILER;
    const found = await lookAgain(start, headerBytes, end.kept);
    yield* settle(found === 'found');
    // The next member found inside this one's bytes (it was cut short, and ran on into them): the fault ends there.
    const failed = faults[crcFault];
    if (found === 'found' && failed !== undefined && input.offset < failed.to)
      faults[crcFault] = { ...failed, to: Math.max(failed.from, input.offset) };
    if (found === 'gave up') break;
    // A member found inside its bytes (it was cut short, and ran on into them) ends its text's line; at its end, its
    // text is whole, and may go on in the next member.
    if (found === 'found' && gave && input.offset < after) {
      lineStart = true;
      yield NEWLINE;
    }
    if (input.offset > after) {
      fault(after, input.offset, 'not gzip: skipped');
      if (input.offset - after >= MIN_MEMBER) textBroken = true;
    }
    if (found === 'end') break;
  }
  closeDamage(input.offset);
}

const cutError = (start: number, members: number, reason: string): GzipCutError => {
  const where = members === 0 && start === 0 ? '' : ` in gzip member ${members + 1} (from byte ${groupDigits(start)})`;
  return new GzipCutError(`unexpected end of file${where}: ${reason}`);
};

/** The faults of one stream as one sentence for its error item: the first three in full, and the one that stopped. */
const gzipFaultsMessage = (faults: readonly GzipFault[]): string => {
  const words = (fault: GzipFault): string => {
    const bytes = `bytes ${groupDigits(fault.from)}–${groupDigits(fault.to - 1)}`;
    const count = fault.membersBefore;
    const after = count === 0 ? '' : ` after ${count} intact member${count === 1 ? '' : 's'}`;
    return `${bytes}${after}: ${fault.reason}`;
  };
  const last = faults.at(-1);
  const more = (count: number) => `${count} more`;
  const parts =
    faults.length <= 3
      ? faults.map(words)
      : last?.stop
        ? [...faults.slice(0, 2).map(words), more(faults.length - 3), words(last)]
        : [...faults.slice(0, 3).map(words), more(faults.length - 3)];
  const read = last?.stop ? 'intact members read up to where the search stopped' : 'every intact member read';
  return `damaged gzip data, ${read} (${parts.join('; ')})`;
};

export type { GzipFault };
export { gunzipMembers, gzipFaultsMessage, MEMBER_START };
