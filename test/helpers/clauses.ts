/**
 * The clauses of a detection, and what its samples prove of them.
 *
 * A detection's patterns and severity modifiers are plain JSON (EventBridge event patterns, as the loader
 * resolved them). This module walks that JSON into clauses, each named by its location from the
 * detection's root (`['patterns', 0, 'detail', 'eventName', 2]`) and spelled for people
 * (`patterns[0].detail.eventName DeleteRule`):
 * - alternatives, each of which some match sample must reach: every pattern, every `$or` branch, every
 *   value of every list (a list's values are ORed), every severity modifier and what its match holds;
 * - exclusions, each of which some sample must show working: every `anything-but` operand, every
 *   `exists: false`, every modifier's match (without it, the modifier would apply to every event);
 * - mutations: each clause removed or changed in turn, for `npm run mutate:catalog`.
 *
 * The JSON helpers (walking, narrowing, relaxing, mutating) are pure. The checks recompile a changed
 * detection in memory with the production matcher and classifier, and know nothing of the catalog.
 */

import { classify } from '../../functions/core/classify.js';
import type { Detection } from '../../functions/core/detection.js';
import { compilePattern } from '../../functions/core/event-pattern/compile.js';
import { SEVERITIES, type Severity, severityRank } from '../../functions/core/severity.js';

/** An EventBridge event pattern. `{}` (what is left when every field is dropped) matches every event. */
type Pattern = Record<string, unknown>;

/** A severity modifier as the detection file gives it: with a `match` pattern, or a `threshold`. */
type ModifierSpec = Detection['severityModifiers'][number];

/** The part of a detection its clauses live in; every location starts at this root. */
interface Clauses {
  readonly patterns: readonly Pattern[];
  readonly severityModifiers: readonly ModifierSpec[];
}

/** Keys and indexes from a detection's root to one place in its patterns or modifiers. */
type Location = readonly (string | number)[];

/** Something a match sample must reach. */
interface Alternative {
  readonly kind: 'pattern' | 'branch' | 'value' | 'modifier';
  readonly at: Location;
  /** `patterns[0].detail.eventName DeleteRule`, `patterns[0].detail.$or[1]`, `severityModifiers[0] → critical`. */
  readonly label: string;
}

/** Something a sample must show working: a sample that passes as the clauses are, and fails with `relaxed`. */
interface Exclusion {
  readonly at: Location;
  /** `patterns[0].detail.eventType anything-but AwsServiceEvent`, `severityModifiers[0].match`. */
  readonly label: string;
  /** The same clauses without this exclusion. */
  readonly relaxed: Clauses;
}

/** One change to the clauses, as the mutation run applies it. */
interface Mutation {
  /** `drop value patterns[0].detail.eventName DeleteRule`. */
  readonly label: string;
  readonly clauses: Clauses;
}

/** A sample of a detection with the event its fixture becomes. */
interface SampleEvent {
  readonly sample: Detection['samples'][number];
  readonly event: unknown;
}

/** What the mutation run found for one detection. */
interface MutationReport {
  /** Distinct valid mutations tried. */
  readonly total: number;
  readonly caught: number;
  /** Labels of the mutations every sample survived, each noting when an overlapping pattern hid it (redundancyNote). */
  readonly survivors: readonly string[];
  /** Mutations EventBridge would reject (so not tried), by label. */
  readonly invalid: readonly string[];
  /** Samples that fail on the unchanged detection: they cannot catch anything (test/detections.test.ts reports them). */
  readonly failingSamples: readonly string[];
}

const OR = '$or';

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

// ------------------------------------------------------------------------------------------------
// Labels
// ------------------------------------------------------------------------------------------------

/** `patterns[0].detail.$or[1].requestParameters.rule`: keys joined with dots, indexes in brackets. */
const locationLabel = (at: Location): string =>
  at.map((step, i) => (typeof step === 'number' ? `[${step}]` : `${i === 0 ? '' : '.'}${step}`)).join('');

