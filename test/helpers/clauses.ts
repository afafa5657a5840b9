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
 * A sample is judged as the detection file says (SampleSchema): one event, or with `repeat` (and `after`, the
 * records a follows modifier counts) its arrivals, in order, through the alert pipeline with state in memory, the
 * last one judged. Besides its samples, each
 * match sample stands for generated variants that must match nothing (test/helpers/samples.ts,
 * generatedVariants): the same event put by an application, and the same record as an AWS service event.
 *
 * The JSON helpers (walking, narrowing, relaxing, mutating) are pure. The checks recompile a changed
 * detection in memory with the production matcher, classifier and pipeline, and know nothing of the catalog:
 * the caller says what events a sample stands for (SampleEvents).
 */

import { createAlertPipeline } from '../../functions/app/alert-pipeline.js';
import type { Alert } from '../../functions/core/alert-document.js';
import { classify } from '../../functions/core/classify.js';
import { compileModifier, type Detection } from '../../functions/core/detection.js';
import type { CloudTrailEvent } from '../../functions/core/event.js';
import { compilePattern } from '../../functions/core/event-pattern/compile.js';
import { SEVERITIES, type Severity, severityRank } from '../../functions/core/severity.js';
import { createMemoryState } from '../../functions/io/memory-state.js';

/** An EventBridge event pattern. `{}` (what is left when every field is dropped) matches every event. */
type Pattern = Record<string, unknown>;

/** A severity modifier as the detection file gives it: with a `match` pattern, a `threshold`, or `follows`. */
type ModifierSpec = Detection['severityModifiers'][number];

/** A sample as the detection file gives it. */
type Sample = Detection['samples'][number];

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

/** An event that must match nothing, derived from a match sample. */
interface Variant {
  readonly label: string;
  readonly event: unknown;
}

/** What the events of each sample are: the caller's reading of its fixtures (test/helpers/samples.ts for the catalog). */
interface SampleEvents {
  /** The events the sample stands for, in order of arrival: one, or its `repeat` arrivals. The last is judged. */
  arrivals(sample: Sample): readonly CloudTrailEvent[];
  /** Events derived from a match sample that must match nothing; none for a no-match sample. */
  variants(sample: Sample): readonly Variant[];
}

/** A sample with its arrivals, and the one event of them that is judged. */
interface SampleCase {
  readonly sample: Sample;
  readonly arrivals: readonly CloudTrailEvent[];
  /** The last arrival. */
  readonly event: CloudTrailEvent;
}

/** What a detection does with a sample's last arrival. */
interface Outcome {
  readonly matched: boolean;
  readonly severity?: Severity;
  /** The reason of the modifier (or catalog-wide rule) that set the severity, if one did. */
  readonly reason?: string;
}

/** What the mutation run found for one detection. */
interface MutationReport {
  /** Distinct valid mutations tried. */
  readonly total: number;
  readonly caught: number;
  /** Labels of the mutations nothing caught. */
  readonly survivors: readonly string[];
  /** Mutations EventBridge would reject (so not tried), by label. */
  readonly invalid: readonly string[];
  /** Samples that fail on the unchanged detection: they cannot catch anything (test/detections.test.ts reports them). */
  readonly failingSamples: readonly string[];
  /** Generated variants the unchanged detection already matches: they cannot catch anything either. */
  readonly matchedVariants: readonly string[];
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

const severityLabel = (modifier: ModifierSpec): string => {
  if ('match' in modifier) return `→ ${modifier.severity}`;
  if ('threshold' in modifier) {
    return `threshold ${modifier.threshold.count} within ${modifier.threshold.withinMinutes} min → ${modifier.severity}`;
  }
  const { detection, count, withinMinutes } = modifier.follows;
  return `follows ${count} ${detection} within ${withinMinutes} min → ${modifier.severity}`;
};

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
 * severity, or applied without its match, a threshold's or a follows modifier's count one lower and one higher
 * and its window a minute shorter and a minute longer (within the schema's bounds), and a follows modifier
 * pointed at another detection (`not-<id>`). Changes that leave the clauses as they were, or as an earlier
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
    else if ('follows' in modifier) {
      const { detection, count, withinMinutes } = modifier.follows;
      for (const changed of [count - 1, count + 1].filter((n) => n >= 1 && n <= 100)) {
        add(`${label} follows count ${count} → ${changed}`, () => setAt(clauses, [...at, 'follows', 'count'], changed));
      }
      for (const changed of [withinMinutes - 1, withinMinutes + 1].filter((n) => n >= 1 && n <= 1440)) {
        add(`${label} follows window ${withinMinutes} → ${changed} min`, () =>
          setAt(clauses, [...at, 'follows', 'withinMinutes'], changed),
        );
      }
      add(`${label} follows ${detection} → not-${detection}`, () =>
        setAt(clauses, [...at, 'follows', 'detection'], `not-${detection}`),
      );
    } else {
      const { count, withinMinutes } = modifier.threshold;
      for (const changed of [count - 1, count + 1].filter((n) => n >= 2)) {
        add(`${label} threshold count ${count} → ${changed}`, () =>
          setAt(clauses, [...at, 'threshold', 'count'], changed),
        );
      }
      for (const changed of [withinMinutes - 1, withinMinutes + 1].filter((n) => n >= 1 && n <= 1440)) {
        add(`${label} threshold window ${withinMinutes} → ${changed} min`, () =>
          setAt(clauses, [...at, 'threshold', 'withinMinutes'], changed),
        );
      }
    }
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
    modifiers: clauses.severityModifiers.map((modifier) => compileModifier(modifier, compile)),
  };
};

