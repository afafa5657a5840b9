/**
 * Digests that say which of their folded events were inside a break-glass window (rootwatch expect): the fold entry
 * carries its window within a bounded size, the digest document counts them by window, and Slack and the e-mail say
 * "N of these events were inside expected window w-… (reason …)", the reason escaped as untrusted text.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../functions/core/alert-document.js';
import { buildDigest, DIGEST_MAX_WINDOWS, DigestSchema } from '../../functions/core/digest-document.js';
import { renderDigestEmail, renderDigestSlack } from '../../functions/core/render/digest.js';
import { type EntryWindow, FOLD_MAX_EVENTS, MAX_ENTRY_BYTES, sessionEntryOf } from '../../functions/core/session.js';
import { REPO_ROOT } from '../helpers/corpus.js';
import { entryAt, foldOf } from '../helpers/digests.js';
import { alertOf, detections } from '../helpers/render-alerts.js';
import { readSample } from '../helpers/samples.js';
import { expectInert, expectWithinSlackLimits, mrkdwnTexts } from '../helpers/slack-checks.js';

const HOSTILE_REASON = 'CHG-123 <!channel> *now* `x` <https://evil.example|click>\nSubject: fake @here';
const DECLARER = 'arn:aws:sts::111122223333:assumed-role/rootwatch-prod-operator/ana';

/** The window of CHG-123, 2024-05-01 09:00 to 18:00 UTC (the digest helpers' day). */
const CHG_123: EntryWindow = {
  windowId: 'w-0a1b2c3d',
  reason: 'CHG-123 close the sandbox account',
  declaredBy: DECLARER,
  until: '2024-05-01T18:00:00.000Z',
};

/** A root API call's alert, marked expected in a window with `changes`. */
const expectedAlert = (changes: Partial<NonNullable<Alert['expected']>> = {}): Alert => ({
  ...alertOf(readSample('root-api-call-put-bucket-versioning.json')),
  expected: {
    windowId: CHG_123.windowId,
    reason: CHG_123.reason,
    declaredBy: DECLARER,
    declaredAt: '2024-05-01T09:00:00.000Z',
    until: CHG_123.until,
    severityFrom: 'high',
    ...changes,
  },
});

/** Bytes of an entry's JSON, its eventID's value left out: what MAX_ENTRY_BYTES bounds. */
const entryBytes = (entry: object): number => Buffer.byteLength(JSON.stringify({ ...entry, eventID: '' }));