const operandText = (operand: unknown): string => (typeof operand === 'string' ? operand : JSON.stringify(operand));

/**
 * A list value as a person reads it: `DeleteRule`, `prefix rootwatch-`, `exists false`,
 * `anything-but AwsServiceEvent`, `anything-but prefix aws.`, `prefix equals-ignore-case Root`.
 *
 * @example
 * describeValue({ 'anything-but': 'AwsServiceEvent' }); // 'anything-but AwsServiceEvent'
 */
const describeValue = (value: unknown): string => {
  if (!isPlainObject(value)) return operandText(value);
  const [operator] = Object.keys(value);
  if (operator === undefined) return '{}';
  const operand = value[operator];
  if (isPlainObject(operand)) return `${operator} ${describeValue(operand)}`;
  if (operator === 'numeric' && Array.isArray(operand)) return `numeric ${operand.map(operandText).join(' ')}`;
  return `${operator} ${operandText(operand)}`;
};

const severityLabel = (modifier: ModifierSpec): string =>
  'match' in modifier
    ? `→ ${modifier.severity}`
    : `threshold ${modifier.threshold.count} within ${modifier.threshold.withinMinutes} min → ${modifier.severity}`;

// ------------------------------------------------------------------------------------------------
// Walking
// ------------------------------------------------------------------------------------------------

/** One place in a pattern: a `$or` branch, a field (a key holding a list) or one value of a list. */
interface PatternNode {
  readonly kind: 'branch' | 'field' | 'value';
  /** From the pattern's root. */
  readonly at: Location;
  /** The branch object, the field's list, or the value. */
  readonly value: unknown;
}

/**
 * Every branch, field and list value of a pattern, in document order (a node before what it holds).
 *
 * @example
 * walkPattern({ source: ['aws.iam', 'aws.sts'] }).map((node) => node.at);
 * // [['source'], ['source', 0], ['source', 1]]
 */
const walkPattern = (pattern: Pattern, at: Location = []): PatternNode[] =>
  Object.entries(pattern).flatMap(([key, value]): PatternNode[] => {
    const here = [...at, key];
    if (key === OR && Array.isArray(value)) {
      return value.flatMap((branch, index) => {
        const branchAt = [...here, index];
        const inner = isPlainObject(branch) ? walkPattern(branch, branchAt) : [];
        return [{ kind: 'branch' as const, at: branchAt, value: branch }, ...inner];
      });
    }
    if (Array.isArray(value)) {
      const values = value.map((item, index) => ({ kind: 'value' as const, at: [...here, index], value: item }));
      return [{ kind: 'field', at: here, value }, ...values];
    }
    return isPlainObject(value) ? walkPattern(value, here) : [];
  });

/** Each pattern of the detection and each match modifier's pattern, with where it sits. */
const patternsOf = (clauses: Clauses): { at: Location; pattern: Pattern }[] => [
  ...clauses.patterns.map((pattern, i) => ({ at: ['patterns', i], pattern })),
  ...clauses.severityModifiers.flatMap((modifier, j) =>
    'match' in modifier ? [{ at: ['severityModifiers', j, 'match'], pattern: modifier.match }] : [],
  ),
];

/**
 * Every alternative of the detection, in document order: each pattern, then what it holds (its `$or`
 * branches and the values of its lists), then each severity modifier and what its match holds.
 *
 * @example
 * alternativesOf({ patterns: [{ source: ['aws.iam', 'aws.sts'] }], severityModifiers: [] }).map((a) => a.label);
 * // ['patterns[0]', 'patterns[0].source aws.iam', 'patterns[0].source aws.sts']
 */