/**
 * The alert pipeline over `detections`, with `state` and a sink that keeps each alert, as replay runs it: a
 * sample's arrivals go through it as the deployed alert function would take them.
 */
const samplePipeline = (detections: readonly Detection[], state: ReturnType<typeof createMemoryState>) => {
  const sent = new Map<string, Alert>();
  const pipeline = createAlertPipeline({
    detections,
    minSeverity: 'info',
    runbookBaseUrl: '',
    state,
    enrich: async () => ({}),
    sinks: [{ name: 'sample', send: async (alert) => void sent.set(alert.eventID, alert) }],
  });
  return {
    /** The pipeline's outcome for `event`, and the alert it sent, if any. */
    async process(event: CloudTrailEvent) {
      const outcome = await pipeline.process(event, 'sample');
      return { outcome, sent: sent.get(event.id) };
    },
  };
};

/**
 * What the detection does with the last of `arrivals`. One event is classified on its own (no earlier events,
 * as the pipeline scores a first arrival); several go through the alert pipeline in order, with state in memory
 * (replay's), so that a threshold modifier counts them as the deployed alert function would. The earlier arrivals
 * also meet the detections of `catalog` that the detection follows (a follows modifier), so that their events are
 * recorded for it to read; the last is judged by the detection alone, with the same state.
 *
 * @example
 * declare const detection: Detection;
 * declare const arrivals: CloudTrailEvent[]; // five failed root sign-ins, three minutes apart
 * await outcomeOf(detection, arrivals); // { matched: true, severity: 'high', reason: '5th failed …' }
 */
const outcomeOf = async (
  detection: Detection,
  arrivals: readonly CloudTrailEvent[],
  catalog: readonly Detection[] = [],
): Promise<Outcome> => {
  const judged = arrivals.at(-1);
  if (arrivals.length === 1 || judged === undefined) {
    const [match] = judged === undefined ? [] : classify(judged, [detection]);
    return match
      ? { matched: true, severity: match.severity, ...(match.reason ? { reason: match.reason } : {}) }
      : { matched: false };
  }
  const followed = new Set(detection.modifiers.flatMap((m) => (m.kind === 'follows' ? [m.detection] : [])));
  const companions = catalog.filter((other) => other.id !== detection.id && followed.has(other.id));
  const state = createMemoryState();
  const earlier = samplePipeline([detection, ...companions], state);
  for (const event of arrivals.slice(0, -1)) await earlier.process(event);
  const { outcome, sent } = await samplePipeline([detection], state).process(judged);
  if (outcome.status !== 'delivered') return { matched: false };
  const reason = sent?.reasons?.[detection.id];
  return { matched: true, severity: outcome.severity, ...(reason ? { reason } : {}) };
};

/** Whether the outcome is what the sample expects: a match or not, and its severity when it names one. */
const expected = ({ sample }: SampleCase, outcome: Outcome): boolean =>
  outcome.matched === (sample.expect === 'match') &&
  (sample.severity === undefined || outcome.severity === sample.severity);

/** Whether the detection gives the sample its expected outcome, as test/detections.test.ts checks. */
const passes = async (detection: Detection, sample: SampleCase, catalog: readonly Detection[]): Promise<boolean> =>
  expected(sample, await outcomeOf(detection, sample.arrivals, catalog));

const clausesOf = (detection: Detection): Clauses => ({
  patterns: detection.patterns,
  severityModifiers: detection.severityModifiers,
});

/** Each sample of the detection with its arrivals, and the variants its match samples stand for. */
const casesOf = (
  detection: Detection,
  events: SampleEvents,
): { samples: SampleCase[]; variants: readonly Variant[] } => ({
  samples: detection.samples.map((sample) => {
    const arrivals = events.arrivals(sample);
    const event = arrivals.at(-1);
    if (event === undefined) throw new Error(`${detection.id}: sample "${sample.name}" stands for no event`);
    return { sample, arrivals, event };
  }),
  variants: detection.samples.flatMap((sample) => events.variants(sample)),
});

