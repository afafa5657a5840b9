/**
 * A successful root sign-in that follows failed ones, from any source, within 15 minutes is critical and says so
 * (events/root-console-sign-in.yml, its follows modifier). The failures are root-console-sign-in-failure's events,
 * recorded by the pipeline under `<detection>#<account>` (AlertState.countRecent) and read, never recorded, by the
 * sign-in (AlertState.countWindow): in memory as replay keeps them, and in DynamoDB (dynalite) as the alert function
 * does. Also: the follows modifier in the detection schema, and the catalog checks that catch a change of it.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertPipeline } from '../../functions/app/alert-pipeline.js';
import type { AlertState, HealthMetrics, StateOperation } from '../../functions/app/ports.js';
import type { Alert } from '../../functions/core/alert-document.js';
import { followedDetections } from '../../functions/core/classify.js';
import { checkFollowedDetections, type Detection, parseDetection } from '../../functions/core/detection.js';
import type { CloudTrailEvent } from '../../functions/core/event.js';
import { DetectionFileError } from '../../functions/errors.js';
import { loadDetections } from '../../functions/io/detections.js';
import { createDynamoState } from '../../functions/io/dynamo-state.js';
import { logger } from '../../functions/io/logger.js';
import { createMemoryState } from '../../functions/io/memory-state.js';
import { type LocalAws, startLocalAws } from '../../functions/local/aws.js';
import { coverageGaps, mutationReport, mutationsOf } from '../helpers/clauses.js';
import { catalogSampleEvents, sampleArrivals } from '../helpers/samples.js';

const detections = loadDetections();
const MINUTE = 60_000;
const FAILURE = 'root-console-sign-in-failure';
const SIGN_IN = 'root-console-sign-in';
const REASON = (count: number) => `after ${count} failed root sign-in(s) within 15 minutes, from any source`;

/** A sample's arrivals: `sign-in` preceded by `count` failures `everyMinutes` apart, the last `minutesBefore` it. */
const arrivals = (
  fixture: string,
  after: { fixture: string; count: number; everyMinutes: number; minutesBefore: number },
): CloudTrailEvent[] => sampleArrivals({ name: 'test', expect: 'match', fixture, after });

/** Each event through the one pipeline over the whole catalog, in order; the last one's outcome and alert. */
const lastAlert = async (state: AlertState, events: readonly CloudTrailEvent[], metrics?: HealthMetrics) => {
  const sent = new Map<string, Alert>();
  const pipeline = createAlertPipeline({
    detections,
    minSeverity: 'info',
    runbookBaseUrl: '',
    state,
    enrich: async () => ({}),
    sinks: [{ name: 'test', send: async (alert) => void sent.set(alert.eventID, alert) }],
    ...(metrics ? { metrics } : {}),
  });
  let outcome: Awaited<ReturnType<typeof pipeline.process>> = { status: 'no-match' };
  for (const event of events) outcome = await pipeline.process(event, 'test');
  const last = events.at(-1);
  return { outcome, alert: last ? sent.get(last.id) : undefined };
};

/** The contract of countWindow, for any AlertState: read what countRecent recorded, in event time, recording nothing. */
const countWindowContract = (name: string, stateOf: () => AlertState) => {
  describe(`countWindow (${name})`, () => {
    const t = Date.parse('2025-06-03T12:00:00Z');
    let run = 0;
    /** A key of its own per test: the DynamoDB table is shared by the tests. */
    const keyOf = () => {
      run += 1;
      return `${FAILURE}#1111222233${String(run).padStart(2, '0')}`;
    };

    it('counts the events recorded under the key in (time - window, time], at both edges', async () => {
      // Prepare
      const state = stateOf();
      const key = keyOf();
      await state.countRecent(key, 'at-window-start', t - 15 * MINUTE, 15 * MINUTE);
      await state.countRecent(key, 'just-inside', t - 15 * MINUTE + 1000, 15 * MINUTE);
      await state.countRecent(key, 'at-time', t, 15 * MINUTE);
      await state.countRecent(key, 'after', t + 1000, 15 * MINUTE);
      // Act / Assess
      expect(await state.countWindow(key, t, 15 * MINUTE)).toBe(2);
      expect(await state.countWindow(key, t, 16 * MINUTE)).toBe(3);
      // A second later, the event just inside is on the window's open edge: out.
      expect(await state.countWindow(key, t + 1000, 15 * MINUTE)).toBe(2);
    });

    it('answers 0 for a key nothing was recorded under, and for another account', async () => {
      const state = stateOf();
      const key = keyOf();
      await state.countRecent(key, 'one', t - MINUTE, 15 * MINUTE);
      expect(await state.countWindow(`${key}0`, t, 15 * MINUTE)).toBe(0);
      expect(await state.countWindow(keyOf(), t, 15 * MINUTE)).toBe(0);
    });

    it('records nothing: the next countRecent counts as if it had not been called', async () => {
      // Prepare
      const state = stateOf();
      const key = keyOf();
      await state.countRecent(key, 'one', t - 2 * MINUTE, 15 * MINUTE);
      // Act
      for (let i = 0; i < 3; i++) expect(await state.countWindow(key, t, 15 * MINUTE)).toBe(1);
      // Assess
      expect(await state.countRecent(key, 'two', t, 15 * MINUTE)).toBe(2);
      expect(await state.countWindow(key, t, 15 * MINUTE)).toBe(2);
    });

    it('counts a retried event once (recorded by eventID)', async () => {
      const state = stateOf();
      const key = keyOf();
      await state.countRecent(key, 'same', t - MINUTE, 15 * MINUTE);
      await state.countRecent(key, 'same', t - MINUTE, 15 * MINUTE);
      expect(await state.countWindow(key, t, 15 * MINUTE)).toBe(1);
    });
  });
};

