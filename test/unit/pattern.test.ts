import { describe, expect, it, test } from 'vitest';
import { z } from 'zod';
import { compilePattern, matchesPattern, validatePattern } from '../../functions/core/event-pattern/compile.js';
import { InvalidPatternError } from '../../functions/errors.js';
import { corpusAvailable, readCorpus } from '../helpers/corpus.js';

/** What validatePattern throws, or undefined when the pattern is valid. */
const rejection = (pattern: unknown): string | undefined => {
  try {
    validatePattern(pattern);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidPatternError);
    return (error as Error).message;
  }
};

const expectRejected = (pattern: unknown, reason: string, path?: string): void => {
  const message = rejection(pattern);
  expect(message).toBeDefined();
  expect(message).toContain(`Event pattern is not valid. Reason: ${reason}`);
  if (path !== undefined) expect(message).toContain(`(at ${path})`);
  expect(() => compilePattern(pattern)).toThrow(InvalidPatternError);
};

/** A CloudTrail record as EventBridge delivers it: the record is `detail`. */
const envelope = (detail: Record<string, unknown>, source = 'aws.iam') => ({
  version: '0',
  id: '6f87d04b-9f74-4f04-a780-7acf4b0a9b38',
  'detail-type': 'AWS API Call via CloudTrail',
  source,
  account: '111122223333',
  time: '2025-01-01T12:00:00Z',
  region: 'us-east-1',
  resources: [],
  detail,
});

// ------------------------------------------------------------------------------------------------
// The AWS-validated vectors
// ------------------------------------------------------------------------------------------------

const VectorSchema = z.object({
  name: z.string(),
  expected: z.enum(['match', 'no_match', 'invalid_pattern']),
  pattern: z.unknown().optional(),
  event: z.unknown().optional(),
  pattern_raw: z.string().optional(),
  event_raw: z.string().optional(),
  aws_error: z.object({ code: z.string(), message: z.string() }).nullable().optional(),
});
type Vector = z.infer<typeof VectorSchema>;

const VECTORS_FILE = 'eventbridge-patterns/localstack-aws-validated-vectors.jsonl';
const vectors: Vector[] = corpusAvailable ? readCorpus(VECTORS_FILE).map((line) => VectorSchema.parse(line)) : [];

// The one vector with a duplicate key comes as raw JSON; JSON.parse keeps the last key, as AWS does.
const patternOf = (vector: Vector): unknown => vector.pattern ?? JSON.parse(vector.pattern_raw ?? 'null');
const eventOf = (vector: Vector): unknown => vector.event ?? JSON.parse(vector.event_raw ?? 'null');

describe.skipIf(!corpusAvailable)('AWS-validated vectors (localstack event_pattern_templates)', () => {
  test.each(vectors)('$name → $expected', (vector) => {
    const pattern = patternOf(vector);
    const event = eventOf(vector);
    if (vector.expected === 'invalid_pattern') {
      const awsMessage = vector.aws_error?.message;
      expect(awsMessage).toBeDefined();
      expect(() => validatePattern(pattern)).toThrow(InvalidPatternError);
      // Our message carries AWS's own wording, then the JSON path.
      expect(() => validatePattern(pattern)).toThrow(awsMessage);
      expect(() => compilePattern(pattern)).toThrow(InvalidPatternError);
      return;
    }
    expect(() => validatePattern(pattern)).not.toThrow();
    const expected = vector.expected === 'match';
    expect(compilePattern(pattern)(event)).toBe(expected);
    expect(matchesPattern(pattern, event)).toBe(expected);
  });

  it('covers every vector of the corpus: 67 match, 51 no_match, 38 invalid_pattern', () => {
    const tally = { match: 0, no_match: 0, invalid_pattern: 0 };
    for (const vector of vectors) tally[vector.expected]++;
    expect(tally).toEqual({ match: 67, no_match: 51, invalid_pattern: 38 });
  });
});

// ------------------------------------------------------------------------------------------------
// CloudTrail-shaped patterns the detections rely on
// ------------------------------------------------------------------------------------------------

