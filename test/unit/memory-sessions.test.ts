import { describe, expect, it } from 'vitest';
import { createAlertPipeline } from '../../functions/app/alert-pipeline.js';
import { createFoldFlusher } from '../../functions/app/digest.js';
import type { AlertState, DigestSink, FoldTimer, Sink } from '../../functions/app/ports.js';
import type { Alert } from '../../functions/core/alert-document.js';
import type { Digest } from '../../functions/core/digest-document.js';
import { recordToEvent } from '../../functions/core/event.js';
import { FOLD_MAX_EVENTS, FOLD_WINDOW_MS, type SessionEntry, type SessionSeed } from '../../functions/core/session.js';
import { loadDetections } from '../../functions/io/detections.js';
import { createMemorySessions } from '../../functions/io/memory-sessions.js';
import { createMemoryState } from '../../functions/io/memory-state.js';
import { readSample } from '../helpers/samples.js';

const SEED: SessionSeed = { account: { id: '111122223333' }, actor: { type: 'Root' }, region: 'us-east-1' };
const START = Date.UTC(2025, 5, 1, 9, 0, 0);
const entry = (n: number, overrides: Partial<SessionEntry> = {}): SessionEntry => ({
  eventID: `e-${n}`,
  eventName: 'ListBuckets',
  eventTime: new Date(START + n * 1000).toISOString(),
  detections: ['root-api-call'],
  severity: 'high',
  ...overrides,
});

describe('createMemorySessions', () => {
  it('opens a session, folds the same severity and detections, escalates a new one, and answers a retry alike', async () => {
    // Prepare
    const sessions = createMemorySessions();

    // Act
    const decisions = [
      await sessions.observe('k', entry(0), SEED, 0),
      await sessions.observe('k', entry(1), SEED, 0),
      await sessions.observe('k', entry(2), SEED, 0),
      await sessions.observe('k', entry(3, { detections: ['root-access-key-created', 'root-api-call'] }), SEED, 0),
      await sessions.observe('k', entry(0), SEED, 0),
      await sessions.observe('k', entry(1), SEED, 0),
      await sessions.observe('k', entry(3), SEED, 0),
    ];

    // Assess
    expect(decisions).toStrictEqual([
      { kind: 'first' },
      { kind: 'fold', foldId: 'k#1', opened: true, full: false },
      { kind: 'fold', foldId: 'k#1', opened: false, full: false },
      { kind: 'escalate', reason: 'new detection root-access-key-created' },
      { kind: 'first' },
      { kind: 'fold', foldId: 'k#1', opened: true, full: false },
      { kind: 'escalate', reason: 'new detection root-access-key-created' },
    ]);
  });

  it('keeps time by the events: a fold is due five minutes of event time after its first entry', async () => {
    // Prepare
    const sessions = createMemorySessions();
    await sessions.observe('k', entry(0), SEED, 0);
    await sessions.observe('k', entry(10), SEED, 0);

    // Act / Assess
    expect(sessions.dueFolds(START + 10_000 + FOLD_WINDOW_MS - 1)).toStrictEqual([]);
    expect(sessions.dueFolds(START + 10_000 + FOLD_WINDOW_MS)).toStrictEqual(['k#1']);
    expect(sessions.openFolds()).toStrictEqual(['k#1']);
  });

  it('starts a new session after an idle hour, its folds numbered on from the last', async () => {
    // Prepare
    const sessions = createMemorySessions();
    await sessions.observe('k', entry(0), SEED, 0);
    await sessions.observe('k', entry(1), SEED, 0);

    // Act
    const later = await sessions.observe('k', entry(3_700), SEED, 0);
    const folded = await sessions.observe('k', entry(3_701), SEED, 0);

    // Assess
    expect(later).toStrictEqual({ kind: 'first' });
    expect(folded).toStrictEqual({ kind: 'fold', foldId: 'k#2', opened: true, full: false });
  });

  it('closes a fold at FOLD_MAX_EVENTS, says so to the event that filled it, and opens the next', async () => {
    // Prepare
    const sessions = createMemorySessions();
    await sessions.observe('k', entry(0), SEED, 0);

    // Act
    const decisions = [];
    for (let n = 1; n <= FOLD_MAX_EVENTS + 1; n += 1) decisions.push(await sessions.observe('k', entry(n), SEED, 0));

    // Assess
    expect(decisions.filter((d) => d.kind === 'fold' && d.full)).toStrictEqual([
      { kind: 'fold', foldId: 'k#1', opened: false, full: true },
    ]);
    expect(decisions.at(-1)).toStrictEqual({ kind: 'fold', foldId: 'k#2', opened: true, full: false });
  });

  it('gives a fold to one flush at a time, and never again once flushed', async () => {
    // Prepare
    const sessions = createMemorySessions();
    await sessions.observe('k', entry(0), SEED, 0);
    await sessions.observe('k', entry(1), SEED, 0);

    // Act
    const taken = await sessions.takeFold('k#1', 'a', 1_000);
    const meanwhile = await sessions.takeFold('k#1', 'b', 2_000);
    const afterLease = await sessions.takeFold('k#1', 'b', 60_000);
    await sessions.finishFold('k#1', 61_000);
    const afterFlush = await sessions.takeFold('k#1', 'c', 200_000);
    const next = await sessions.observe('k', entry(2), SEED, 0);

    // Assess
    expect(taken?.entries.map((e) => e.eventID)).toStrictEqual(['e-1']);
    expect(taken).toMatchObject({ foldId: 'k#1', key: 'k', number: 1, seed: SEED });
    expect(meanwhile).toBeUndefined();
    expect(afterLease?.foldId).toBe('k#1');
    expect(afterFlush).toBeUndefined();
    expect(await sessions.foldStatus('k#1')).toBe('flushed');
    expect(next).toStrictEqual({ kind: 'fold', foldId: 'k#2', opened: true, full: false });
  });
});