describe('sessionEntryOf for an alert inside a window', () => {
  it("carries the window's id, reason, declarer and end", () => {
    // Act
    const entry = sessionEntryOf(expectedAlert());
    // Assess
    expect(entry.expected).toStrictEqual(CHG_123);
    expect(sessionEntryOf(alertOf(readSample('root-api-call-put-bucket-versioning.json'))).expected).toBeUndefined();
  });

  it('cuts a long reason and declarer, and hashes a window id not in its shape', () => {
    // Act
    const entry = sessionEntryOf(
      expectedAlert({ windowId: 'w-<!channel>', reason: 'é'.repeat(200), declaredBy: `arn:${'x'.repeat(500)}` }),
    );
    // Assess
    expect(entry.expected?.windowId).toMatch(/^~[0-9a-f]{16}$/);
    expect(Buffer.byteLength(entry.expected?.reason ?? '')).toBeLessThanOrEqual(120);
    expect(entry.expected?.reason).toMatch(/^é+…$/);
    expect(Buffer.byteLength(entry.expected?.declaredBy ?? '')).toBeLessThanOrEqual(128);
  });

  it('keeps the whole entry within its bytes when every other field is crafted to its cap, so 500 fit one item', () => {
    // Prepare: every field the record controls at its longest, and a window whose texts are long and need escaping.
    const huge = 'x'.repeat(100_000);
    const base = expectedAlert({
      reason: '"\\'.repeat(100),
      declaredBy: '\u0001'.repeat(200),
      until: '2024-05-01T18:00:00.000Z',
    });
    const crafted: Alert = { ...base, eventName: huge, eventTime: huge, detections: Array(50).fill(huge) };
    crafted.source = { ...base.source, ip: '1111:2222:3333:4444:5555:6666:255.255.255.255', client: huge };
    // Act
    const entry = sessionEntryOf(crafted);
    // Assess: the window id and end stay; the declarer gave way, the reason was cut to what was left.
    expect(entryBytes(entry)).toBeLessThanOrEqual(MAX_ENTRY_BYTES);
    expect(entry.expected).toMatchObject({ windowId: 'w-0a1b2c3d', until: '2024-05-01T18:00:00.000Z' });
    expect(entry.expected?.declaredBy).toBeUndefined();
    expect(entry.expected?.reason).toMatch(/^["\\]+…$/);
    // In the fold item: the entry's JSON with a UUID eventID, under that eventID, with DynamoDB's map overhead.
    const stored = Buffer.byteLength(JSON.stringify(entry)) + entry.eventID.length + 4;
    expect(FOLD_MAX_EVENTS * stored).toBeLessThan(400 * 1024 - 8 * 1024);
  });

  it("keeps a real event's window whole when its reason is within 120 bytes, and cuts a 200-character one", () => {
    // Prepare: a reason of 120 bytes, and one of 200 characters (the longest a window takes).
    const reason120 = `CHG-123 ${'r'.repeat(112)}`;
    const reason200 = `CHG-123 ${'r'.repeat(192)}`;
    // Act
    const whole = sessionEntryOf(expectedAlert({ reason: reason120 }));
    const cut = sessionEntryOf(expectedAlert({ reason: reason200 }));
    // Assess
    expect(whole.expected).toStrictEqual({ ...CHG_123, reason: reason120 });
    expect(cut.expected).toStrictEqual({ ...CHG_123, reason: `${reason200.slice(0, 117)}…` });
    expect(entryBytes(cut)).toBeLessThan(MAX_ENTRY_BYTES);
  });
});

describe('buildDigest with expected entries', () => {
  it('counts the events inside each window, most first, and leaves the others uncounted', () => {
    // Prepare: 6 events: 3 in CHG-123, 1 in CHG-456, 2 outside any window.
    const chg456: EntryWindow = { windowId: 'w-99999999', reason: 'CHG-456', until: '2024-05-01T12:00:00.000Z' };
    const entries = [
      entryAt(1),
      entryAt(2, { expected: CHG_123 }),
      entryAt(3, { expected: chg456 }),
      entryAt(4, { expected: { ...CHG_123, reason: 'CHG-123 clo…' } }),
      entryAt(5, { expected: CHG_123 }),
      entryAt(6),
    ];
    // Act
    const digest = buildDigest(foldOf(entries));
    // Assess: the longest reason of a window's entries wins (an entry short of room had it cut).
    expect(digest.count).toBe(6);
    expect(digest.expected).toStrictEqual({
      count: 4,
      windows: [
        { ...CHG_123, count: 3 },
        { ...chg456, count: 1 },
      ],
    });
    expect(DigestSchema.parse(digest)).toStrictEqual(digest);
  });

  it('has no expected field when no event was inside a window', () => {
    expect(Object.keys(buildDigest(foldOf([entryAt(1), entryAt(2)])))).not.toContain('expected');
  });

  it('lists the busiest windows and sums up the rest', () => {
    // Prepare: DIGEST_MAX_WINDOWS + 2 windows, window i holding i + 1 events.
    const windows = DIGEST_MAX_WINDOWS + 2;
    const entries = Array.from({ length: windows }, (_, w) =>
      Array.from({ length: w + 1 }, (_, i) =>
        entryAt(w * 100 + i, { expected: { ...CHG_123, windowId: `w-0000000${w}` } }),
      ),
    ).flat();
    // Act
    const { expected } = buildDigest(foldOf(entries));
    // Assess
    expect(expected?.windows.map((window) => [window.windowId, window.count])).toStrictEqual([
      ['w-00000006', 7],
      ['w-00000005', 6],
      ['w-00000004', 5],
      ['w-00000003', 4],
      ['w-00000002', 3],
    ]);
    expect(expected?.moreWindows).toStrictEqual({ windows: 2, count: 3 });
    expect(expected?.count).toBe(entries.length);
  });
});

describe('the digest JSON Schema', () => {
  const published = JSON.parse(readFileSync(join(REPO_ROOT, 'schema/digest.schema.json'), 'utf8')) as object;
  const validate = new Ajv2020({ strict: true, allErrors: true }).compile(published);

  it('accepts a digest with expected events, and one without (the field is optional within v1)', () => {
    const withWindows = buildDigest(foldOf([entryAt(1, { expected: CHG_123 }), entryAt(2)]));
    const without = buildDigest(foldOf([entryAt(1), entryAt(2)]));
    expect(validate(JSON.parse(JSON.stringify(withWindows)))).toBe(true);
    expect(validate(JSON.parse(JSON.stringify(without)))).toBe(true);
  });

  it('refuses an expected field without windows, or with a count that is no positive integer', () => {
    const digest = JSON.parse(JSON.stringify(buildDigest(foldOf([entryAt(1, { expected: CHG_123 })]))));
    expect(validate({ ...digest, expected: { count: 1, windows: [] } })).toBe(false);
    expect(validate({ ...digest, expected: { ...digest.expected, count: 0 } })).toBe(false);
    expect(DigestSchema.safeParse({ ...digest, expected: { count: 1, windows: [] } }).success).toBe(false);
  });
});

describe('rendering a digest with expected events', () => {
  /** 3 events, 2 inside a window declared with a hostile reason and declarer. */
  const hostileDigest = () =>
    buildDigest(
      foldOf([
        entryAt(1),
        entryAt(2, { expected: { ...CHG_123, reason: HOSTILE_REASON, declaredBy: '<@U123> *ana*' } }),
        entryAt(3, { expected: { ...CHG_123, reason: HOSTILE_REASON, declaredBy: '<@U123> *ana*' } }),
      ]),
    );

  it('says in Slack how many events were inside the window, the reason and declarer as inert code', () => {
    // Act
    const message = renderDigestSlack(hostileDigest(), detections);
    // Assess
    expect(mrkdwnTexts(message)).toContain(
      '*Expected*\n• 2 of these events were inside expected window `w-0a1b2c3d` (reason `CHG-123 &lt;!channel&gt; *now* ˋxˋ &lt;https://evil.example|click&gt; ⏎ Subject: fake @\u200Dhere`), declared by `&lt;@U123&gt; *ana*`, until 18:00 UTC',
    );
    expect(message.blocks).toHaveLength(8);
    expectInert(message);
    expectWithinSlackLimits(message);
  });

  it('says it in the e-mail on one line per window, values quoted, so the reason cannot start a line', () => {
    // Act
    const { body } = renderDigestEmail(hostileDigest(), detections);
    // Assess
    const lines = body.split('\n');
    const at = lines.indexOf('Expected:');
    expect(at).toBeGreaterThan(0);
    expect(lines[at + 1]).toBe(
      '- 2 of these events were inside expected window "w-0a1b2c3d" (reason "CHG-123 <!channel> *now* `x` <https://evil.example|click> ⏎ Subject: fake @here"), declared by "<@U123> *ana*", until 18:00 UTC',
    );
    expect(body).not.toMatch(/^Subject: fake/m);
  });

  it('says "was" for one event, sums up unlisted windows, and stays within Slack limits with long reasons', () => {
    // Prepare: one event in each of DIGEST_MAX_WINDOWS + 1 windows, each with a 120-byte reason.
    const entries = Array.from({ length: DIGEST_MAX_WINDOWS + 1 }, (_, w) =>
      entryAt(w, { expected: { ...CHG_123, windowId: `w-1000000${w}`, reason: `${'`<!here>'.repeat(15)}` } }),
    );
    const digest = buildDigest(foldOf(entries));
    // Act
    const message = renderDigestSlack(digest, detections);
    const { body } = renderDigestEmail(digest, detections);
    // Assess
    const text = mrkdwnTexts(message).find((each) => each.startsWith('*Expected*')) ?? '';
    expect(text).toContain('• 1 of these events was inside expected window `w-10000000`');
    expect(text.split('\n').at(-1)).toBe('+1 event in 1 more window');
    expect(body).toContain('- and 1 event in 1 more window\n');
    expectInert(message);
    expectWithinSlackLimits(message);
  });

  it('renders a digest without expected events as before: seven blocks, no Expected line', () => {
    const digest = buildDigest(foldOf([entryAt(1), entryAt(2)]));
    expect(renderDigestSlack(digest, detections).blocks).toHaveLength(7);
    expect(renderDigestEmail(digest, detections).body).not.toContain('Expected:');
  });
});
