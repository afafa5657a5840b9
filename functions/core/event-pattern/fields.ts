/** Fields: the array of values under a pattern key, compiled into one matcher. */
import { foldAscii } from './case-insensitive.js';
import { fail } from './invalid-pattern.js';
import { inIpRange, ipHex } from './ip-ranges.js';
import { isPlainObject } from './json.js';
import { compileMatchExpression } from './operators.js';
import type {
  CompiledValue,
  Condition,
  FieldMatcher,
  FieldSpec,
  IpRange,
  JsonPath,
  Leaf,
  LeafTest,
  NumberTest,
  StringTest,
} from './types.js';

/** A plain value in a field's array: strings that are IP literals also match the same address written differently. */
const compileLiteral = (value: unknown, at: JsonPath): CompiledValue[] => {
  if (typeof value === 'string') {
    const hex = ipHex(value);
    const exact: CompiledValue = { condition: { kind: 'exact', value } };
    return hex === undefined ? [exact] : [exact, { condition: { kind: 'ip', hex } }];
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) {
    return [{ condition: { kind: 'exact', value } }];
  }
  return fail('Match value must be String, number, true, false, or null', at);
};

/** Folds a field's conditions into one test, with Sets for the exact values. */
const buildFieldMatcher = (conditions: readonly Condition[]): FieldMatcher => {
  const exact = new Set<Leaf>();
  const ipHexes = new Set<string>();
  const ipRanges: IpRange[] = [];
  const ignoreCase = new Set<string>();
  const stringTests: StringTest[] = [];
  const numberTests: NumberTest[] = [];
  const leafTests: LeafTest[] = [];
  let anyPresent = false;
  let allowsAbsent = false;
  let needsFold = false;
  for (const condition of conditions) {
    switch (condition.kind) {
      case 'exact':
        exact.add(condition.value);
        break;
      case 'ip':
        ipHexes.add(condition.hex);
        break;
      case 'ip-range':
        ipRanges.push(condition.range);
        break;
      case 'ignore-case':
        ignoreCase.add(condition.folded);
        needsFold = true;
        break;
      case 'string':
        stringTests.push(condition.test);
        needsFold ||= condition.needsFold;
        break;
      case 'number':
        numberTests.push(condition.test);
        break;
      case 'leaf':
        leafTests.push(condition.test);
        needsFold ||= condition.needsFold;
        break;
      case 'exists':
        if (condition.present) anyPresent = true;
        else allowsAbsent = true;
        break;
    }
  }
  const needsIp = ipHexes.size > 0 || ipRanges.length > 0;
  const testString = (value: string): boolean => {
    if (exact.has(value)) return true;
    if (needsIp) {
      const hex = ipHex(value);
      if (hex !== undefined && (ipHexes.has(hex) || ipRanges.some((range) => inIpRange(hex, range)))) return true;
    }
    const folded = needsFold ? foldAscii(value) : value;
    if (ignoreCase.has(folded)) return true;
    for (const test of stringTests) if (test(value, folded)) return true;
    for (const test of leafTests) if (test(value, folded)) return true;
    return false;
  };
  const test = (value: Leaf): boolean => {
    if (anyPresent) return true;
    if (typeof value === 'string') return testString(value);
    if (exact.has(value)) return true;
    if (typeof value === 'number') for (const numberTest of numberTests) if (numberTest(value)) return true;
    for (const leafTest of leafTests) if (leafTest(value, '')) return true;
    return false;
  };
  return { test, allowsAbsent };
};

/** Compiles the non-empty array under a pattern key into one field: one matcher, and its wildcard terms. */
const compileField = (values: readonly unknown[], path: string, at: JsonPath): FieldSpec => {
  if (values.length === 0) fail('Empty arrays are not allowed', at);
  const compiled = values.flatMap((value, index) =>
    isPlainObject(value) ? [compileMatchExpression(value, [...at, index])] : compileLiteral(value, [...at, index]),
  );
  return {
    path,
    at,
    matcher: buildFieldMatcher(compiled.map((value) => value.condition)),
    wildcards: compiled.flatMap((value) => (value.wildcard ? [value.wildcard] : [])),
  };
};

export { compileField };