countWindowContract('in memory', createMemoryState);

describe('in DynamoDB (dynalite)', () => {
  let aws: LocalAws;
  beforeAll(async () => {
    aws = await startLocalAws('rootwatch-follows');
  });
  afterAll(async () => {
    await aws?.stop();
  });

  countWindowContract('in DynamoDB', () => createDynamoState(aws.dynamodb, aws.tableName));

  it('sees what another invocation recorded, and writes no item for a key never recorded', async () => {
    // Prepare: two state objects over one table stand for two invocations
    const t = Date.parse('2025-06-03T12:00:00Z');
    await createDynamoState(aws.dynamodb, aws.tableName).countRecent(`${FAILURE}#999988887777`, 'x', t, MINUTE);
    const reader = createDynamoState(aws.dynamodb, aws.tableName);
    // Act
    const seen = await reader.countWindow(`${FAILURE}#999988887777`, t, 15 * MINUTE);
    const unseen = await reader.countWindow(`${FAILURE}#999988887766`, t, 15 * MINUTE);
    // Assess
    expect([seen, unseen]).toEqual([1, 0]);
    const item = await aws.dynamodb.send(
      new GetItemCommand({ TableName: aws.tableName, Key: { pk: { S: `count#${FAILURE}#999988887766` } } }),
    );
    expect(item.Item).toBeUndefined();
  });

  it('makes the sign-in after four failures critical through the pipeline, with the reason in the alert', async () => {
    // Prepare
    const state = createDynamoState(aws.dynamodb, aws.tableName);
    const events = arrivals('root-console-sign-in-mfa-upper-case.json', {
      fixture: 'root-console-sign-in-failure.json',
      count: 4,
      everyMinutes: 3,
      minutesBefore: 3,
    }).map((event) => ({ ...event, id: `dynamo-${event.id}` }));
    // Act
    const { outcome, alert } = await lastAlert(state, events);
    // Assess
    expect(outcome).toMatchObject({ status: 'delivered', detections: [SIGN_IN], severity: 'critical' });
    expect(alert?.reasons).toEqual({ [SIGN_IN]: REASON(4) });
  });
});

