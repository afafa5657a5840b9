import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CloudTrailRecordSchema,
  parseEvent,
  parseRecord,
  passesRecordCheck,
  RecordCheck,
  recordToEvent,
} from '../../functions/core/event.js';
import { EventParseError } from '../../functions/errors.js';
import { readSample, SAMPLES_DIR } from '../helpers/samples.js';

describe('recordToEvent', () => {
  it('wraps an API call as EventBridge delivers it', () => {
    const record = readSample('root-api-call-long-term-key.json');
    const event = recordToEvent(record);
    expect(event).toEqual({
      version: '0',
      id: record.eventID,
      'detail-type': 'AWS API Call via CloudTrail',
      source: 'aws.events',
      account: '111122223333',
      time: record.eventTime,
      region: 'us-east-1',
      resources: [],
      detail: record,
    });
  });

  it('names sign-in events "AWS Console Sign In via CloudTrail", as real events spell it', () => {
    const event = recordToEvent(readSample('root-console-sign-in-no-mfa.json'));
    expect(event['detail-type']).toBe('AWS Console Sign In via CloudTrail');
    expect(event.source).toBe('aws.signin');
  });

  it('reads the eventType without regard to case ("AwsConsoleSignin" in vendor logs)', () => {
    const event = recordToEvent({ ...readSample('root-console-sign-in-failure.json'), eventType: 'AwsConsoleSignin' });
    expect(event['detail-type']).toBe('AWS Console Sign In via CloudTrail');
  });

  it('names AWS service events as such', () => {
    expect(recordToEvent(readSample('service-event-kms-rotate-key.json'))['detail-type']).toBe(
      'AWS Service Event via CloudTrail',
    );
  });

  it('infers the detail-type from the event source when eventType is missing', () => {
    const { eventType: _, ...signIn } = readSample('root-console-sign-in-failure.json');
    expect(recordToEvent(signIn)['detail-type']).toBe('AWS Console Sign In via CloudTrail');
    const { eventType: __, ...apiCall } = readSample('root-create-user.json');
    expect(recordToEvent(apiCall)['detail-type']).toBe('AWS API Call via CloudTrail');
  });

  it('takes the account from recipientAccountId, else from the caller', () => {
    const { recipientAccountId: _, ...record } = readSample('member-account-assume-root-copy.json');
    expect(recordToEvent(readSample('member-account-assume-root-copy.json')).account).toBe('444455556666');
    expect(recordToEvent(record).account).toBe('111122223333');
  });

  it('gives a record without eventID a stable id from its content', () => {
    const { eventID: _, ...record } = readSample('root-create-user.json');
    const a = recordToEvent(record).id;
    expect(a).toMatch(/^sha256:[0-9a-f]{32}$/);
    expect(recordToEvent({ ...record }).id).toBe(a);
    expect(recordToEvent({ ...record, eventTime: '2030-01-01T00:00:00Z' }).id).not.toBe(a);
  });

  it.each([
    ['a string', 'ConsoleLogin'],
    ['null', null],
    ['an array', []],
    ['a record without eventName', { eventSource: 'iam.amazonaws.com' }],
    ['a record whose eventSource is a number', { eventName: 'X', eventSource: 5 }],
  ])('rejects %s with an EventParseError naming the field', (_, raw) => {
    expect(() => recordToEvent(raw)).toThrow(EventParseError);
  });

  it('says which field is wrong', () => {
    expect(() => recordToEvent({ eventSource: 'iam.amazonaws.com' })).toThrow(/eventName/);
  });

  it('accepts and rejects exactly the records CloudTrailRecordSchema does, with the same problems', () => {
    const sample = readSample('root-create-user.json');
    const identity = sample.userIdentity as Record<string, unknown>;
    const raws: unknown[] = [
      ...readdirSync(SAMPLES_DIR)
        .filter((name) => name.endsWith('.json'))
        .map(readSample),
      { ...sample, requestParameters: null, extra: [1, { a: 2 }], 'dotted.key': undefined },
      JSON.parse('{"__proto__": {"eventName": 5}, "eventName": "X", "eventSource": "y"}'),
      { ...sample, eventName: '' },
      { ...sample, eventTime: 5, awsRegion: null, errorCode: undefined },
      { ...sample, userIdentity: 'root' },
      { ...sample, userIdentity: null },
      { ...sample, userIdentity: { ...identity, type: 1, arn: null, sessionContext: { x: 1 } } },
      { eventName: 1, eventSource: [], userIdentity: [] },
      'ConsoleLogin',
      null,
      [],
    ];
    for (const raw of raws) {
      const expected = CloudTrailRecordSchema.safeParse(raw);
      if (expected.success) {
        expect(parseRecord(raw)).toBe(raw);
        continue;
      }
      const problems = expected.error.issues.map((issue) => `${issue.path.join('.') || '(record)'}: ${issue.message}`);
      expect(() => parseRecord(raw)).toThrow(`not a CloudTrail record: ${problems.join('; ')}`);
    }
  });
});

