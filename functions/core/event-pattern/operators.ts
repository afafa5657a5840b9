/** Match expressions: one operator object such as { "prefix": "us-" }, compiled into a condition. */
import {
  type CaseInsensitiveText,
  caseInsensitive,
  endsIgnoringCase,
  equalsIgnoringCase,
  startsIgnoringCase,
} from './case-insensitive.js';
import { fail } from './invalid-pattern.js';
import { parseCidr } from './ip-ranges.js';
import { isPlainObject, tokenText } from './json.js';
import type { CompiledValue, JsonPath, LeafTest, WildcardTerm } from './types.js';
import { matchesWildcard, parseWildcard } from './wildcards.js';

const ANYTHING_BUT_FORMS = new Set(['equals-ignore-case', 'prefix', 'suffix', 'wildcard']);

const requireString = (value: unknown, reason: string, at: JsonPath): string =>
  typeof value === 'string' ? value : fail(reason, at);

/** `{ "equals-ignore-case": "…" }` under prefix or suffix; `label` names the outer operator in messages. */
const ignoreCaseOperand = (
  value: Record<string, unknown>,
  label: 'Prefix' | 'Suffix',
  at: JsonPath,
): CaseInsensitiveText => {
  const [name, ...extra] = Object.keys(value);
  if (name === undefined) return fail(`${label} expression name not found`, at);
  if (name !== 'equals-ignore-case') fail(`Unsupported ${label.toLowerCase()} pattern: ${name}`, [...at, name]);
  const operand = requireString(value[name], 'equals-ignore-case match pattern must be a string', [...at, name]);
  if (extra.length > 0) fail('Only one key allowed in match expression', [...at, extra[0] as string]);
  return caseInsensitive(operand);
};

const compilePrefix = (value: unknown, at: JsonPath): CompiledValue => {
  if (isPlainObject(value)) {
    const text = ignoreCaseOperand(value, 'Prefix', at);
    return {
      condition: {
        kind: 'string',
        needsFold: true,
        test: (candidate, folded) => startsIgnoringCase(candidate, folded, text),
      },
    };
  }
  const prefix = requireString(value, 'prefix match pattern must be a string', at);
  return { condition: { kind: 'string', needsFold: false, test: (candidate) => candidate.startsWith(prefix) } };
};

const compileSuffix = (value: unknown, at: JsonPath): CompiledValue => {
  if (isPlainObject(value)) {
    const text = ignoreCaseOperand(value, 'Suffix', at);
    return {
      condition: {
        kind: 'string',
        needsFold: true,
        test: (candidate, folded) => endsIgnoringCase(candidate, folded, text),
      },
    };
  }
  const suffix = requireString(value, 'suffix match pattern must be a string', at);
  return { condition: { kind: 'string', needsFold: false, test: (candidate) => candidate.endsWith(suffix) } };
};

const compileEqualsIgnoreCase = (value: unknown, at: JsonPath): CompiledValue => {
  const text = caseInsensitive(requireString(value, 'equals-ignore-case match pattern must be a string', at));
  if (text.folded !== undefined) return { condition: { kind: 'ignore-case', folded: text.folded } };
  return {
    condition: { kind: 'string', needsFold: false, test: (candidate) => equalsIgnoringCase(candidate, '', text) },
  };
};

const compileExactly = (value: unknown, at: JsonPath): CompiledValue => ({
  condition: { kind: 'exact', value: requireString(value, 'exact match pattern must be a string', at) },
});

const compileWildcard = (value: unknown, at: JsonPath): CompiledValue => {
  const text = requireString(value, 'wildcard match pattern must be a string', at);
  const wildcard = parseWildcard(text, at);
  return {
    condition: { kind: 'string', needsFold: false, test: (candidate) => matchesWildcard(candidate, wildcard) },
    wildcard: { identity: `wildcard:${JSON.stringify(text)}`, wildcards: [wildcard] },
  };
};

const compileCidr = (value: unknown, at: JsonPath): CompiledValue => {
  // AWS really does answer a non-string CIDR with the prefix message.
  const text = requireString(value, 'prefix match pattern must be a string', at);
  return { condition: { kind: 'ip-range', range: parseCidr(text, at) } };
};

const compileExists = (value: unknown, at: JsonPath): CompiledValue => {
  if (typeof value !== 'boolean') return fail('exists match pattern must be either true or false.', at);
  return { condition: { kind: 'exists', present: value } };
};

const requireNumber = (value: unknown, label: string, at: JsonPath): number =>
  typeof value === 'number' ? value : fail(`Value of ${label} must be numeric`, at);

