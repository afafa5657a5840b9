/*
 * The part of the WebAssembly JavaScript interface (https://webassembly.github.io/spec/js-api/) that layout-wasm.ts
 * uses. Node has all of it as globals; the project's TypeScript libraries (ES2023, @types/node 20) declare none of it.
 */
declare namespace WebAssembly {
  /** A compiled module: `new Module(bytes)` compiles synchronously, and throws a CompileError on invalid bytes. */
  class Module {
    constructor(bytes: Uint8Array);
  }
  /** A module instantiated: its exports by name. */
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  /** A linear memory: its bytes, grown in pages of 64 KiB (grow returns the size before, in pages; throws a RangeError past the maximum). */
  class Memory {
    readonly buffer: ArrayBuffer;
    grow(pages: number): number;
  }
}