describe('parseEvent', () => {
  it("names the record's account and region, not the bus's, for an event forwarded to the hub", () => {
    const record = {
      ...readSample('root-api-call-long-term-key.json'),
      recipientAccountId: '210987654321',
      awsRegion: 'eu-west-1',
    };
    const forwarded = { ...recordToEvent(record), account: '111122223333', region: 'us-east-1' };
    const event = parseEvent(forwarded);
    expect([event.account, event.region]).toEqual(['210987654321', 'eu-west-1']);
  });

  it("keeps the envelope's account and region when the record has none", () => {
    const { recipientAccountId: _, awsRegion: __, ...record } = readSample('root-api-call-long-term-key.json');
    const event = parseEvent({ ...recordToEvent(record), account: '444455556666', region: 'ap-south-1' });
    expect([event.account, event.region]).toEqual(['444455556666', 'ap-south-1']);
  });
});

describe('passesRecordCheck (the fast path of parseRecord)', () => {
  // Values of every JSON type, and the shapes a record's checked fields take in the wild and in crafted input.
  const jsonValue = fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    fc.string(),
    fc.constant(''),
    fc.integer(),
    fc.boolean(),
    fc.array(fc.string(), { maxLength: 2 }),
    fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }),
  );
  const identity = fc.oneof(
    jsonValue,
    fc.record(
      {
        type: jsonValue,
        arn: jsonValue,
        accountId: jsonValue,
        accessKeyId: jsonValue,
        invokedBy: jsonValue,
        userName: jsonValue,
        other: jsonValue,
      },
      { requiredKeys: [] },
    ),
  );
  const record = fc.oneof(
    jsonValue,
    fc.record(
      {
        eventName: jsonValue,
        eventSource: jsonValue,
        eventID: jsonValue,
        eventTime: jsonValue,
        eventType: jsonValue,
        awsRegion: jsonValue,
        recipientAccountId: jsonValue,
        sourceIPAddress: jsonValue,
        userAgent: jsonValue,
        errorCode: jsonValue,
        errorMessage: jsonValue,
        userIdentity: identity,
        requestParameters: jsonValue,
      },
      { requiredKeys: [] },
    ),
  );

  it('accepts exactly what the zod check accepts', () => {
    fc.assert(
      fc.property(record, (raw) => {
        expect(passesRecordCheck(raw)).toBe(RecordCheck.safeParse(raw).success);
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts every sample record, so the samples never reach zod', () => {
    for (const file of readdirSync(SAMPLES_DIR).filter((f) => f.endsWith('.json'))) {
      const sample = readSample(file) as Record<string, unknown>;
      const raw = 'detail' in sample ? sample.detail : sample;
      expect(passesRecordCheck(raw), file).toBe(true);
    }
  });
});
