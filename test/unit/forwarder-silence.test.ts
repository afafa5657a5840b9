import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { AlertSchema } from '../../functions/core/alert-document.js';
import {
  buildSilentForwardersAlert,
  type ForwarderSightings,
  type ForwarderStatus,
  formatDuration,
  forwarderKey,
  forwarderStatuses,
  parseForwarderKey,
  silentForwardersEventId,
  unrecordedForwarders,
} from '../../functions/core/forwarder-silence.js';
import { DRIFT_DETECTION, driftsOf, isDriftAlert } from '../../functions/core/guard/alert.js';
import { renderEmail } from '../../functions/core/render/email.js';
import { renderSlackMessage } from '../../functions/core/render/slack.js';
import { loadDetections } from '../../functions/io/detections.js';
import { REPO_ROOT } from '../helpers/corpus.js';

const detections = loadDetections();
const detection = detections.find((candidate) => candidate.id === DRIFT_DETECTION);
if (!detection) throw new Error(`the catalog has no ${DRIFT_DETECTION}`);
const validate = new Ajv2020({ strict: true, allErrors: true }).compile(
  JSON.parse(readFileSync(join(REPO_ROOT, 'schema/alert.schema.json'), 'utf8')) as object,
);

const MINUTE = 60_000;
const NOW = Date.parse('2026-03-01T12:00:00Z');
const PAYMENTS = '210987654321:eu-west-1';
const HUB_ACCOUNT = '111122223333';

const sightings = (
  lastSeen: Record<string, number>,
  expectedSince: Record<string, number> = {},
): ForwarderSightings => ({
  lastSeen,
  expectedSince,
});
const statusesAt = (value: ForwarderSightings, nowMs = NOW, expected: { account: string; region: string }[] = []) =>
  forwarderStatuses(value, { nowMs, heartbeatMinutes: 10, expected });

const OPTIONS = {
  stage: 'prod',
  accountId: HUB_ACCOUNT,
  region: 'us-east-1',
  partition: 'aws',
  accountNames: { '210987654321': 'prod-payments' },
  detection,
  runbookBaseUrl: 'https://runbooks.example/',
  heartbeatMinutes: 10,
  nowMs: NOW,
};

/** The statuses of these forwarders, each last heard from `minutesAgo`. */
const silentOf = (...entries: [string, number][]): ForwarderStatus[] =>
  statusesAt(
    sightings(Object.fromEntries(entries.map(([key, minutesAgo]) => [key, NOW - minutesAgo * MINUTE]))),
  ).filter((status) => status.silent);

describe('forwarder keys', () => {
  it('are ACCOUNT:REGION, and anything else is no forwarder', () => {
    expect(forwarderKey({ account: '210987654321', region: 'eu-west-1' })).toBe(PAYMENTS);
    expect(parseForwarderKey(PAYMENTS)).toStrictEqual({ account: '210987654321', region: 'eu-west-1' });
    expect(parseForwarderKey('us-gov-west-1')).toBeUndefined();
    expect(parseForwarderKey('21098765432:eu-west-1')).toBeUndefined();
    expect(parseForwarderKey('210987654321:eu-west-1:x')).toBeUndefined();
    expect(parseForwarderKey('210987654321:Eu-West-1')).toBeUndefined();
  });
});

