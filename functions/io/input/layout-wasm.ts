import type { RawNeedle } from '../../core/event-pattern/tokens.js';
import { LAYOUT_WASM } from './layout-wasm-bytes.js';

/*
 * The structure pass of a compact CloudTrail log file (quick-scan.ts layoutOf) and the pre-filter's search for its
 * tokens (the needles of RecordSearch.anywhere) in WebAssembly (layout.wat): the text (or its bytes) is copied into the
 * module's memory, and the records' columns and the places the needles are found are read back. One module is compiled per thread, on first
 * use; its memory is kept for files up to KEEP_BYTES and made afresh (and let go) for bigger ones, so a thread holds a
 * few MiB at most between files.
 */

/** What the module exports (layout.wat). */
interface LayoutExports {
  readonly memory: WebAssembly.Memory;
  layout(
    text: number,
    n: number,
    stack: number,
    maxDepth: number,
    maxString: number,
    maxRecords: number,
    out: number,
    cap: number,
  ): number;
  search(
    text: number,
    n: number,
    from: number,
    needles: number,
    count: number,
    filters: number,
    out: number,
    cap: number,
  ): number;
}

/** Where the needles were found: each place (ascending) and the index of its needle. */
interface NeedlePlaces {
  readonly at: Int32Array;
  readonly needle: Int32Array;
}

/**
 * Needles as layout.wat's search reads them: the table (NEEDLE_BYTES each: the length, the bytes, the folds) and the
 * filter of first and second bytes.
 */
interface NeedleTable {
  readonly table: Uint8Array;
  readonly filters: Uint8Array;
}

/** The columns of the records one call found: views into the module's memory, valid until the next call. */
interface WasmLayout {
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  readonly nameFrom: Int32Array;
  readonly nameTo: Int32Array;
  readonly flags: Int32Array;
}

/** Where the stack of open brackets starts, past the key names of layout.wat's data segment. */
const STACK_AT = 64;
/** The most records the answer has room for: one per this many bytes of text (real records are hundreds). */
const BYTES_PER_RECORD = 32;
/** Bytes after the text: the sentinel quote, and room for the last 16-byte loads. */
const TEXT_PADDING = 32;
const PAGE_BYTES = 65_536;
/** A module whose memory grew past this is used for its file only (a big file's memory is not held). */
const KEEP_BYTES = 8 * 1024 * 1024;
const I32_MAX = 0x7fff_ffff;
/** The longest needle the search takes, and the bytes of one in the table: its length, its bytes, their folds. */
const MAX_NEEDLE = 64;
const NEEDLE_BYTES = 4 + 2 * MAX_NEEDLE;
/** How many different first bytes, and second bytes, the search's filter holds. */
const FIRST_BYTES = 4;
const SECOND_BYTES = 8;
/** Room for this many places, plus one per PLACE_BYTES of text; past it, the regular expression searches. */
const MIN_PLACES = 1024;
const PLACE_BYTES = 64;
const FOLD = 0x20;

const ENCODER = new TextEncoder();

let compiled: WebAssembly.Module | null | undefined;
let kept: LayoutExports | undefined;

/** The compiled module, or null where WebAssembly (with SIMD) is not to be had: then layoutOf does the work. */
const layoutModule = (): WebAssembly.Module | null => {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(Buffer.from(LAYOUT_WASM, 'base64'));
    } catch {
      compiled = null;
    }
  }
  return compiled;
};

/**
 * An instance with at least `bytes` of memory: the kept one, grown, or (past KEEP_BYTES) one for this call; undefined
 * when the memory cannot be had (the JavaScript passes then do the work).
 */
const instanceFor = (module: WebAssembly.Module, bytes: number): LayoutExports | undefined => {
  const fresh = (): LayoutExports => new WebAssembly.Instance(module).exports as unknown as LayoutExports;
  try {
    if (bytes > KEEP_BYTES) return grown(fresh(), bytes);
    kept ??= fresh();
    return grown(kept, bytes);
  } catch {
    return undefined;
  }
};

/** `instance` with its memory grown to at least `bytes`; throws a RangeError when it cannot grow so far. */
const grown = (instance: LayoutExports, bytes: number): LayoutExports => {
  const missing = bytes - instance.memory.buffer.byteLength;
  if (missing > 0) instance.memory.grow(Math.ceil(missing / PAGE_BYTES));
  return instance;
};

const align16 = (at: number): number => Math.ceil(at / 16) * 16;

const isLetter = (code: number): boolean => code >= 0x61 && code <= 0x7a;

/**
 * The needles as layout.wat's search takes them, or undefined when it cannot (then the regular expression searches): a
 * needle shorter than two bytes or longer than MAX_NEEDLE, or more than FIRST_BYTES first bytes or SECOND_BYTES second
 * bytes among them (both cases of a folded letter).
 */
