/** Wildcard operands: parsing, matching, and the "Rule is too complex" check over a field's wildcards. */
import { fail } from './invalid-pattern.js';
import type { Branch, JsonPath, Wildcard, WildcardTerm } from './types.js';

const STAR = 256;

/** EventBridge rejects a field whose wildcards could keep more than this many partial matches alive at once. */
const WILDCARD_COMPLEXITY_LIMIT = 10;
/** Bounds the work of the complexity check itself on pathological inputs. */
const WILDCARD_COMPLEXITY_STATE_BUDGET = 20_000;
const UTF8 = new TextEncoder();

const utf8Length = (codeUnit: number, next: number): number => {
  if (codeUnit < 0x80) return 1;
  if (codeUnit < 0x800) return 2;
  const isPair = codeUnit >= 0xd800 && codeUnit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff;
  return isPair ? 4 : 3;
};

/**
 * Splits a wildcard operand at its unescaped stars. `\*` is a literal star and `\\` a literal
 * backslash; any other escape, and two stars in a row, are rejected. Positions in the messages are
 * UTF-8 byte offsets into the operand wrapped in quotes, as event-ruler reports them.
 */
const parseWildcard = (text: string, at: JsonPath): Wildcard => {
  const segments: string[] = [];
  let segment = '';
  let position = 1; // the opening quote
  for (let i = 0; i < text.length; i++) {
    const char = text.charAt(i);
    const width = utf8Length(text.charCodeAt(i), text.charCodeAt(i + 1));
    if (char === '*') {
      if (text.charAt(i + 1) === '*') fail(`Consecutive wildcard characters at pos ${position}`, at);
      segments.push(segment);
      segment = '';
    } else if (char === '\\') {
      const escaped = text.charAt(i + 1);
      if (escaped !== '*' && escaped !== '\\') fail(`Invalid escape character at pos ${position}`, at);
      segment += escaped;
      i++;
      position++;
    } else {
      const whole = width === 4 ? text.slice(i, i + 2) : char;
      segment += whole;
      if (width === 4) i++;
    }
    position += width;
  }
  segments.push(segment);
  const tokens = segments.flatMap((part, index) => [...(index > 0 ? [STAR] : []), ...UTF8.encode(part)]);
  return { segments, tokens };
};

/** Glob match with `*` only: anchored first and last segments, the middle ones leftmost in order. */
const matchesWildcard = (value: string, { segments }: Wildcard): boolean => {
  const first = segments[0] ?? '';
  if (segments.length === 1) return value === first;
  const last = segments[segments.length - 1] ?? '';
  if (value.length < first.length + last.length || !value.startsWith(first) || !value.endsWith(last)) return false;
  const end = value.length - last.length;
  let from = first.length;
  for (let i = 1; i < segments.length - 1; i++) {
    const middle = segments[i] ?? '';
    const found = value.indexOf(middle, from);
    if (found === -1 || found + middle.length > end) return false;
    from = found + middle.length;
  }
  return true;
};

/** A state of the byte automaton that EventBridge builds from a field's wildcards. */
interface WildcardState {
  readonly literal: Map<number, number[]>;
  readonly any: number[];
  readonly weight: Set<string>;
  readonly prefix: Map<number, number>;
  star: number;
}

const newWildcardState = (): WildcardState => ({
  literal: new Map(),
  any: [],
  weight: new Set(),
  prefix: new Map(),
  star: 0,
});

const addEdge = (edges: Map<number, number[]>, byte: number, to: number): void => {
  const targets = edges.get(byte);
  if (targets) targets.push(to);
  else edges.set(byte, [to]);
};

/**
 * Builds the automaton for a field's wildcards: stars are self-looping states; the text before the
 * first star is shared between terms (a trie), the text after it is not. Each state is weighted by
 * the terms that pass through it.
 */
