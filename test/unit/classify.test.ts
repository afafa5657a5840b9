import { describe, expect, it } from 'vitest';
import { CENTRALIZED_ROOT_SESSION, classify, isCentralizedRootSession } from '../../functions/core/classify.js';
import { parseDetection } from '../../functions/core/detection.js';
import { recordToEvent } from '../../functions/core/event.js';
import { loadDetections } from '../../functions/io/detections.js';
import { readSample, readSampleEvent } from '../helpers/samples.js';

const detections = loadDetections();
describe('classify', () => {
  it('returns nothing for an event no detection matches', () => {
    expect(classify(recordToEvent(readSample('iam-user-create-access-key.json')), detections)).toEqual([]);
  });

  it('orders matches most severe first', () => {
    const matches = classify(recordToEvent(readSample('root-create-access-key.json')), detections);
    expect(matches.map((m) => [m.detection.id, m.severity])).toEqual([
      ['root-access-key-created', 'critical'],
      ['root-api-call', 'high'],
    ]);
  });

  it('knows which event sources a detection is limited to, and still matches through the shortcut', () => {
    const byId = new Map(detections.map((d) => [d.id, d]));
    expect([...(byId.get('root-console-sign-in')?.sources ?? [])]).toEqual(['aws.signin']);
    expect(byId.get('root-api-call')?.sources).toBeUndefined(); // a prefix, not a list of sources: always tried
    const signIn = recordToEvent(readSample('root-console-sign-in-no-mfa.json'));
    expect(classify(signIn, detections).map((m) => m.detection.id)).toEqual(['root-console-sign-in']);
    // The same record under another source is not a CloudTrail event of that service.
    expect(classify({ ...signIn, source: 'aws.s3' }, detections)).toEqual([]);
  });

  it('applies the first modifier that matches', () => {
    const [match] = classify(recordToEvent(readSample('root-api-call-long-term-key.json')), detections);
    expect(match).toMatchObject({ severity: 'critical', reason: 'made with a long-term root access key' });
  });

  it.each([
    [
      'root-get-federation-token.json',
      'root issued a federation token; the calls made with it show as FederatedUser, not as root',
    ],
    ['root-get-session-token.json', 'root turned a long-term access key into session credentials (GetSessionToken)'],
    [
      'federated-user-of-root-list-buckets.json',
      'in a session root issued (GetFederationToken), which only a long-term root access key can open',
    ],
  ])('makes credentials minted from root critical, saying why: %s', (fixture, reason) => {
    const matches = classify(readSampleEvent(fixture), detections);
    expect(matches.map((m) => [m.detection.id, m.severity, m.reason])).toEqual([['root-api-call', 'critical', reason]]);
  });

  it('tells a failed MFA challenge after an accepted password from a wrong password', () => {
    const severityOf = (fixture: string) =>
      classify(readSampleEvent(fixture), detections).map((m) => [m.detection.id, m.severity, m.reason]);
    expect(severityOf('root-console-sign-in-failed-mfa.json')).toEqual([
      ['root-console-sign-in-failure', 'high', 'password accepted, MFA failed'],
    ]);
    expect(severityOf('root-console-sign-in-failure-wrong-password.json')).toEqual([
      ['root-console-sign-in-failure', 'medium', undefined],
    ]);
  });
});

describe('classify inside a centralized root session (sts:AssumeRoot)', () => {
  const cleanup = [
    'assumed-root-delete-login-profile.json',
    'assumed-root-deactivate-mfa-device.json',
    'assumed-root-delete-virtual-mfa-device.json',
    'assumed-root-delete-access-key.json',
    'assumed-root-delete-signing-certificate.json',
  ];

  it.each(cleanup)('gives every detection %s matches the session severity, with the reason', (fixture) => {
    // Act
    const matches = classify(readSampleEvent(fixture), detections);
    // Assess
    expect(matches.length).toBeGreaterThan(0);
    for (const match of matches) expect(match).toMatchObject(CENTRALIZED_ROOT_SESSION);
  });

  it('lowers the detections that would be critical and high outside the session (the field case)', () => {
    // Prepare: the same calls by root's own, long-lived session
    const outside = (fixture: string) => {
      const event = structuredClone(readSampleEvent(fixture));
      const context = event.detail.userIdentity?.sessionContext as Record<string, unknown>;
      context.assumedRoot = undefined;
      return classify(event, detections).map((m) => [m.detection.id, m.severity]);
    };
    // Act / Assess
    expect(outside('assumed-root-deactivate-mfa-device.json')).toEqual([
      ['mfa-device-deactivated', 'critical'],
      ['root-api-call', 'high'],
    ]);
    expect(outside('assumed-root-delete-login-profile.json')).toEqual([
      ['root-api-call', 'high'],
      ['root-credentials-changed', 'high'],
    ]);
    expect(
      classify(readSampleEvent('assumed-root-deactivate-mfa-device.json'), detections).map((m) => [
        m.detection.id,
        m.severity,
      ]),
    ).toEqual([
      ['mfa-device-deactivated', 'medium'],
      ['root-api-call', 'medium'],
    ]);
  });

  it('applies to any detection, whatever its default and modifiers', () => {
    // Prepare: a detection of no root kind (any principal), critical by default, with a modifier
    const [detection] = [
      parseDetection(
        `
id: any-delete-bucket-policy
title: Bucket policy deleted
severity: critical
severityModifiers:
  - severity: low
    reason: never applies here
    match: { detail: { eventName: [Nothing] } }
description: d
runbook: |
  1. one
  2. two
references: [https://example.com/a]
tags: [attack.t1562.008]
falsePositives: [none]
patterns:
  - source: [aws.s3]
    detail: { eventName: [DeleteBucketPolicy] }
samples:
  - { name: a, expect: match, fixture: a.json }
  - { name: b, expect: no-match, fixture: b.json }
`,
        'any-delete-bucket-policy.yml',
      ),
    ];
    const inSession = readSampleEvent('root-api-call-assumed-root.json');
    // Act
    const [match] = classify(inSession, [detection]);
    // Assess
    expect(match).toMatchObject({ severity: 'medium', reason: 'inside a centralized root session (sts:AssumeRoot)' });
  });

  it.each([
    ['the string "true"', 'Root', 'true', true],
    ['a boolean true', 'Root', true, true],
    ['"TRUE"', 'Root', 'TRUE', true],
    ['"false"', 'Root', 'false', false],
    ['an empty string (AWS writes it on other sessions)', 'Root', '', false],
    ["the AssumeRoot caller's role session", 'AssumedRole', 'true', false],
  ])('tells a centralized root session by %s', (_, type, assumedRoot, expected) => {
    const event = { detail: { userIdentity: { type, sessionContext: { assumedRoot } } } };
    expect(isCentralizedRootSession(event)).toBe(expected);
  });

  it("keeps the AssumeRoot call's own severity when the caller's record carries assumedRoot", () => {
    const matches = classify(readSampleEvent('role-assume-root-delete-root-credentials.json'), detections);
    expect(matches.map((m) => [m.detection.id, m.severity, m.reason])).toEqual([
      ['root-session-assumed', 'high', undefined],
    ]);
  });
});