describe('createMemorySessions().sessions()', () => {
  it('sums up each session over its first event, escalations and folded events, each eventID once', async () => {
    // Prepare
    const sessions = createMemorySessions();
    const seed: SessionSeed = { ...SEED, account: { id: '111122223333', name: 'prod-payments' } };
    await sessions.observe('k', entry(5, { sourceIp: '203.0.113.7', client: 'aws-cli 2.27.0' }), seed, 0);
    await sessions.observe('k', entry(6, { sourceIp: '203.0.113.7', client: 'aws-cli 2.27.0' }), seed, 0);
    await sessions.observe('k', entry(7, { eventName: 'GetBucketAcl', sourceIp: '203.0.113.8' }), seed, 0);
    await sessions.observe(
      'k',
      entry(9, {
        eventName: 'CreateAccessKey',
        severity: 'critical',
        detections: ['root-access-key-created', 'root-api-call'],
      }),
      seed,
      0,
    );
    // An earlier event arriving late: it moves the first event time back.
    await sessions.observe('k', entry(1, { client: 'aws-cli 2.27.0' }), seed, 0);
    // Retries of a first, a folded and an escalating event: counted once.
    await sessions.observe('k', entry(5), seed, 0);
    await sessions.observe('k', entry(6), seed, 0);
    await sessions.observe('k', entry(9, { severity: 'critical' }), seed, 0);

    // Act
    const summaries = sessions.sessions();

    // Assess
    expect(summaries).toStrictEqual([
      {
        key: 'k',
        account: { id: '111122223333', name: 'prod-payments' },
        actor: { type: 'Root' },
        region: 'us-east-1',
        firstEventTime: entry(1).eventTime,
        lastEventTime: entry(9).eventTime,
        count: 5,
        alerts: 2,
        folded: 3,
        severity: 'critical',
        eventNames: { ListBuckets: 3, CreateAccessKey: 1, GetBucketAcl: 1 },
        detections: { 'root-api-call': 5, 'root-access-key-created': 1 },
        sources: [
          { ip: '203.0.113.7', client: 'aws-cli 2.27.0', count: 2 },
          { ip: '203.0.113.8', count: 1 },
          { client: 'aws-cli 2.27.0', count: 1 },
          { count: 1 },
        ],
      },
    ]);
  });

  it('lists a key that came back after an idle hour as two sessions, and sessions by first event time', async () => {
    // Prepare: session "b" starts before "a" in event time, though it is observed after; "a" goes idle and comes back.
    const sessions = createMemorySessions();
    await sessions.observe('a', entry(100), SEED, 0);
    await sessions.observe('b', entry(50, { eventID: 'b-50' }), SEED, 0);
    await sessions.observe('a', entry(101), SEED, 0);
    await sessions.observe('a', entry(4_000), SEED, 0);
    await sessions.observe('a', entry(4_001), SEED, 0);
    await sessions.observe('a', entry(4_002), SEED, 0);

    // Act
    const summaries = sessions.sessions();

    // Assess
    expect(summaries.map((s) => [s.key, s.firstEventTime, s.count, s.alerts, s.folded])).toStrictEqual([
      ['b', entry(50).eventTime, 1, 1, 0],
      ['a', entry(100).eventTime, 2, 1, 1],
      ['a', entry(4_000).eventTime, 3, 1, 2],
    ]);
  });

  it('keeps counting a session after its folds are flushed, and lists sessions whose time does not parse last', async () => {
    // Prepare
    const sessions = createMemorySessions();
    await sessions.observe('x', entry(0, { eventTime: 'not a time' }), SEED, 0);
    await sessions.observe('k', entry(1), SEED, 0);
    await sessions.observe('k', entry(2), SEED, 0);
    await sessions.takeFold('k#1', 'replay', 0);
    await sessions.finishFold('k#1', 0);
    await sessions.observe('k', entry(3), SEED, 0);

    // Act
    const summaries = sessions.sessions();

    // Assess
    expect(summaries.map((s) => [s.key, s.firstEventTime, s.lastEventTime, s.count, s.folded])).toStrictEqual([
      ['k', entry(1).eventTime, entry(3).eventTime, 3, 2],
      ['x', 'not a time', 'not a time', 1, 0],
    ]);
  });
});

