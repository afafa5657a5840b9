/**
 * A root session whose middle falls inside a break-glass window, through the one alert pipeline with the windows in
 * memory: its first alert goes out at once, the rest is folded, and the digest says how many of its events were inside
 * the window, with the window's id, reason, declarer and end. The session state is the memory one (replay) and the
 * DynamoDB one (the deployed alerter) on dynalite through the real SDK client, so the entry's window survives the
 * fold item's JSON.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertPipeline } from '../../functions/app/alert-pipeline.js';
import { createFoldFlusher } from '../../functions/app/digest.js';
import type { SessionState } from '../../functions/app/ports.js';
import type { Alert } from '../../functions/core/alert-document.js';
import { type Digest, DigestSchema } from '../../functions/core/digest-document.js';
import { recordToEvent } from '../../functions/core/event.js';
import type { ExpectedWindow } from '../../functions/core/expected-window.js';
import { renderDigestEmail, renderDigestSlack } from '../../functions/core/render/digest.js';
import { createDynamoSessions } from '../../functions/io/dynamo-sessions.js';
import { createMemoryExpectedWindows } from '../../functions/io/expected-windows.js';
import { createMemorySessions } from '../../functions/io/memory-sessions.js';
import { createMemoryState } from '../../functions/io/memory-state.js';
import { type LocalAws, startLocalAws } from '../../functions/local/aws.js';
import { detections } from '../helpers/pipeline.js';
import { readSample } from '../helpers/samples.js';
import { expectInert, mrkdwnTexts } from '../helpers/slack-checks.js';

const ACCOUNT = '111122223333';
const HOSTILE_REASON = 'CHG-123 <!channel> *now* https://evil.example\nSubject: fake';

/** CHG-123: root use expected in ACCOUNT from 16:00 to 16:30 UTC on 2022-11-10. */
const WINDOW: ExpectedWindow = {
  id: 'w-0a1b2c3d',
  account: ACCOUNT,
  reason: HOSTILE_REASON,
  declaredBy: 'arn:aws:sts::111122223333:assumed-role/rootwatch-prod-operator/ana',
  declaredAt: '2022-11-10T16:00:00.000Z',
  until: '2022-11-10T16:30:00.000Z',
};

/** Root's PutBucketVersioning calls of one console session (its temporary key), at the given times (UTC, that day). */
const calls = (keyId: string, times: string[]) =>
  times.map((time, i) => {
    const record = readSample('root-api-call-put-bucket-versioning.json');
    const identity = record.userIdentity as Record<string, unknown>;
    return recordToEvent({
      ...record,
      eventID: `${keyId}-${i}`,
      eventTime: `2022-11-10T${time}Z`,
      recipientAccountId: ACCOUNT,
      userIdentity: { ...identity, accessKeyId: keyId },
    });
  });

let aws: LocalAws;

beforeAll(async () => {
  aws = await startLocalAws('rootwatch-digest-expected');
});
afterAll(async () => {
  await aws?.stop();
});

describe.each([
  ['in memory (replay)', 'ASIAEXPECTEDMEMORY01', (): SessionState => createMemorySessions()],
  [
    'in DynamoDB (dynalite)',
    'ASIAEXPECTEDDYNAMO01',
    (): SessionState => createDynamoSessions(aws.dynamodb, aws.tableName),
  ],
])('a root session through a break-glass window, sessions %s', (_, keyId, sessionState) => {
  it('alerts its first event, and its digest says which of the others were inside the window', async () => {
    // Prepare: one call before the window, three inside it, two after it; the alert state and the sinks in memory.
    const sessions = sessionState();
    const state = createMemoryState();
    const alerts: Alert[] = [];
    const digests: Digest[] = [];
    const folds = new Set<string>();
    const flushFold = createFoldFlusher({
      sessions,
      state,
      sinks: [{ name: 'test', sendDigest: async (digest) => void digests.push(digest) }],
    });
    const pipeline = createAlertPipeline({
      detections,
      minSeverity: 'info',
      state,
      enrich: async () => ({ account: { name: 'prod-payments' } }),
      sinks: [{ name: 'test', send: async (alert) => void alerts.push(alert) }],
      sessions: {
        state: sessions,
        timer: { schedule: async (foldId) => void folds.add(foldId) },
        flush: flushFold,
      },
      expectedWindows: createMemoryExpectedWindows([WINDOW]),
      stateTimeoutMs: 120_000,
    });
    const events = calls(keyId, ['15:55:00', '16:05:00', '16:10:00', '16:29:59', '16:30:00', '16:40:00']);

    // Act
    const outcomes = [];
    for (const event of events) outcomes.push(await pipeline.process(event, 'test'));
    for (const foldId of folds) await flushFold(foldId, 'timer');

    // Assess: the first call alerts (high, not expected); the lowered ones inside and the later ones are folded.
    expect(outcomes.map((outcome) => outcome.status)).toStrictEqual([
      'delivered',
      'folded',
      'folded',
      'folded',
      'folded',
      'folded',
    ]);
    expect(alerts.map((alert) => [alert.eventID, alert.severity, alert.expected])).toStrictEqual([
      [`${keyId}-0`, 'high', undefined],
    ]);
    expect(digests).toHaveLength(1);
    const digest = DigestSchema.parse(digests[0]);
    expect(digest.count).toBe(5);
    expect(digest.severity).toBe('high');
    expect(digest.expected).toStrictEqual({
      count: 3,
      windows: [
        {
          windowId: 'w-0a1b2c3d',
          reason: HOSTILE_REASON,
          declaredBy: WINDOW.declaredBy,
          until: '2022-11-10T16:30:00.000Z',
          count: 3,
        },
      ],
    });

    // The renderers say it, the reason escaped as untrusted text.
    const slack = renderDigestSlack(digest, detections);
    expect(mrkdwnTexts(slack).find((text) => text.startsWith('*Expected*'))).toBe(
      '*Expected*\n• 3 of these events were inside expected window `w-0a1b2c3d` (reason `CHG-123 &lt;!channel&gt; *now* https://evil.example ⏎ Subject: fake`), declared by `arn:aws:sts::111122223333:assumed-role/rootwatch-prod-operator/ana`, until 16:30 UTC',
    );
    expectInert(slack);
    expect(renderDigestEmail(digest, detections).body).toContain(
      '- 3 of these events were inside expected window "w-0a1b2c3d" (reason "CHG-123 <!channel> *now* https://evil.example ⏎ Subject: fake"), declared by "arn:aws:sts::111122223333:assumed-role/rootwatch-prod-operator/ana", until 16:30 UTC',
    );
  }, 60_000);
});