const alternativesOf = (clauses: Clauses): Alternative[] => {
  const inside = (at: Location, pattern: Pattern): Alternative[] =>
    walkPattern(pattern).flatMap((node): Alternative[] => {
      const where = [...at, ...node.at];
      if (node.kind === 'branch') return [{ kind: 'branch', at: where, label: locationLabel(where) }];
      if (node.kind === 'field') return [];
      return [{ kind: 'value', at: where, label: `${locationLabel(where.slice(0, -1))} ${describeValue(node.value)}` }];
    });
  return [
    ...clauses.patterns.flatMap((pattern, i): Alternative[] => {
      const at = ['patterns', i];
      return [{ kind: 'pattern', at, label: locationLabel(at) }, ...inside(at, pattern)];
    }),
    ...clauses.severityModifiers.flatMap((modifier, j): Alternative[] => {
      const at = ['severityModifiers', j];
      const own: Alternative = { kind: 'modifier', at, label: `${locationLabel(at)} ${severityLabel(modifier)}` };
      return 'match' in modifier ? [own, ...inside([...at, 'match'], modifier.match)] : [own];
    }),
  ];
};

// ------------------------------------------------------------------------------------------------
// Editing
// ------------------------------------------------------------------------------------------------

/**
 * A pattern without the objects a removal emptied: an emptied object is dropped from its parent, a `$or`
 * with an emptied branch (which matches every event) is dropped, and a `$or` left with one branch keeps
 * it twice (EventBridge needs two). Undefined when nothing is left.
 */
const prune = (object: Record<string, unknown>): Pattern | undefined => {
  const out: Pattern = {};
  for (const [key, value] of Object.entries(object)) {
    if (key === OR && Array.isArray(value)) {
      const branches = value.map((branch) => (isPlainObject(branch) ? prune(branch) : branch));
      if (branches.includes(undefined)) continue;
      out[key] = branches.length === 1 ? [branches[0], branches[0]] : branches;
    } else if (isPlainObject(value)) {
      const inner = prune(value);
      if (inner !== undefined) out[key] = inner;
    } else {
      out[key] = value;
    }
  }
  return Object.keys(out).length === 0 ? undefined : out;
};

/**
 * A copy of the clauses with `change` applied to the container of the last step of `at` (an object or
 * an array, and the key or index in it), then pruned. A pattern left empty becomes `{}`.
 */
const editAt = (
  clauses: Clauses,
  at: Location,
  change: (container: Record<string, unknown> | unknown[], key: string | number) => void,
): Clauses => {
  const copy = structuredClone(clauses) as { patterns: Pattern[]; severityModifiers: ModifierSpec[] };
  let container: unknown = copy;
  for (const step of at.slice(0, -1)) container = (container as Record<string | number, unknown>)[step];
  const last = at.at(-1);
  if (last === undefined || (!isPlainObject(container) && !Array.isArray(container))) {
    throw new Error(`no clause at ${locationLabel(at)}`);
  }
  change(container, last);
  return {
    patterns: copy.patterns.map((pattern) => prune(pattern) ?? {}),
    severityModifiers: copy.severityModifiers.map((modifier) =>
      'match' in modifier ? { ...modifier, match: prune(modifier.match) ?? {} } : modifier,
    ),
  };
};

/** Removes the entry at `at`: an array element, or an object key. */
const removeAt = (clauses: Clauses, at: Location): Clauses =>
  editAt(clauses, at, (container, key) => {
    if (Array.isArray(container)) container.splice(Number(key), 1);
    else delete container[key];
  });

/** Replaces the list value at `at` with `values` (one value, several, or none). */
const spliceAt = (clauses: Clauses, at: Location, values: readonly unknown[]): Clauses =>
  editAt(clauses, at, (container, key) => {
    if (!Array.isArray(container)) throw new Error(`${locationLabel(at)} is not in a list`);
    container.splice(Number(key), 1, ...values);
  });

/** Sets the entry at `at`. */
const setAt = (clauses: Clauses, at: Location, value: unknown): Clauses =>
  editAt(clauses, at, (container, key) => {
    (container as Record<string | number, unknown>)[key] = value;
  });

const valueAt = (clauses: Clauses, at: Location): unknown =>
  at.reduce<unknown>((node, step) => (node as Record<string | number, unknown> | undefined)?.[step], clauses);

