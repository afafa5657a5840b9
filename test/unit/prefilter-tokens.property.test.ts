/**
 * The replay pre-filter (core/event-pattern/tokens.ts) never drops a record the matcher would match.
 *
 * - For every detection of the real catalog and for generated patterns (random `detail` fields, every operator
 *   EventBridge has, nested objects, dotted keys, `$or`), events are built to match the pattern, then roughened
 *   (noise fields, values wrapped in arrays, values of other types), and random events beside them. Whenever the
 *   matcher matches, some string of the record (`detail`: keys and string values at any depth) passes value(), and
 *   raw(), on the record's JSON text, agrees with value() on every string written without a backslash.
 * - raw() and value() agree on random strings anywhere in a larger text; for a field made only of literal tests,
 *   value() accepts exactly the strings the field matches (the tokens lose no precision).
 * - The catalog's samples, the AWS-validated pattern vectors and the shared corpus: every matched record passes,
 *   and the catalog's pre-filter rejects most ordinary (non-root) records.
 *
 * Fixed seed (TOKENS_SEED to change it); fast-check prints the seed and counterexample of a failure.
 */
import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Detection } from '../../functions/core/detection.js';
import { recordToEvent } from '../../functions/core/event.js';
import { compilePattern } from '../../functions/core/event-pattern/compile.js';
import {
  catalogPrefilter,
  patternsPrefilter,
  prefilterSummary,
  type StringPrefilter,
} from '../../functions/core/event-pattern/tokens.js';
import { parseWildcard } from '../../functions/core/event-pattern/wildcards.js';
import { loadDetections } from '../../functions/io/detections.js';
import { DEFAULT_LIMITS } from '../../functions/io/input/limits.js';
import { quickScan } from '../../functions/io/input/quick-scan.js';
import { CLOUDTRAIL_RECORD_FILES, corpusAvailable, readCorpus } from '../helpers/corpus.js';
import { readSample, readSampleEvent, readSampleRecord, SAMPLES_DIR } from '../helpers/samples.js';

const SEED = Number(process.env.TOKENS_SEED ?? 20_261_201);
const params = (numRuns: number) => ({ seed: SEED, numRuns });

/** The catalog as its samples test it (events/samples/parameters.yml gives the placeholders' values). */
const detections = loadDetections();
const catalog = catalogPrefilter(detections);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

// ------------------------------------------------------------------------------------------------
// Checking one event
// ------------------------------------------------------------------------------------------------

const QUOTE = 34;
const BACKSLASH = 92;

/**
 * Checks the pre-filter on one record's JSON text the way replay reads it: every string literal (key or value) is
 * decoded and asked with value(); one written without a backslash is also asked with raw() in place, which must
 * agree. Returns whether some string passed.
 */
const checkText = (prefilter: StringPrefilter, text: string): boolean => {
  let passed = false;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) !== QUOTE) continue;
    let end = i + 1;
    let escaped = false;
    while (text.charCodeAt(end) !== QUOTE) {
      if (text.charCodeAt(end) === BACKSLASH) {
        escaped = true;
        end += 2;
      } else end++;
    }
    const decoded = JSON.parse(text.slice(i, end + 1)) as string;
    const value = prefilter.value(decoded);
    if (!escaped) expect(prefilter.raw(text, i + 1, end), `raw() on ${text.slice(i, end + 1)}`).toBe(value);
    passed ||= value;
    i = end;
  }
  return passed;
};

/** How many matched records replay's fast path (quick-scan.ts) read, for the tests to show it was exercised. */
const quickReads = { count: 0 };

/**
 * The guarantee on one event: when it matches, some string of its record passes; and, written as a compact CloudTrail
 * log file (with eventVersion, eventSource and eventName added where it lacks them), a record that matches is one
 * replay's fast path parses, whether it looks for a token in the record's own eventName or anywhere. Returns whether
 * the event matched.
 */
