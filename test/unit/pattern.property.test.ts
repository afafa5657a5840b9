import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePattern, matchesPattern, validatePattern } from '../../functions/core/event-pattern/compile.js';
import { InvalidPatternError } from '../../functions/errors.js';

/** Strings that cannot be IP literals: for those, an exact value and an IP range would differ. */
const text = fc.string({ maxLength: 12 }).filter((s) => !/^[0-9a-fA-F:.]+$/.test(s));
/** Wildcard operands without stars or escapes. */
const literal = fc.string({ maxLength: 8 }).filter((s) => !s.includes('*') && !s.includes('\\'));
const key = fc.string({ minLength: 1, maxLength: 6 }).filter((s) => !s.includes('.') && s !== '$or');

const OPERATORS = [
  'prefix',
  'suffix',
  'anything-but',
  'numeric',
  'exists',
  'cidr',
  'wildcard',
  'equals-ignore-case',
  'exactly',
  'EXISTS',
];

/** Pattern-shaped values with arbitrary operands: mostly invalid, sometimes valid. */
const patternish = fc.dictionary(
  fc.constantFrom('source', 'detail', 'detail.state', '$or', 'n'),
  fc.oneof(
    fc.array(
      fc.oneof(
        fc.jsonValue({ maxDepth: 1 }),
        fc.dictionary(fc.constantFrom(...OPERATORS), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 }),
      ),
      {
        maxLength: 3,
      },
    ),
    fc.dictionary(fc.constantFrom('state', 'n'), fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 2 })),
    fc.jsonValue({ maxDepth: 1 }),
  ),
  { maxKeys: 3 },
);

describe('pattern properties', () => {
  it('validation either accepts or throws InvalidPatternError, and a compiled pattern never throws', () => {
    fc.assert(
      fc.property(patternish, fc.jsonValue({ maxDepth: 3 }), (pattern, event) => {
        let matches: (event: unknown) => boolean;
        try {
          matches = compilePattern(pattern);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidPatternError);
          expect(() => validatePattern(pattern)).toThrow(InvalidPatternError);
          return;
        }
        expect(() => validatePattern(pattern)).not.toThrow();
        expect(typeof matches(event)).toBe('boolean');
        expect(typeof matches({ detail: event, n: event, source: event })).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  it('a string matches its own prefixes and suffixes', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (head, tail) => {
        expect(matchesPattern({ f: [{ prefix: head }] }, { f: head + tail })).toBe(true);
        expect(matchesPattern({ f: [{ suffix: tail }] }, { f: head + tail })).toBe(true);
      }),
    );
  });

  it('anything-but a string is the complement of that string, for present strings', () => {
    fc.assert(
      fc.property(text, text, (excluded, value) => {
        const exact = matchesPattern({ f: [excluded] }, { f: value });
        const anythingBut = matchesPattern({ f: [{ 'anything-but': excluded }] }, { f: value });
        expect(anythingBut).toBe(!exact);
      }),
    );
  });

  it('a wildcard without stars is an exact match, and *s* is "contains"', () => {
    fc.assert(
      fc.property(literal, fc.string({ maxLength: 10 }), (needle, value) => {
        expect(matchesPattern({ f: [{ wildcard: needle }] }, { f: value })).toBe(needle === value);
        // An empty needle would make "**", which EventBridge rejects.
        if (needle !== '') {
          expect(matchesPattern({ f: [{ wildcard: `*${needle}*` }] }, { f: value })).toBe(value.includes(needle));
        }
      }),
    );
  });

  it('a numeric range agrees with the comparison it spells', () => {
    const number = fc.double({ noNaN: true, noDefaultInfinity: true });
    fc.assert(
      fc.property(number, number, number, (a, b, x) => {
        fc.pre(a < b);
        expect(matchesPattern({ n: [{ numeric: ['>=', a, '<', b] }] }, { n: x })).toBe(a <= x && x < b);
        expect(matchesPattern({ n: [{ numeric: ['>', a] }] }, { n: x })).toBe(x > a);
      }),
    );
  });

  it('equals-ignore-case on ASCII is equality of lower-cased strings', () => {
    const ascii = fc.string({ unit: fc.constantFrom(...'aAbBzZ09-_. '), maxLength: 6 });
    fc.assert(
      fc.property(ascii, ascii, (operand, value) => {
        const expected = operand.toLowerCase() === value.toLowerCase();
        expect(matchesPattern({ f: [{ 'equals-ignore-case': operand }] }, { f: value })).toBe(expected);
      }),
    );
  });

  it('an IPv4 cidr contains exactly the addresses that share its first mask bits', () => {
    const address = fc.integer({ min: 0, max: 2 ** 32 - 1 });
    const dotted = (n: number) => [24, 16, 8, 0].map((shift) => (n >>> shift) & 0xff).join('.');
    fc.assert(
      fc.property(address, address, fc.integer({ min: 0, max: 31 }), (base, ip, mask) => {
        const network = (n: number) => (mask === 0 ? 0 : n >>> (32 - mask));
        const pattern = { ip: [{ cidr: `${dotted(base)}/${mask}` }] };
        expect(matchesPattern(pattern, { ip: dotted(ip) })).toBe(network(base) === network(ip));
      }),
    );
  });

  it('nested keys and dotted keys are the same field', () => {
    fc.assert(
      fc.property(fc.array(key, { minLength: 1, maxLength: 4 }), text, text, (path, wanted, actual) => {
        const nest = (leaf: unknown): unknown => path.reduceRight<unknown>((inner, step) => ({ [step]: inner }), leaf);
        const event = nest(actual);
        const nested = matchesPattern(nest([wanted]), event);
        expect(matchesPattern({ [path.join('.')]: [wanted] }, event)).toBe(nested);
        expect(nested).toBe(wanted === actual);
      }),
    );
  });
});
