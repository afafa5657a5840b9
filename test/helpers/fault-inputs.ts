/**
 * Inputs that break things, for the fuzz tests: hostile strings, values of the wrong JSON type, nesting deeper than
 * any encoder takes, and fast-check arbitraries that take a real record (a catalog sample, a corpus record) and
 * remove, retype or replace some of its fields.
 */
import fc from 'fast-check';

/** Strings an attacker controls (a user agent, a bucket name, an error message) and that break renderers. */
const HOSTILE_STRINGS: readonly string[] = [
  '<!channel>',
  '<!here> wake up',
  '<!subteam^S123|@oncall>',
  '<@U0123ABCD>',
  '@channel @here @everyone',
  '*bold* _italic_ ~strike~ `code` ```block```',
  '<https://x.example|y>',
  '<http://evil.example>',
  'line one\r\nSubject: forged\r\n\r\nbody',
  '\uffff\ufffe',
  '\ud800 lone surrogate',
  '\u202eevil.exe',
  '\u0000\u0007\u001b[31m',
  '&lt;!channel&gt; &amp;',
  '"quoted" \\ backslash',
  '👋🏽 Привет 你好',
  'x'.repeat(10_240),
  '<'.repeat(10_240),
  '',
  ' ',
];

/** A JSON value nested `depth` objects deep (JSON.parse reads 5,000 levels; JSON.stringify overflows on them). */
const nested = (depth: number): unknown => {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i += 1) value = { a: value };
  return value;
};

/** A hostile string: one of HOSTILE_STRINGS, or several run together with arbitrary text. */
const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.oneof(fc.constantFrom(...HOSTILE_STRINGS.map((s) => s.slice(0, 40))), fc.string({ unit: 'binary' })), {
        maxLength: 5,
      })
      .map((parts) => parts.join('')),
  },
);

/** A value of each JSON type (string, number, boolean, null, object, array), for retyping a field. */
const anyJsonType: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(111122223333)),
  fc.boolean(),
  fc.constant(null),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
  fc.constant({}),
  fc.constant([]),
);

/** One change to a field: removed, set (retyped, or a hostile string), or replaced by nesting `depth` deep. */
type Change = { kind: 'remove' } | { kind: 'set'; value: unknown } | { kind: 'nest'; depth: number };

const change: fc.Arbitrary<Change> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Change>({ kind: 'remove' }) },
  { weight: 3, arbitrary: anyJsonType.map((value): Change => ({ kind: 'set', value })) },
  { weight: 3, arbitrary: hostileString.map((value): Change => ({ kind: 'set', value })) },
  { weight: 1, arbitrary: fc.constantFrom(3, 250, 5_000).map((depth): Change => ({ kind: 'nest', depth })) },
);

type Path = readonly (string | number)[];

/** Every path into a JSON value (objects and arrays, `maxDepth` levels), the value itself excluded. */
const pathsOf = (value: unknown, maxDepth = 6, prefix: Path = []): Path[] => {
  if (prefix.length >= maxDepth || typeof value !== 'object' || value === null) return [];
  const keys: (string | number)[] = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return keys.flatMap((key) => {
    const path = [...prefix, key];
    return [path, ...pathsOf((value as Record<string | number, unknown>)[key], maxDepth, path)];
  });
};

/** Applies a change at `path` in place; a path an earlier change removed or replaced is left alone. */
const applyAt = (root: unknown, path: Path, what: Change): void => {
  let node: unknown = root;
  for (const key of path.slice(0, -1)) {
    if (typeof node !== 'object' || node === null) return;
    node = (node as Record<string | number, unknown>)[key];
  }
  if (typeof node !== 'object' || node === null) return;
  const last = path.at(-1) as string | number;
  const container = node as Record<string | number, unknown>;
  // A copy: fast-check hands out one instance of a constant, and a later change may reach inside the value.
  if (what.kind === 'set') container[last] = structuredClone(what.value);
  else if (what.kind === 'nest') container[last] = nested(what.depth);
  else if (Array.isArray(container) && typeof last === 'number') container.splice(last, 1);
  else delete container[last];
};