/**
 * The pattern that matches only through the place `at` names (from the pattern's root): each `$or` on the
 * way keeps only the branch on the path (twice, as EventBridge needs two), and a list value's list keeps
 * only that value.
 *
 * @example
 * narrowPattern({ a: ['x', 'y'], $or: [{ b: ['1'] }, { c: ['2'] }] }, ['a', 1]);
 * // { a: ['y'], $or: [{ b: ['1'] }, { c: ['2'] }] }
 */
const narrowPattern = (pattern: Pattern, at: Location): Pattern => {
  const [key, ...rest] = at;
  if (key === undefined) return pattern;
  const child = pattern[key];
  if (key === OR && Array.isArray(child)) {
    const [index, ...deeper] = rest;
    const branch = child[Number(index)];
    if (!isPlainObject(branch)) throw new Error(`no branch ${String(index)} in ${OR}`);
    const narrowed = narrowPattern(branch, deeper);
    return { ...pattern, [key]: [narrowed, narrowed] };
  }
  if (Array.isArray(child)) return { ...pattern, [key]: [child[Number(rest[0])]] };
  if (!isPlainObject(child)) throw new Error(`no clause at ${locationLabel(at)}`);
  return { ...pattern, [key]: narrowPattern(child, rest) };
};

// ------------------------------------------------------------------------------------------------
// Exclusions
// ------------------------------------------------------------------------------------------------

/** The operands of an `anything-but` value, each of which excludes on its own, and how to rebuild it without one. */
const anythingButOperands = (
  value: Record<string, unknown>,
): { operands: unknown[]; rebuild: (rest: unknown[]) => unknown } => {
  const operand = value['anything-but'];
  if (isPlainObject(operand)) {
    const [form] = Object.keys(operand);
    const inner = form === undefined ? undefined : operand[form];
    const operands = Array.isArray(inner) ? inner : [inner];
    return {
      operands,
      rebuild: (rest) => ({ 'anything-but': { [form as string]: rest.length === 1 ? rest[0] : rest } }),
    };
  }
  const operands = Array.isArray(operand) ? operand : [operand];
  return { operands, rebuild: (rest) => ({ 'anything-but': rest.length === 1 ? rest[0] : rest }) };
};

/** `anything-but prefix aws.` for one operand of a (possibly longer) anything-but. */
const anythingButLabel = (value: Record<string, unknown>, operand: unknown): string => {
  const inner = value['anything-but'];
  const form = isPlainObject(inner) ? `${Object.keys(inner)[0]} ` : '';
  return `anything-but ${form}${operandText(operand)}`;
};

/**
 * Every exclusion of the detection, each with the clauses it lifted:
 * - an `anything-but` operand: without it (the last one becomes `exists: true`, since anything-but
 *   still asks for the field);
 * - an `exists: false`: without it (its field dropped when it is the field's only value);
 * - a match modifier's match: without it, the modifier applies to every event it is tried on.
 *
 * @example
 * exclusionsOf({ patterns: [{ a: [{ 'anything-but': 'x' }] }], severityModifiers: [] })[0]?.relaxed.patterns;
 * // [{ a: [{ exists: true }] }]
 */
const exclusionsOf = (clauses: Clauses): Exclusion[] => {
  const fromValues = patternsOf(clauses).flatMap(({ at, pattern }) =>
    walkPattern(pattern).flatMap((node): Exclusion[] => {
      if (node.kind !== 'value' || !isPlainObject(node.value)) return [];
      const where = [...at, ...node.at];
      const list = locationLabel(where.slice(0, -1));
      const value = node.value;
      if ('anything-but' in value) {
        const { operands, rebuild } = anythingButOperands(value);
        return operands.map((operand, index) => ({
          at: where,
          label: `${list} ${anythingButLabel(value, operand)}`,
          relaxed: spliceAt(clauses, where, [
            operands.length === 1 ? { exists: true } : rebuild(operands.filter((_, i) => i !== index)),
          ]),
        }));
      }
      if (value.exists === false) {
        const field = valueAt(clauses, where.slice(0, -1)) as unknown[];
        const relaxed = field.length === 1 ? removeAt(clauses, where.slice(0, -1)) : removeAt(clauses, where);
        return [{ at: where, label: `${list} exists false`, relaxed }];
      }
      return [];
    }),
  );
  const fromModifiers = clauses.severityModifiers.flatMap((modifier, j): Exclusion[] => {
    if (!('match' in modifier)) return [];
    const at = ['severityModifiers', j, 'match'];
    return [{ at, label: locationLabel(at), relaxed: setAt(clauses, at, {}) }];
  });
  return [...fromValues, ...fromModifiers];
};