describe('forwarderStatuses', () => {
  it.each([
    ['just under two periods', 20 * MINUTE - 1, false],
    ['exactly two periods', 20 * MINUTE, false],
    ['just over two periods', 20 * MINUTE + 1, true],
    ['a day', 1440 * MINUTE, true],
  ])('after %s without a heartbeat, silent is %s', (_, quietMs, silent) => {
    // Act
    const [status] = statusesAt(sightings({ [PAYMENTS]: NOW - quietMs }));

    // Assess
    expect(status).toStrictEqual({
      account: '210987654321',
      region: 'eu-west-1',
      key: PAYMENTS,
      lastSeenMs: NOW - quietMs,
      quietForMs: quietMs,
      silent,
    });
  });

  it('follows the heartbeat period: 25 minutes is silent at 10, not at 15', () => {
    // Prepare
    const value = sightings({ [PAYMENTS]: NOW - 25 * MINUTE });

    // Act
    const at10 = forwarderStatuses(value, { nowMs: NOW, heartbeatMinutes: 10 });
    const at15 = forwarderStatuses(value, { nowMs: NOW, heartbeatMinutes: 15 });

    // Assess
    expect([at10[0]?.silent, at15[0]?.silent]).toStrictEqual([true, false]);
  });

  it('counts a forwarder never heard from as silent two periods after it was first expected, not before', () => {
    // Prepare
    const key = `${HUB_ACCOUNT}:eu-central-1`;
    const expected = [{ account: HUB_ACCOUNT, region: 'eu-central-1' }];

    // Act
    const unrecorded = statusesAt(sightings({}), NOW, expected);
    const within = statusesAt(sightings({}, { [key]: NOW - 20 * MINUTE }), NOW, expected);
    const after = statusesAt(sightings({}, { [key]: NOW - 21 * MINUTE }), NOW, expected);

    // Assess
    expect(unrecorded).toStrictEqual([{ account: HUB_ACCOUNT, region: 'eu-central-1', key, silent: false }]);
    expect(within[0]).toMatchObject({ silent: false, expectedSinceMs: NOW - 20 * MINUTE });
    expect(after[0]).toMatchObject({ silent: true, quietForMs: 21 * MINUTE });
    expect(after[0]?.lastSeenMs).toBeUndefined();
  });

  it('keeps watching a forwarder once heard from or expected, until it is forgotten', () => {
    // Prepare: eu-central-1 is no longer among the expected regions, but was expected once.
    const value = sightings({ [PAYMENTS]: NOW - 30 * MINUTE }, { [`${HUB_ACCOUNT}:eu-central-1`]: NOW - 60 * MINUTE });

    // Act
    const statuses = statusesAt(value, NOW, []);

    // Assess
    expect(statuses.map((status) => [status.key, status.silent])).toStrictEqual([
      [`${HUB_ACCOUNT}:eu-central-1`, true],
      [PAYMENTS, true],
    ]);
  });

  it('prefers the last heartbeat over the time it was expected, sorts by account and region, skips foreign keys', () => {
    // Prepare
    const value = sightings(
      { [PAYMENTS]: NOW - 5 * MINUTE, '210987654321:ap-south-1': NOW - MINUTE, 'not-a-forwarder': NOW },
      { [PAYMENTS]: NOW - 600 * MINUTE },
    );

    // Act
    const statuses = statusesAt(value);

    // Assess
    expect(statuses.map((status) => status.key)).toStrictEqual(['210987654321:ap-south-1', PAYMENTS]);
    expect(statuses[1]).toMatchObject({ silent: false, quietForMs: 5 * MINUTE });
    expect(statuses[1]?.expectedSinceMs).toBeUndefined();
  });
});

