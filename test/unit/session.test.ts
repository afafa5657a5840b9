import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recordToEvent } from '../../functions/core/event.js';
import {
  accessKeyIdOfSession,
  decideSession,
  escalationReasonOf,
  FOLD_MAX_EVENTS,
  FOLD_WINDOW_MS,
  SESSION_IDLE_MS,
  SESSION_RETENTION_MS,
  type SessionSnapshot,
  sessionEntryOf,
  sessionKeyOf,
  sessionSeedOf,
} from '../../functions/core/session.js';
import { alertOf, hostileText } from '../helpers/render-alerts.js';
import { readSample } from '../helpers/samples.js';

const sha16 = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 16);

/** A root API call (PutBucketVersioning) with userIdentity and the record's fields changed as given. */
const apiCall = (changes: { accessKeyId?: string | null; [field: string]: unknown } = {}) => {
  const record = structuredClone(readSample('root-api-call-put-bucket-versioning.json'));
  const { accessKeyId, ...fields } = changes;
  const identity = record.userIdentity as Record<string, unknown>;
  if (accessKeyId === null) delete identity.accessKeyId;
  else if (accessKeyId !== undefined) identity.accessKeyId = accessKeyId;
  return recordToEvent({ ...record, ...fields });
};

/** What a key may look like: digits or hash tokens, an access key id's shape, an address's characters. */
const KEY_SHAPE =
  /^(\d{12}|~[0-9a-f]{16})#(key#(\w{16,128}|~[0-9a-f]{16})|src#([0-9A-Fa-f.:]{2,45}|~[0-9a-f]{16}|-)#(~[0-9a-f]{16}|-))$/;

