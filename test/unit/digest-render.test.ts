import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../functions/core/alert-document.js';
import { buildDigest, type Digest } from '../../functions/core/digest-document.js';
import { renderDigestEmail, renderDigestSlack, renderDigestSns } from '../../functions/core/render/digest.js';
import { renderEmail } from '../../functions/core/render/email.js';
import { renderSlackMessage, type SlackMessage } from '../../functions/core/render/slack.js';
import { isXmlChar } from '../../functions/core/render/text.js';
import type { SessionEntry } from '../../functions/core/session.js';
import { AlertTooLargeError } from '../../functions/errors.js';
import { entryAt, foldOf, SEED } from '../helpers/digests.js';
import { detections, HOSTILE, hostileText, PRINTABLE_ASCII_SUBJECT, signInAlert } from '../helpers/render-alerts.js';
import { displayedStrings, expectInert, expectWithinSlackLimits, mrkdwnTexts } from '../helpers/slack-checks.js';

const HISTORY =
  'https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events?AccessKeyId=ASIAIOSFODNN7EXAMPLE';

/** Two ListBuckets and a GetObject from aws-cli, and a CreateAccessKey (critical) from another address. */
const burstDigest = (): Digest =>
  buildDigest(
    foldOf([
      entryAt(1),
      entryAt(2, { eventName: 'GetObject' }),
      entryAt(3, {
        eventName: 'CreateAccessKey',
        severity: 'critical',
        detections: ['root-access-key-created', 'root-api-call'],
        sourceIp: '198.51.100.2',
        client: undefined,
      }),
    ]),
  );

/** A digest with `value` in one attacker-controlled place: an event name, a client, an address, the account name. */
const hostileDigest = (place: string, value: string): Digest => {
  const changes: Partial<SessionEntry> = {};
  if (place === 'eventName') changes.eventName = value;
  if (place === 'client') changes.client = value;
  if (place === 'sourceIp') changes.sourceIp = value;
  const seed = place === 'account name' ? { ...SEED, account: { id: '111122223333', name: value } } : SEED;
  return buildDigest(foldOf([entryAt(1, changes), entryAt(2)], { seed }));
};
const HOSTILE_PLACES = ['eventName', 'client', 'sourceIp', 'account name'];

const sectionText = (message: SlackMessage, index: number): string =>
  (message.blocks[index] as { text: { text: string } }).text.text;

