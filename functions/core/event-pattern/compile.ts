/**
 * Amazon EventBridge event patterns, validated and matched locally.
 *
 * The semantics follow the EventBridge User Guide ("Event patterns", "Content filtering") and, where
 * the guide is silent, aws/event-ruler, the library EventBridge matches with:
 * - A pattern is flattened into fields: the path of object keys joined with "." (so `{"a": {"b": …}}`
 *   and `{"a.b": …}` are the same field) and the array of values to match. `$or` forks the pattern
 *   into branches; the event matches when every field of some branch matches.
 * - An event is read the same way: each JSON leaf (string, number, boolean, null) sits at a dotted
 *   path; arrays are "crushed" (every element sits at the array's path). A match never combines
 *   leaves from different elements of the same array (event-ruler's array consistency).
 * - Values compare by JSON type: "300" never equals 300; numbers compare as doubles; null is a value
 *   (exists:true holds for it) while an empty array or an object node is no value at all.
 * - An IP literal in a value list matches the same address however it is written; equals-ignore-case
 *   accepts each operand character in its lower or upper case, as EventBridge does.
 * - Validation messages reproduce AWS's reasons word for word and add the JSON path. The wildcard
 *   "too complex" check models event-ruler's MachineComplexityEvaluator rather than copying it.
 *
 * Pure: no I/O, no clock, no environment.
 */
import { compileField } from './fields.js';
import { fail } from './invalid-pattern.js';
import { assertJson, isPlainObject } from './json.js';
import { type Candidate, EMPTY_MEMBERSHIP, isEventObject, matchBranch, planBranches } from './match.js';
import type { Branch, JsonPath } from './types.js';
import { assertWildcardComplexity } from './wildcards.js';

type EventPredicate = (event: unknown) => boolean;

const OR = '$or';

/** Field names event-ruler reserves inside `$or`, so a misplaced operator is not read as a field. */
const RESERVED_IN_OR = new Set([
  'exactly',
  'equals-ignore-case',
  'prefix',
  'suffix',
  'anything-but',
  'exists',
  'wildcard',
  'numeric',
  'cidr',
  '=',
  '<',
  '<=',
  '>',
  '>=',
  'regex',
  'not-wildcard',
  'not-equals-ignore-case',
  'date-after',
  'date-on-or-after',
  'date-before',
  'date-on-or-before',
  'in-date-range',
  'ip-address-in-range',
  'ip-address-not-in-range',
]);

// ------------------------------------------------------------------------------------------------
// Pattern objects and $or
// ------------------------------------------------------------------------------------------------

/**
 * `$or` forks every branch so far once per alternative. Alternatives must be objects, at least two;
 * AWS reports a bad alternative before it counts them.
 */
const compileOr = (value: unknown, keys: readonly string[], at: JsonPath, branches: Branch[]): Branch[] => {
  if (!Array.isArray(value)) return fail(`It must be an Array followed with ${OR}.`, at);
  const forked = value.flatMap((alternative, index) => {
    if (!isPlainObject(alternative))
      return fail(`Only JSON object is allowed in array of ${OR} relationship.`, [...at, index]);
    const copies = branches.map((branch) => new Map(branch));
    return compileObject(alternative, keys, [...at, index], copies, true);
  });
  if (value.length < 2) fail(`There must have at least 2 Objects in ${OR} relationship.`, at);
  return forked;
};

/**
 * Walks a pattern object. A key repeated through dots (`{"a.b": …, "a": {"b": …}}`) is one field and
 * the later one wins, as with a duplicate JSON key.
 */
const compileObject = (
  object: Record<string, unknown>,
  keys: readonly string[],
  at: JsonPath,
  branches: Branch[],
  insideOr: boolean,
): Branch[] => {
  const names = Object.keys(object);
  if (names.length === 0) fail('Empty objects are not allowed', at);
  let current = branches;
  for (const name of names) {
    const value = object[name];
    const nameAt = [...at, name];
    if (name === OR) {
      current = compileOr(value, keys, nameAt, current);
      continue;
    }
    if (insideOr && RESERVED_IN_OR.has(name)) {
      fail(`${name} is Ruler reserved fieldName which cannot be used inside ${OR}.`, nameAt);
    }
    if (isPlainObject(value)) {
      current = compileObject(value, [...keys, name], nameAt, current, insideOr);
    } else if (Array.isArray(value)) {
      const field = compileField(value, [...keys, name].join('.'), nameAt);
      for (const branch of current) branch.set(field.path, field);
    } else {
      fail(`"${name}" must be an object or an array`, nameAt);
    }
  }
  return current;
};

/** Validates the whole pattern and returns its branches; throws InvalidPatternError on the first problem. */
const compileBranches = (pattern: unknown): Branch[] => {
  if (!isPlainObject(pattern)) return fail('Filter is not an object', []);
  assertJson(pattern, [], new Set());
  const branches = compileObject(pattern, [], [], [new Map()], false);
  assertWildcardComplexity(branches);
  return branches;
};

// ------------------------------------------------------------------------------------------------
// API
// ------------------------------------------------------------------------------------------------

/**
 * Throws InvalidPatternError, with AWS's reason and the JSON path, for any pattern EventBridge rejects.
 *
 * @example
 * validatePattern({ source: [] });
 * // throws 'Event pattern is not valid. Reason: Empty arrays are not allowed (at $.source)'
 */
const validatePattern = (pattern: unknown): void => {
  compileBranches(pattern);
};

/**
 * Validates once and returns a predicate over events (parsed JSON objects, the whole EventBridge
 * envelope). Everything that does not depend on the event is computed here.
 *
 * @example
 * const isRootActivity = compilePattern({ detail: { userIdentity: { type: ['Root'] } } });
 * isRootActivity({ detail: { userIdentity: { type: 'Root' } } }); // true
 */
const compilePattern = (pattern: unknown): EventPredicate => {
  const { plans, slots } = planBranches(compileBranches(pattern));
  return (event) => {
    if (!isEventObject(event)) return false;
    const cache = new Array<readonly Candidate[] | undefined>(slots);
    for (const fields of plans) if (matchBranch(fields, 0, EMPTY_MEMBERSHIP, event, cache)) return true;
    return false;
  };
};

/**
 * Validates and matches in one call; compile once with compilePattern for repeated use.
 *
 * @example
 * matchesPattern({ source: [{ prefix: 'aws.' }] }, { source: 'aws.iam' }); // true
 */
const matchesPattern = (pattern: unknown, event: unknown): boolean => compilePattern(pattern)(event);

export { compilePattern, matchesPattern, validatePattern };
