import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { assembleLayout, bytesModule, TARGET } from '../../build/wasm.mjs';
import { catalogPrefilter, type RawNeedle, rawTextSearch } from '../../functions/core/event-pattern/tokens.js';
import { loadDetections } from '../../functions/io/detections.js';
import { type WasmLayout, wasmScan } from '../../functions/io/input/layout-wasm.js';
import { DEFAULT_LIMITS, type InputLimits } from '../../functions/io/input/limits.js';
import {
  layoutOf,
  markTokens,
  quickScan,
  quickScanBytes,
  type RecordLayout,
} from '../../functions/io/input/quick-scan.js';
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
  const { layout: wasm } = wasmScan(text, limits.maxDepth, limits.maxStringBytes, limits.maxRecords);
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
    expect(wasmScan(accented, 64, 100, 100).layout).toBe('fallback');
    expect(plain(layoutOf(accented, DEFAULT_LIMITS))?.starts).toEqual([12]);
    const tiny = logFile(Array.from({ length: 50 }, () => '{}'));
    expect(wasmScan(tiny, 64, 100, 100).layout).toBe('fallback');
    expect(plain(layoutOf(tiny, DEFAULT_LIMITS))?.starts).toHaveLength(50);
  });

  it('leaves the work to layoutOf when its memory cannot grow (fault injected), and quickScan still answers', () => {
    const { records } = corpusRecords(1, { recordsPerFile: 1000 });
    const big = logFile(Array.from({ length: 7 }, () => records.map((record) => JSON.stringify(record))).flat());
    const grow = vi.spyOn(WebAssembly.Memory.prototype, 'grow').mockImplementation(() => {
      throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded');
    });
    try {
      expect(wasmScan(big, 64, DEFAULT_LIMITS.maxStringBytes, DEFAULT_LIMITS.maxRecords).layout).toBe('fallback');
      const prefilter = catalogPrefilter(loadDetections());
      expect(quickScan(big, prefilter, DEFAULT_LIMITS)?.skipped).toBeGreaterThan(6000);
      expect(grow).toHaveBeenCalled();
    } finally {
      grow.mockRestore();
    }
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

describe('layout.wat search (the pre-filter’s needles found in the bytes)', () => {
  /** Whether `needle` is at `at` in `text`, as its regular-expression alternative matches. */
  const needleAt = (text: string, at: number, { text: needle, fold }: RawNeedle): boolean => {
    if (at + needle.length > text.length) return false;
    for (let k = 0; k < needle.length; k++) {
      const code = text.charCodeAt(at + k);
      const want = needle.charCodeAt(k);
      const folded = fold && want >= 0x61 && want <= 0x7a ? code | 0x20 : code;
      if (folded !== want) return false;
    }
    return true;
  };

  /** What the regular expression of the needles finds from `from`: each place, and the needle found there. */
  const regexPlaces = (text: string, needles: readonly RawNeedle[], from: number) => {
    const search = rawTextSearch(needles) as RegExp;
    search.lastIndex = from;
    const at: number[] = [];
    const needle: number[] = [];
    for (let found = search.exec(text); found !== null; found = search.exec(text)) {
      at.push(found.index);
      needle.push(needles.findIndex((candidate) => needleAt(text, found.index, candidate)));
    }
    return { at, needle };
  };

  it('finds the places the regular expression finds, and the same needle at each, folded or not (fast-check)', () => {
    const alphabet = fc.constantFrom(...'"\\/:,{}[] aAbBrRsSoOtT01-'.split(''));
    const content = fc.array(alphabet, { maxLength: 20 }).map((characters) => characters.join(''));
    const record = fc
      .array(fc.tuple(content, content), { minLength: 1, maxLength: 4 })
      .map((members) => JSON.stringify(Object.fromEntries([['eventName', 'x'], ...members])));
    let compared = 0;
    let found = 0;
    fc.assert(
      fc.property(
        fc.array(record, { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 2, max: 9 }), fc.boolean()), { minLength: 1, maxLength: 4 }),
        (records, picks) => {
          const text = logFile(records);
          // Needles cut from the text itself (so that they are found), lower-cased where they fold.
          const needles = picks.map(([start, length, fold]) => {
            const from = 12 + (start % Math.max(1, text.length - 12 - length));
            const cut = text.slice(from, from + length);
            return { text: fold ? cut.toLowerCase() : cut, fold };
          });
          const scan = wasmScan(text, 64, DEFAULT_LIMITS.maxStringBytes, DEFAULT_LIMITS.maxRecords, needles);
          const layout = scan.layout;
          expect(layout).not.toBe('fallback');
          if (layout === undefined || layout === 'fallback') return;
          if (scan.places === 'fallback') {
            // Only needles whose first two bytes are more than the filter holds are left to the expression.
            const cases = (code: number, fold: boolean) =>
              fold && code >= 0x61 && code <= 0x7a ? [code, code - 0x20] : [code];
            const firsts = new Set(needles.flatMap(({ text: t, fold }) => cases(t.charCodeAt(0), fold)));
            const seconds = new Set(needles.flatMap(({ text: t, fold }) => cases(t.charCodeAt(1), fold)));
            expect(firsts.size > 4 || seconds.size > 8).toBe(true);
            return;
          }
          const expected = regexPlaces(text, needles, layout.starts[0] as number);
          compared += 1;
          found += expected.at.length;
          expect({ at: Array.from(scan.places?.at ?? []), needle: Array.from(scan.places?.needle ?? []) }).toEqual(
            expected,
          );
        },
      ),
      { numRuns: 2000 },
    );
    expect(compared).toBeGreaterThan(1000);
    expect(found).toBeGreaterThan(1000);
  });

  it('quickScanBytes reads an ASCII log file as quickScan reads its text, and both as the expression and layoutOf do (fast-check)', () => {
    const prefilter = catalogPrefilter(loadDetections());
    const search = prefilter?.search;
    if (search === undefined || search.anywhere === null) throw new Error('the catalog has no raw-text search');
    /** The answer of layoutOf, the regular expression and the eventName test alone. */
    const reference = (text: string) => {
      const layout = layoutOf(text, DEFAULT_LIMITS);
      if (layout === undefined) return undefined;
      const newline = text.indexOf('\n');
      if (newline !== -1 && newline < (layout.ends[layout.ends.length - 1] as number)) return undefined;
      markTokens(text, search.anywhere as RegExp, layout);
      const parsed: number[] = [];
      for (let index = 0; index < layout.starts.length; index++) {
        const flag = layout.flags[index] as number;
        const from = layout.nameFrom[index] as number;
        const skips =
          (flag & 6) === 0 &&
          (flag & 1) !== 0 &&
          from !== -1 &&
          !search.eventName(text, from, layout.nameTo[index] as number);
        if (!skips) parsed.push(index);
      }
      return parsed;
    };
    const value = fc.oneof(
      fc.constantFrom('Root', 'root', 'ROOT', 'Success', 'rootwatch-alert', 'Suspended', 'StopLogging', 'AssumeRoot'),
      fc.string({ maxLength: 10 }),
    );
    const record = fc
      .tuple(
        fc.constantFrom('ListBuckets', 'StopLogging', 'ConsoleLogin', 'DeleteTrail', 'CreateAccessKey'),
        fc.dictionary(fc.constantFrom('type', 'note', 'status', 'name'), value, { maxKeys: 3 }),
      )
      .map(([eventName, fields]) =>
        JSON.stringify({ eventVersion: '1.08', eventSource: 'x.amazonaws.com', eventName, userIdentity: fields }),
      );
    let parsed = 0;
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 8 }), fc.constantFrom('', '\n', 'x'), (records, tail) => {
        const text = logFile(records) + tail;
        const fromBytes = quickScanBytes(Buffer.from(text, 'latin1'), prefilter, DEFAULT_LIMITS);
        const fromText = quickScan(text, prefilter, DEFAULT_LIMITS);
        expect(fromBytes).toEqual(fromText);
        const indexes = fromText?.entries.map((entry) => entry.index);
        expect(indexes).toEqual(reference(text));
        parsed += indexes?.length ?? 0;
      }),
      { numRuns: 1000 },
    );
    expect(parsed).toBeGreaterThan(500);
  });
});