describe('renderDigestSlack', () => {
  it('renders a digest: header, facts, counts by event name, detections, sources, id and event history', () => {
    // Act
    const message = renderDigestSlack(burstDigest(), detections);
    // Assess
    const digestID = burstDigest().digestID;
    expect(message).toStrictEqual({
      text: '🔁 CRITICAL: 3 more root events in prod-payments (111122223333) (10:00:01–10:00:03 UTC)',
      blocks: [
        {
          type: 'header',
          text: {
            type: 'plain_text',
            text: '🔁 CRITICAL · 3 more root events in prod-payments (111122223333) (10:00:01–10:00:03 UTC)',
          },
        },
        {
          type: 'section',
          fields: [
            { type: 'mrkdwn', text: '*Account*\n`prod-payments (111122223333)`', verbatim: true },
            {
              type: 'mrkdwn',
              text: '*Who*\n`Root` · `arn:aws:iam::111122223333:root` · credential: console',
              verbatim: true,
            },
            { type: 'mrkdwn', text: '*Events*\n3 in this digest', verbatim: true },
            { type: 'mrkdwn', text: '*Severity*\n*CRITICAL* (the highest in this digest)', verbatim: true },
            { type: 'mrkdwn', text: '*When*\n`2024-05-01T10:00:01Z` to `2024-05-01T10:00:03Z`', verbatim: true },
            { type: 'mrkdwn', text: '*Region*\n`us-east-1`', verbatim: true },
            { type: 'mrkdwn', text: '*Session*\n`111122223333#key#ASIAIOSFODNN7EXAMPLE`', verbatim: true },
          ],
        },
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: '*Events by name*\n• `CreateAccessKey` × 1\n• `GetObject` × 1\n• `ListBuckets` × 1',
            verbatim: true,
          },
        },
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: '*Detections*\n• *Root user API call* `root-api-call` × 3\n• *Root access key created* `root-access-key-created` × 1',
            verbatim: true,
          },
        },
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: '*Sources and clients*\n• IP `203.0.113.7` · client `aws-cli 2.27.0` × 2\n• IP `198.51.100.2` × 1',
            verbatim: true,
          },
        },
        {
          type: 'context',
          elements: [
            {
              type: 'mrkdwn',
              text: `Digest \`${digestID}\` · its 3 event IDs are in the digest document (JSON)`,
              verbatim: true,
            },
          ],
        },
        {
          type: 'actions',
          elements: [
            {
              type: 'button',
              text: { type: 'plain_text', text: 'Open event history' },
              url: HISTORY,
              action_id: 'open-cloudtrail',
            },
          ],
        },
      ],
    });
  });

  it('stays within Slack limits for 600 distinct event names, 60 detections and 25 hostile sources', () => {
    // Prepare: what escaping expands most, everywhere the events speak.
    const huge = '&<>`*_~@channel '.repeat(500);
    const entries = Array.from({ length: 600 }, (_, i) =>
      entryAt(i, {
        eventName: `${huge}${i}`,
        detections: [`made-up-detection-${i % 60}-${'x'.repeat(200)}`],
        sourceIp: `${huge}${i % 25}`,
        client: huge,
      }),
    );
    const digest = buildDigest(foldOf(entries, { seed: { ...SEED, account: { id: huge, name: huge } } }));
    // Act
    const message = renderDigestSlack(digest, detections);
    // Assess
    expectWithinSlackLimits(message);
    expectInert(message);
    expect(sectionText(message, 2)).toMatch(/\n\+590 more event names$/);
    expect(sectionText(message, 3)).toMatch(/\n…and \d+ more$/);
    expect(sectionText(message, 4)).toMatch(/\n\+\d+ more sources \(\d+ events\)$/);
    // Slack also refuses messages whose blocks add up to ~13,000 characters (msg_blocks_too_long,
    // https://github.com/slackapi/bolt-js/issues/2509): stay well below.
    expect(displayedStrings(message).join('').length).toBeLessThan(12_000);
  });

  it('counts every event name left out, whether cut for room or beyond the top ten', () => {
    // Prepare: 12 names, each 3,000 characters long: only some fit a section.
    const entries = Array.from({ length: 12 }, (_, i) =>
      entryAt(i, { eventName: `${String(i).padStart(2, '0')}${'n'.repeat(3000)}` }),
    );
    // Act
    const names = sectionText(renderDigestSlack(buildDigest(foldOf(entries)), detections), 2);
    // Assess
    const listed = names.split('\n').filter((line) => line.startsWith('• ')).length;
    expect(listed).toBeGreaterThan(0);
    expect(names).toMatch(new RegExp(`\\n\\+${12 - listed} more event names$`));
  });

  it('keeps the account id in a header cut to 150 characters, without splitting an emoji', () => {
    // Prepare
    const digest = buildDigest(
      foldOf([entryAt(1)], { seed: { ...SEED, account: { id: '111122223333', name: '👋'.repeat(200) } } }),
    );
    // Act
    const [header] = renderDigestSlack(digest, detections).blocks as unknown as [{ text: { text: string } }];
    // Assess
    expect(header.text.text.length).toBeLessThanOrEqual(150);
    expect(header.text.text).toMatch(/^🔁 HIGH · 1 more root event in (👋)+… \(111122223333\) \(10:00:01 UTC\)$/u);
  });

  it('leaves the actions block out when the link is no https URL', () => {
    // Prepare
    const digest = { ...burstDigest(), links: { cloudtrail: 'javascript:alert(1)' } };
    // Act / Assess
    expect(renderDigestSlack(digest, detections).blocks.map((block) => block.type)).not.toContain('actions');
  });
});

describe.each(HOSTILE_PLACES)('hostile %s in a digest', (place) => {
  it.each(HOSTILE)('renders %s as inert data in Slack and on its own line in the e-mail', (_, value, visible) => {
    // Prepare
    const digest = hostileDigest(place, value);
    // Act
    const message = renderDigestSlack(digest, detections);
    const { subject, body } = renderDigestEmail(digest, detections);
    // Assess: Slack
    expectInert(message);
    expectWithinSlackLimits(message);
    const shown = (visible.split(' ⏎ ')[0] ?? '').replace(/@channel/, '@\u200Dchannel');
    expect(mrkdwnTexts(message).some((text) => text.includes(shown))).toBe(true);
    // Assess: e-mail
    expect(subject).toMatch(PRINTABLE_ASCII_SUBJECT);
    const lines = body.split('\n');
    expect(lines.some((line) => /^(Subject|line2):/.test(line) || line.startsWith('line2'))).toBe(false);
    expect(body).not.toMatch(/[\u202a-\u202e\u2066-\u2069\r]/);
    for (const line of lines) expect(line.length).toBeLessThan(700);
    const probe = value === 'x'.repeat(100_000) ? 'xxxxxxxxxx' : value.replace('\u202E', '').split('\n')[0];
    expect(lines.slice(1).some((line) => line.includes(`"${probe}`))).toBe(true);
  });
});