const needleTable = (needles: readonly RawNeedle[]): NeedleTable | undefined => {
  const first = new Set<number>();
  const second = new Set<number>();
  const table = new Uint8Array(needles.length * NEEDLE_BYTES);
  const view = new DataView(table.buffer);
  for (const [index, { text, fold }] of needles.entries()) {
    if (text.length < 2 || text.length > MAX_NEEDLE) return undefined;
    const at = index * NEEDLE_BYTES;
    view.setInt32(at, text.length, true);
    for (let k = 0; k < text.length; k++) {
      const code = text.charCodeAt(k);
      const folds = fold && isLetter(code);
      table[at + 4 + k] = code;
      table[at + 4 + MAX_NEEDLE + k] = folds ? FOLD : 0;
      if (k < 2) for (const variant of folds ? [code, code - FOLD] : [code]) (k === 0 ? first : second).add(variant);
    }
  }
  if (first.size > FIRST_BYTES || second.size > SECOND_BYTES) return undefined;
  const pad = (values: number[], size: number): number[] =>
    Array.from({ length: size }, (_, k) => values[k] ?? (values[0] as number));
  const filters = Uint8Array.from([...pad([...first], FIRST_BYTES), ...pad([...second], SECOND_BYTES)]);
  return { table, filters };
};

/** needleTable, made once for each list of needles (a catalog's pre-filter keeps its list). */
const tables = new WeakMap<readonly RawNeedle[], NeedleTable | null>();
const tableOf = (needles: readonly RawNeedle[]): NeedleTable | undefined => {
  let table = tables.get(needles);
  if (table === undefined) {
    table = needleTable(needles) ?? null;
    tables.set(needles, table);
  }
  return table ?? undefined;
};

/**
 * What layout.wat gave for one text: its records' columns (`layout`: undefined where layoutOf gives undefined), and,
 * when needles were given, where they are (`places`, which the caller must mark: undefined when the text is not the
 * fast path's). Either is `fallback` where this module does not answer and the JavaScript must (layoutOf, the
 * regular expression). Views into the module's memory, valid until the next call.
 */
interface WasmScan {
  readonly layout: WasmLayout | undefined | 'fallback';
  readonly places: NeedlePlaces | undefined | 'fallback';
}

const FALLBACK: WasmScan = { layout: 'fallback', places: 'fallback' };

/**
 * quick-scan.ts layoutOf over `source` (a text, or its bytes when they are ASCII), which starts `{"Records":[`, computed
 * by layout.wat, and, given `needles` (RecordSearch.needles, not empty), the places its search finds them from the
 * first record on. The layout is `fallback` without WebAssembly, for a text that is not all ASCII (the module reads
 * bytes, and positions in a text are UTF-16 code units), or for more than one record per BYTES_PER_RECORD bytes; the
 * places are `fallback` when the needles are not ones the search takes (needleTable) or are found in more places than
 * it keeps room for. `maxDepth` is at least 1 and at most the stack layoutOf keeps (65,536).
 */
const wasmScan = (
  source: string | Uint8Array,
  maxDepth: number,
  maxStringBytes: number,
  maxRecords: number,
  needles?: readonly RawNeedle[],
): WasmScan => {
  const module = layoutModule();
  if (module === null) return FALLBACK;
  const n = source.length;
  const cap = Math.floor(n / BYTES_PER_RECORD) + 1;
  const placeCap = MIN_PLACES + Math.floor(n / PLACE_BYTES);
  const table = needles === undefined ? undefined : tableOf(needles);
  const out = align16(STACK_AT + maxDepth + 1);
  const placesAt = align16(out + 5 * 4 * cap);
  const needlesAt = align16(placesAt + 2 * 4 * placeCap);
  const filtersAt = needlesAt + (table?.table.length ?? 0);
  const at = align16(filtersAt + FIRST_BYTES + SECOND_BYTES);
  const instance = instanceFor(module, at + n + TEXT_PADDING);
  if (instance === undefined) return FALLBACK;
  const memory = new Uint8Array(instance.memory.buffer);
  if (typeof source === 'string') {
    // ASCII is copied byte for byte; any other character takes more bytes than one, and the copy stops short.
    const copied = ENCODER.encodeInto(source, memory.subarray(at, at + n));
    if (copied.read !== n || copied.written !== n) return FALLBACK;
  } else memory.set(source, at);
  const count = instance.layout(
    at,
    n,
    STACK_AT,
    maxDepth,
    Math.min(maxStringBytes, I32_MAX),
    Math.min(maxRecords, I32_MAX),
    out,
    cap,
  );
  if (count === -1) return { layout: undefined, places: undefined };
  if (count < 0) return FALLBACK;
  const column = (index: number) => new Int32Array(instance.memory.buffer, out + index * 4 * cap, count);
  const layout = { starts: column(0), ends: column(1), nameFrom: column(2), nameTo: column(3), flags: column(4) };
  if (needles === undefined) return { layout, places: undefined };
  if (table === undefined) return { layout, places: 'fallback' };
  memory.set(table.table, needlesAt);
  memory.set(table.filters, filtersAt);
  const from = layout.starts[0] ?? n;
  const found = instance.search(at, n, from, needlesAt, needles.length, filtersAt, placesAt, placeCap);
  if (found < 0) return { layout, places: 'fallback' };
  const place = (index: number) => new Int32Array(instance.memory.buffer, placesAt + index * 4 * placeCap, found);
  return { layout, places: { at: place(0), needle: place(1) } };
};

export type { NeedlePlaces, WasmLayout };
export { wasmScan };
