import { describe, expect, it } from 'vitest';
import { createAlertPipeline } from '../../functions/app/alert-pipeline.js';
import { parseWindowDuration } from '../../functions/commands/expect.js';
import type { Alert } from '../../functions/core/alert-document.js';
import { classify } from '../../functions/core/classify.js';
import { recordToEvent } from '../../functions/core/event.js';
import {
  activeWindows,
  type ExpectedWindow,
  lowerSeverity,
  markExpected,
} from '../../functions/core/expected-window.js';
import { noticeOf } from '../../functions/core/expected-window-notice.js';
import { renderEmail } from '../../functions/core/render/email.js';
import { renderNoticeEmail, renderNoticeSlack, renderNoticeSns } from '../../functions/core/render/expected-window.js';
import { renderSlackMessage } from '../../functions/core/render/slack.js';
import { renderSnsMessage } from '../../functions/core/render/sns.js';
import { createMemoryExpectedWindows } from '../../functions/io/expected-windows.js';
import { createMemoryState } from '../../functions/io/memory-state.js';
import { alertOf, detections } from '../helpers/render-alerts.js';
import { readSample } from '../helpers/samples.js';
import { expectInert, expectWithinSlackLimits, mrkdwnTexts } from '../helpers/slack-checks.js';

const ACCOUNT = '111122223333';
const HOSTILE_REASON = 'CHG-123 <!channel> *now* `x` https://evil.example\nSubject: fake';

/** A window of ACCOUNT from 2022-11-10 16:00 to 18:00 UTC (the samples' day), all detections unless given. */
const windowOf = (overrides: Partial<ExpectedWindow> = {}): ExpectedWindow => ({
  id: 'w-0a1b2c3d',
  account: ACCOUNT,
  reason: 'CHG-123 close the sandbox account',
  declaredBy: 'arn:aws:sts::111122223333:assumed-role/rootwatch-prod-operator/ana',
  declaredAt: '2022-11-10T16:00:00.000Z',
  until: '2022-11-10T18:00:00.000Z',
  ...overrides,
});

/** A sample's alert and matches, its event moved to `eventTime`. */
const sampleAt = (file: string, eventTime: string, overrides: Record<string, unknown> = {}) => {
  const record = { ...readSample(file), eventTime, ...overrides };
  const event = recordToEvent(record);
  const matches = classify(event, detections);
  return { alert: alertOf(record), matches, timeMs: Date.parse(event.time) };
};

const AT = '2022-11-10T16:30:00Z';

describe('activeWindows', () => {
  it.each([
    ['at the declaration', '2022-11-10T16:00:00Z', true],
    ['a second before the declaration', '2022-11-10T15:59:59Z', false],
    ['a second before until', '2022-11-10T17:59:59Z', true],
    ['at until', '2022-11-10T18:00:00Z', false],
  ])('covers an event %s: %s', (_, time, covered) => {
    // Act
    const active = activeWindows([windowOf()], ACCOUNT, Date.parse(time));
    // Assess
    expect(active.length === 1).toBe(covered);
  });

  it('stops at endedAt when the window was ended early, and never covers another account', () => {
    // Prepare
    const ended = windowOf({ endedAt: '2022-11-10T16:20:00.000Z', endedBy: 'arn:aws:iam::111122223333:user/bo' });
    // Act, Assess
    expect(activeWindows([ended], ACCOUNT, Date.parse('2022-11-10T16:19:59Z'))).toHaveLength(1);
    expect(activeWindows([ended], ACCOUNT, Date.parse('2022-11-10T16:20:00Z'))).toHaveLength(0);
    expect(activeWindows([windowOf()], '444455556666', Date.parse(AT))).toHaveLength(0);
    expect(activeWindows([windowOf()], ACCOUNT, Number.NaN)).toHaveLength(0);
  });
});

describe('lowerSeverity', () => {
  it.each([
    ['critical', 'high'],
    ['high', 'medium'],
    ['medium', 'low'],
    ['low', 'info'],
    ['info', 'info'],
  ] as const)('lowers %s to %s', (from, to) => {
    expect(lowerSeverity(from)).toBe(to);
  });
});

