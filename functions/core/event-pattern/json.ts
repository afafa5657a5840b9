/** The pattern as JSON: what counts as an object, what JSON can carry, and how Jackson prints a token. */
import { fail } from './invalid-pattern.js';
import type { JsonPath } from './types.js';

/** A JSON object as JSON.parse or a literal builds it: not null, not an array, not a class instance. */
const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
};

/** Only what JSON can express reaches EventBridge; anything else (undefined, NaN, a Date, a cycle) is a caller bug. */
const assertJson = (value: unknown, at: JsonPath, ancestors: Set<object>): void => {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) fail(`${value} is not a JSON number`, at);
    return;
  }
  if (Array.isArray(value) || isPlainObject(value)) {
    if (ancestors.has(value)) fail('the pattern contains a cycle', at);
    ancestors.add(value);
    const entries: [string | number, unknown][] = Array.isArray(value)
      ? value.map((item, index) => [index, item])
      : Object.entries(value);
    for (const [step, item] of entries) assertJson(item, [...at, step], ancestors);
    ancestors.delete(value);
    return;
  }
  const kind =
    value === undefined ? 'undefined' : typeof value === 'object' ? 'a non-plain object' : `a ${typeof value}`;
  fail(`${kind} is not a JSON value`, at);
};

/** How Jackson would print the token at this place of an array, for AWS's "Invalid member …" messages. */
const tokenText = (value: unknown): string => {
  if (value === undefined) return ']';
  if (Array.isArray(value)) return '[';
  if (value !== null && typeof value === 'object') return '{';
  return String(value);
};

export { assertJson, isPlainObject, tokenText };