describe('digest renderers on arbitrary input', () => {
  it('never let an event name, client or account name act as markup or break the e-mail subject', () => {
    fc.assert(
      fc.property(hostileText, hostileText, hostileText, (eventName, client, name) => {
        // Prepare
        const digest = buildDigest(
          foldOf([entryAt(1, { eventName, client }), entryAt(2)], {
            seed: { ...SEED, account: { id: '111122223333', name } },
          }),
        );
        // Act
        const message = renderDigestSlack(digest, detections);
        const { subject, body } = renderDigestEmail(digest, detections);
        // Assess
        for (const text of displayedStrings(message)) expect(text).not.toMatch(/[<>]/);
        expect(JSON.stringify(message)).not.toMatch(/@(channel|here|everyone)/i);
        expectWithinSlackLimits(message);
        expect(subject).toMatch(PRINTABLE_ASCII_SUBJECT);
        // One line per fact, event name and source, whatever the values held.
        const listed = (d: Digest) => Object.keys(d.eventNames).length + d.sources.length;
        const plainDigest = buildDigest(foldOf([entryAt(1), entryAt(2)]));
        const plain = renderDigestEmail(plainDigest, detections).body;
        expect(body.split('\n').length - listed(digest)).toBe(plain.split('\n').length - listed(plainDigest));
      }),
      { numRuns: 200 },
    );
  });
});

describe('renderDigestEmail', () => {
  it('writes the subject and the body as documented', () => {
    // Act
    const { subject, body } = renderDigestEmail(burstDigest(), detections);
    // Assess
    expect(subject).toBe('[CRITICAL] digest: 3 root events - prod-payments (111122223333)');
    expect(body).toBe(
      [
        '3 more root events in prod-payments (111122223333) (10:00:01–10:00:03 UTC)',
        '',
        'Account: "prod-payments (111122223333)"',
        'Who: "Root", "arn:aws:iam::111122223333:root", credential: console',
        'Events: 3 in this digest',
        'Severity: CRITICAL (the highest in this digest)',
        'When: "2024-05-01T10:00:01Z" to "2024-05-01T10:00:03Z"',
        'Region: "us-east-1"',
        'Session: "111122223333#key#ASIAIOSFODNN7EXAMPLE"',
        `Digest ID: "${burstDigest().digestID}"`,
        '',
        'Events by name (3):',
        '- "CreateAccessKey": 1',
        '- "GetObject": 1',
        '- "ListBuckets": 1',
        '',
        'Detections:',
        '- Root user API call (root-api-call): 3',
        '- Root access key created (root-access-key-created): 1',
        '',
        'Sources and clients:',
        '- IP "203.0.113.7", client "aws-cli 2.27.0": 2',
        '- IP "198.51.100.2": 1',
        '',
        'Links:',
        `CloudTrail event history: ${HISTORY}`,
        '',
        'The full digest document (JSON, with every eventID) goes to the JSON subscribers of this topic (email-json, SQS, HTTPS, Lambda).',
        '',
      ].join('\n'),
    );
  });

  it('lists the top 50 event names and the sources left out, with counts', () => {
    // Prepare: 60 names; 22 sources.
    const entries = Array.from({ length: 60 }, (_, i) =>
      entryAt(i, { eventName: `Call${String(i).padStart(2, '0')}`, sourceIp: `203.0.113.${i % 22}` }),
    );
    // Act
    const lines = renderDigestEmail(buildDigest(foldOf(entries)), detections).body.split('\n');
    // Assess
    expect(lines).toContain('Events by name (60):');
    expect(lines.filter((line) => /^- "Call\d\d": 1$/.test(line))).toHaveLength(50);
    expect(lines).toContain('- and 10 more event names');
    expect(lines).toContain('- and 2 more sources (4 events)');
  });
});