describe('sessionKeyOf', () => {
  it('keys a console session by its temporary access key', () => {
    // Prepare: a call of a console session carries the session's ASIA key.
    const event = apiCall({ accessKeyId: 'ASIAIOSFODNN7EXAMPLE', sessionCredentialFromConsole: 'true' });
    // Act
    const key = sessionKeyOf(event);
    // Assess
    expect(key).toBe('111122223333#key#ASIAIOSFODNN7EXAMPLE');
    expect(accessKeyIdOfSession(key)).toBe('ASIAIOSFODNN7EXAMPLE');
  });

  it('keys a long-term access key as one session, whatever the address and client', () => {
    // Prepare
    const one = apiCall({ accessKeyId: 'AKIAIOSFODNN7EXAMPLE', sourceIPAddress: '203.0.113.1', userAgent: 'a' });
    const two = apiCall({ accessKeyId: 'AKIAIOSFODNN7EXAMPLE', sourceIPAddress: '198.51.100.9', userAgent: 'b' });
    // Act / Assess
    expect(sessionKeyOf(one)).toBe('111122223333#key#AKIAIOSFODNN7EXAMPLE');
    expect(sessionKeyOf(two)).toBe(sessionKeyOf(one));
  });

  it('keys two keys, or two accounts, apart', () => {
    // Prepare
    const base = apiCall({ accessKeyId: 'ASIAIOSFODNN7EXAMPLE' });
    const otherKey = apiCall({ accessKeyId: 'ASIAIOSFODNN7EXAMPLF' });
    const otherAccount = apiCall({ accessKeyId: 'ASIAIOSFODNN7EXAMPLE', recipientAccountId: '444455556666' });
    // Act
    const keys = new Set([base, otherKey, otherAccount].map(sessionKeyOf));
    // Assess
    expect(keys.size).toBe(3);
  });

  it('keys an event without an access key by source address and a hash of the user agent', () => {
    // Prepare: ConsoleLogin records an empty accessKeyId.
    const event = recordToEvent(readSample('root-console-sign-in-no-mfa.json'));
    // Act
    const key = sessionKeyOf(event);
    // Assess
    expect(key).toBe(`111122223333#src#203.0.113.11#~${sha16(event.detail.userAgent ?? '')}`);
    expect(accessKeyIdOfSession(key)).toBeUndefined();
  });

  it('marks a missing address or user agent with "-"', () => {
    // Prepare
    const event = apiCall({ accessKeyId: null, sourceIPAddress: null, userAgent: '' });
    // Act / Assess
    expect(sessionKeyOf(event)).toBe('111122223333#src#-#-');
  });

  it('keeps an IPv6 address, and hashes an address with a zone id, a service host or "AWS Internal"', () => {
    // Prepare
    const keyFor = (sourceIPAddress: string) => sessionKeyOf(apiCall({ accessKeyId: null, sourceIPAddress }));
    // Act / Assess
    expect(keyFor('2001:db8::7')).toMatch(/#src#2001:db8::7#/);
    for (const host of ['fe80::1%eth0', 'cloudformation.amazonaws.com', 'AWS Internal']) {
      expect(keyFor(host)).toMatch(new RegExp(`#src#~${sha16(host)}#`));
    }
  });

  it('hashes an access key id or account id not in the shape AWS gives them', () => {
    // Prepare
    const badKey = apiCall({ accessKeyId: 'ASIA#evil<!channel>' });
    const shortKey = apiCall({ accessKeyId: '1' });
    const badAccount = apiCall({ accessKeyId: 'ASIAIOSFODNN7EXAMPLE', recipientAccountId: '1111#key#x' });
    // Act / Assess
    expect(sessionKeyOf(badKey)).toBe(`111122223333#key#~${sha16('ASIA#evil<!channel>')}`);
    expect(sessionKeyOf(shortKey)).toBe(`111122223333#key#~${sha16('1')}`);
    expect(sessionKeyOf(badAccount)).toBe(`~${sha16('1111#key#x')}#key#ASIAIOSFODNN7EXAMPLE`);
    expect(accessKeyIdOfSession(sessionKeyOf(badKey))).toBeUndefined();
  });

  it('never lets a hostile user agent into the key', () => {
    // Prepare
    const userAgent = '<!channel> `x` #key# @here\n\u202Ehttps://evil.example';
    // Act
    const key = sessionKeyOf(apiCall({ accessKeyId: null, userAgent }));
    // Assess
    expect(key).toBe(`111122223333#src#203.0.113.16#~${sha16(userAgent)}`);
  });

  it('gives a key of the documented shape whatever the record holds', () => {
    fc.assert(
      fc.property(
        fc.option(hostileText, { nil: null }),
        fc.option(hostileText, { nil: null }),
        fc.option(fc.oneof(hostileText, fc.constantFrom('ASIAIOSFODNN7EXAMPLE', '', '203.0.113.5')), { nil: null }),
        fc.oneof(hostileText, fc.constantFrom('111122223333', '203.0.113.5', '2001:db8::1')),
        (userAgent, sourceIPAddress, accessKeyId, account) => {
          // Prepare
          const event = apiCall({ accessKeyId, userAgent, sourceIPAddress, recipientAccountId: account });
          // Act
          const key = sessionKeyOf(event);
          // Assess
          expect(key).toMatch(KEY_SHAPE);
          expect(key.length).toBeLessThanOrEqual(200);
        },
      ),
      { numRuns: 300 },
    );
  });
});

const snapshot = (changes: Partial<SessionSnapshot> = {}): SessionSnapshot => ({
  highestSeverity: 'high',
  detections: ['root-api-call'],
  lastEventTime: '2024-05-01T10:00:00Z',
  ...changes,
});

describe('decideSession', () => {
  it('opens a session when there is none', () => {
    expect(decideSession(undefined, 'low', ['root-api-call'], '2024-05-01T10:00:00Z')).toBe('first');
  });

  it.each([
    ['exactly the idle window after', '2024-05-01T11:00:00Z', 'fold'],
    ['one second past the idle window', '2024-05-01T11:00:01Z', 'first'],
    ['a minute after', '2024-05-01T10:01:00Z', 'fold'],
    ['before the last event (out of order)', '2024-05-01T09:00:00Z', 'fold'],
    ['at a time that does not parse', 'yesterday', 'fold'],
  ])('decides %s the last event: %s', (_, eventTime, verdict) => {
    expect(decideSession(snapshot(), 'high', ['root-api-call'], eventTime)).toBe(verdict);
  });

  it('keeps a session whose last time does not parse', () => {
    expect(decideSession(snapshot({ lastEventTime: '' }), 'high', ['root-api-call'], '2030-01-01T00:00:00Z')).toBe(
      'fold',
    );
  });

  it('folds an event of equal or lower severity with known detections', () => {
    expect(decideSession(snapshot(), 'high', ['root-api-call'], '2024-05-01T10:01:00Z')).toBe('fold');
    expect(decideSession(snapshot(), 'medium', [], '2024-05-01T10:01:00Z')).toBe('fold');
  });

  it('escalates on a severity above the session highest, saying so', () => {
    // Act
    const verdict = decideSession(snapshot(), 'critical', ['root-api-call'], '2024-05-01T10:01:00Z');
    // Assess
    expect(verdict).toBe('escalate');
    expect(escalationReasonOf(snapshot(), 'critical', ['root-api-call'])).toBe('severity high → critical');
  });

  it('escalates on a detection the session has not raised, even at a lower severity', () => {
    // Act
    const verdict = decideSession(snapshot(), 'medium', ['root-signing-certificate'], '2024-05-01T10:01:00Z');
    // Assess
    expect(verdict).toBe('escalate');
    expect(escalationReasonOf(snapshot(), 'medium', ['root-signing-certificate'])).toBe(
      'new detection root-signing-certificate',
    );
  });

  it('names every reason at once', () => {
    expect(escalationReasonOf(snapshot(), 'critical', ['root-access-key-created', 'a', 'a', 'root-api-call'])).toBe(
      'severity high → critical; new detections root-access-key-created, a',
    );
    expect(escalationReasonOf(snapshot(), 'high', ['root-api-call'])).toBeUndefined();
  });

  it('documents windows SQS and DynamoDB can hold', () => {
    expect(SESSION_IDLE_MS).toBe(3_600_000);
    expect(SESSION_RETENTION_MS).toBe(SESSION_IDLE_MS + 86_400_000);
    // SQS DelaySeconds is at most 900.
    expect(FOLD_WINDOW_MS / 1000).toBeLessThanOrEqual(900);
    expect(FOLD_MAX_EVENTS).toBe(500);
  });
});

describe('sessionEntryOf and sessionSeedOf', () => {
  it('take what a fold and a digest need from the alert', () => {
    // Prepare
    const alert = alertOf(readSample('root-console-sign-in-no-mfa.json'), { account: { name: 'prod-payments' } });
    // Act
    const entry = sessionEntryOf(alert);
    const seed = sessionSeedOf(alert);
    // Assess
    expect(entry).toStrictEqual({
      eventID: alert.eventID,
      eventName: 'ConsoleLogin',
      eventTime: '2022-11-10T16:24:34Z',
      detections: ['root-console-sign-in'],
      severity: 'critical',
      sourceIp: '203.0.113.11',
      client: 'Firefox 62 on macOS',
    });
    expect(seed).toStrictEqual({
      account: { id: '111122223333', name: 'prod-payments' },
      actor: { type: 'Root', arn: 'arn:aws:iam::111122223333:root', credential: 'console' },
      region: 'us-east-1',
    });
  });

  it('bounds what a crafted record puts in an entry, so 500 entries fit one DynamoDB item', () => {
    // Prepare
    const huge = 'x'.repeat(100_000);
    const alert = alertOf(readSample('root-console-sign-in-no-mfa.json'));
    const crafted = { ...alert, eventName: huge, eventTime: huge, detections: Array(50).fill(huge) };
    crafted.source = { ...alert.source, client: huge };
    // Act
    const entry = sessionEntryOf(crafted);
    // Assess
    expect(entry.eventName.length).toBeLessThanOrEqual(100);
    expect(entry.client?.length).toBeLessThanOrEqual(60);
    expect(entry.detections).toHaveLength(4);
    // 500 of them, keyed by eventID in the fold item, stay under DynamoDB's 400 KB.
    expect(500 * (Buffer.byteLength(JSON.stringify(entry)) + 40)).toBeLessThan(400_000);
  });

  it('leaves out an address and a client the alert does not have', () => {
    // Prepare
    const alert = alertOf(readSample('root-console-sign-in-no-mfa.json'));
    alert.source = {};
    // Act / Assess
    expect(Object.keys(sessionEntryOf(alert))).not.toContain('sourceIp');
    expect(Object.keys(sessionEntryOf(alert))).not.toContain('client');
  });
});
