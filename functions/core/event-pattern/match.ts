/** Matching an event against compiled branches: the leaves at each field's path, agreeing on array elements. */
import type { Branch, FieldMatcher, Leaf } from './types.js';

/** One element of one array of the event: leaves under it carry it in their membership. */
interface ArrayPosition {
  readonly array: readonly unknown[];
  readonly index: number;
}

/** The array elements a leaf sits in. Two leaves combine only if they agree on every shared array. */
type Membership = readonly ArrayPosition[];

/** A leaf found at a field's path, with the array elements it came from. */
interface Candidate {
  readonly value: Leaf;
  readonly membership: Membership;
}

/** How to find a dotted path in an event: `keys[start][length - 1]` joins `length` segments from `start`. */
interface PathLookup {
  readonly segments: number;
  readonly keys: readonly (readonly string[])[];
}

/** A field ready for matching: where its leaves are cached, how to find and test them. */
interface MatchField {
  readonly slot: number;
  readonly lookup: PathLookup;
  readonly matcher: FieldMatcher;
  /** Whether a later field of the branch has exists:false (see matchBranch for why this matters). */
  readonly absenceFollows: boolean;
}

const EMPTY_MEMBERSHIP: Membership = [];

/** An event node that can hold fields: any object but null and arrays. */
const isEventObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isLeaf = (value: unknown): value is Leaf =>
  value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';

/** Precomputes every way a dotted path can be spelled in an event, since event keys may contain dots too. */
const pathLookup = (path: string): PathLookup => {
  const parts = path.split('.');
  const keys = parts.map((_, start) =>
    parts.slice(start).map((__, length) => parts.slice(start, start + length + 1).join('.')),
  );
  return { segments: parts.length, keys };
};

const withPosition = (membership: Membership, array: readonly unknown[], index: number): Membership => [
  ...membership,
  { array, index },
];

/** What a path holds no leaf of: shared, never written to. */
const NO_CANDIDATES: readonly Candidate[] = [];

/**
 * Leaves at the end of the path: a leaf itself, or every leaf inside (nested) arrays; objects hold
 * none. Appends them to `out`, created on the first leaf (most paths hold one leaf or none), and
 * returns it.
 */
const collectLeaves = (
  node: unknown,
  membership: Membership,
  out: Candidate[] | undefined,
): Candidate[] | undefined => {
  if (isLeaf(node)) {
    const candidate: Candidate = { value: node, membership };
    if (out === undefined) return [candidate];
    out.push(candidate);
  } else if (Array.isArray(node)) {
    for (let index = 0; index < node.length; index++) {
      out = collectLeaves(node[index], withPosition(membership, node, index), out);
    }
  }
  return out;
};

/** Follows the path from segment `start`, through objects and (crushed) arrays; appends as collectLeaves does. */
const descend = (
  node: unknown,
  lookup: PathLookup,
  start: number,
  membership: Membership,
  out: Candidate[] | undefined,
): Candidate[] | undefined => {
  if (Array.isArray(node)) {
    for (let index = 0; index < node.length; index++) {
      out = descend(node[index], lookup, start, withPosition(membership, node, index), out);
    }
    return out;
  }
  if (!isEventObject(node)) return out;
  const spellings = lookup.keys[start] ?? [];
  for (let length = 1; length <= spellings.length; length++) {
    // A plain read is much faster than Object.hasOwn on this path; inherited members are functions,
    // which no JSON value is, except `__proto__`, which must not lead into Object.prototype.
    const child = node[spellings[length - 1] as string];
    if (child === undefined || child === Object.prototype) continue;
    if (start + length === lookup.segments) out = collectLeaves(child, membership, out);
    else out = descend(child, lookup, start + length, membership, out);
  }
  return out;
};

const findCandidates = (event: Record<string, unknown>, lookup: PathLookup): readonly Candidate[] =>
  descend(event, lookup, 0, EMPTY_MEMBERSHIP, undefined) ?? NO_CANDIDATES;

/** Adds a leaf's array elements to those chosen so far, or undefined when the two disagree on an array. */
const combine = (chosen: Membership, leaf: Membership): Membership | undefined => {
  if (leaf.length === 0) return chosen;
  if (chosen.length === 0) return leaf;
  const added: ArrayPosition[] = [];
  for (const position of leaf) {
    const shared = chosen.find((known) => known.array === position.array);
    if (shared === undefined) added.push(position);
    else if (shared.index !== position.index) return undefined;
  }
  return added.length === 0 ? chosen : [...chosen, ...added];
};

/**
 * Matches the branch's fields in sorted path order, as event-ruler walks them, backtracking over the
 * leaves each field could use so that the leaves chosen agree on array elements. exists:false holds
 * when no leaf at the path agrees with the elements chosen by the earlier fields.
 */
const matchBranch = (
  fields: readonly MatchField[],
  index: number,
  membership: Membership,
  event: Record<string, unknown>,
  cache: (readonly Candidate[] | undefined)[],
): boolean => {
  const field = fields[index];
  if (field === undefined) return true;
  let candidates = cache[field.slot];
  if (candidates === undefined) {
    candidates = findCandidates(event, field.lookup);
    cache[field.slot] = candidates;
  }
  let present = false;
  for (const candidate of candidates) {
    const combined = combine(membership, candidate.membership);
    if (combined === undefined) continue;
    present = true;
    if (!field.matcher.test(candidate.value)) continue;
    if (matchBranch(fields, index + 1, combined, event, cache)) return true;
    // A leaf outside every array adds no constraint, so no other leaf can do better, unless a later
    // exists:false would be helped by a narrower choice of elements.
    if (candidate.membership.length === 0 && !field.absenceFollows) return false;
  }
  return !present && field.matcher.allowsAbsent && matchBranch(fields, index + 1, membership, event, cache);
};

/** Turns validated branches into matching plans that share one leaf cache slot per distinct path. */
const planBranches = (branches: readonly Branch[]): { plans: MatchField[][]; slots: number } => {
  const slots = new Map<string, { slot: number; lookup: PathLookup }>();
  const plans = branches.map((branch) => {
    const specs = [...branch.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return specs.map((spec, index): MatchField => {
      let entry = slots.get(spec.path);
      if (entry === undefined) {
        entry = { slot: slots.size, lookup: pathLookup(spec.path) };
        slots.set(spec.path, entry);
      }
      const absenceFollows = specs.slice(index + 1).some((later) => later.matcher.allowsAbsent);
      return { slot: entry.slot, lookup: entry.lookup, matcher: spec.matcher, absenceFollows };
    });
  });
  return { plans, slots: slots.size };
};

export type { Candidate };
export { EMPTY_MEMBERSHIP, isEventObject, matchBranch, planBranches };