describe('CloudTrail-shaped patterns', () => {
  const rootNotByService = compilePattern({
    detail: {
      userIdentity: { type: ['Root'], invokedBy: [{ exists: false }] },
      eventType: [{ 'anything-but': 'AwsServiceEvent' }],
    },
  });
  const root = { type: 'Root', arn: 'arn:aws:iam::111122223333:root', accountId: '111122223333' };

  it('root activity: matches a root API call that no service made on root’s behalf', () => {
    expect(rootNotByService(envelope({ userIdentity: root, eventType: 'AwsApiCall' }))).toBe(true);
    expect(rootNotByService(envelope({ userIdentity: root, eventType: 'AwsConsoleSignIn' }))).toBe(true);
  });

  it('root activity: rejects invokedBy, AwsServiceEvent, a missing eventType and non-root identities', () => {
    const invoked = { ...root, invokedBy: 'signin.amazonaws.com' };
    expect(rootNotByService(envelope({ userIdentity: invoked, eventType: 'AwsApiCall' }))).toBe(false);
    expect(rootNotByService(envelope({ userIdentity: root, eventType: 'AwsServiceEvent' }))).toBe(false);
    // anything-but never matches a missing field.
    expect(rootNotByService(envelope({ userIdentity: root }))).toBe(false);
    expect(rootNotByService(envelope({ userIdentity: { type: 'IAMUser' }, eventType: 'AwsApiCall' }))).toBe(false);
  });

  it('MFAUsed: equals-ignore-case accepts Yes and YES, not No', () => {
    const usedMfa = compilePattern({ detail: { additionalEventData: { MFAUsed: [{ 'equals-ignore-case': 'yes' }] } } });
    expect(usedMfa(envelope({ additionalEventData: { MFAUsed: 'Yes' } }))).toBe(true);
    expect(usedMfa(envelope({ additionalEventData: { MFAUsed: 'YES' } }))).toBe(true);
    expect(usedMfa(envelope({ additionalEventData: { MFAUsed: 'No' } }))).toBe(false);
    expect(usedMfa(envelope({ additionalEventData: {} }))).toBe(false);
  });

  it('long-term access keys: prefix AKIA, not the temporary ASIA', () => {
    const longTermKey = compilePattern({ detail: { userIdentity: { accessKeyId: [{ prefix: 'AKIA' }] } } });
    expect(longTermKey(envelope({ userIdentity: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE' } }))).toBe(true);
    expect(longTermKey(envelope({ userIdentity: { accessKeyId: 'ASIAIOSFODNN7EXAMPLE' } }))).toBe(false);
    expect(longTermKey(envelope({ userIdentity: { accessKeyId: '' } }))).toBe(false);
  });

  it('Lambda: a top-level eventName prefix matches the raw record, not the envelope', () => {
    const pattern = { eventName: [{ prefix: 'UpdateFunctionConfiguration' }] };
    const record = { eventSource: 'lambda.amazonaws.com', eventName: 'UpdateFunctionConfiguration20150331v2' };
    expect(matchesPattern(pattern, record)).toBe(true);
    expect(matchesPattern(pattern, envelope(record, 'aws.lambda'))).toBe(false);
    expect(matchesPattern(pattern, { eventName: 'GetFunctionConfiguration20150331v2' })).toBe(false);
  });

  it('SNS: a wildcard picks rootwatch topics out of any account and region', () => {
    const ownTopic = compilePattern({ detail: { requestParameters: { topicArn: [{ wildcard: '*:rootwatch-*' }] } } });
    const withTopic = (topicArn: string) => envelope({ requestParameters: { topicArn } }, 'aws.sns');
    expect(ownTopic(withTopic('arn:aws:sns:us-east-1:111122223333:rootwatch-alerts'))).toBe(true);
    expect(ownTopic(withTopic('arn:aws:sns:eu-west-1:444455556666:rootwatch-'))).toBe(true);
    expect(ownTopic(withTopic('arn:aws:sns:us-east-1:111122223333:billing-alerts'))).toBe(false);
    expect(ownTopic(withTopic('rootwatch-alerts'))).toBe(false);
  });

  it('source IP: cidr 10.0.0.0/8 accepts addresses only, not service names', () => {
    const internal = compilePattern({ detail: { sourceIPAddress: [{ cidr: '10.0.0.0/8' }] } });
    const from = (sourceIPAddress: string) => envelope({ sourceIPAddress });
    expect(internal(from('10.1.2.3'))).toBe(true);
    expect(internal(from('10.255.255.255'))).toBe(true);
    expect(internal(from('11.0.0.1'))).toBe(false);
    expect(internal(from('192.168.0.1'))).toBe(false);
    expect(internal(from('signin.amazonaws.com'))).toBe(false);
    expect(internal(from('AWS Internal'))).toBe(false);
  });
});

// ------------------------------------------------------------------------------------------------
// Operators, one by one
// ------------------------------------------------------------------------------------------------

describe('exact values', () => {
  it('matches strings character by character, case-sensitively', () => {
    expect(matchesPattern({ source: ['aws.iam'] }, { source: 'aws.iam' })).toBe(true);
    expect(matchesPattern({ source: ['aws.iam'] }, { source: 'AWS.IAM' })).toBe(false);
    expect(matchesPattern({ source: ['aws.iam'] }, { source: 'aws.iam ' })).toBe(false);
    expect(matchesPattern({ Source: ['aws.iam'] }, { source: 'aws.iam' })).toBe(false);
  });

  it('compares numbers numerically but never with strings', () => {
    expect(matchesPattern({ n: [300] }, { n: 300.0 })).toBe(true);
    expect(matchesPattern({ n: [300] }, JSON.parse('{"n": 3.0e2}'))).toBe(true);
    expect(matchesPattern({ n: [300] }, { n: '300' })).toBe(false);
    expect(matchesPattern({ n: ['300'] }, { n: 300 })).toBe(false);
  });

  it('keeps booleans, null, "null" and "" apart', () => {
    expect(matchesPattern({ b: [false] }, { b: false })).toBe(true);
    expect(matchesPattern({ b: [false] }, { b: 'false' })).toBe(false);
    expect(matchesPattern({ v: [null] }, { v: null })).toBe(true);
    expect(matchesPattern({ v: [null] }, { v: 'null' })).toBe(false);
    expect(matchesPattern({ v: [null] }, {})).toBe(false);
    expect(matchesPattern({ v: [''] }, { v: '' })).toBe(true);
    expect(matchesPattern({ v: [''] }, { v: null })).toBe(false);
  });

  it('matches an event array when any element matches', () => {
    const pattern = { resources: ['arn:aws:iam::111122223333:user/a', 'arn:aws:iam::111122223333:user/b'] };
    expect(matchesPattern(pattern, { resources: ['arn:x', 'arn:aws:iam::111122223333:user/b'] })).toBe(true);
    expect(matchesPattern(pattern, { resources: ['arn:x'] })).toBe(false);
    expect(matchesPattern(pattern, { resources: [] })).toBe(false);
  });

  it('matches an IP literal against the same address written another way', () => {
    expect(matchesPattern({ ip: ['2001:db8::1'] }, { ip: '2001:0db8:0000:0000:0000:0000:0000:0001' })).toBe(true);
    expect(matchesPattern({ ip: ['10.0.0.1'] }, { ip: '10.0.0.1' })).toBe(true);
    expect(matchesPattern({ ip: ['10.0.0.1'] }, { ip: '10.0.0.2' })).toBe(false);
  });

  it('treats `exactly` as an explicit exact string', () => {
    expect(matchesPattern({ s: [{ exactly: 'prefix' }] }, { s: 'prefix' })).toBe(true);
    expect(matchesPattern({ s: [{ exactly: 'prefix' }] }, { s: 'prefixes' })).toBe(false);
    expectRejected({ s: [{ exactly: 1 }] }, 'exact match pattern must be a string', '$.s[0].exactly');
  });
});

describe('paths', () => {
  it('requires the nesting of the pattern, and every field of it', () => {
    const pattern = { source: ['aws.iam'], detail: { eventName: ['CreateUser'] } };
    expect(matchesPattern(pattern, { source: 'aws.iam', detail: { eventName: 'CreateUser' } })).toBe(true);
    expect(matchesPattern(pattern, { source: 'aws.iam', eventName: 'CreateUser' })).toBe(false);
    expect(matchesPattern(pattern, { source: 'aws.sts', detail: { eventName: 'CreateUser' } })).toBe(false);
  });

  it('treats dots in keys as nesting, on both sides', () => {
    const nested = { detail: { state: { status: ['running'] } } };
    const dotted = { detail: { 'state.status': ['running'] } };
    for (const pattern of [nested, dotted]) {
      expect(matchesPattern(pattern, { detail: { state: { status: 'running' } } })).toBe(true);
      expect(matchesPattern(pattern, { detail: { 'state.status': 'running' } })).toBe(true);
    }
  });

  it('does not parse JSON held in a string', () => {
    expect(matchesPattern({ detail: { k: ['v'] } }, { detail: '{"k": "v"}' })).toBe(false);
  });

  it('reads objects inside arrays as if they were the parent field', () => {
    const event = {
      employees: [
        { first: 'John', last: 'Doe' },
        { first: 'Anna', last: 'Smith' },
      ],
    };
    expect(matchesPattern({ employees: { first: ['Anna'] } }, event)).toBe(true);
    expect(matchesPattern({ employees: { first: ['Anna'], last: ['Smith'] } }, event)).toBe(true);
  });

  it('never combines fields from different elements of one array', () => {
    const event = {
      employees: [
        { first: 'John', last: 'Doe' },
        { first: 'Anna', last: 'Smith' },
      ],
    };
    expect(matchesPattern({ employees: { first: ['Anna'], last: ['Doe'] } }, event)).toBe(false);
    const nested = { a: [[{ b: 1, c: 2 }], [{ b: 3, c: 4 }]] };
    expect(matchesPattern({ a: { b: [3], c: [4] } }, nested)).toBe(true);
    expect(matchesPattern({ a: { b: [1], c: [4] } }, nested)).toBe(false);
  });

  it('applies a later duplicate key, as JSON.parse does', () => {
    const pattern = JSON.parse(
      '{"detail": {"location": [{"prefix": "us-"}], "location": [{"anything-but": "us-east"}]}}',
    );
    expect(matchesPattern(pattern, { detail: { location: 'eu-central-1' } })).toBe(true);
    expect(matchesPattern({ 'a.b': ['x'], a: { b: ['y'] } }, { a: { b: 'y' } })).toBe(true);
  });

  it('does not match an event that is not an object', () => {
    const matches = compilePattern({ a: [{ exists: false }] });
    expect(matches({})).toBe(true);
    for (const event of [null, undefined, 'a', 1, [], [{}]]) expect(matches(event)).toBe(false);
  });
});

describe('prefix and suffix', () => {
  it('prefix matches the start of strings only', () => {
    expect(matchesPattern({ time: [{ prefix: '2017-10-02' }] }, { time: '2017-10-02T18:43:48Z' })).toBe(true);
    expect(matchesPattern({ time: [{ prefix: '2017-10-02' }] }, { time: '2017-10-03T00:00:00Z' })).toBe(false);
    expect(matchesPattern({ n: [{ prefix: '1' }] }, { n: 12 })).toBe(false);
    // An empty prefix means "any string".
    expect(matchesPattern({ s: [{ prefix: '' }] }, { s: 'x' })).toBe(true);
    expect(matchesPattern({ s: [{ prefix: '' }] }, { s: null })).toBe(false);
  });

  it('prefix and suffix take an equals-ignore-case operand', () => {
    expect(matchesPattern({ s: [{ prefix: { 'equals-ignore-case': 'EventB' } }] }, { s: 'eventbridge' })).toBe(true);
    expect(matchesPattern({ s: [{ prefix: { 'equals-ignore-case': 'EventB' } }] }, { s: 'event-b' })).toBe(false);
    expect(matchesPattern({ f: [{ suffix: { 'equals-ignore-case': '.png' } }] }, { f: 'IMAGE.PNG' })).toBe(true);
    expect(matchesPattern({ f: [{ suffix: '.png' }] }, { f: 'IMAGE.PNG' })).toBe(false);
  });

  it('rejects non-string operands and unknown nested operators', () => {
    expectRejected({ t: [{ prefix: 1 }] }, 'prefix match pattern must be a string', '$.t[0].prefix');
    expectRejected({ t: [{ suffix: ['a'] }] }, 'suffix match pattern must be a string');
    expectRejected({ t: [{ prefix: {} }] }, 'Prefix expression name not found');
    expectRejected({ t: [{ suffix: { wildcard: 'a' } }] }, 'Unsupported suffix pattern: wildcard');
    expectRejected(
      { t: [{ prefix: { 'equals-ignore-case': 1 } }] },
      'equals-ignore-case match pattern must be a string',
    );
    expectRejected({ t: [{ prefix: 'a', suffix: 'b' }] }, 'Only one key allowed in match expression', '$.t[0].suffix');
  });
});

describe('equals-ignore-case', () => {
  it('ignores case for ASCII', () => {
    expect(matchesPattern({ s: [{ 'equals-ignore-case': 'alice' }] }, { s: 'ALICE' })).toBe(true);
    expect(matchesPattern({ s: [{ 'equals-ignore-case': 'alice' }] }, { s: 'alice2' })).toBe(false);
    expect(matchesPattern({ s: [{ 'equals-ignore-case': '' }] }, { s: '' })).toBe(true);
  });

  it('accepts each operand character in lower or upper case, and nothing else', () => {
    expect(matchesPattern({ s: [{ 'equals-ignore-case': 'straße' }] }, { s: 'STRASSE' })).toBe(true);
    expect(matchesPattern({ s: [{ 'equals-ignore-case': 'straße' }] }, { s: 'Straße' })).toBe(true);
    // The Kelvin sign lower-cases to k, but is neither case of k.
    expect(matchesPattern({ s: [{ 'equals-ignore-case': 'k' }] }, { s: '\u212a' })).toBe(false);
  });

  it('only compares strings', () => {
    expect(matchesPattern({ s: [{ 'equals-ignore-case': '1' }] }, { s: 1 })).toBe(false);
    expectRejected({ s: [{ 'equals-ignore-case': ['a'] }] }, 'equals-ignore-case match pattern must be a string');
  });
});

describe('anything-but', () => {
  it('matches any present value but the ones listed, including null and other types', () => {
    const pattern = { state: [{ 'anything-but': ['stopped', 'overloaded'] }] };
    expect(matchesPattern(pattern, { state: 'pending' })).toBe(true);
    expect(matchesPattern(pattern, { state: 'stopped' })).toBe(false);
    expect(matchesPattern(pattern, { state: null })).toBe(true);
    expect(matchesPattern(pattern, { state: 12 })).toBe(true);
    expect(matchesPattern(pattern, {})).toBe(false);
    expect(matchesPattern(pattern, { state: { nested: 'x' } })).toBe(false);
  });

  it('matches an event array that holds any other value', () => {
    const pattern = { state: [{ 'anything-but': 'stopped' }] };
    expect(matchesPattern(pattern, { state: ['stopped', 'pending'] })).toBe(true);
    expect(matchesPattern(pattern, { state: ['stopped'] })).toBe(false);
    expect(matchesPattern(pattern, { state: [] })).toBe(false);
  });

  it('excludes numbers numerically', () => {
    expect(matchesPattern({ x: [{ 'anything-but': 123 }] }, { x: 123.0 })).toBe(false);
    expect(matchesPattern({ x: [{ 'anything-but': [100, 200] }] }, { x: 150 })).toBe(true);
    expect(matchesPattern({ x: [{ 'anything-but': [100, 200] }] }, { x: '100' })).toBe(true);
  });

  it('excludes by prefix, suffix, wildcard and equals-ignore-case, singly or in lists', () => {
    expect(matchesPattern({ r: [{ 'anything-but': { prefix: 'us-' } }] }, { r: 'eu-west-1' })).toBe(true);
    expect(matchesPattern({ r: [{ 'anything-but': { prefix: ['us-', 'eu-'] } }] }, { r: 'eu-west-1' })).toBe(false);
    expect(matchesPattern({ f: [{ 'anything-but': { suffix: '.png' } }] }, { f: 'a.png' })).toBe(false);
    expect(matchesPattern({ f: [{ 'anything-but': { wildcard: '*/lib/*' } }] }, { f: '/usr/lib/x' })).toBe(false);
    expect(matchesPattern({ f: [{ 'anything-but': { wildcard: '*/lib/*' } }] }, { f: '/usr/bin/x' })).toBe(true);
    expect(matchesPattern({ s: [{ 'anything-but': { 'equals-ignore-case': 'init' } }] }, { s: 'INIT' })).toBe(false);
    expect(matchesPattern({ s: [{ 'anything-but': { 'equals-ignore-case': ['a', 'b'] } }] }, { s: 'C' })).toBe(true);
  });

  it('rejects what AWS rejects', () => {
    expectRejected(
      { s: [{ 'anything-but': null }] },
      'Value of anything-but must be an array or single string/number value.',
    );
    expectRejected(
      { s: [{ 'anything-but': true }] },
      'Value of anything-but must be an array or single string/number value.',
    );
    expectRejected(
      { s: [{ 'anything-but': ['a', 1] }] },
      'Inside anything but list, either all values are number or string, mixed type is not supported',
    );
    expectRejected(
      { s: [{ 'anything-but': [] }] },
      'Inside anything but list, either all values are number or string, mixed type is not supported',
    );
    expectRejected(
      { s: [{ 'anything-but': ['a', null] }] },
      'Inside anything but list, start|null|boolean is not supported.',
    );
    expectRejected({ s: [{ 'anything-but': {} }] }, 'Anything-But expression name not found');
    expectRejected({ s: [{ 'anything-but': { numeric: ['>', 1] } }] }, 'Unsupported anything-but pattern: numeric');
    expectRejected({ s: [{ 'anything-but': { prefix: '' } }] }, 'Null prefix/suffix not allowed');
    expectRejected({ s: [{ 'anything-but': { prefix: 1 } }] }, 'prefix/suffix match pattern must be a string');
    expectRejected({ s: [{ 'anything-but': { wildcard: 'a**' } }] }, 'Consecutive wildcard characters at pos 2');
    expectRejected({ s: [{ 'anything-but': 'a', prefix: 'b' }] }, 'Too many elements in numeric expression');
  });
});

describe('numeric', () => {
  const at = (range: unknown[]) => compilePattern({ n: [{ numeric: range }] });

  it('supports =, <, <=, >, >= and two-sided ranges', () => {
    expect(at(['=', 301.8])({ n: 301.8 })).toBe(true);
    expect(at(['<', 10])({ n: 9.999 })).toBe(true);
    expect(at(['<', 10])({ n: 10 })).toBe(false);
    expect(at(['<=', 10])({ n: 10 })).toBe(true);
    expect(at(['>', 0])({ n: 0 })).toBe(false);
    expect(at(['>=', 0])({ n: 0 })).toBe(true);
    const range = at(['>', 0, '<=', 5]);
    expect([0, 0.5, 5, 5.01].map((n) => range({ n }))).toEqual([false, true, true, false]);
    expect(at(['>=', -1e12, '<', 1e12])({ n: 1e11 })).toBe(true);
  });

  it('only matches JSON numbers', () => {
    expect(at(['>', 100])({ n: '300' })).toBe(false);
    expect(at(['>', 100])({ n: null })).toBe(false);
    expect(at(['>', 100])({ n: [50, 150] })).toBe(true);
  });

  it('rejects malformed ranges with AWS’s reasons', () => {
    expectRejected({ n: [{ numeric: 10 }] }, 'Value of numeric must be an array.');
    expectRejected({ n: [{ numeric: [] }] }, 'Invalid member in numeric match: ]');
    expectRejected({ n: [{ numeric: [5] }] }, 'Invalid member in numeric match: 5');
    expectRejected({ n: [{ numeric: ['!=', 5] }] }, 'Unrecognized numeric range operator: !=');
    expectRejected({ n: [{ numeric: ['=', '5'] }] }, 'Value of equals must be numeric');
    expectRejected({ n: [{ numeric: ['<', 5, '>', 1] }] }, 'Too many elements in numeric expression');
    expectRejected({ n: [{ numeric: ['>', 5, 6] }] }, 'Bad value in numeric range: 6');
    expectRejected({ n: [{ numeric: ['>', 0, '>', 5] }] }, 'Bad numeric range operator: >');
    expectRejected({ n: [{ numeric: ['>', 0, '<'] }] }, 'Value of < must be numeric');
    expectRejected({ n: [{ numeric: ['>', 0, '<', 5, 6] }] }, 'Too many terms in numeric range expression');
    expectRejected({ n: [{ numeric: ['>=', 5, '<=', 5] }] }, 'Bottom must be less than top');
    expectRejected({ n: [{ NUMERIC: ['=', 5] }] }, 'Unrecognized match type NUMERIC');
  });
});

describe('exists', () => {
  it('exists:true needs a leaf value, and null is one', () => {
    const present = compilePattern({ detail: { state: [{ exists: true }] } });
    expect(present({ detail: { state: 'pending' } })).toBe(true);
    expect(present({ detail: { state: null } })).toBe(true);
    expect(present({ detail: { state: '' } })).toBe(true);
    expect(present({ detail: {} })).toBe(false);
    expect(present({ detail: { state: [] } })).toBe(false);
    expect(present({ detail: { state: { code: 16 } } })).toBe(false);
    expect(present({ detail: { state: [{ code: 16 }] } })).toBe(false);
  });

  it('exists:false matches a missing field, an empty array and an object node', () => {
    const absent = compilePattern({ detail: { userIdentity: { invokedBy: [{ exists: false }] } } });
    expect(absent({ detail: { userIdentity: { type: 'Root' } } })).toBe(true);
    expect(absent({ detail: {} })).toBe(true);
    expect(absent({})).toBe(true);
    expect(absent({ detail: 'text' })).toBe(true);
    expect(absent({ detail: { userIdentity: { invokedBy: [] } } })).toBe(true);
    expect(absent({ detail: { userIdentity: { invokedBy: { service: 'x' } } } })).toBe(true);
    expect(absent({ detail: { userIdentity: { invokedBy: null } } })).toBe(false);
    expect(absent({ detail: { userIdentity: { invokedBy: 'signin.amazonaws.com' } } })).toBe(false);
  });

  it('exists:false is judged within the array element the other fields came from', () => {
    const pattern = { items: { b: [2], c: [{ exists: false }] } };
    expect(matchesPattern(pattern, { items: [{ b: 1, c: 1 }, { b: 2 }] })).toBe(true);
    expect(matchesPattern(pattern, { items: [{ b: 2, c: 1 }, { b: 1 }] })).toBe(false);
  });

  it('combines with other values as alternatives', () => {
    const pattern = { s: [{ 'anything-but': ['roses'] }, { exists: false }] };
    expect(matchesPattern(pattern, {})).toBe(true);
    expect(matchesPattern(pattern, { s: 'tulips' })).toBe(true);
    expect(matchesPattern(pattern, { s: 'roses' })).toBe(false);
  });

  it('takes only booleans, under its lower-case name', () => {
    expectRejected({ s: [{ exists: 'true' }] }, 'exists match pattern must be either true or false.');
    expectRejected({ s: [{ EXISTS: true }] }, 'Unrecognized match type EXISTS', '$.s[0].EXISTS');
    expectRejected({ s: [{ exists: true, prefix: 'a' }] }, 'Only one key allowed in match expression');
  });
});

describe('cidr', () => {
  it('matches IPv4 and IPv6 blocks, inclusive of both ends', () => {
    const v4 = compilePattern({ ip: [{ cidr: '10.0.0.0/24' }] });
    expect(['10.0.0.0', '10.0.0.255', '10.0.1.0', '10.0.0.256'].map((ip) => v4({ ip }))).toEqual([
      true,
      true,
      false,
      false,
    ]);
    const v6 = compilePattern({ ip: [{ cidr: '2001:db8:1234:1a00::/64' }] });
    expect(v6({ ip: '2001:db8:1234:1a00:ffff:ffff:ffff:ffff' })).toBe(true);
    expect(v6({ ip: '2001:0DB8:1234:1A00::1' })).toBe(true);
    expect(v6({ ip: '2001:db8:1234:1a01::' })).toBe(false);
    expect(v6({ ip: '10.0.0.1' })).toBe(false);
  });

  it('ignores host bits in the block and reads octets as decimal', () => {
    expect(matchesPattern({ ip: [{ cidr: '10.0.0.5/24' }] }, { ip: '10.0.0.1' })).toBe(true);
    expect(matchesPattern({ ip: [{ cidr: '010.0.0.0/8' }] }, { ip: '10.9.9.9' })).toBe(true);
  });

  it('only matches strings', () => {
    expect(matchesPattern({ ip: [{ cidr: '0.0.0.0/0' }] }, { ip: 167772161 })).toBe(false);
  });

  it('rejects malformed blocks with AWS’s reasons', () => {
    expectRejected({ ip: [{ cidr: 'bad' }] }, "Malformed CIDR, one '/' required");
    expectRejected({ ip: [{ cidr: '10.0.0.0/' }] }, "Malformed CIDR, one '/' required");
    expectRejected({ ip: [{ cidr: '10.0.0.0/x' }] }, 'Malformed CIDR, mask bits must be an integer');
    expectRejected({ ip: [{ cidr: '10.0.0.0/-1' }] }, 'Malformed CIDR, mask bits must not be negative');
    expectRejected({ ip: [{ cidr: 'host.example/8' }] }, 'Nonstandard IP address: host.example');
    expectRejected({ ip: [{ cidr: '10.0.0.300/8' }] }, 'Invalid IP address: 10.0.0.300');
    expectRejected({ ip: [{ cidr: '1:2:3/64' }] }, 'Invalid IP address: 1:2:3');
    expectRejected({ ip: [{ cidr: '10.0.0.1/32' }] }, 'IPv4 mask bits must be < 32');
    expectRejected({ ip: [{ cidr: '::1/128' }] }, 'IPv6 mask bits must be < 128');
    expectRejected({ ip: [{ cidr: ['10.0.0.0/8'] }] }, 'prefix match pattern must be a string');
  });
});

describe('wildcard', () => {
  const glob = (pattern: string) => compilePattern({ s: [{ wildcard: pattern }] });

  it('* matches any run of characters, including none', () => {
    expect(glob('*.png')({ s: 'a.png' })).toBe(true);
    expect(glob('*.png')({ s: '.png' })).toBe(true);
    expect(glob('*.png')({ s: 'a.png.bak' })).toBe(false);
    expect(glob('a*b*c')({ s: 'abc' })).toBe(true);
    expect(glob('a*b*c')({ s: 'aXbYbZc' })).toBe(true);
    expect(glob('a*b*c')({ s: 'acb' })).toBe(false);
    expect(glob('/Users/*/doc.txt')({ s: '/Users/u/dir/dir/doc.txt' })).toBe(true);
    expect(glob('')({ s: '' })).toBe(true);
    expect(glob('')({ s: 'x' })).toBe(false);
    expect(glob('*')({ s: 1 })).toBe(false);
  });

  it('\\* is a literal star and \\\\ a literal backslash', () => {
    expect(glob('a\\*b')({ s: 'a*b' })).toBe(true);
    expect(glob('a\\*b')({ s: 'aXb' })).toBe(false);
    expect(glob('a\\\\*')({ s: 'a\\anything' })).toBe(true);
  });

  it('rejects consecutive stars and stray escapes, counting UTF-8 bytes after the opening quote', () => {
    expectRejected(
      { s: [{ wildcard: 'arn:aws:events:us-east-1:**:event-bus/*' }] },
      'Consecutive wildcard characters at pos 26',
    );
    expectRejected({ s: [{ wildcard: 'é**' }] }, 'Consecutive wildcard characters at pos 3');
    expectRejected({ s: [{ wildcard: 'a\\b' }] }, 'Invalid escape character at pos 2');
    expectRejected({ s: [{ wildcard: 'a\\' }] }, 'Invalid escape character at pos 2');
    expectRejected({ s: [{ wildcard: 1 }] }, 'wildcard match pattern must be a string');
  });

  it('rejects fields whose wildcards are too non-deterministic', () => {
    const tooComplex = 'Rule is too complex - try using fewer wildcard characters';
    expectRejected({ s: [{ wildcard: '*:*:*:*:*:event-bus/*' }] }, tooComplex, '$.s');
    expect(rejection({ s: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] })).toBeUndefined();
    expect(rejection({ s: [{ wildcard: '/Users/*/dir/dir/dir/dir/dir/doc.txt' }] })).toBeUndefined();
    // Across $or branches the wildcards of one field add up.
    const alternatives = ['*:*:*:a', '*:*:*:b', '*:*:*:c'].map((w) => ({ s: [{ wildcard: w }] }));
    expectRejected({ $or: alternatives }, tooComplex);
  });
});

describe('$or', () => {
  it('matches when any alternative does, at the top level or nested', () => {
    const pattern = {
      source: ['aws.iam'],
      detail: { $or: [{ eventName: ['CreateUser'] }, { userIdentity: { type: ['Root'] } }] },
    };
    expect(matchesPattern(pattern, { source: 'aws.iam', detail: { eventName: 'CreateUser' } })).toBe(true);
    expect(matchesPattern(pattern, { source: 'aws.iam', detail: { userIdentity: { type: 'Root' } } })).toBe(true);
    expect(matchesPattern(pattern, { source: 'aws.iam', detail: { eventName: 'DeleteUser' } })).toBe(false);
    expect(matchesPattern(pattern, { source: 'aws.sts', detail: { eventName: 'CreateUser' } })).toBe(false);
  });

  it('nests and multiplies', () => {
    const pattern = {
      $or: [{ a: ['1'] }, { b: ['1'], $or: [{ c: ['1'] }, { d: ['1'] }] }],
      e: ['1'],
    };
    expect(matchesPattern(pattern, { a: '1', e: '1' })).toBe(true);
    expect(matchesPattern(pattern, { b: '1', d: '1', e: '1' })).toBe(true);
    expect(matchesPattern(pattern, { b: '1', e: '1' })).toBe(false);
    expect(matchesPattern(pattern, { a: '1' })).toBe(false);
  });

  it('needs an array of at least two objects without operator names', () => {
    expectRejected({ $or: [{ a: ['1'] }] }, 'There must have at least 2 Objects in $or relationship.', '$.$or');
    expectRejected({ $or: { a: ['1'] } }, 'It must be an Array followed with $or.');
    expectRejected(
      { $or: [{ a: ['1'] }, ['b']] },
      'Only JSON object is allowed in array of $or relationship.',
      '$.$or[1]',
    );
    expectRejected(
      { $or: [{ a: ['1'] }, { numeric: ['1'] }] },
      'numeric is Ruler reserved fieldName which cannot be used inside $or.',
    );
    expect(rejection({ prefix: ['a'] })).toBeUndefined();
  });
});

describe('pattern shape', () => {
  it('rejects what is not a pattern object', () => {
    for (const pattern of [null, 'text', 1, [], [{}]]) expectRejected(pattern, 'Filter is not an object', '$');
    expectRejected({}, 'Empty objects are not allowed', '$');
    expectRejected({ detail: {} }, 'Empty objects are not allowed', '$.detail');
  });

  it('needs non-empty arrays of JSON values under every leaf key', () => {
    expectRejected({ 'detail-type': 'x' }, '"detail-type" must be an object or an array', '$["detail-type"]');
    expectRejected({ n: 42 }, '"n" must be an object or an array');
    expectRejected({ n: null }, '"n" must be an object or an array');
    expectRejected({ resources: [] }, 'Empty arrays are not allowed', '$.resources');
    expectRejected({ a: [['x']] }, 'Match value must be String, number, true, false, or null', '$.a[0]');
    expectRejected({ a: [{}] }, 'Match expression name not found', '$.a[0]');
    expectRejected({ a: [{ regex: 'x' }] }, 'Unrecognized match type regex');
  });

  it('rejects values JSON cannot carry', () => {
    expectRejected({ a: [undefined] }, 'undefined is not a JSON value', '$.a[0]');
    expectRejected({ a: [Number.NaN] }, 'NaN is not a JSON number');
    expectRejected({ a: [new Date(0)] }, 'a non-plain object is not a JSON value');
    const cyclic: Record<string, unknown> = { a: ['x'] };
    cyclic.b = cyclic;
    expectRejected(cyclic, 'the pattern contains a cycle', '$.b');
  });

  it('names the offending place as a JSON path', () => {
    const message = rejection({ detail: { 'x-limit': [{ numeric: ['>', 'a'] }] } });
    expect(message).toBe(
      'Event pattern is not valid. Reason: Value of > must be numeric (at $.detail["x-limit"][0].numeric[1])',
    );
  });
});