describe('a root sign-in after failed ones, through the pipeline (state in memory, as replay)', () => {
  logger.setLogLevel('SILENT');
  const signIn = 'root-console-sign-in-mfa-upper-case.json';
  const failure = 'root-console-sign-in-failure.json';

  it('is critical 3 minutes after 4 failures from another address, and the alert says so', async () => {
    // Prepare
    const events = arrivals(signIn, { fixture: failure, count: 4, everyMinutes: 3, minutesBefore: 3 });
    expect(new Set(events.map((event) => event.detail.sourceIPAddress)).size).toBe(2);
    // Act
    const { outcome, alert } = await lastAlert(createMemoryState(), events);
    // Assess
    expect(outcome).toMatchObject({ status: 'delivered', severity: 'critical' });
    expect(alert).toMatchObject({ severity: 'critical', detections: [SIGN_IN], reasons: { [SIGN_IN]: REASON(4) } });
  });

  it('keeps the default severity (high with MFA) when the failures were 16 minutes before', async () => {
    const events = arrivals(signIn, { fixture: failure, count: 4, everyMinutes: 1, minutesBefore: 16 });
    const { alert } = await lastAlert(createMemoryState(), events);
    expect(alert).toMatchObject({ severity: 'high', reasons: { [SIGN_IN]: 'signed in with MFA' } });
  });

  it("keeps the default severity after another account's failures", async () => {
    const other = 'root-console-sign-in-failure-other-account.json';
    const events = arrivals(signIn, { fixture: other, count: 4, everyMinutes: 1, minutesBefore: 1 });
    const { alert } = await lastAlert(createMemoryState(), events);
    expect(alert).toMatchObject({ severity: 'high', reasons: { [SIGN_IN]: 'signed in with MFA' } });
  });

  it('goes out at its default severity when countWindow fails, counted as StateUnavailable', async () => {
    // Prepare: the state records and claims, and its countWindow fails
    const operations: StateOperation[] = [];
    const memory = createMemoryState();
    const state: AlertState = {
      ...memory,
      countWindow: async () => {
        throw Object.assign(new Error('Throughput exceeds the current capacity of your table'), {
          name: 'ProvisionedThroughputExceededException',
        });
      },
    };
    const events = arrivals(signIn, { fixture: failure, count: 4, everyMinutes: 1, minutesBefore: 1 });
    // Act
    const { outcome, alert } = await lastAlert(state, events, {
      stateUnavailable: (operation) => void operations.push(operation),
    });
    // Assess
    expect(outcome).toMatchObject({ status: 'delivered', severity: 'high', deduplicated: false });
    expect(alert?.reasons).toEqual({ [SIGN_IN]: 'signed in with MFA' });
    expect(operations).toEqual(['countWindow']);
  });

  it('records the followed detection even when it has no threshold of its own', async () => {
    // Prepare: the catalog's failure detection without its threshold, so only the follows modifier asks for it
    const catalog: Detection[] = detections.map((detection) =>
      detection.id === FAILURE
        ? { ...detection, modifiers: detection.modifiers.filter((modifier) => modifier.kind !== 'threshold') }
        : detection,
    );
    const state = createMemoryState();
    const pipeline = createAlertPipeline({
      detections: catalog,
      minSeverity: 'info',
      runbookBaseUrl: '',
      state,
      enrich: async () => ({}),
      sinks: [{ name: 'test', send: async () => {} }],
    });
    const events = arrivals(signIn, { fixture: failure, count: 2, everyMinutes: 1, minutesBefore: 1 });
    // Act
    const outcomes = [];
    for (const event of events) outcomes.push(await pipeline.process(event, 'test'));
    // Assess
    expect(outcomes.map((o) => (o.status === 'delivered' ? o.severity : o.status))).toEqual([
      'medium',
      'medium',
      'critical',
    ]);
    expect(followedDetections(catalog)).toEqual(new Map([[FAILURE, 15 * MINUTE]]));
  });
});

describe('the follows modifier in a detection file', () => {
  const file = (modifier: string, id = 'test-detection') => `
id: ${id}
title: Test
severity: high
severityModifiers:
${modifier}
description: d
runbook: |
  1. one
  2. two
references: [https://example.com/a]
tags: [attack.t1078.004]
falsePositives: [none]
patterns:
  - source: [aws.signin]
samples:
  - { name: a, expect: match, fixture: a.json }
  - { name: b, expect: no-match, fixture: b.json }
`;
  const follows = (fields: string, reason = 'after {count} failures') =>
    `  - { severity: critical, reason: "${reason}", follows: { ${fields} } }`;
  const rejection = (text: string): string => {
    try {
      parseDetection(text, 'test-detection.yml');
    } catch (error) {
      expect(error).toBeInstanceOf(DetectionFileError);
      return (error as Error).message;
    }
    throw new Error('parseDetection accepted the file');
  };

  it('compiles to a modifier with the window in milliseconds', () => {
    const detection = parseDetection(
      file(follows('detection: other, count: 2, withinMinutes: 15, per: account')),
      'test-detection.yml',
    );
    expect(detection.modifiers).toStrictEqual([
      {
        kind: 'follows',
        severity: 'critical',
        reason: 'after {count} failures',
        detection: 'other',
        count: 2,
        withinMs: 15 * MINUTE,
      },
    ]);
  });

  it.each([
    ['a count of 0', 'detection: other, count: 0, withinMinutes: 15, per: account', /follows\.count/],
    ['a window over a day', 'detection: other, count: 1, withinMinutes: 1441, per: account', /follows\.withinMinutes/],
    ['a scope other than the account', 'detection: other, count: 1, withinMinutes: 15, per: source', /follows\.per/],
    ['an id that is not one', 'detection: Other_One, count: 1, withinMinutes: 15, per: account', /follows\.detection/],
    ['a missing count', 'detection: other, withinMinutes: 15, per: account', /follows\.count/],
    ['an unknown field', 'detection: other, count: 1, withinMinutes: 15, per: account, from: any', /from/],
  ])('rejects %s, naming the field', (_, fields, field) => {
    expect(rejection(file(follows(fields)))).toMatch(field);
  });

  it('rejects a detection that follows itself', () => {
    expect(rejection(file(follows('detection: test-detection, count: 1, withinMinutes: 15, per: account')))).toBe(
      'test-detection.yml: severityModifiers[0].follows.detection: "test-detection" is this detection; to count its own events, use a threshold',
    );
  });

  it('names the forms a modifier may take when it has none of them', () => {
    expect(rejection(file('  - { severity: low, reason: r }'))).toBe(
      'test-detection.yml: severityModifiers[0]: a severity modifier has one of match, threshold or follows, with severity and reason',
    );
  });

  it('rejects a placeholder other than {count}, and any placeholder in a match modifier', () => {
    expect(
      rejection(file(follows('detection: other, count: 1, withinMinutes: 15, per: account', 'after {counts}'))),
    ).toMatch(/severityModifiers\[0\]\.reason: \{counts\}: unknown placeholder \(known: \{count\}\)/);
    expect(rejection(file('  - { severity: low, reason: "after {count}", match: { detail: { x: [y] } } }'))).toMatch(
      /severityModifiers\[0\]\.reason: \{count\}: only a follows modifier's reason takes a placeholder/,
    );
  });

  it('names the file and modifier that follows a detection the catalog lacks', () => {
    const follower = parseDetection(
      file(follows('detection: missing, count: 1, withinMinutes: 15, per: account')),
      'test-detection.yml',
    );
    expect(() => checkFollowedDetections([...detections, follower])).toThrow(
      'test-detection.yml: severityModifiers[0].follows.detection: no detection "missing" in the catalog',
    );
    expect(() => checkFollowedDetections(detections)).not.toThrow();
  });

  it('needs everyMinutes for a sample that arrives after more than one record', () => {
    const text = file(follows('detection: other, count: 1, withinMinutes: 15, per: account')).replace(
      '{ name: a, expect: match, fixture: a.json }',
      '{ name: a, expect: match, fixture: a.json, after: { fixture: c.json, count: 2, minutesBefore: 1 } }',
    );
    expect(rejection(text)).toMatch(/samples\[0\]\.after: everyMinutes: needed when count is above 1/);
  });
});