const checkEvent = (prefilter: StringPrefilter, matches: (event: unknown) => boolean, event: JsonObject): boolean => {
  const passed = checkText(prefilter, JSON.stringify(event.detail ?? null));
  const matched = matches(event);
  if (matched) expect(passed, `a matched record passes: ${JSON.stringify(event.detail)}`).toBe(true);
  if (isObject(event.detail)) {
    const record = { eventVersion: '1.08', eventSource: 'x', eventName: 'x', ...event.detail };
    if (matches({ ...event, detail: record })) {
      const scan = quickScan(`{"Records":[${JSON.stringify(record)}]}`, prefilter, DEFAULT_LIMITS);
      if (scan !== undefined) {
        expect(scan.entries.length, `the fast path parses ${JSON.stringify(record)}`).toBe(1);
        quickReads.count++;
      }
    }
  }
  return matched;
};

// ------------------------------------------------------------------------------------------------
// Building events from a pattern
// ------------------------------------------------------------------------------------------------

type Gen = fc.GeneratorValue;

/** Short texts over a small alphabet, so that generated values collide with operands often. */
const UNITS = ['a', 'b', 'A', 'B', '-', ':', '1', 'é', 'ß', 'K', '"', '\\', '\u212a'];
const shortText = (maxLength: number) => fc.string({ unit: fc.constantFrom(...UNITS), maxLength });

const pick = <T>(g: Gen, items: readonly T[]): T => g(fc.constantFrom, ...items);
const chance = (g: Gen, percent: number): boolean => g(fc.integer, { min: 0, max: 99 }) < percent;

/** Each character in its lower or upper case, as equals-ignore-case accepts it ("ß" may become "SS"). */
const anyCase = (g: Gen, text: string): string =>
  Array.from(text, (char) => (chance(g, 50) ? char.toUpperCase() : char.toLowerCase())).join('');

/** The same IP address written another way: a leading zero (IPv4), or the zeros of IPv6 spelled out. */
const respellIp = (text: string): string =>
  /^\d+\.\d+\.\d+\.\d+$/.test(text) ? `0${text}` : text === '::1' ? '0:0:0:0:0:0:0:1' : text;

const ABSENT = Symbol('absent');

/** A numeric value inside a `numeric` operand's range. */
const inRange = (operand: readonly unknown[]): number => {
  const [operator, value, , top] = operand as [string, number, string?, number?];
  if (operator === '=' || operator === '>=' || operator === '<=') return value;
  if (top !== undefined) return (value + top) / 2;
  return operator === '>' ? value + 1 : value - 1;
};

/** A leaf meant to satisfy one value of a field's list (the matcher has the last word). */
const witness = (g: Gen, value: unknown): Json | typeof ABSENT => {
  if (typeof value === 'string') return chance(g, 50) ? respellIp(value) : value;
  if (!isObject(value)) return value as Json;
  const [operator] = Object.keys(value);
  const operand = value[operator as string];
  switch (operator) {
    case 'exactly':
      return operand as string;
    case 'prefix':
      return isObject(operand)
        ? anyCase(g, operand['equals-ignore-case'] as string) + g(shortText, 3)
        : (operand as string) + g(shortText, 3);
    case 'suffix':
      return isObject(operand)
        ? g(shortText, 3) + anyCase(g, operand['equals-ignore-case'] as string)
        : g(shortText, 3) + (operand as string);
    case 'equals-ignore-case':
      return anyCase(g, operand as string);
    case 'wildcard':
      return parseWildcard(operand as string, []).segments.join(g(shortText, 3));
    case 'exists':
      return operand === true ? pick<Json>(g, ['present', 7, null, false]) : ABSENT;
    case 'numeric':
      return inRange(operand as unknown[]);
    case 'cidr':
      return (operand as string).split('/')[0] as string;
    default:
      return pick<Json>(g, ['zz-other', 123456, null, true]); // anything-but
  }
};