/**
 * Whether some match sample reaches the alternative: its last arrival matches through it, or, for a modifier
 * and what its match holds, the detection gives it its expected severity for that modifier's reason (through
 * the match, for what the match holds). A threshold modifier is reached only by a sample with `repeat`, a follows
 * modifier only by one with `after`. The reason tells the modifiers apart: a detection's modifiers each give their
 * own (the catalog's do); a follows modifier's `{count}` stands for any count.
 */
const reaches = async (
  detection: Detection,
  alternative: Alternative,
  samples: readonly SampleCase[],
  catalog: readonly Detection[],
): Promise<boolean> => {
  const matching = samples.filter(({ sample }) => sample.expect === 'match');
  const [root, index, ...rest] = alternative.at;
  if (root === 'patterns') {
    const matches = compileLoose(narrowPattern(detection.patterns[Number(index)] as Pattern, rest));
    return matching.some(({ event }) => matches(event));
  }
  const modifier = detection.severityModifiers[Number(index)] as ModifierSpec;
  const through = 'match' in modifier ? compileLoose(narrowPattern(modifier.match, rest.slice(1))) : () => true;
  const reason = reasonPattern(modifier.reason);
  for (const sample of matching) {
    if (sample.sample.severity !== modifier.severity || !through(sample.event)) continue;
    const outcome = await outcomeOf(detection, sample.arrivals, catalog);
    if (expected(sample, outcome) && reason.test(outcome.reason ?? '')) return true;
  }
  return false;
};

/**
 * A modifier's reason as the alert gives it: the text itself, with any number in place of `{count}` (a follows
 * modifier's).
 *
 * @example
 * reasonPattern('after {count} failures').test('after 4 failures'); // true
 */
const reasonPattern = (reason: string): RegExp =>
  new RegExp(`^${reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replaceAll('\\{count\\}', '\\d+')}$`);

const isInside = (inner: Location, outer: Location): boolean =>
  inner.length > outer.length && outer.every((step, i) => inner[i] === step);

/**
 * What the samples leave unproven, one readable line each, prefixed with the detection id:
 * - an alternative no match sample reaches (an unreached pattern or branch is one line, not one per value in it);
 * - an exclusion no sample shows working (a no-match sample or generated variant the detection would match
 *   without it, or for a modifier's match, a match sample whose expected severity the modifier would change
 *   without it);
 * - a generated variant the detection matches.
 *
 * @example
 * declare const detection: Detection;
 * declare const events: SampleEvents;
 * await coverageGaps(detection, events, catalog);
 * // ['root-api-call patterns[0].detail.eventType anything-but AwsServiceEvent: no no-match sample shows the exclusion']
 *
 * `catalog` holds the detections a follows modifier may name (see outcomeOf); none by default.
 */
const coverageGaps = async (
  detection: Detection,
  events: SampleEvents,
  catalog: readonly Detection[] = [],
): Promise<string[]> => {
  const { samples, variants } = casesOf(detection, events);
  const clauses = clausesOf(detection);
  const alternatives = alternativesOf(clauses);
  const unreached: Alternative[] = [];
  for (const alternative of alternatives) {
    if (!(await reaches(detection, alternative, samples, catalog))) unreached.push(alternative);
  }
  const unreachedLines = unreached
    .filter((alternative) => !unreached.some((outer) => isInside(alternative.at, outer.at)))
    .map((alternative) => {
      const modifier =
        alternative.at[0] === 'severityModifiers'
          ? (valueAt(clauses, alternative.at.slice(0, 2)) as ModifierSpec)
          : undefined;
      const who = modifier ? `match sample with severity ${modifier.severity}` : 'match sample';
      const why =
        modifier === undefined || 'match' in modifier
          ? ''
          : 'threshold' in modifier
            ? ' (a threshold needs a sample with repeat, which arrives often enough to reach it)'
            : ` (a follows modifier needs a sample with after, arriving after enough events of ${modifier.follows.detection} within its window)`;
      const inner = alternatives.filter(
        (other) => other.kind !== 'modifier' && isInside(other.at, alternative.at),
      ).length;
      const more = inner === 0 ? '' : ` (nor any of the ${inner} alternative${inner === 1 ? '' : 's'} inside it)`;
      return `${detection.id} ${alternative.label}: no ${who} reaches it${why}${more}`;
    });
  const passing: SampleCase[] = [];
  for (const sample of samples) if (await passes(detection, sample, catalog)) passing.push(sample);
  const quiet = variants.filter((variant) => !detection.matches(variant.event));
  const unshownLines: string[] = [];
  for (const exclusion of exclusionsOf(clauses)) {
    const relaxed = recompile(detection, exclusion.relaxed);
    let shown = quiet.some((variant) => relaxed.matches(variant.event));
    for (const sample of passing) {
      if (shown) break;
      shown = !(await passes(relaxed, sample, catalog));
    }
    if (shown) continue;
    unshownLines.push(
      exclusion.at[0] === 'patterns'
        ? `${detection.id} ${exclusion.label}: no no-match sample shows the exclusion`
        : `${detection.id} ${exclusion.label}: no sample shows the exclusion (a match sample whose expected severity the modifier would change without it)`,
    );
  }
  const matchedLines = variants
    .filter((variant) => !quiet.includes(variant))
    .map((variant) => `${detection.id} matches ${variant.label}, which must match nothing`);
  return [...unreachedLines, ...unshownLines, ...matchedLines];
};