describe('markExpected', () => {
  it('lowers a root API call inside a window one step, and says which window, by whom, until when', () => {
    // Prepare
    const { alert, matches } = sampleAt('root-api-call-put-bucket-versioning.json', AT);
    expect(alert.severity).toBe('high');
    // Act
    const marked = markExpected(alert, matches, [windowOf()]);
    // Assess
    expect(marked.severity).toBe('medium');
    expect(marked.expected).toStrictEqual({
      windowId: 'w-0a1b2c3d',
      reason: 'CHG-123 close the sandbox account',
      declaredBy: 'arn:aws:sts::111122223333:assumed-role/rootwatch-prod-operator/ana',
      declaredAt: '2022-11-10T16:00:00.000Z',
      until: '2022-11-10T18:00:00.000Z',
      severityFrom: 'high',
    });
    expect(marked.title).toBe(alert.title);
  });

  it('keeps the severity of a root access key created, saying the window does not cover it', () => {
    // Prepare
    const { alert, matches } = sampleAt('root-create-access-key.json', AT);
    expect(alert.severity).toBe('critical');
    // Act
    const marked = markExpected(alert, matches, [windowOf()]);
    // Assess
    expect(marked.severity).toBe('critical');
    expect(marked.expected?.severityFrom).toBeUndefined();
    expect(marked.expected?.notCovered).toContainEqual({
      detection: 'root-access-key-created',
      reason: 'never planned',
    });
  });

  it("keeps root's MFA deactivated critical, and lowers another user's", () => {
    // Prepare
    const root = sampleAt('root-deactivate-mfa-device.json', AT);
    const user = sampleAt('iam-user-deactivate-mfa-device.json', AT);
    // Act
    const rootMarked = markExpected(root.alert, root.matches, [windowOf()]);
    const userMarked = markExpected(user.alert, user.matches, [windowOf()]);
    // Assess
    expect(rootMarked.severity).toBe('critical');
    expect(rootMarked.expected?.notCovered).toContainEqual({
      detection: 'mfa-device-deactivated',
      reason: 'never planned',
    });
    expect(userMarked.severity).toBe(lowerSeverity(user.alert.severity));
  });

  it('applies a window naming detections only to those: another detection is unchanged, a mixed one kept', () => {
    // Prepare
    const signIn = windowOf({ detections: ['root-console-sign-in'] });
    const apiCall = sampleAt('root-api-call-put-bucket-versioning.json', AT);
    const keyCreated = sampleAt('root-create-access-key.json', AT);
    // Act
    const unchanged = markExpected(apiCall.alert, apiCall.matches, [signIn]);
    const named = markExpected(keyCreated.alert, keyCreated.matches, [windowOf({ detections: ['root-api-call'] })]);
    // Assess
    expect(unchanged).toStrictEqual(apiCall.alert);
    expect(named.severity).toBe('critical');
    expect(named.expected?.notCovered).toStrictEqual([
      { detection: 'root-access-key-created', reason: 'never planned' },
    ]);
  });

  it('picks the window that lowers the alert, among several', () => {
    // Prepare
    const { alert, matches } = sampleAt('root-api-call-put-bucket-versioning.json', AT);
    const other = windowOf({ id: 'w-11111111', detections: ['root-api-call', 'root-console-sign-in'] });
    const narrow = windowOf({ id: 'w-22222222', detections: ['root-console-sign-in', 'mfa-device-deactivated'] });
    // Act
    const marked = markExpected(alert, matches, [narrow, other]);
    // Assess
    expect(marked.expected?.windowId).toBe('w-11111111');
    expect(marked.severity).toBe('medium');
  });

  it('leaves the alert unchanged without a window', () => {
    const { alert, matches } = sampleAt('root-api-call-put-bucket-versioning.json', AT);
    expect(markExpected(alert, matches, [])).toBe(alert);
  });
});

describe('rendering an expected alert', () => {
  const hostile = (): Alert => {
    const { alert, matches } = sampleAt('root-api-call-put-bucket-versioning.json', AT);
    return markExpected(alert, matches, [windowOf({ reason: HOSTILE_REASON, declaredBy: '<@U123> *ana*' })]);
  };

  it('says EXPECTED in the Slack header, and shows the window with its hostile reason as inert code', () => {
    // Act
    const message = renderSlackMessage(hostile(), detections);
    // Assess
    const header = message.blocks[0] as { text: { text: string } };
    expect(header.text.text).toBe('🟡 MEDIUM · [EXPECTED] Root user API call: PutBucketVersioning — 111122223333');
    expect(message.text).toMatch(/^🟡 MEDIUM: \[EXPECTED\] /);
    const field = mrkdwnTexts(message).find((text) => text.startsWith('*Expected*'));
    expect(field).toBe(
      '*Expected*\n`CHG-123 &lt;!channel&gt; *now* ˋxˋ https://evil.example ⏎ Subject: fake` — declared by `&lt;@U123&gt; *ana*` until 18:00 UTC · severity lowered from high · window `w-0a1b2c3d`',
    );
    expectInert(message);
    expectWithinSlackLimits(message);
  });

  it('says EXPECTED in the e-mail subject, and quotes the reason on one line of the body', () => {
    // Act
    const email = renderEmail(hostile(), detections);
    // Assess
    expect(email.subject).toBe('[MEDIUM] [EXPECTED] root-api-call - 111122223333');
    expect(email.body).toContain(
      'Expected: "CHG-123 <!channel> *now* `x` https://evil.example ⏎ Subject: fake" — declared by "<@U123> *ana*" until 18:00 UTC, severity lowered from high, window "w-0a1b2c3d"',
    );
    expect(email.body).not.toMatch(/^Subject: fake/m);
  });

  it('marks the SNS message with the window id, for filter policies', () => {
    expect(renderSnsMessage(hostile(), detections).MessageAttributes.expected).toStrictEqual({
      DataType: 'String',
      StringValue: 'w-0a1b2c3d',
    });
  });

  it('shows a critical detection inside a window as kept, without EXPECTED in the subject', () => {
    // Prepare
    const { alert, matches } = sampleAt('root-create-access-key.json', AT);
    const marked = markExpected(alert, matches, [windowOf()]);
    // Act
    const email = renderEmail(marked, detections);
    const slack = renderSlackMessage(marked, detections);
    // Assess
    expect(email.subject).toMatch(/^\[CRITICAL\] root-access-key-created/);
    expect(email.body).toMatch(
      /severity kept: expected window does not cover "root-access-key-created \(never planned\)/,
    );
    expect(mrkdwnTexts(slack).join('\n')).toContain('*severity kept*: expected window does not cover');
  });
});