/** Deep-merges `from` into `into`, `from` winning on leaves. */
const merge = (into: JsonObject, from: JsonObject): void => {
  for (const [key, value] of Object.entries(from)) {
    const existing = into[key];
    if (isObject(existing) && isObject(value)) merge(existing, value);
    else into[key] = value;
  }
};

/** An object meant to match the pattern object: one alternative of each `$or` (sometimes two), one value per field. */
const build = (g: Gen, pattern: Record<string, unknown>): JsonObject => {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(pattern)) {
    if (key === '$or' && Array.isArray(value)) {
      merge(out, build(g, pick(g, value) as Record<string, unknown>));
      if (chance(g, 20)) merge(out, build(g, pick(g, value) as Record<string, unknown>));
    } else if (isObject(value)) {
      const child = build(g, value);
      const existing = out[key];
      if (isObject(existing)) merge(existing, child);
      else out[key] = child;
    } else if (Array.isArray(value)) {
      const leaf = witness(g, pick(g, value));
      if (leaf !== ABSENT) out[key] = leaf;
    }
  }
  return out;
};

const noise = fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>;

/** Roughens a built record: noise fields, leaves wrapped in arrays beside noise, leaves of another type. */
const roughen = (g: Gen, node: Json): Json => {
  if (Array.isArray(node)) return node.map((item) => roughen(g, item));
  if (isObject(node)) {
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(node)) out[key] = roughen(g, value);
    if (chance(g, 30)) out[g(shortText, 4)] = g(() => noise);
    return out;
  }
  if (chance(g, 15)) return chance(g, 50) ? [g(() => noise), node] : [node, [g(() => noise)]];
  if (chance(g, 3)) return pick<Json>(g, [0, true, null, 'other', { node }]);
  return node;
};

/** A whole event meant to match `pattern` (envelope fields as the pattern asks, `detail` roughened), as an object. */
const eventFor = (g: Gen, pattern: Record<string, unknown>): JsonObject => {
  const event = build(g, pattern);
  const detail = isObject(event.detail) ? event.detail : {};
  return { ...event, detail: chance(g, 70) ? roughen(g, detail) : detail };
};

// ------------------------------------------------------------------------------------------------
// Generated patterns
// ------------------------------------------------------------------------------------------------

const operandText = shortText(4).filter((text) => !text.includes('*') && !text.includes('\\'));
const nonEmpty = operandText.filter((text) => text !== '');
const asciiText = fc.string({ unit: fc.constantFrom('a', 'b', 'A', 'B', '-', '1'), minLength: 1, maxLength: 4 });
const wildcardText = fc
  .array(operandText, { minLength: 2, maxLength: 4 })
  .map((pieces) => pieces.join('*'))
  .filter((text) => !text.includes('**'));

/** One value of a field's list: every form EventBridge accepts, literal or not. */
const patternValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: operandText },
  { weight: 1, arbitrary: fc.constantFrom('10.0.0.1', '::1', 7, -1.5, true, false, null) },
  operandText.map((text) => ({ exactly: text })),
  { weight: 2, arbitrary: nonEmpty.map((text) => ({ prefix: text })) },
  { weight: 2, arbitrary: nonEmpty.map((text) => ({ suffix: text })) },
  fc.oneof(operandText, asciiText).map((text) => ({ prefix: { 'equals-ignore-case': text } })),
  fc.oneof(operandText, asciiText).map((text) => ({ suffix: { 'equals-ignore-case': text } })),
  fc.oneof(operandText, asciiText).map((text) => ({ 'equals-ignore-case': text })),
  { weight: 2, arbitrary: wildcardText.map((text) => ({ wildcard: text })) },
  fc.oneof(
    nonEmpty.map((text) => ({ 'anything-but': text })),
    fc.constantFrom(
      { 'anything-but': [1, 2] },
      { 'anything-but': { prefix: 'a' } },
      { 'anything-but': { suffix: 'b' } },
    ),
    nonEmpty.map((text) => ({ 'anything-but': { 'equals-ignore-case': text } })),
  ),
  fc.boolean().map((present) => ({ exists: present })),
  fc.constantFrom(
    { numeric: ['>', 0] },
    { numeric: ['>=', 1, '<', 10] },
    { numeric: ['=', 7] },
    { numeric: ['<=', -1] },
  ),
  fc.constantFrom({ cidr: '10.0.0.0/24' }, { cidr: '2001:db8::/32' }),
);