describe('unrecordedForwarders', () => {
  it('names the expected forwarders with neither a heartbeat nor an expected time', () => {
    // Prepare
    const expected = ['eu-west-1', 'eu-central-1', 'ap-south-1'].map((region) => ({ account: HUB_ACCOUNT, region }));
    const value = sightings({ [`${HUB_ACCOUNT}:eu-west-1`]: NOW }, { [`${HUB_ACCOUNT}:eu-central-1`]: NOW });

    // Act
    const unrecorded = unrecordedForwarders(value, expected);

    // Assess
    expect(unrecorded).toStrictEqual([`${HUB_ACCOUNT}:ap-south-1`]);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '1 minute'],
    [61 * 1000, '1 minute'],
    [25 * MINUTE, '25 minutes'],
    [119 * MINUTE, '119 minutes'],
    [120 * MINUTE, '2 hours'],
    [47 * 60 * MINUTE, '47 hours'],
    [48 * 60 * MINUTE, '2 days'],
  ])('%i ms is "%s"', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('buildSilentForwardersAlert', () => {
  it('is an alert document the schema accepts, naming the account, its name and the region', () => {
    // Prepare
    const silent = silentOf([PAYMENTS, 25]);

    // Act
    const alert = buildSilentForwardersAlert(silent, OPTIONS);

    // Assess
    expect(AlertSchema.safeParse(alert).success).toBe(true);
    expect(validate(JSON.parse(JSON.stringify(alert))), JSON.stringify(validate.errors)).toBe(true);
    expect(alert).toMatchObject({
      schema: 'rootwatch.alert/v1',
      detections: ['alerter-tampering'],
      severity: 'high',
      title:
        'rootwatch prod: forwarder silent in eu-west-1 of prod-payments (210987654321), no heartbeat for 25 minutes',
      eventTime: '2026-03-01T12:00:00.000Z',
      eventSource: 'rootwatch.guard',
      region: 'eu-west-1',
      account: { id: '210987654321', name: 'prod-payments' },
      tags: detection.tags,
      links: {
        cloudtrail:
          'https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events?EventSource=events.amazonaws.com',
        runbook: 'https://runbooks.example/alerter-tampering.yml',
      },
    });
    expect(isDriftAlert(alert)).toBe(true);
    expect(driftsOf(alert)).toStrictEqual([
      {
        resource: 'forwarder',
        name: PAYMENTS,
        property: 'heartbeat',
        expected: 'a heartbeat every 10 minutes',
        actual: '2026-03-01T11:35:00.000Z',
        message:
          'forwarder in eu-west-1 of prod-payments (210987654321): no heartbeat for 25 minutes (last 2026-03-01T11:35:00.000Z)',
        severity: 'high',
        account: '210987654321',
        accountName: 'prod-payments',
        region: 'eu-west-1',
      },
    ]);
  });

  it("names a forwarder never heard from, and uses the hub's account and region when the silent ones differ", () => {
    // Prepare
    const never = statusesAt(sightings({}, { [`${HUB_ACCOUNT}:eu-central-1`]: NOW - 30 * MINUTE })).filter(
      (status) => status.silent,
    );
    const silent = [...never, ...silentOf([PAYMENTS, 40])];

    // Act
    const alert = buildSilentForwardersAlert(silent, OPTIONS);

    // Assess
    expect(alert.title).toBe(
      'rootwatch prod: forwarder silent in eu-central-1 of 111122223333, never heard from in 30 minutes (+1 more)',
    );
    expect(alert.account).toStrictEqual({ id: HUB_ACCOUNT });
    expect(alert.region).toBe('us-east-1');
    expect(driftsOf(alert).map((drift) => drift.message)).toStrictEqual([
      'forwarder in eu-central-1 of 111122223333: never heard from in the 30 minutes it has been expected',
      'forwarder in eu-west-1 of prod-payments (210987654321): no heartbeat for 40 minutes (last 2026-03-01T11:20:00.000Z)',
    ]);
  });

  it('lists at most 100 silent forwarders, and says how many there are', () => {
    // Prepare
    const silent = silentOf(
      ...Array.from({ length: 150 }, (_, index): [string, number] => [
        `${String(index).padStart(12, '0')}:eu-west-1`,
        30,
      ]),
    );

    // Act
    const alert = buildSilentForwardersAlert(silent, OPTIONS);

    // Assess
    expect(driftsOf(alert)).toHaveLength(100);
    expect(
      (alert.record as unknown as { serviceEventDetails: { silentForwarders: number } }).serviceEventDetails
        .silentForwarders,
    ).toBe(150);
    expect(alert.title).toContain('(+149 more)');
  });

  it('throws without a silent forwarder', () => {
    expect(() => buildSilentForwardersAlert([], OPTIONS)).toThrow(TypeError);
  });

  it('escapes an account name in Slack and e-mail as every value: no mention, no link, no formatting', () => {
    // Prepare
    const hostile = { '210987654321': '<!channel> *pay* <https://evil.example|click>\r\nSubject: x' };
    const alert = buildSilentForwardersAlert(silentOf([PAYMENTS, 25]), { ...OPTIONS, accountNames: hostile });

    // Act
    const message = renderSlackMessage(alert, detections);
    const slack = JSON.stringify(message);
    const email = renderEmail(alert, detections);

    // Assess: mrkdwn text neutralised, the header plain text, the facts inside code spans.
    expect(slack).not.toContain('<!channel>');
    expect(slack).not.toContain('<https://evil.example|click>');
    expect(message.text).toContain('∗pay∗');
    expect(message.text).not.toContain('*pay*');
    expect(slack).toContain(
      '"type":"plain_text","text":"🟠 HIGH · rootwatch prod: forwarder silent in eu-west-1 of ‹!channel›',
    );
    expect(slack).toContain(
      '"*Forwarder*\\n`forwarder in eu-west-1 of &lt;!channel&gt; *pay* &lt;https://evil.example|click&gt; ⏎ Subject: x (210987654321): no heartbeat for 25 minutes',
    );
    // E-mail is plain text: the subject stays one printable line, each value one quoted line.
    expect(email.subject).toMatch(/^\[HIGH\] alerter-tampering - [ -~]+ \(210987654321\)$/);
    const lines = email.body.split('\n');
    expect(lines.filter((line) => line.startsWith('Subject:'))).toStrictEqual([]);
    expect(lines).toContain('What: 1 silent forwarder');
    expect(lines.find((line) => line.startsWith('Forwarder: '))).toMatch(
      /^Forwarder: "forwarder in eu-west-1 of .*\(210987654321\): no heartbeat for 25 minutes \(last 2026-03-01T11:35:00\.000Z\)"$/,
    );
  });
});

describe('silentForwardersEventId', () => {
  it('stays the same for the same silent forwarders within an hour, and changes with the hour or the set', () => {
    // Prepare
    const one = silentOf([PAYMENTS, 25]);
    const two = silentOf([PAYMENTS, 25], ['210987654321:ap-south-1', 25]);

    // Act
    const first = silentForwardersEventId('prod', one, NOW);
    const sameHour = silentForwardersEventId('prod', one, NOW + 59 * MINUTE);
    const nextHour = silentForwardersEventId('prod', one, NOW + 60 * MINUTE);
    const another = silentForwardersEventId('prod', two, NOW);
    const reordered = silentForwardersEventId('prod', [...two].reverse(), NOW);

    // Assess
    expect(first).toMatch(/^rootwatch-forwarders-prod-[0-9a-f]{16}-\d+$/);
    expect(sameHour).toBe(first);
    expect(nextHour).not.toBe(first);
    expect(another).not.toBe(first);
    expect(reordered).toBe(another);
  });
});