describe('renderDigestSns', () => {
  it('gives e-mail subscribers the e-mail, the others the document, with kind digest', () => {
    // Prepare
    const digest = burstDigest();
    // Act
    const sns = renderDigestSns(digest, detections);
    // Assess
    const email = renderDigestEmail(digest, detections);
    const bodies = JSON.parse(sns.Message) as Record<string, string>;
    expect(Object.keys(bodies)).toEqual(['default', 'email', 'email-json', 'sqs', 'https', 'lambda']);
    expect(bodies.email).toBe(email.body);
    for (const protocol of ['default', 'email-json', 'sqs', 'https', 'lambda']) {
      expect(JSON.parse(bodies[protocol] ?? '')).toStrictEqual(JSON.parse(JSON.stringify(digest)));
    }
    expect(sns.Subject).toBe(email.subject);
    expect(sns.MessageStructure).toBe('json');
    expect(sns.MessageAttributes).toStrictEqual({
      document: { DataType: 'String', StringValue: 'digest' },
      severity: { DataType: 'String', StringValue: 'critical' },
      detection: { DataType: 'String.Array', StringValue: '["root-api-call","root-access-key-created"]' },
      account: { DataType: 'String', StringValue: '111122223333' },
    });
  });

  it('writes every body as text SQS and SNS accept', () => {
    // Prepare
    const digest = hostileDigest('eventName', 'List\uffff\ufffe\ud800');
    const refused = (text: string) => [...text].filter((char) => !isXmlChar(char.codePointAt(0) ?? 0));
    // Act
    const sns = renderDigestSns(digest, detections);
    // Assess
    expect(refused(sns.Message)).toEqual([]);
    const bodies = JSON.parse(sns.Message) as Record<string, string>;
    for (const body of Object.values(bodies)) expect(refused(body)).toEqual([]);
    expect(JSON.parse(bodies.sqs ?? '').eventNames).toHaveProperty(['List\uffff\ufffe\ud800'], 1);
  });

  it('cuts long values but never an eventID when the message would pass the limit', () => {
    // Prepare: 150 distinct event names of 2,000 characters: too big whole (×5 protocols), and cut to 1,024.
    const entries = Array.from({ length: 150 }, (_, i) => entryAt(i, { eventName: `${i}${'n'.repeat(2000)}` }));
    const digest = buildDigest(foldOf(entries));
    // Act
    const sns = renderDigestSns(digest, detections);
    // Assess
    const document = JSON.parse(JSON.parse(sns.Message).sqs) as Digest;
    expect(document.truncated?.reason).toMatch(/^Values cut to 128 characters .*over the limit of 262144\.$/);
    expect(document.eventIDs).toStrictEqual(digest.eventIDs);
    expect(Object.keys(document.eventNames)).toHaveLength(150);
    for (const name of Object.keys(document.eventNames)) expect(name.length).toBeLessThanOrEqual(128);
    expect(document.count).toBe(150);
  });

  it('adds up the counts of event names that become equal when cut', () => {
    // Prepare: 300 names that differ only after their first 1,024 characters.
    const entries = Array.from({ length: 300 }, (_, i) => entryAt(i, { eventName: `${'n'.repeat(2000)}${i}` }));
    // Act
    const sns = renderDigestSns(buildDigest(foldOf(entries)), detections);
    // Assess
    const document = JSON.parse(JSON.parse(sns.Message).sqs) as Digest;
    expect(document.truncated?.reason).toMatch(/^Values cut to 1024 characters/);
    expect(Object.values(document.eventNames)).toStrictEqual([300]);
    expect(document.eventIDs).toHaveLength(300);
  });

  it('throws naming the digest when even cut values do not fit', () => {
    // Act / Assess
    expect(() => renderDigestSns(burstDigest(), detections, { maxBytes: 500 })).toThrow(AlertTooLargeError);
    expect(() => renderDigestSns(burstDigest(), detections, { maxBytes: 500 })).toThrow(burstDigest().digestID);
  });
});

describe('an alert of a correlated session', () => {
  const withSession = (session: Alert['session']): Alert => ({ ...signInAlert(), session });

  it('says in Slack and the e-mail why it escalates', () => {
    // Prepare
    const alert = withSession({ key: 'k', first: false, escalation: { reason: 'severity high → critical' } });
    // Act
    const context = renderSlackMessage(alert, detections).blocks.find((block) => block.type === 'context') as {
      elements: { text: string }[];
    };
    const { body } = renderEmail(alert, detections);
    // Assess
    expect(context.elements[1]).toStrictEqual({
      type: 'mrkdwn',
      text: '⏫ *Escalation:* severity high → critical',
      verbatim: true,
    });
    expect(body.split('\n')).toContain('Escalation: "severity high → critical"');
  });

  it("says that the session's further events follow in digests", () => {
    // Prepare
    const alert = withSession({ key: 'k', first: true });
    // Act
    const context = renderSlackMessage(alert, detections).blocks.find((block) => block.type === 'context') as {
      elements: { text: string }[];
    };
    const { body } = renderEmail(alert, detections);
    // Assess
    expect(context.elements[1]?.text).toBe('First alert of this session: its further events follow in digests');
    expect(body.split('\n')).toContain('Session: first alert of this session; its further events follow in digests');
  });

  it('renders an alert without a session as before, and a hostile reason as inert text', () => {
    // Prepare
    const hostile = withSession({ key: 'k', first: false, escalation: { reason: '<!channel> *x*\n`y`' } });
    // Act
    const plain = renderSlackMessage(signInAlert(), detections).blocks.find((block) => block.type === 'context') as {
      elements: unknown[];
    };
    const message = renderSlackMessage(hostile, detections);
    // Assess
    expect(plain.elements).toHaveLength(1);
    expectInert(message);
    expect(JSON.stringify(message)).toContain('&lt;!channel&gt; ∗x∗ ⏎ ˋyˋ');
  });
});