/** A value a string can witness: exact (not an IP literal), prefix, suffix, wildcard, ASCII equals-ignore-case. */
const literalValue = fc.oneof(
  operandText.filter((text) => !/^[0-9a-fA-F:.]+$/.test(text)),
  nonEmpty.map((text) => ({ prefix: text })),
  nonEmpty.map((text) => ({ suffix: text })),
  asciiText.map((text) => ({ prefix: { 'equals-ignore-case': text } })),
  asciiText.map((text) => ({ suffix: { 'equals-ignore-case': text } })),
  asciiText.map((text) => ({ 'equals-ignore-case': text })),
  wildcardText.map((text) => ({ wildcard: text })),
);

const FIELD_KEYS = ['a', 'b', 'eventName', 'x.y', 'userIdentity'];

const fieldList = fc.array(patternValue, { minLength: 1, maxLength: 3 });

/** A pattern object: fields, nested objects, dotted keys, sometimes an `$or` of two or three of its kind. */
const { node } = fc.letrec<{ node: Record<string, unknown> }>((tie) => ({
  node: fc
    .tuple(
      fc.dictionary(
        fc.constantFrom(...FIELD_KEYS),
        fc.oneof({ maxDepth: 2, depthSize: 'small' }, { weight: 3, arbitrary: fieldList }, tie('node')),
        {
          minKeys: 1,
          maxKeys: 3,
        },
      ),
      fc.option(fc.array(tie('node'), { minLength: 2, maxLength: 3 }), {
        freq: 3,
        nil: undefined,
        depthSize: 'small',
        maxDepth: 1,
      }),
    )
    .map(([fields, or]) => (or === undefined ? fields : { ...fields, $or: or })),
}));

const isValidPattern = (pattern: unknown): boolean => {
  try {
    compilePattern(pattern);
    return true;
  } catch {
    return false;
  }
};

/** Whole patterns: mostly with `detail`, sometimes with envelope fields too, sometimes without `detail`. */
const generatedPattern = fc
  .oneof(
    { weight: 8, arbitrary: node.map((detail) => ({ detail })) },
    { weight: 2, arbitrary: node.map((detail) => ({ source: ['aws.iam', { prefix: 'aws.' }], detail })) },
    { weight: 1, arbitrary: node.map((other) => ({ source: ['aws.iam'], ...other })) },
  )
  .filter(isValidPattern);

// ------------------------------------------------------------------------------------------------
// Properties
// ------------------------------------------------------------------------------------------------