/**
 * A numeric range over JSON numbers; open ends exclude their bound. EventBridge compares any double
 * (it rejects a literal no double holds exactly, which JSON.parse has already rounded away here).
 */
const rangeTest = (bottom: number, openBottom: boolean, top: number, openTop: boolean): CompiledValue => ({
  condition: {
    kind: 'number',
    test: (value) => (openBottom ? value > bottom : value >= bottom) && (openTop ? value < top : value <= top),
  },
});

/** `[">", 0, "<=", 5]`: the second half of a two-sided range, after a lower bound. */
const compileUpperHalf = (
  items: readonly unknown[],
  bottom: number,
  openBottom: boolean,
  at: JsonPath,
): CompiledValue => {
  const operator = items[2];
  if (typeof operator !== 'string') return fail(`Bad value in numeric range: ${tokenText(operator)}`, [...at, 2]);
  if (operator !== '<' && operator !== '<=') fail(`Bad numeric range operator: ${operator}`, [...at, 2]);
  const top = requireNumber(items[3], operator, [...at, 3]);
  if (items.length > 4) fail('Too many terms in numeric range expression', [...at, 4]);
  if (!(bottom < top)) fail('Bottom must be less than top', at);
  return rangeTest(bottom, openBottom, top, operator === '<');
};

const compileNumeric = (value: unknown, at: JsonPath): CompiledValue => {
  if (!Array.isArray(value)) return fail('Value of numeric must be an array.', at);
  const [operator, operand] = value;
  if (typeof operator !== 'string') return fail(`Invalid member in numeric match: ${tokenText(operator)}`, [...at, 0]);
  const tooMany = (): never => fail('Too many elements in numeric expression', [...at, 2]);
  switch (operator) {
    case '=': {
      const target = requireNumber(operand, 'equals', [...at, 1]);
      if (value.length > 2) tooMany();
      return { condition: { kind: 'number', test: (candidate) => candidate === target } };
    }
    case '>':
    case '>=': {
      const bottom = requireNumber(operand, operator, [...at, 1]);
      if (value.length > 2) return compileUpperHalf(value, bottom, operator === '>', at);
      return rangeTest(bottom, operator === '>', Number.POSITIVE_INFINITY, false);
    }
    case '<':
    case '<=': {
      const top = requireNumber(operand, operator, [...at, 1]);
      if (value.length > 2) tooMany();
      return rangeTest(Number.NEGATIVE_INFINITY, false, top, operator === '<');
    }
    default:
      return fail(`Unrecognized numeric range operator: ${operator}`, [...at, 0]);
  }
};

/** `anything-but` with a plain value or list: strings or numbers, never both. */
const compileAnythingButValues = (value: unknown, at: JsonPath): CompiledValue => {
  const items: [unknown, JsonPath][] = Array.isArray(value)
    ? value.map((item, index) => [item, [...at, index]])
    : [[value, at]];
  const strings = new Set<string>();
  const numbers = new Set<number>();
  for (const [item, itemAt] of items) {
    if (typeof item === 'string') strings.add(item);
    else if (typeof item === 'number') numbers.add(item);
    else if (Array.isArray(value)) fail('Inside anything but list, start|null|boolean is not supported.', itemAt);
    else fail('Value of anything-but must be an array or single string/number value.', at);
  }
  const hasStrings = strings.size > 0;
  const hasNumbers = numbers.size > 0;
  if (hasStrings === hasNumbers) {
    fail('Inside anything but list, either all values are number or string, mixed type is not supported', at);
  }
  // Any present leaf that is not excluded matches: null, booleans and the other type included.
  const test: LeafTest = hasNumbers
    ? (leaf) => !(typeof leaf === 'number' && numbers.has(leaf))
    : (leaf) => !(typeof leaf === 'string' && strings.has(leaf));
  return { condition: { kind: 'leaf', needsFold: false, test } };
};

const ANYTHING_BUT_TYPE_ERRORS: Record<string, string> = {
  'equals-ignore-case': 'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.',
  wildcard: 'wildcard match pattern must be a string',
  prefix: 'prefix/suffix match pattern must be a string',
  suffix: 'prefix/suffix match pattern must be a string',
};

/** A string operand of an anything-but form, with where it was written. */
interface Operand {
  readonly text: string;
  readonly at: JsonPath;
}

