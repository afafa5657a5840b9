/** Types of build/wasm.mjs for the TypeScript that imports it (the tests). */

/** The bytes of functions/io/input/layout.wat assembled by wabt (SIMD enabled, no names section). */
export function assembleLayout(): Promise<Uint8Array>;
/** The text of layout-wasm-bytes.ts for these bytes. */
export function bytesModule(bytes: Uint8Array): string;
/** The path of functions/io/input/layout-wasm-bytes.ts. */
export const TARGET: string;