describe('the replay pre-filter never drops a record the matcher would match', () => {
  it('is defined for the real catalog', () => {
    expect(catalog).toBeDefined();
    expect(prefilterSummary(detections).every((detection) => detection.tokens !== undefined)).toBe(true);
  });

  it('passes every event built to match each detection of the catalog, and random ones beside them', () => {
    const prefilter = catalog as StringPrefilter;
    const anyMatches = (event: unknown) => detections.some((detection) => detection.matches(event));
    for (const detection of detections) {
      let matched = 0;
      fc.assert(
        fc.property(fc.gen(), fc.integer({ min: 0, max: detection.patterns.length - 1 }), noise, (g, index, other) => {
          const pattern = detection.patterns[index] as Record<string, unknown>;
          const event = eventFor(g, pattern);
          if (checkEvent(prefilter, anyMatches, event) && detection.matches(event)) matched++;
          checkEvent(prefilter, anyMatches, { ...eventFor(g, pattern), detail: other });
        }),
        params(80),
      );
      // Not vacuous: the builder reaches every detection.
      expect(matched, detection.id).toBeGreaterThan(0);
    }
  });

  it('passes every event built to match a generated pattern (all operators, nesting, $or, arrays)', () => {
    let defined = 0;
    let matched = 0;
    let noDetail = 0;
    fc.assert(
      fc.property(generatedPattern, fc.gen(), noise, (pattern, g, other) => {
        const prefilter = patternsPrefilter([pattern]);
        if (!('detail' in pattern)) {
          expect(prefilter).toBeUndefined();
          noDetail++;
          return;
        }
        if (prefilter === undefined) return;
        defined++;
        const matches = compilePattern(pattern);
        for (let i = 0; i < 4; i++) if (checkEvent(prefilter, matches, eventFor(g, pattern))) matched++;
        checkEvent(prefilter, matches, { ...eventFor(g, pattern), detail: other });
      }),
      params(200),
    );
    // Not vacuous: many patterns have tokens, and many built events match them, many read by the fast path.
    expect(noDetail).toBeGreaterThan(0);
    expect(defined).toBeGreaterThan(100);
    expect(matched).toBeGreaterThan(defined);
    expect(quickReads.count).toBeGreaterThan(defined / 2);
  });

  it('raw() agrees with value() on any string anywhere in a larger text', () => {
    /** Every string a pattern holds (operands, wildcard pieces, keys): the texts its tokens are made of. */
    const literalsOf = (node: unknown): string[] =>
      typeof node === 'string'
        ? [node, ...node.split('*')]
        : Array.isArray(node)
          ? node.flatMap(literalsOf)
          : isObject(node)
            ? Object.entries(node).flatMap(([key, value]) => [key, ...literalsOf(value)])
            : [];
    /** One field of several literal values: the union of their tokens, of every kind at once. */
    const literalField = fc
      .array(literalValue, { minLength: 1, maxLength: 6 })
      .map((values) => ({ detail: { f: values } }))
      .filter(isValidPattern);
    const sampled = [
      ...fc.sample(literalField, { seed: SEED, numRuns: 200 }),
      ...fc.sample(generatedPattern, { seed: SEED, numRuns: 50 }),
    ];
    /** Prefilters of those patterns, each with the texts its tokens are made of (and the units). */
    const entries = sampled.flatMap((pattern) => {
      const prefilter = patternsPrefilter([pattern]);
      const parts = [...literalsOf(pattern), ...UNITS].filter((part) => part !== '' && !part.includes('\\'));
      return prefilter === undefined ? [] : [{ prefilter, parts }];
    });
    /** A text made of the literals, cut anywhere: near misses and tokens straddling the string's bounds. */
    const textOf = (g: Gen, parts: readonly string[]): string => {
      const whole = g(fc.array, fc.constantFrom(...parts), { maxLength: 4 }).join('');
      const from = g(fc.nat, whole.length);
      return whole.slice(from, from + g(fc.nat, whole.length));
    };
    let passed = 0;
    const check = (prefilter: StringPrefilter, before: string, value: string, after: string) => {
      const answer = prefilter.value(value);
      expect(prefilter.raw(before + value + after, before.length, before.length + value.length)).toBe(answer);
      if (answer) passed++;
    };
    fc.assert(
      fc.property(fc.nat(entries.length - 1), fc.gen(), (index, g) => {
        const { prefilter, parts } = entries[index] as (typeof entries)[number];
        if (chance(g, 50)) check(prefilter, textOf(g, parts), textOf(g, parts), textOf(g, parts));
        else {
          // One text cut in three: a token straddles the string's start or end.
          const whole = textOf(g, parts) + textOf(g, parts);
          const [from, to] = [g(fc.nat, whole.length), g(fc.nat, whole.length)].sort((a, b) => a - b) as [
            number,
            number,
          ];
          check(prefilter, whole.slice(0, from), whole.slice(from, to), whole.slice(to));
        }
      }),
      params(3000),
    );
    const catalogText = fc.string({
      unit: fc.constantFrom('Root', 'rootwatch-', 'Put', 'Rule', 'a', 'é', ':'),
      maxLength: 4,
    });
    fc.assert(
      fc.property(catalogText, catalogText, catalogText, (before, value, after) =>
        check(catalog as StringPrefilter, before, value, after),
      ),
      params(1000),
    );
    expect(passed).toBeGreaterThan(100);
  });

  it('accepts exactly the strings a field of literal tests matches: the tokens lose no precision', () => {
    const field = fc.array(literalValue, { minLength: 1, maxLength: 3 }).filter((values) => {
      const pattern = { detail: { f: values } };
      return isValidPattern(pattern) && patternsPrefilter([pattern]) !== undefined;
    });
    fc.assert(
      fc.property(field, fc.gen(), (values, g) => {
        const pattern = { detail: { f: values } };
        const prefilter = patternsPrefilter([pattern]) as StringPrefilter;
        const matches = compilePattern(pattern);
        const candidates = [g(shortText, 6), ...[0, 1, 2].map(() => witness(g, pick(g, values)))];
        for (const candidate of candidates) {
          if (typeof candidate !== 'string') continue;
          expect(prefilter.value(candidate), JSON.stringify(candidate)).toBe(matches({ detail: { f: candidate } }));
        }
      }),
      params(1000),
    );
  });
});

