import { LAYOUT_WASM } from './layout-wasm-bytes.js';

/*
 * The structure pass of a compact CloudTrail log file (quick-scan.ts layoutOf) in WebAssembly (layout.wat): the text is
 * copied into the module's memory and the records' columns are read back. One module is compiled per thread, on first
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

/** An instance with at least `bytes` of memory: the kept one, grown, or (past KEEP_BYTES) one for this call. */
const instanceFor = (module: WebAssembly.Module, bytes: number): LayoutExports => {
  const fresh = (): LayoutExports => new WebAssembly.Instance(module).exports as unknown as LayoutExports;
  if (bytes > KEEP_BYTES) return grown(fresh(), bytes);
  kept ??= fresh();
  return grown(kept, bytes);
};

/** `instance` with its memory grown to at least `bytes`. */
const grown = (instance: LayoutExports, bytes: number): LayoutExports => {
  const missing = bytes - instance.memory.buffer.byteLength;
  if (missing > 0) instance.memory.grow(Math.ceil(missing / PAGE_BYTES));
  return instance;
};

const align16 = (at: number): number => Math.ceil(at / 16) * 16;

/**
 * quick-scan.ts layoutOf over `text` (which starts `{"Records":[`), computed by layout.wat: the records' columns,
 * `undefined` where layoutOf gives undefined (the scanner decides), or `fallback` where this pass does not answer and
 * layoutOf must: no WebAssembly, a text that is not all ASCII (the module reads bytes, and positions in the text are
 * UTF-16 code units), or more than one record per BYTES_PER_RECORD bytes. `maxDepth` is at least 1 and at most the
 * stack layoutOf keeps (65,536).
 */
const wasmLayout = (
  text: string,
  maxDepth: number,
  maxStringBytes: number,
  maxRecords: number,
): WasmLayout | undefined | 'fallback' => {
  const module = layoutModule();
  if (module === null) return 'fallback';
  const n = text.length;
  const cap = Math.floor(n / BYTES_PER_RECORD) + 1;
  const out = align16(STACK_AT + maxDepth + 1);
  const at = align16(out + 5 * 4 * cap);
  const instance = instanceFor(module, at + n + TEXT_PADDING);
  // ASCII is copied byte for byte; any other character takes more bytes than one, and the copy stops short.
  const copied = new TextEncoder().encodeInto(text, new Uint8Array(instance.memory.buffer, at, n));
  if (copied.read !== n || copied.written !== n) return 'fallback';
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
  if (count === -1) return undefined;
  if (count < 0) return 'fallback';
  const column = (index: number) => new Int32Array(instance.memory.buffer, out + index * 4 * cap, count);
  return { starts: column(0), ends: column(1), nameFrom: column(2), nameTo: column(3), flags: column(4) };
};

export type { WasmLayout };
export { wasmLayout };