/** The string operands of `anything-but: { <form>: "…" | ["…", …] }`, all type-checked before any is parsed. */
const anythingButOperands = (form: string, operand: unknown, at: JsonPath): Operand[] => {
  const items: [unknown, JsonPath][] = Array.isArray(operand)
    ? operand.map((item, index) => [item, [...at, index]])
    : [[operand, at]];
  return items.map(([item, itemAt]) => {
    const text = requireString(item, ANYTHING_BUT_TYPE_ERRORS[form] ?? '', itemAt);
    if ((form === 'prefix' || form === 'suffix') && text === '') fail('Null prefix/suffix not allowed', itemAt);
    return { text, at: itemAt };
  });
};

/** Anything but the strings an exclusion test picks out; every other present leaf (number, null, …) matches. */
const excluding = (
  excluded: (text: string, folded: string) => boolean,
  needsFold: boolean,
  wildcard?: WildcardTerm,
): CompiledValue => ({
  condition: { kind: 'leaf', needsFold, test: (leaf, folded) => !(typeof leaf === 'string' && excluded(leaf, folded)) },
  ...(wildcard ? { wildcard } : {}),
});

const anythingButExclusion = (form: string, operands: readonly Operand[]): CompiledValue => {
  const texts = operands.map((operand) => operand.text);
  switch (form) {
    case 'prefix':
      return excluding((text) => texts.some((prefix) => text.startsWith(prefix)), false);
    case 'suffix':
      return excluding((text) => texts.some((suffix) => text.endsWith(suffix)), false);
    case 'equals-ignore-case': {
      const operandsIgnoringCase = texts.map(caseInsensitive);
      const asciiFolded = new Set(
        operandsIgnoringCase.flatMap((text) => (text.folded === undefined ? [] : [text.folded])),
      );
      const others = operandsIgnoringCase.filter((text) => text.folded === undefined);
      return excluding(
        (text, folded) => asciiFolded.has(folded) || others.some((other) => equalsIgnoringCase(text, folded, other)),
        true,
      );
    }
    default: {
      const wildcards = operands.map((operand) => parseWildcard(operand.text, operand.at));
      const identity = `anything-but-wildcard:${JSON.stringify([...new Set(texts)].sort())}`;
      return excluding((text) => wildcards.some((w) => matchesWildcard(text, w)), false, { identity, wildcards });
    }
  }
};

const compileAnythingBut = (value: unknown, at: JsonPath): CompiledValue => {
  if (!isPlainObject(value)) {
    if (!Array.isArray(value) && typeof value !== 'string' && typeof value !== 'number') {
      return fail('Value of anything-but must be an array or single string/number value.', at);
    }
    return compileAnythingButValues(value, at);
  }
  const [form, ...extra] = Object.keys(value);
  if (form === undefined) return fail('Anything-But expression name not found', at);
  const formAt = [...at, form];
  if (!ANYTHING_BUT_FORMS.has(form)) fail(`Unsupported anything-but pattern: ${form}`, formAt);
  const operand = value[form];
  if (!Array.isArray(operand) && typeof operand !== 'string' && typeof operand !== 'number') {
    fail('Value of anything-but must be an array or single string/number value.', formAt);
  }
  const compiled = anythingButExclusion(form, anythingButOperands(form, operand, formAt));
  if (extra.length > 0) fail('Too many elements in numeric expression', [...at, extra[0] as string]);
  return compiled;
};

type OperatorCompiler = (value: unknown, at: JsonPath) => CompiledValue;

/** Operator names are case-sensitive: `NUMERIC` or `EXISTS` is an unrecognized match type. */
const OPERATORS: ReadonlyMap<string, OperatorCompiler> = new Map([
  ['exactly', compileExactly],
  ['prefix', compilePrefix],
  ['suffix', compileSuffix],
  ['numeric', compileNumeric],
  ['anything-but', compileAnythingBut],
  ['exists', compileExists],
  ['cidr', compileCidr],
  ['equals-ignore-case', compileEqualsIgnoreCase],
  ['wildcard', compileWildcard],
]);

/** An operator object holds exactly one operator; AWS checks the operand before complaining about extra keys. */
const compileMatchExpression = (expression: Record<string, unknown>, at: JsonPath): CompiledValue => {
  const [operator, ...extra] = Object.keys(expression);
  if (operator === undefined) return fail('Match expression name not found', at);
  const compile = OPERATORS.get(operator);
  if (compile === undefined) return fail(`Unrecognized match type ${operator}`, [...at, operator]);
  const compiled = compile(expression[operator], [...at, operator]);
  if (extra.length > 0) {
    const numericLike = operator === 'numeric' || operator === 'anything-but';
    fail(numericLike ? 'Too many elements in numeric expression' : 'Only one key allowed in match expression', [
      ...at,
      extra[0] as string,
    ]);
  }
  return compiled;
};

export { compileMatchExpression };