// ------------------------------------------------------------------------------------------------
// Mutations
// ------------------------------------------------------------------------------------------------

/** The indexes of the unescaped stars of a wildcard operand (`\*` is a literal star, `\\` a backslash). */
const wildcardStars = (text: string): number[] => {
  const stars: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '*') stars.push(i);
  }
  return stars;
};

/** The changed forms of one list value: each with the label of the change and what replaces the value. */
const valueChanges = (value: unknown): { label: string; replacement: unknown[] }[] => {
  if (!isPlainObject(value)) return [];
  const [operator] = Object.keys(value);
  const operand = operator === undefined ? undefined : value[operator];
  const described = describeValue(value);
  switch (operator) {
    case 'anything-but': {
      const { operands, rebuild } = anythingButOperands(value);
      const form = isPlainObject(operand) ? Object.keys(operand)[0] : undefined;
      const flipped = form === undefined ? operands : operands.map((item) => ({ [form]: item }));
      return [
        { label: `flip ${described} → ${flipped.map(describeValue).join(', ')}`, replacement: flipped },
        { label: `lift ${described} → exists true`, replacement: [{ exists: true }] },
        ...(operands.length < 2
          ? []
          : operands.map((item, index) => ({
              label: `drop operand ${operandText(item)} from ${described}`,
              replacement: [rebuild(operands.filter((_, i) => i !== index))],
            }))),
      ];
    }
    case 'exists':
      return [{ label: `flip ${described} → exists ${!operand}`, replacement: [{ exists: !operand }] }];
    case 'prefix':
    case 'suffix': {
      if (isPlainObject(operand) && typeof operand['equals-ignore-case'] === 'string') {
        const exact = operand['equals-ignore-case'];
        return [{ label: `${described} → ${operator} ${exact} (case kept)`, replacement: [{ [operator]: exact }] }];
      }
      return typeof operand === 'string'
        ? [{ label: `${described} → ${operand} (exact)`, replacement: [operand] }]
        : [];
    }
    case 'equals-ignore-case':
      return typeof operand === 'string'
        ? [{ label: `${described} → ${operand} (case kept)`, replacement: [operand] }]
        : [];
    case 'wildcard':
      return typeof operand === 'string'
        ? wildcardStars(operand).map((star) => {
            const changed = `${operand.slice(0, star)}${operand.slice(star + 1)}`;
            return { label: `${described} → wildcard ${changed}`, replacement: [{ wildcard: changed }] };
          })
        : [];
    default:
      return [];
  }
};

/** The severity a changed modifier gives instead: the detection's default, or a neighbour when they are equal. */
const otherSeverity = (severity: Severity, fallback: Severity): Severity => {
  if (severity !== fallback) return fallback;
  return SEVERITIES[severityRank(severity) === 0 ? 1 : severityRank(severity) - 1] as Severity;
};

/**
 * Every change of one clause of the detection, each applied alone: a pattern dropped (when there are
 * several), a `$or` branch dropped, a field dropped, a value dropped from a list of several, an
 * exclusion flipped or lifted (and each operand of a longer anything-but dropped), a prefix, suffix or
 * equals-ignore-case operand taken literally, a wildcard star removed, a modifier dropped, given another
 * severity, or applied without its match. Changes that leave the clauses as they were, or as an earlier
 * change left them, are listed once. `defaultSeverity` is the detection's own severity.
 *
 * @example
 * mutationsOf({ patterns: [{ a: ['x', 'y'] }], severityModifiers: [] }, 'high').map((m) => m.label);
 * // ['drop field patterns[0].a', 'drop value patterns[0].a x', 'drop value patterns[0].a y']
 */