/**
 * A variant of a base value: which base, and the changes at their paths. A plan rather than the value, so that the
 * counterexample fast-check prints stays readable (and printable: a value nested 5,000 deep is not).
 */
interface Variant {
  base: string;
  changes: Array<{ path: Path; change: Change }>;
}

/**
 * Arbitrary variants of `bases` (name → JSON value): one to four changes, each at a path of the base (half the time
 * one of `hotPaths`, the fields the pipeline reads) removing it, retyping it, replacing it by a hostile string or by
 * deep nesting. Build the value with `variantOf`.
 *
 * @example
 * const bases = { 'root-create-user.json': record };
 * fc.assert(fc.property(variants(bases, [['eventID']]), (variant) => { const value = variantOf(bases, variant); … }));
 */
const variants = (bases: Record<string, unknown>, hotPaths: readonly Path[] = []): fc.Arbitrary<Variant> => {
  const names = Object.keys(bases);
  const paths = new Map(names.map((name) => [name, pathsOf(bases[name])]));
  return fc
    .record({
      base: fc.constantFrom(...names),
      picks: fc.array(fc.record({ hot: fc.boolean(), at: fc.nat(), change }), { minLength: 1, maxLength: 4 }),
    })
    .map(({ base, picks }) => {
      const all = paths.get(base) ?? [];
      return {
        base,
        changes: picks.flatMap(({ hot, at, change: what }) => {
          const pool = (hot && hotPaths.length > 0) || all.length === 0 ? hotPaths : all;
          const path = pool[at % Math.max(1, pool.length)];
          return path ? [{ path, change: what }] : [];
        }),
      };
    });
};

/** The value a variant stands for: a clone of its base with its changes applied in order. */
const variantOf = (bases: Record<string, unknown>, variant: Variant): unknown => {
  const value = structuredClone(bases[variant.base]);
  for (const { path, change: what } of variant.changes) applyAt(value, path, what);
  return value;
};

/** Stands in the JSON text for a value nested `depth` deep, until variantText writes the nesting out. */
const nestMark = (depth: number): string => `\u0000nested ${depth}\u0000`;

/**
 * A variant as JSON text, as a file holds it: deep nesting written out as text (JSON.stringify overflows on 5,000
 * levels; JSON.parse reads them).
 *
 * @example
 * variantText({ r: { a: 1 } }, { base: 'r', changes: [{ path: ['a'], change: { kind: 'nest', depth: 2 } }] });
 * // '{"a":{"a":{"a":"bottom"}}}'
 */
const variantText = (bases: Record<string, unknown>, variant: Variant): string => {
  const marked: Variant = {
    base: variant.base,
    changes: variant.changes.map(({ path, change: what }) =>
      what.kind === 'nest' ? { path, change: { kind: 'set', value: nestMark(what.depth) } } : { path, change: what },
    ),
  };
  return (JSON.stringify(variantOf(bases, marked)) ?? 'null').replace(
    /"\\u0000nested (\d+)\\u0000"/g,
    (_, depth: string) => `${'{"a":'.repeat(Number(depth))}"bottom"${'}'.repeat(Number(depth))}`,
  );
};

/**
 * Arbitrary JSON: fast-check's JSON values, and anything it generates turned into JSON as a sender would
 * (JSON.stringify, then parsed back; values that have no JSON form become `null`).
 */
const arbitraryJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.anything({ maxDepth: 3, withBigInt: false }).map((value) => {
    try {
      return JSON.parse(JSON.stringify(value) ?? 'null') as unknown;
    } catch {
      return null;
    }
  }),
);

export type { Path };
export { arbitraryJson, hostileString, variantOf, variants, variantText };