describe('the tokens of known shapes', () => {
  const tokensOf = (pattern: Record<string, unknown>) =>
    prefilterSummary([{ id: 'x', patterns: [pattern] } as Detection])[0]?.tokens;

  it('takes one field per branch, the most selective, and the union over `$or`', () => {
    const root = { userIdentity: { type: ['Root'] } };
    // The longer literals win (capped at 8 characters), then the fewer tokens.
    expect(tokensOf({ detail: { eventName: ['StopLogging', 'DeleteTrail'], ...root } })).toEqual([
      '"StopLogging"',
      '"DeleteTrail"',
    ]);
    expect(tokensOf({ detail: { eventName: [{ prefix: 'Get' }], ...root } })).toEqual(['"Root"']);
    // A wildcard with no anchored piece needs a substring search: any other field wins.
    expect(tokensOf({ detail: { arn: [{ wildcard: '*:rootwatch-*' }], ...root } })).toEqual(['"Root"']);
    expect(
      tokensOf({ detail: { $or: [{ eventName: [{ prefix: 'Put' }] }, { errorCode: [{ suffix: 'Denied' }] }] } }),
    ).toEqual(['prefix "Put"', 'suffix "Denied"']);
    expect(
      tokensOf({ detail: { arn: [{ wildcard: 'arn:*:rootwatch-*' }, { 'equals-ignore-case': 'Root' }] } }),
    ).toEqual(['wildcard "arn:*:rootwatch-*"', '"root" (ignoring case)']);
  });

  it('reads a path set again inside `$or` as the matcher does: the later list replaces the earlier', () => {
    const pattern = { detail: { a: ['early'], $or: [{ a: ['late'] }, { b: ['other'] }] } };
    expect(tokensOf(pattern)).toEqual(['"late"', '"early"']);
    expect(compilePattern(pattern)({ detail: { a: 'late' } })).toBe(true);
    expect(patternsPrefilter([pattern])?.value('late')).toBe(true);
  });

  it('gives no tokens where a string outside any token list could match', () => {
    for (const values of [
      ['10.0.0.1'], // also matches "010.0.0.1"
      [300], // compares by JSON type: no string
      [true],
      [null],
      [{ 'equals-ignore-case': 'straße' }], // also matches "STRASSE"
      [{ prefix: '' }],
      [{ wildcard: '*' }],
      [{ 'anything-but': 'x' }],
      [{ exists: true }],
      [{ numeric: ['>', 0] }],
      [{ cidr: '10.0.0.0/8' }],
      ['Root', { exists: false }],
    ]) {
      expect(tokensOf({ detail: { f: values } }), JSON.stringify(values)).toBeUndefined();
    }
    expect(tokensOf({ source: ['aws.iam'] })).toBeUndefined();
    expect(tokensOf({ source: ['aws.iam'], 'detail-type': ['AWS API Call via CloudTrail'] })).toBeUndefined();
    expect(tokensOf({ detail: { f: [{ exists: false }] }, 'detail.g': ['x'] })).toEqual(['"x"']);
  });

  it('compares ASCII equals-ignore-case folding A-Z only, in place', () => {
    const prefilter = patternsPrefilter([{ detail: { f: [{ prefix: { 'equals-ignore-case': 'ROOT' } }] } }]);
    expect(prefilter?.value('rOoTwatch')).toBe(true);
    expect(prefilter?.value('roo\u212at')).toBe(false); // the Kelvin sign is not "k" here
    expect(prefilter?.raw('{"x":"RooTs"}', 6, 11)).toBe(true);
    expect(prefilter?.raw('{"x":"RooTs"}', 6, 8)).toBe(false);
  });
});