const mutationsOf = (clauses: Clauses, defaultSeverity: Severity): Mutation[] => {
  const mutations: Mutation[] = [];
  const add = (label: string, build: () => Clauses) => mutations.push({ label, clauses: build() });
  if (clauses.patterns.length > 1) {
    for (const i of clauses.patterns.keys()) add(`drop patterns[${i}]`, () => removeAt(clauses, ['patterns', i]));
  }
  for (const { at, pattern } of patternsOf(clauses)) {
    for (const node of walkPattern(pattern)) {
      const where = [...at, ...node.at];
      const label = locationLabel(where);
      if (node.kind === 'branch') add(`drop ${label}`, () => removeAt(clauses, where));
      else if (node.kind === 'field') add(`drop field ${label}`, () => removeAt(clauses, where));
      else {
        const list = `${locationLabel(where.slice(0, -1))}`;
        const siblings = (valueAt(clauses, where.slice(0, -1)) as unknown[]).length;
        if (siblings > 1) add(`drop value ${list} ${describeValue(node.value)}`, () => removeAt(clauses, where));
        for (const change of valueChanges(node.value)) {
          add(`${list} ${change.label}`, () => spliceAt(clauses, where, change.replacement));
        }
      }
    }
  }
  for (const [j, modifier] of clauses.severityModifiers.entries()) {
    const at = ['severityModifiers', j];
    const label = locationLabel(at);
    add(`drop ${label} ${severityLabel(modifier)}`, () => removeAt(clauses, at));
    const severity = otherSeverity(modifier.severity, defaultSeverity);
    add(`${label} severity ${modifier.severity} → ${severity}`, () => setAt(clauses, [...at, 'severity'], severity));
    if ('match' in modifier) add(`${label} without its match`, () => setAt(clauses, [...at, 'match'], {}));
  }
  const seen = new Set([JSON.stringify(clauses)]);
  return mutations.filter((mutation) => {
    const key = JSON.stringify(mutation.clauses);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
};

// ------------------------------------------------------------------------------------------------
// Evaluating samples
// ------------------------------------------------------------------------------------------------

/** compilePattern, except that `{}` (every field dropped) matches every event. */
const compileLoose = (pattern: Pattern): ((event: unknown) => boolean) =>
  Object.keys(pattern).length === 0 ? () => true : compilePattern(pattern);

/** compileLoose remembering each pattern it compiled, by its JSON. */
const cachedCompiler = (): typeof compileLoose => {
  const compiled = new Map<string, ReturnType<typeof compileLoose>>();
  return (pattern) => {
    const key = JSON.stringify(pattern);
    let predicate = compiled.get(key);
    if (predicate === undefined) {
      predicate = compileLoose(pattern);
      compiled.set(key, predicate);
    }
    return predicate;
  };
};

/**
 * The detection with other clauses, compiled in memory as the loader would (without its source
 * shortcut, which the patterns imply). Throws InvalidPatternError when EventBridge would reject a pattern.
 * `compile` may be a cached compileLoose: a mutant shares all patterns but one with the detection.
 */
const recompile = (detection: Detection, clauses: Clauses, compile = compileLoose): Detection => {
  const { sources: _shortcut, ...rest } = detection;
  const predicates = clauses.patterns.map((pattern) => compile(pattern));
  return {
    ...rest,
    patterns: [...clauses.patterns],
    severityModifiers: [...clauses.severityModifiers],
    matches: (event) => predicates.some((matches) => matches(event)),
    modifiers: clauses.severityModifiers.map((modifier) =>
      'match' in modifier
        ? { kind: 'match', severity: modifier.severity, reason: modifier.reason, matches: compile(modifier.match) }
        : {
            kind: 'threshold',
            severity: modifier.severity,
            reason: modifier.reason,
            count: modifier.threshold.count,
            withinMs: modifier.threshold.withinMinutes * 60_000,
          },
    ),
  };
};

/** Whether the detection gives a sample its expected outcome, alone (no earlier events), as test/detections.test.ts checks. */
const passes = (detection: Detection, { sample, event }: SampleEvent): boolean => {
  const [match] = classify(event, [detection]);
  if ((match !== undefined) !== (sample.expect === 'match')) return false;
  return sample.severity === undefined || match?.severity === sample.severity;
};

/** Whether a compiled modifier applies to a lone event: a threshold needs earlier events, so never. */
const applies = (modifier: Detection['modifiers'][number], event: unknown): boolean =>
  modifier.kind === 'match' ? modifier.matches(event) : modifier.count <= 1;

const clausesOf = (detection: Detection): Clauses => ({
  patterns: detection.patterns,
  severityModifiers: detection.severityModifiers,
});

/**
 * Whether some match sample reaches the alternative: matches through it, or, for a modifier and what its match
 * holds, takes its expected severity from that modifier through it (no earlier modifier applies, and no rule
 * outside the detection's modifiers, such as classify's centralized-root-session severity, decides instead).
 */
const reaches = (detection: Detection, alternative: Alternative, samples: readonly SampleEvent[]): boolean => {
  const matching = samples.filter(({ sample }) => sample.expect === 'match');
  const [root, index, ...rest] = alternative.at;
  if (root === 'patterns') {
    const matches = compileLoose(narrowPattern(detection.patterns[Number(index)] as Pattern, rest));
    return matching.some(({ event }) => matches(event));
  }
  const j = Number(index);
  const modifier = detection.severityModifiers[j] as ModifierSpec;
  const compiled = detection.modifiers[j] as Detection['modifiers'][number];
  const through =
    'match' in modifier
      ? compileLoose(narrowPattern(modifier.match, rest.slice(1)))
      : (event: unknown) => applies(compiled, event);
  const bare = recompile(detection, { patterns: detection.patterns, severityModifiers: [] });
  const decidedElsewhere = (event: unknown): boolean => classify(event, [bare])[0]?.reason !== undefined;
  return matching.some(
    ({ sample, event }) =>
      sample.severity === modifier.severity &&
      detection.matches(event) &&
      !decidedElsewhere(event) &&
      detection.modifiers.slice(0, j).every((earlier) => !applies(earlier, event)) &&
      through(event),
  );
};

const isInside = (inner: Location, outer: Location): boolean =>
  inner.length > outer.length && outer.every((step, i) => inner[i] === step);

/**
 * What the samples leave unproven, one readable line each, prefixed with the detection id:
 * - an alternative no match sample reaches (an unreached pattern or branch is one line, not one per value in it);
 * - an exclusion no sample shows working (a no-match sample the detection would match without it, or for a
 *   modifier's match, a match sample whose expected severity the modifier would change without it).
 *
 * @example
 * declare const detection: Detection;
 * declare const eventOf: (fixture: string) => unknown;
 * coverageGaps(detection, eventOf);
 * // ['root-api-call patterns[0].detail.eventType anything-but AwsServiceEvent: no no-match sample shows the exclusion']
 */
const coverageGaps = (detection: Detection, eventOf: (fixture: string) => unknown): string[] => {
  const samples = detection.samples.map((sample) => ({ sample, event: eventOf(sample.fixture) }));
  const clauses = clausesOf(detection);
  const alternatives = alternativesOf(clauses);
  const unreached = alternatives.filter((alternative) => !reaches(detection, alternative, samples));
  const unreachedLines = unreached
    .filter((alternative) => !unreached.some((outer) => isInside(alternative.at, outer.at)))
    .map((alternative) => {
      const modifier =
        alternative.at[0] === 'severityModifiers'
          ? (valueAt(clauses, alternative.at.slice(0, 2)) as ModifierSpec)
          : undefined;
      const who = modifier ? `match sample with severity ${modifier.severity}` : 'match sample';
      const why =
        modifier && !('match' in modifier) ? ' (samples are scored alone: a threshold needs earlier events)' : '';
      const inner = alternatives.filter(
        (other) => other.kind !== 'modifier' && isInside(other.at, alternative.at),
      ).length;
      const more = inner === 0 ? '' : ` (nor any of the ${inner} alternative${inner === 1 ? '' : 's'} inside it)`;
      return `${detection.id} ${alternative.label}: no ${who} reaches it${why}${more}`;
    });
  const passing = samples.filter((sample) => passes(detection, sample));
  const unshownLines = exclusionsOf(clauses)
    .filter((exclusion) => {
      const relaxed = recompile(detection, exclusion.relaxed);
      return !passing.some((sample) => !passes(relaxed, sample));
    })
    .map((exclusion) =>
      exclusion.at[0] === 'patterns'
        ? `${detection.id} ${exclusion.label}: no no-match sample shows the exclusion`
        : `${detection.id} ${exclusion.label}: no sample shows the exclusion (a match sample whose expected severity the modifier would change without it)`,
    );
  return [...unreachedLines, ...unshownLines];
};

/**
 * Why a surviving change may be one no sample can catch: each pattern is deployed as a rule of its own, and when
 * the changed pattern alone would get a sample wrong (miss a match sample it matched, or match a no-match sample)
 * while another pattern gives the detection the same outcome, the change is hidden by that overlap. Empty otherwise,
 * and when patterns were added or dropped.
 */
const redundancyNote = (
  before: readonly Pattern[],
  after: readonly Pattern[],
  samples: readonly SampleEvent[],
  compile: typeof compileLoose,
): string => {
  if (before.length !== after.length) return '';
  const changed = before.flatMap((pattern, i) =>
    JSON.stringify(pattern) === JSON.stringify(after[i])
      ? []
      : [{ i, was: compile(pattern), is: compile(after[i] as Pattern) }],
  );
  const hidden = changed.filter(({ was, is }) =>
    samples.some(({ sample, event }) =>
      sample.expect === 'match' ? was(event) && !is(event) : !was(event) && is(event),
    ),
  );
  return hidden.length === 0
    ? ''
    : ` (hidden by overlap: ${hidden.map(({ i }) => `patterns[${i}]`).join(', ')} alone would catch it)`;
};

/**
 * Applies every mutation of the detection in turn (mutationsOf), recompiled in memory, and counts those some
 * sample catches: a sample that passes on the detection as it is and fails on the mutant (wrong match or
 * wrong expected severity).
 *
 * @example
 * declare const detection: Detection;
 * declare const eventOf: (fixture: string) => unknown;
 * const { caught, total, survivors } = mutationReport(detection, eventOf);
 */
const mutationReport = (detection: Detection, eventOf: (fixture: string) => unknown): MutationReport => {
  const samples = detection.samples.map((sample) => ({ sample, event: eventOf(sample.fixture) }));
  const passing = samples.filter((sample) => passes(detection, sample));
  const failingSamples = samples.filter((sample) => !passing.includes(sample)).map(({ sample }) => sample.name);
  const survivors: string[] = [];
  const invalid: string[] = [];
  const compile = cachedCompiler();
  let caught = 0;
  for (const mutation of mutationsOf(clausesOf(detection), detection.severity)) {
    let mutant: Detection;
    try {
      mutant = recompile(detection, mutation.clauses, compile);
    } catch {
      invalid.push(mutation.label);
      continue;
    }
    if (passing.some((sample) => !passes(mutant, sample))) caught += 1;
    else
      survivors.push(
        `${mutation.label}${redundancyNote(detection.patterns, mutation.clauses.patterns, passing, compile)}`,
      );
  }
  return { total: caught + survivors.length, caught, survivors, invalid, failingSamples };
};

export {
  alternativesOf,
  coverageGaps,
  describeValue,
  exclusionsOf,
  mutationReport,
  mutationsOf,
  narrowPattern,
  walkPattern,
};