describe('the catalog checks of a follows modifier', () => {
  logger.setLogLevel('SILENT');
  const signIn = detections.find((detection) => detection.id === SIGN_IN) as Detection;

  it('lists its changes: dropped, another severity, count and window one off, another detection', () => {
    const labels = mutationsOf(
      { patterns: signIn.patterns, severityModifiers: signIn.severityModifiers },
      signIn.severity,
    ).map((mutation) => mutation.label);
    expect(labels).toEqual(
      expect.arrayContaining([
        'drop severityModifiers[0] follows 1 root-console-sign-in-failure within 15 min → critical',
        'severityModifiers[0] severity critical → high',
        'severityModifiers[0] follows count 1 → 2',
        'severityModifiers[0] follows window 15 → 14 min',
        'severityModifiers[0] follows window 15 → 16 min',
        'severityModifiers[0] follows root-console-sign-in-failure → not-root-console-sign-in-failure',
      ]),
    );
  });

  it("catches every change of it with the catalog's samples", async () => {
    const report = await mutationReport(signIn, catalogSampleEvents(), detections);
    expect(report).toMatchObject({ survivors: [], failingSamples: [] });
    expect(report.total).toBeGreaterThanOrEqual(6);
  });

  it('lets the window changes survive without the samples 14.5 and 15.5 minutes after a failure', async () => {
    // Prepare
    const samples = signIn.samples.filter((sample) => !/1[45]\.5 minutes/.test(sample.name));
    expect(samples.length).toBe(signIn.samples.length - 2);
    // Act
    const report = await mutationReport({ ...signIn, samples }, catalogSampleEvents(), detections);
    // Assess
    expect(report.survivors).toEqual([
      'severityModifiers[0] follows count 1 → 2',
      'severityModifiers[0] follows window 15 → 14 min',
      'severityModifiers[0] follows window 15 → 16 min',
    ]);
  });

  it('reports a follows modifier no sample arrives after failures to reach', async () => {
    const samples = signIn.samples.filter((sample) => sample.after === undefined);
    const gaps = await coverageGaps({ ...signIn, samples }, catalogSampleEvents(), detections);
    expect(gaps).toEqual([
      'root-console-sign-in severityModifiers[0] follows 1 root-console-sign-in-failure within 15 min → critical: no match sample with severity critical reaches it (a follows modifier needs a sample with after, arriving after enough events of root-console-sign-in-failure within its window)',
    ]);
  });

  it('finds the samples failing when the failures meet no detection (no catalog given)', async () => {
    const report = await mutationReport(signIn, catalogSampleEvents(), []);
    expect(report.failingSamples).toEqual([
      'root signs in with MFA 3 minutes after four failed root sign-ins from another address',
      'root signs in with MFA 14.5 minutes after one failed root sign-in (inside 15 minutes, not inside 14)',
    ]);
  });
});