describe('the alert pipeline with sessions', () => {
  const detections = loadDetections();
  const record = (n: number) => ({
    ...readSample('root-api-call-put-bucket-versioning.json'),
    eventID: `p-${n}`,
    eventTime: new Date(START + n * 1000).toISOString(),
    userIdentity: {
      ...(readSample('root-api-call-put-bucket-versioning.json').userIdentity as object),
      accessKeyId: 'ASIAUNITPIPELINE0001',
    },
  });

  const setup = (timer: FoldTimer, failFlush = false, takeBack = false) => {
    const memory = createMemoryState();
    // takeBack: every claim succeeds, as dynamo-state's does for Lambda's retry once the failed attempt's lease ran out.
    const state: AlertState = takeBack ? { ...memory, claim: async () => new Set<string>() } : memory;
    const sessions = createMemorySessions();
    const sent: Alert[] = [];
    const digests: Digest[] = [];
    const sink: Sink & DigestSink = {
      name: 'test',
      send: async (alert) => void sent.push(alert),
      sendDigest: async (digest) => {
        if (failFlush) throw new Error('destination down');
        digests.push(digest);
      },
    };
    const flushFold = createFoldFlusher({ sessions, state, sinks: [sink] });
    const pipeline = createAlertPipeline({
      detections,
      minSeverity: 'info',
      runbookBaseUrl: '',
      state,
      enrich: async () => ({}),
      sinks: [sink],
      sessions: { state: sessions, timer, flush: flushFold },
    });
    return { pipeline, sessions, sent, digests, flushFold };
  };

  it('rejects when the fold timer cannot be set, and sets it on the retry of the same event', async () => {
    // Prepare
    let fail = true;
    const scheduled: string[] = [];
    const { pipeline, sent } = setup(
      {
        schedule: async (foldId) => {
          if (fail) throw new Error('SQS down');
          scheduled.push(foldId);
        },
      },
      false,
      true,
    );
    await pipeline.process(recordToEvent(record(0)), 'first');

    // Act
    const failed = await pipeline.process(recordToEvent(record(1)), 'attempt').catch((e: unknown) => e);
    fail = false;
    const retried = await pipeline.process(recordToEvent(record(1)), 'retry');

    // Assess
    expect(failed).toBeInstanceOf(Error);
    expect((failed as Error).message).toBe('SQS down');
    expect(retried).toMatchObject({ status: 'folded', eventID: 'p-1' });
    expect(scheduled).toStrictEqual([(retried as { foldId: string }).foldId]);
    expect(sent.map((alert) => alert.eventID)).toStrictEqual(['p-0']);
  });

  it('folds an event whose full fold could not be flushed, leaving the fold to its timer', async () => {
    // Prepare
    const { pipeline, sessions } = setup({ schedule: async () => {} }, true);
    await pipeline.process(recordToEvent(record(0)), 'first');

    // Act
    const outcomes = [];
    for (let n = 1; n <= FOLD_MAX_EVENTS; n += 1)
      outcomes.push(await pipeline.process(recordToEvent(record(n)), `e${n}`));

    // Assess
    expect(outcomes.every((o) => o.status === 'folded')).toBe(true);
    const foldId = (outcomes[0] as { foldId: string }).foldId;
    expect(await sessions.foldStatus(foldId)).toBe('flushing');
  });
});