/**
 * Whether the changed patterns, each deployed as an EventBridge rule of its own, behave differently from the
 * rules they replace: rule k stops matching a match sample it matched, or starts matching a no-match sample or a
 * generated variant it did not match. A dropped pattern is a rule that matches nothing any more.
 */
const changesSomeRule = (
  before: readonly Pattern[],
  after: readonly Pattern[],
  samples: readonly SampleCase[],
  variants: readonly Variant[],
  compile: typeof compileLoose,
): boolean => {
  const never = () => false;
  const rules =
    before.length === after.length
      ? before.flatMap((pattern, k) =>
          JSON.stringify(pattern) === JSON.stringify(after[k])
            ? []
            : [{ was: compile(pattern), is: compile(after[k] as Pattern) }],
        )
      : // mutationsOf drops one pattern at a time: the first that differs is the one dropped.
        [before.findIndex((pattern, k) => JSON.stringify(pattern) !== JSON.stringify(after[k]))].flatMap((k) =>
          k === -1 ? [] : [{ was: compile(before[k] as Pattern), is: never }],
        );
  return rules.some(
    ({ was, is }) =>
      samples.some(({ sample, event }) =>
        sample.expect === 'match' ? was(event) && !is(event) : !was(event) && is(event),
      ) || variants.some(({ event }) => !was(event) && is(event)),
  );
};

/**
 * Applies every mutation of the detection in turn (mutationsOf), recompiled in memory, and counts those caught:
 * - by the detection: a sample that passes on the detection as it is fails on the mutant (wrong match, or wrong
 *   expected severity at its last arrival), or the mutant matches a generated variant;
 * - by a rule: each pattern is deployed as an EventBridge rule of its own, so a changed pattern that alone
 *   stops matching a match sample it matched, or starts matching a no-match sample or a generated variant, is
 *   a changed rule (changesSomeRule), whatever the other patterns match.
 *
 * @example
 * declare const detection: Detection;
 * declare const events: SampleEvents;
 * const { caught, total, survivors } = await mutationReport(detection, events, catalog);
 *
 * `catalog` holds the detections a follows modifier may name (see outcomeOf); none by default.
 */
const mutationReport = async (
  detection: Detection,
  events: SampleEvents,
  catalog: readonly Detection[] = [],
): Promise<MutationReport> => {
  const { samples, variants } = casesOf(detection, events);
  const passing: SampleCase[] = [];
  for (const sample of samples) if (await passes(detection, sample, catalog)) passing.push(sample);
  const failingSamples = samples.filter((sample) => !passing.includes(sample)).map(({ sample }) => sample.name);
  const quiet = variants.filter((variant) => !detection.matches(variant.event));
  const matchedVariants = variants.filter((variant) => !quiet.includes(variant)).map((variant) => variant.label);
  // Lone samples first: they are classified synchronously; repeated ones run the pipeline.
  const ordered = [...passing].sort((a, b) => a.arrivals.length - b.arrivals.length);
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
    let found =
      changesSomeRule(detection.patterns, mutation.clauses.patterns, passing, quiet, compile) ||
      quiet.some((variant) => mutant.matches(variant.event));
    for (const sample of ordered) {
      if (found) break;
      found = !(await passes(mutant, sample, catalog));
    }
    if (found) caught += 1;
    else survivors.push(mutation.label);
  }
  return { total: caught + survivors.length, caught, survivors, invalid, failingSamples, matchedVariants };
};

export type { SampleEvents };
export {
  alternativesOf,
  coverageGaps,
  describeValue,
  exclusionsOf,
  mutationReport,
  mutationsOf,
  narrowPattern,
  outcomeOf,
  walkPattern,
};
