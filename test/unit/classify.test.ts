import { describe, expect, it } from 'vitest';
import { CENTRALIZED_ROOT_SESSION, classify, isCentralizedRootSession } from '../../functions/core/classify.js';
import { parseDetection } from '../../functions/core/detection.js';
import { recordToEvent } from '../../functions/core/event.js';
import { loadDetections } from '../../functions/io/detections.js';
import { createMemoryState } from '../../functions/io/memory-state.js';
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

describe('classify a root sign-in after failed ones (a follows modifier)', () => {
  const FAILURE = 'root-console-sign-in-failure';
  const MINUTE = 60_000;
  const REASON = (count: number) => `after ${count} failed root sign-in(s) within 15 minutes, from any source`;

  /**
   * The sign-in `fixture` classified after `failures` (each a failure record and how many minutes before the
   * sign-in it happened): the failures recorded as the pipeline records them (countRecent under
   * `<detection>#<account>`), the sign-in's follows modifiers answered by countWindow, as the pipeline reads them.
   */
  const signInAfter = async (
    failures: readonly { fixture: string; minutesBefore: number }[],
    fixture = 'root-console-sign-in-mfa-upper-case.json',
  ) => {
    const state = createMemoryState();
    const signIn = readSampleEvent(fixture);
    const timeMs = Date.parse(signIn.time);
    for (const [i, { fixture: failed, minutesBefore }] of failures.entries()) {
      const failure = readSampleEvent(failed);
      const key = `${FAILURE}#${failure.account}`;
      await state.countRecent(key, `${failure.id}-${i}`, timeMs - minutesBefore * MINUTE, 15 * MINUTE);
    }
    const counts = new Map<string, number>();
    for (const modifier of detections.flatMap((detection) => detection.modifiers)) {
      if (modifier.kind !== 'follows') continue;
      const key = `${modifier.detection}#${signIn.account}`;
      counts.set(`${modifier.detection}|${modifier.withinMs}`, await state.countWindow(key, timeMs, modifier.withinMs));
    }
    return classify(signIn, detections, undefined, (id, windowMs) => counts.get(`${id}|${windowMs}`) ?? 0).map(
      (match) => [match.detection.id, match.severity, match.reason],
    );
  };
  const failures = (count: number, firstMinutesBefore: number, fixture = 'root-console-sign-in-failure.json') =>
    Array.from({ length: count }, (_, i) => ({ fixture, minutesBefore: firstMinutesBefore - i }));

  it('makes a sign-in with MFA critical 4 failures after, within 15 minutes, and says how many', async () => {
    expect(await signInAfter(failures(4, 12))).toEqual([['root-console-sign-in', 'critical', REASON(4)]]);
  });

  it('gives a sign-in without MFA the reason too (critical either way)', async () => {
    expect(await signInAfter(failures(2, 5), 'root-console-sign-in-no-mfa.json')).toEqual([
      ['root-console-sign-in', 'critical', REASON(2)],
    ]);
  });

  it('counts one failure 14.5 minutes before', async () => {
    expect(await signInAfter([{ fixture: 'root-console-sign-in-failure.json', minutesBefore: 14.5 }])).toEqual([
      ['root-console-sign-in', 'critical', REASON(1)],
    ]);
  });

  it('keeps the default severity when the failures were 16 minutes before or more', async () => {
    expect(await signInAfter(failures(4, 19))).toEqual([['root-console-sign-in', 'high', 'signed in with MFA']]);
    expect(await signInAfter(failures(1, 15), 'root-console-sign-in-no-mfa.json')).toEqual([
      ['root-console-sign-in', 'critical', undefined],
    ]);
  });

  it("ignores another account's failures", async () => {
    // Prepare: the failures are root-console-sign-in-failure's events, in account 444455556666
    const other = 'root-console-sign-in-failure-other-account.json';
    expect(classify(readSampleEvent(other), detections).map((m) => m.detection.id)).toEqual([FAILURE]);
    expect(readSampleEvent(other).account).not.toBe(
      readSampleEvent('root-console-sign-in-mfa-upper-case.json').account,
    );
    // Act / Assess
    expect(await signInAfter(failures(4, 4, other))).toEqual([['root-console-sign-in', 'high', 'signed in with MFA']]);
  });

  it('ignores a failure recorded after the sign-in (counting is in event time)', async () => {
    expect(await signInAfter([{ fixture: 'root-console-sign-in-failure.json', minutesBefore: -1 }])).toEqual([
      ['root-console-sign-in', 'high', 'signed in with MFA'],
    ]);
  });

  it('scores as before when nothing answers the follows modifier (replay without state, a failed read)', () => {
    expect(
      classify(readSampleEvent('root-console-sign-in-mfa-upper-case.json'), detections).map((m) => m.severity),
    ).toEqual(['high']);
  });
});