describe('the window notice', () => {
  const notice = noticeOf('declared', windowOf({ reason: HOSTILE_REASON, declaredBy: '<!here> ana' }));

  it('renders an inert Slack message naming the window', () => {
    // Act
    const message = renderNoticeSlack(notice);
    // Assess
    expect(message.text).toBe(
      '🗓 EXPECTED WINDOW: Expected root use declared — 111122223333 until 2022-11-10 18:00 UTC',
    );
    const texts = mrkdwnTexts(message).join('\n');
    expect(texts).toContain('*Reason*\n`CHG-123 &lt;!channel&gt;');
    expect(texts).toContain('*Declared by*\n`&lt;!here&gt; ana`');
    expect(texts).toContain('*Window ID*\n`w-0a1b2c3d`');
    expectInert(message);
    expectWithinSlackLimits(message);
  });

  it('renders the e-mail with values quoted on one line, and the SNS message with its own document attribute', () => {
    // Act
    const email = renderNoticeEmail(
      noticeOf('ended', windowOf({ endedAt: '2022-11-10T16:40:00.000Z', endedBy: 'bo' })),
    );
    const sns = renderNoticeSns(notice);
    // Assess
    expect(email.subject).toBe('[EXPECTED WINDOW] ended early - 111122223333');
    expect(email.body).toContain('Ended by: "bo", at 2022-11-10 16:40 UTC');
    expect(sns.MessageAttributes.document?.StringValue).toBe('expected-window');
    expect(JSON.parse(JSON.parse(sns.Message).default)).toStrictEqual(notice);
    expect(renderNoticeEmail(notice).body).toContain(
      'Reason: "CHG-123 <!channel> *now* `x` https://evil.example ⏎ Subject: fake"',
    );
  });
});

describe('parseWindowDuration', () => {
  it.each([
    ['90m', 90],
    ['2h', 120],
    ['1h30m', 90],
    ['1m', 1],
    ['24h', 1440],
  ])('reads %s as %i minutes', (text, minutes) => {
    expect(parseWindowDuration(text)).toBe(minutes * 60_000);
  });

  it.each(['', '0m', '24h1m', '1d', '90', 'h', '-1h', '1.5h'])('refuses %j', (text) => {
    expect(() => parseWindowDuration(text)).toThrow(/--for/);
  });
});

describe('the alert pipeline with windows in memory', () => {
  it('delivers an expected alert at its lower severity even below MIN_SEVERITY: expected is never dropped', async () => {
    // Prepare
    const sent: Alert[] = [];
    const pipeline = createAlertPipeline({
      detections,
      minSeverity: 'high',
      state: createMemoryState(),
      enrich: async () => ({}),
      sinks: [{ name: 'test', send: async (alert) => void sent.push(alert) }],
      expectedWindows: createMemoryExpectedWindows([windowOf()]),
      stateTimeoutMs: Number.POSITIVE_INFINITY,
    });
    const event = (id: string, eventTime: string) =>
      recordToEvent({ ...readSample('root-api-call-put-bucket-versioning.json'), eventID: id, eventTime });

    // Act
    const inside = await pipeline.process(event('00000000-0000-4000-8000-000000000001', AT), 'test');
    const after = await pipeline.process(event('00000000-0000-4000-8000-000000000002', '2022-11-10T18:00:00Z'), 'test');

    // Assess
    expect(inside).toMatchObject({ status: 'delivered', severity: 'medium', expected: 'w-0a1b2c3d' });
    expect(after).toMatchObject({ status: 'delivered', severity: 'high' });
    expect(sent.map((alert) => alert.expected?.windowId)).toStrictEqual(['w-0a1b2c3d', undefined]);
  });
});