const buildWildcardAutomaton = (terms: readonly WildcardTerm[]): { states: WildcardState[]; alphabet: Set<number> } => {
  const states = [newWildcardState()];
  const accepting = new Map<string, number>();
  const alphabet = new Set<number>();
  const quote = '"'.charCodeAt(0);
  for (const term of terms) {
    for (const wildcard of term.wildcards) {
      const tokens = [quote, ...wildcard.tokens, quote];
      let current = 0;
      let previous = -1;
      let determinate = true;
      for (let i = 0; i < tokens.length; i++) {
        const token = tokens[i] as number;
        const isLast = i === tokens.length - 1;
        const wasDeterminate = determinate;
        const origin = states[current] as WildcardState;
        let next = 0;
        if (isLast) next = accepting.get(term.identity) ?? 0;
        else if (token === STAR) {
          if (wasDeterminate) next = origin.star;
          determinate = false;
        } else if (wasDeterminate) next = origin.prefix.get(token) ?? 0;
        const created = next === 0;
        if (created) {
          next = states.push(newWildcardState()) - 1;
          // Text up to the first star is a trie shared by all terms; text after it never is.
          if (isLast) accepting.set(term.identity, next);
          else if (wasDeterminate && token === STAR) origin.star = next;
          else if (wasDeterminate) origin.prefix.set(token, next);
        }
        const to = states[next] as WildcardState;
        if (token === STAR) {
          if (to.any.length === 0) {
            origin.any.push(next);
            to.any.push(next);
          }
        } else if (isLast || created) {
          alphabet.add(token);
          addEdge(origin.literal, token, next);
          // A star may also match nothing: the state before it reaches the byte after it directly.
          if (i > 0 && tokens[i - 1] === STAR) addEdge((states[previous] as WildcardState).literal, token, next);
        }
        to.weight.add(term.identity);
        previous = current;
        current = next;
      }
    }
  }
  return { states, alphabet };
};

/**
 * The largest number of partial wildcard matches (weighted by term) that one input could keep alive
 * at once, counting star states one byte away: the measure behind AWS's "Rule is too complex".
 */
const wildcardComplexity = (terms: readonly WildcardTerm[]): number => {
  const { states, alphabet } = buildWildcardAutomaton(terms);
  const bytes = [STAR, ...alphabet]; // STAR stands for any byte without a literal edge
  const seen = new Set<string>();
  const pending: number[][] = [[0]];
  let maximum = 0;
  while (pending.length > 0 && seen.size < WILDCARD_COMPLEXITY_STATE_BUDGET) {
    const active = pending.pop() as number[];
    for (const byte of bytes) {
      const next = new Set<number>();
      for (const id of active) {
        const state = states[id] as WildcardState;
        for (const target of state.any) next.add(target);
        if (byte !== STAR) for (const target of state.literal.get(byte) ?? []) next.add(target);
      }
      if (next.size === 0) continue;
      let complexity = 0;
      for (const id of next) {
        const state = states[id] as WildcardState;
        complexity += state.weight.size;
        for (const star of state.any) if (!next.has(star)) complexity += (states[star] as WildcardState).weight.size;
      }
      if (complexity > WILDCARD_COMPLEXITY_LIMIT) return complexity;
      maximum = Math.max(maximum, complexity);
      const sorted = [...next].sort((a, b) => a - b);
      const key = sorted.join(',');
      if (!seen.has(key)) {
        seen.add(key);
        pending.push(sorted);
      }
    }
  }
  return maximum;
};

/**
 * The complexity of each set of wildcard terms measured so far, by the terms' identities: a catalog repeats the same
 * wildcards in many patterns (alerter-tampering's rule clauses are in every one of its patterns), and each start of
 * the CLI or a Lambda compiles them all. Bounded: a process that compiles ever new patterns keeps the latest 1,000.
 */
const COMPLEXITIES = new Map<string, number>();
const MAX_COMPLEXITIES = 1_000;

const complexityOf = (terms: ReadonlyMap<string, WildcardTerm>): number => {
  const key = [...terms.keys()].sort().join('\u0000');
  const known = COMPLEXITIES.get(key);
  if (known !== undefined) return known;
  const complexity = wildcardComplexity([...terms.values()]);
  if (COMPLEXITIES.size >= MAX_COMPLEXITIES) COMPLEXITIES.clear();
  COMPLEXITIES.set(key, complexity);
  return complexity;
};

/** Rejects a pattern if any field's wildcards, across all `$or` branches, are too non-deterministic. */
const assertWildcardComplexity = (branches: readonly Branch[]): void => {
  const byPath = new Map<string, { at: JsonPath; terms: Map<string, WildcardTerm> }>();
  for (const branch of branches) {
    for (const field of branch.values()) {
      if (field.wildcards.length === 0) continue;
      const entry = byPath.get(field.path) ?? { at: field.at, terms: new Map<string, WildcardTerm>() };
      for (const term of field.wildcards) entry.terms.set(term.identity, term);
      byPath.set(field.path, entry);
    }
  }
  for (const { at, terms } of byPath.values()) {
    if (complexityOf(terms) > WILDCARD_COMPLEXITY_LIMIT) {
      fail(
        'Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character',
        at,
      );
    }
  }
};

export { assertWildcardComplexity, matchesWildcard, parseWildcard };
