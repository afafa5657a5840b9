import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assembleLayout, bytesModule, TARGET } from '../../build/wasm.mjs';
import { type WasmLayout, wasmLayout } from '../../functions/io/input/layout-wasm.js';
import { DEFAULT_LIMITS, type InputLimits } from '../../functions/io/input/limits.js';
import { layoutOf, type RecordLayout } from '../../functions/io/input/quick-scan.js';
import { corpusRecords } from '../bench/corpus.js';

/** A layout as plain data, for toEqual: each column as an array. */
const plain = (layout: RecordLayout | WasmLayout | undefined) =>
  layout === undefined
    ? undefined
    : {
        starts: Array.from(layout.starts),
        ends: Array.from(layout.ends),
        nameFrom: Array.from(layout.nameFrom),
        nameTo: Array.from(layout.nameTo),
        flags: Array.from(layout.flags),
      };

/** Both passes over `text` with `limits`: layout.wat's answer (or 'fallback') and layoutOf's. */
const bothPasses = (text: string, limits: InputLimits) => {
  const wasm = wasmLayout(text, limits.maxDepth, limits.maxStringBytes, limits.maxRecords);
  return { wasm: wasm === 'fallback' ? wasm : plain(wasm), js: plain(layoutOf(text, limits)) };
};

const logFile = (records: readonly string[]): string => `{"Records":[${records.join(',')}]}`;

describe('layout.wat (the structure pass of quick-scan.ts in WebAssembly)', () => {
  it('is what layout-wasm-bytes.ts holds: the committed bytes are the source assembled (npm run build:wasm)', async () => {
    expect(readFileSync(TARGET, 'utf8')).toBe(bytesModule(await assembleLayout()));
  });

  it('reads the bench corpus’s log files exactly as layoutOf does', () => {
    for (let index = 0; index < 3; index++) {
      const { records } = corpusRecords(index, { recordsPerFile: 300 });
      const text = logFile(records.map((record) => JSON.stringify(record)));
      const { wasm, js } = bothPasses(text, DEFAULT_LIMITS);
      expect(js?.starts).toHaveLength(300);
      expect(wasm).toEqual(js);
    }
  });

  it('answers as layoutOf does on compact log files cut, spliced and garbled anywhere, under any limits (fast-check)', () => {
    const strings = fc.oneof(
      fc.string({ maxLength: 24 }),
      fc.constantFrom('Root', 'a"b', 'back\\slash', 'tab\there', 'x'.repeat(40), 'u\u0001', '/'),
    );
    const leaf = fc.oneof(strings, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean());
    const value = fc.letrec<{ value: unknown }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.constant(null),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(fc.oneof(strings, fc.constantFrom('eventName', 'detail')), tie('value'), { maxKeys: 3 }),
      ),
    })).value;
    const topKey = fc.constantFrom('eventName', 'eventSource', 'detail', 'detail-type', 'eventNam', 'eventSourcE', 'x');
    const record = fc
      .tuple(fc.dictionary(topKey, value, { maxKeys: 4 }), fc.option(strings), fc.option(strings))
      .map(([fields, name, source]) =>
        JSON.stringify({
          eventVersion: '1.08',
          ...(name === null ? {} : { eventName: name }),
          ...fields,
          ...(source === null ? {} : { eventSource: source }),
        }),
      );
    // An edit: delete, insert or replace one character, with the characters JSON's structure is made of, anywhere or
    // at or just after one of them.
    const edit = fc.tuple(
      fc.nat(),
      fc.constantFrom('anywhere', 'at', 'after'),
      fc.constantFrom('delete', 'insert', 'replace'),
      fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '\\', ' ', '\n', 'u', '/', 'e', '0', 'é'),
    );
    // Mostly the defaults (so that edits are what decides), else limits that records reach.
    const limit = (small: fc.Arbitrary<number>, otherwise: number) =>
      fc.oneof({ arbitrary: fc.constant(otherwise), weight: 3 }, { arbitrary: small, weight: 1 });
    const limits = fc.record({
      maxDepth: limit(fc.integer({ min: 1, max: 6 }), 64),
      maxStringBytes: limit(fc.integer({ min: 0, max: 30 }), DEFAULT_LIMITS.maxStringBytes),
      maxRecords: limit(fc.integer({ min: 0, max: 4 }), DEFAULT_LIMITS.maxRecords),
    });
    let answered = 0;
    let valid = 0;
    fc.assert(
      fc.property(
        fc.array(record, { minLength: 1, maxLength: 5 }),
        fc.array(edit, { maxLength: 3 }),
        limits,
        fc.constantFrom('', ' ', '\n', '\r\n', '\t', ' x'),
        (records, edits, limit, tail) => {
          let text = logFile(records) + tail;
          for (const [position, where, kind, character] of edits) {
            // The head stays: quickScan hands layoutOf only texts that start with it.
            const structural = [...text.slice(12).matchAll(/[{}[\]":,]/g)].map((found) => 12 + found.index);
            const at =
              where === 'anywhere' || structural.length === 0
                ? 12 + (position % Math.max(1, text.length - 12))
                : (structural[position % structural.length] as number) + (where === 'after' ? 1 : 0);
            if (kind === 'delete') text = text.slice(0, at) + text.slice(at + 1);
            else if (kind === 'insert') text = text.slice(0, at) + character + text.slice(at);
            else text = text.slice(0, at) + character + text.slice(at + 1);
          }
          const full = { ...DEFAULT_LIMITS, ...limit };
          const { wasm, js } = bothPasses(text, full);
          if (wasm === 'fallback') {
            // Only a text that is not all ASCII, or one with more records than it keeps room for, is left to layoutOf.
            const ascii = [...text].every((character) => character.charCodeAt(0) < 0x80);
            const opens = text.split('{').length - 1;
            expect(!ascii || opens > Math.floor(text.length / 32) + 1, text).toBe(true);
            return;
          }
          answered += 1;
          if (js !== undefined) valid += 1;
          expect(wasm, text).toEqual(js);
        },
      ),
      { numRuns: 5000 },
    );
    // Both answers are reached: a layout and "not the fast path".
    expect(valid).toBeGreaterThan(100);
    expect(answered - valid).toBeGreaterThan(100);
  });

  it('leaves to layoutOf a text that is not all ASCII, and one of more tiny records than it keeps room for', () => {
    const accented = logFile([JSON.stringify({ eventName: 'GetObject', key: 'café' })]);
    expect(wasmLayout(accented, 64, 100, 100)).toBe('fallback');
    expect(plain(layoutOf(accented, DEFAULT_LIMITS))?.starts).toEqual([12]);
    const tiny = logFile(Array.from({ length: 50 }, () => '{}'));
    expect(wasmLayout(tiny, 64, 100, 100)).toBe('fallback');
    expect(plain(layoutOf(tiny, DEFAULT_LIMITS))?.starts).toHaveLength(50);
  });

  it('reads a text bigger than the memory it keeps, and a small one after it, as layoutOf does', () => {
    const { records } = corpusRecords(0, { recordsPerFile: 1000 });
    const texts = records.map((record) => JSON.stringify(record));
    const big = logFile(Array.from({ length: 7 }, () => texts).flat());
    expect(big.length).toBeGreaterThan(8 * 1024 * 1024);
    for (const text of [big, logFile(texts.slice(0, 10)), big.replace('"eventVersion"', '"eventVersion" ')]) {
      const { wasm, js } = bothPasses(text, DEFAULT_LIMITS);
      expect(wasm).toEqual(js);
    }
  });
});