describe('the pre-filter on real records', () => {
  it("passes every sample the catalog's detections match", () => {
    const prefilter = catalog as StringPrefilter;
    let matched = 0;
    for (const file of readdirSync(SAMPLES_DIR).filter((name) => name.endsWith('.json'))) {
      const event = readSampleEvent(file);
      if (!detections.some((detection: Detection) => detection.matches(event))) continue;
      matched++;
      expect(checkText(prefilter, JSON.stringify(readSampleRecord(file))), file).toBe(true);
      expect(checkText(prefilter, JSON.stringify(readSample(file), null, 2)), file).toBe(true);
    }
    expect(matched).toBeGreaterThan(20);
  });

  describe.skipIf(!corpusAvailable)('the shared corpus', () => {
    const VECTORS_FILE = 'eventbridge-patterns/localstack-aws-validated-vectors.jsonl';

    it('passes the event of every AWS-validated vector that matches, whenever its pattern has tokens', () => {
      interface Vector {
        expected: string;
        pattern?: unknown;
        event?: unknown;
      }
      let checked = 0;
      for (const vector of readCorpus<Vector>(VECTORS_FILE)) {
        if (vector.expected !== 'match' || !isObject(vector.pattern) || !isObject(vector.event)) continue;
        if (!isValidPattern(vector.pattern)) continue;
        const prefilter = patternsPrefilter([vector.pattern]);
        if (prefilter === undefined) continue;
        checked++;
        checkEvent(prefilter, compilePattern(vector.pattern), vector.event);
      }
      expect(checked).toBeGreaterThan(0);
    });

    it('passes every corpus record a detection matches, and rejects most ordinary records', () => {
      const prefilter = catalog as StringPrefilter;
      let ordinary = 0;
      let ordinaryPassed = 0;
      let matched = 0;
      for (const file of CLOUDTRAIL_RECORD_FILES) {
        for (const { record } of readCorpus<{ record: JsonObject }>(file)) {
          const passed = checkText(prefilter, JSON.stringify(record));
          let event: unknown;
          try {
            event = recordToEvent(record);
          } catch {
            event = undefined; // not a record the matcher sees; the pre-filter's answer does not matter
          }
          if (event !== undefined && detections.some((detection) => detection.matches(event))) {
            matched++;
            expect(passed, JSON.stringify(record)).toBe(true);
          }
          if ((record.userIdentity as JsonObject | undefined)?.type !== 'Root') {
            ordinary++;
            if (passed) ordinaryPassed++;
          }
        }
      }
      expect(matched).toBeGreaterThan(40);
      // Measured: 71 of the 783 non-root records pass (9 %), most of them the detections' own test records
      // (console sign-ins, trail and function changes); a corpus of ordinary traffic passes far fewer.
      expect(ordinaryPassed / ordinary).toBeLessThan(0.15);
    });
  });
});
