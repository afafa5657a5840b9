import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Alert, buildAlert, type Enrichment } from '../../functions/core/alert-document.js';
import { classify } from '../../functions/core/classify.js';
import { recordToEvent } from '../../functions/core/event.js';
import {
  renderEmail,
  renderSlackMessage,
  renderSnsMessage,
  SLACK_LIMITS,
  type SlackMessage,
  SNS_MAX_BYTES,
} from '../../functions/core/render.js';
import { AlerterError } from '../../functions/errors.js';
import { loadDetections } from '../../functions/io/detections.js';
import { readSample } from '../helpers/samples.js';

const detections = loadDetections();
const RUNBOOKS = 'https://runbooks.example/';
const EVENT_ID = 'deb1e1f9-c99b-4612-8e9f-21f93b5d79c0';
const CLOUDTRAIL_LINK = `https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events/${EVENT_ID}`;

const alertOf = (record: Record<string, unknown>, enrichment?: Enrichment): Alert => {
  const event = recordToEvent(record);
  return buildAlert(event, classify(event, detections), {
    runbookBaseUrl: RUNBOOKS,
    ...(enrichment ? { enrichment } : {}),
  });
};

/** The representative alert: root console sign-in without MFA, account name and country enriched. */
const signInAlert = (): Alert =>
  alertOf(readSample('root-console-sign-in-no-mfa.json'), {
    account: { name: 'prod-payments' },
    source: { country: 'DE' },
  });

/** Every string in the payload that Slack displays (not the button URLs, which Slack never parses as text). */
const displayedStrings = (value: unknown, key = ''): string[] => {
  if (typeof value === 'string') return key === 'url' ? [] : [value];
  if (Array.isArray(value)) return value.flatMap((item) => displayedStrings(item));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([k, item]) => displayedStrings(item, k));
  }
  return [];
};

const mrkdwnTexts = (message: SlackMessage): string[] => {
  const texts: string[] = [];
  for (const block of message.blocks) {
    const b = block as { text?: { type: string; text: string }; fields?: { text: string }[]; elements?: unknown[] };
    if (b.text?.type === 'mrkdwn') texts.push(b.text.text);
    for (const field of b.fields ?? []) texts.push(field.text);
    if (block.type === 'context') for (const element of b.elements as { text: string }[]) texts.push(element.text);
  }
  return texts;
};

/** Slack's Block Kit limits, counted in UTF-16 units (at least as many as Slack's characters). */
const expectWithinSlackLimits = (message: SlackMessage): void => {
  expect(message.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
  const actionIds: string[] = [];
  for (const block of message.blocks) {
    const b = block as {
      text?: { text: string };
      fields?: { text: string }[];
      elements?: { text: { text: string } | string; url?: string; action_id?: string }[];
    };
    if (block.type === 'header') expect(b.text?.text.length).toBeLessThanOrEqual(SLACK_LIMITS.header);
    if (block.type === 'section') {
      expect(b.text?.text.length ?? 0).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
      expect(b.fields?.length ?? 0).toBeLessThanOrEqual(SLACK_LIMITS.fields);
      for (const field of b.fields ?? []) expect(field.text.length).toBeLessThanOrEqual(SLACK_LIMITS.field);
    }
    if (block.type === 'context') {
      expect(b.elements?.length).toBeLessThanOrEqual(10);
      for (const element of b.elements ?? []) {
        expect((element as unknown as { text: string }).text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
      }
    }
    if (block.type === 'actions') {
      for (const button of b.elements ?? []) {
        expect((button.text as { text: string }).text.length).toBeLessThanOrEqual(SLACK_LIMITS.buttonText);
        expect(button.url?.length).toBeLessThanOrEqual(SLACK_LIMITS.buttonUrl);
        expect(button.url).toMatch(/^https:\/\//);
        actionIds.push(button.action_id ?? '');
      }
    }
  }
  expect(new Set(actionIds).size).toBe(actionIds.length);
};

/** C0 and C1 control characters other than the line feed our own "*Label*\n" uses. */
const controlCharactersIn = (text: string): number[] =>
  [...text]
    .map((char) => char.codePointAt(0) ?? 0)
    .filter((code) => code !== 0x0a && (code < 0x20 || (code >= 0x7f && code <= 0x9f)));

/** Nothing the input said can act as Slack markup, notify, add a line or open a code block. */
const expectInert = (message: SlackMessage): void => {
  const json = JSON.stringify(message);
  expect(json).not.toContain('<!');
  expect(json).not.toMatch(/@(channel|here|everyone)/i);
  expect(json).not.toContain('```');
  expect(json).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
  for (const text of displayedStrings(message)) {
    expect(text).not.toMatch(/[<>]/);
    expect(controlCharactersIn(text)).toEqual([]);
  }
  expect(message.text).not.toContain('\n');
  for (const text of mrkdwnTexts(message)) {
    // Back-ticks only as our delimiters: removing the code spans leaves none.
    expect(text.replace(/`[^`\n]*`/g, '')).not.toContain('`');
  }
  const [, facts] = message.blocks as [unknown, { fields: { text: string }[] }];
  for (const field of facts.fields) {
    // "*Label*\nvalue": one line for the label, one for the value, whatever the value held.
    expect(field.text.split('\n')).toHaveLength(2);
    expect(field.text).toMatch(/^\*[A-Za-z ]+\*\n/);
  }
};

const PRINTABLE_ASCII_SUBJECT = /^[!-~][ -~]{0,98}$/;

describe('renderSlackMessage', () => {
  it('renders the root console sign-in without MFA', () => {
    // Prepare
    const alert = signInAlert();
    // Act
    const message = renderSlackMessage(alert, detections);
    // Assess
    expect(message).toStrictEqual({
      text: '🔴 CRITICAL: Root console sign-in without MFA — prod-payments (111122223333)',
      blocks: [
        {
          type: 'header',
          text: {
            type: 'plain_text',
            text: '🔴 CRITICAL · Root console sign-in without MFA — prod-payments (111122223333)',
          },
        },
        {
          type: 'section',
          fields: [
            { type: 'mrkdwn', text: '*What*\n`ConsoleLogin` on `signin.amazonaws.com`', verbatim: true },
            { type: 'mrkdwn', text: '*Account*\n`prod-payments (111122223333)`', verbatim: true },
            {
              type: 'mrkdwn',
              text: '*Who*\n`Root` · `arn:aws:iam::111122223333:root` · credential: console',
              verbatim: true,
            },
            { type: 'mrkdwn', text: '*From where*\nIP `203.0.113.11` · country `DE`', verbatim: true },
            { type: 'mrkdwn', text: '*MFA*\n*NO*', verbatim: true },
            { type: 'mrkdwn', text: '*Outcome*\nsuccess', verbatim: true },
            {
              type: 'mrkdwn',
              text: '*User agent*\n`Mozilla/5.0 (Macintosh; Intel Mac OS X 10.12; rv:62.0) Gecko/20100101 Firefox/62.0`',
              verbatim: true,
            },
          ],
        },
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: '*Detection*\n• *Root console sign-in* `root-console-sign-in`',
            verbatim: true,
          },
        },
        {
          type: 'context',
          elements: [
            {
              type: 'mrkdwn',
              text: `When \`2022-11-10T16:24:34Z\` · Region \`us-east-1\` · Event ID \`${EVENT_ID}\``,
              verbatim: true,
            },
          ],
        },
        {
          type: 'actions',
          elements: [
            {
              type: 'button',
              text: { type: 'plain_text', text: 'Open in CloudTrail' },
              url: CLOUDTRAIL_LINK,
              action_id: 'open-cloudtrail',
            },
            {
              type: 'button',
              text: { type: 'plain_text', text: 'Runbook' },
              url: 'https://runbooks.example/root-console-sign-in.yml',
              action_id: 'open-runbook',
            },
          ],
        },
      ],
    });
  });

  it('lists every detection with its title and the reason its severity moved', () => {
    // Prepare
    const alert = alertOf(readSample('root-create-access-key.json'));
    const mfa = alertOf(readSample('root-console-sign-in-mfa-upper-case.json'));
    // Act
    const [, , listed] = renderSlackMessage(alert, detections).blocks;
    const [, , reasoned] = renderSlackMessage(mfa, detections).blocks;
    // Assess
    expect(listed).toStrictEqual({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: '*Detections*\n• *Root access key created* `root-access-key-created`\n• *Root user API call* `root-api-call`',
        verbatim: true,
      },
    });
    expect((reasoned as { text: { text: string } }).text.text).toBe(
      '*Detection*\n• *Root console sign-in* `root-console-sign-in` — signed in with MFA',
    );
  });

  it('shows a failure with its error code and message', () => {
    // Prepare
    const alert = alertOf(readSample('root-stop-logging-failed.json'));
    // Act
    const [, facts] = renderSlackMessage(alert, detections).blocks as [unknown, { fields: { text: string }[] }];
    // Assess
    const outcome = facts.fields.find((field) => field.text.startsWith('*Outcome*'));
    expect(outcome?.text).toMatch(/^\*Outcome\*\n\*failure\* · `[^`]+`/);
    expect(outcome?.text).toContain(`\`${alert.outcome.errorCode}\``);
  });

  it.each([
    ['http', 'http://runbooks.example/x.yml'],
    ['javascript', 'javascript:alert(1)'],
    ['not a URL', 'runbooks/x.yml'],
    ['too long', `https://runbooks.example/${'a'.repeat(3000)}`],
  ])('drops a runbook link that is not a usable https URL (%s)', (_, url) => {
    // Prepare
    const alert = { ...signInAlert(), links: { cloudtrail: CLOUDTRAIL_LINK, runbook: url } };
    // Act
    const actions = renderSlackMessage(alert, detections).blocks.at(-1);
    // Assess
    expect(actions).toStrictEqual({
      type: 'actions',
      elements: [
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Open in CloudTrail' },
          url: CLOUDTRAIL_LINK,
          action_id: 'open-cloudtrail',
        },
      ],
    });
  });

  it('leaves the actions block out when no link is usable', () => {
    // Prepare
    const alert = { ...signInAlert(), links: { cloudtrail: 'ftp://x', runbook: '' } };
    // Act
    const message = renderSlackMessage(alert, detections);
    // Assess
    expect(message.blocks.map((block) => block.type)).toEqual(['header', 'section', 'section', 'context']);
  });

  it('stays within Slack limits for a huge hostile alert', () => {
    // Prepare: every value 100,000 characters of what escaping expands most, 60 detections.
    const huge = '&<>`*_~@channel '.repeat(6250);
    const alert = signInAlert();
    const ids = Array.from({ length: 60 }, (_, i) => `made-up-detection-${i}-${'x'.repeat(200)}`);
    const hostile: Alert = {
      ...alert,
      title: huge,
      eventName: huge,
      eventSource: huge,
      eventTime: huge,
      region: huge,
      eventID: huge,
      detections: ids,
      reasons: Object.fromEntries(ids.map((id) => [id, huge])),
      account: { id: huge, name: huge },
      actor: { type: huge, arn: huge, credential: 'long-term key', mfa: false, invokedBy: huge },
      source: { ip: huge, country: huge, asn: 64496, org: huge, client: huge, userAgent: huge },
      outcome: { result: 'failure', errorCode: huge, errorMessage: huge },
      record: { ...alert.record, requestParameters: { policy: huge } },
    };
    // Act
    const message = renderSlackMessage(hostile, detections);
    // Assess
    expectWithinSlackLimits(message);
    expectInert(message);
    expect(JSON.stringify(message).length).toBeLessThan(20_000);
    const [, , listed] = message.blocks as [unknown, unknown, { text: { text: string } }];
    expect(listed.text.text).toMatch(/\n…and \d+ more$/);
  });

  it('keeps the header within 150 characters without splitting an emoji', () => {
    // Prepare
    const alert = { ...signInAlert(), title: '👋'.repeat(200) };
    // Act
    const [header] = renderSlackMessage(alert, detections).blocks as unknown as [{ text: { text: string } }];
    // Assess
    expect(header.text.text.length).toBeLessThanOrEqual(150);
    // The regex needs whole surrogate pairs: half an emoji would not match.
    expect(header.text.text).toMatch(/^🔴 CRITICAL · (👋)+…$/u);
  });
});

/** Hostile values, each with the text a reader should still see of it. */
const HOSTILE: [name: string, value: string, visible: string][] = [
  ['channel mention', '<!channel> wake up', '&lt;!channel&gt; wake up'],
  ['here mention', '<!here>', '&lt;!here&gt;'],
  ['bare @channel', '@channel look', 'channel look'],
  ['link', '<https://evil.example|click here>', '&lt;https://evil.example|click here&gt;'],
  ['user mention', '<@U123> hi', '&lt;@U123&gt; hi'],
  ['bold', '*bold*', '*bold*'],
  ['tick', '`tick`', 'ˋtickˋ'],
  ['code block', '```\nrm -rf /\n```', 'ˋˋˋ ⏎ rm -rf / ⏎ ˋˋˋ'],
  ['quote', '> quote', '&gt; quote'],
  ['new lines', 'line1\nline2\r\nSubject: fake', 'line1 ⏎ line2 ⏎ Subject: fake'],
  ['huge', 'x'.repeat(100_000), 'xxxxxxxxxx'],
  ['non-Latin', 'Привет 你好 👋', 'Привет 你好 👋'],
  ['bidi override', '\u202Eevil', 'evil'],
];

/** A root API call with `value` in one attacker-controlled place. */
const hostileAlert = (place: string, value: string): Alert => {
  const record = structuredClone(readSample('root-api-call-put-bucket-versioning.json'));
  const identity = record.userIdentity as Record<string, unknown>;
  let enrichment: Enrichment | undefined;
  if (place === 'userAgent') record.userAgent = value;
  if (place === 'requestParameters') record.requestParameters = { bucketName: value };
  if (place === 'errorMessage') Object.assign(record, { errorCode: 'AccessDenied', errorMessage: value });
  if (place === 'userName') {
    delete identity.arn;
    identity.userName = value;
  }
  if (place === 'eventName') record.eventName = value;
  if (place === 'account name') enrichment = { account: { name: value } };
  return alertOf(record, enrichment);
};

/** The e-mail line each place's value must appear on. */
const EMAIL_LABEL: Record<string, string> = {
  userAgent: 'User agent: "',
  requestParameters: 'Request: "',
  errorMessage: 'Outcome: failure, "AccessDenied", "',
  userName: 'Who: "Root", "',
  eventName: 'What: "',
  'account name': 'Account: "',
};
const PLACES = Object.keys(EMAIL_LABEL);

describe.each(PLACES)('hostile %s', (place) => {
  it.each(HOSTILE)('renders %s as inert data in Slack', (_, value, visible) => {
    // Prepare
    const alert = hostileAlert(place, value);
    // Act
    const message = renderSlackMessage(alert, detections);
    // Assess
    expectInert(message);
    expectWithinSlackLimits(message);
    // Still readable: the value shows, escaped, inside a code span (a copy of it may be cut at 300).
    // (Request parameters are JSON first, so a line break shows there as "\n": compare the first line.)
    const shown = (visible.split(' ⏎ ')[0] ?? '').replace(/@channel/, '@\u200Dchannel');
    expect(mrkdwnTexts(message).some((text) => text.includes(shown))).toBe(true);
  });

  it.each(HOSTILE)('keeps %s on its own labelled e-mail line', (_, value) => {
    // Prepare
    const alert = hostileAlert(place, value);
    // Act
    const { subject, body } = renderEmail(alert, detections);
    // Assess
    expect(subject).toMatch(PRINTABLE_ASCII_SUBJECT);
    const lines = body.split('\n');
    const probe = value === 'x'.repeat(100_000) ? 'xxxxxxxxxx' : value.replace('\u202E', '').split('\n')[0];
    const carriers = lines.slice(1).filter((line) => line.includes(probe ?? ''));
    expect(carriers.length).toBeGreaterThan(0);
    for (const line of carriers) expect(line.startsWith(EMAIL_LABEL[place] ?? '')).toBe(true);
    expect(lines.some((line) => /^(Subject|line2):/.test(line) || line.startsWith('line2'))).toBe(false);
    expect(body).not.toMatch(/[\u202a-\u202e\u2066-\u2069\r]/);
    for (const line of lines) expect(line.length).toBeLessThan(700);
  });
});

describe('renderSlackMessage and renderEmail on arbitrary input', () => {
  const hostileText = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 400 }),
    fc
      .array(
        fc.oneof(
          fc.constantFrom(...HOSTILE.map(([, value]) => value.slice(0, 50)), '<', '>', '&', '@', '\u2028', '\r'),
          fc.string({ unit: 'grapheme', maxLength: 10 }),
        ),
        { maxLength: 20 },
      )
      .map((parts) => parts.join('')),
  );

  it('never lets a user agent or account name act as markup, and keeps the subject printable ASCII', () => {
    const base = signInAlert();
    fc.assert(
      fc.property(hostileText, hostileText, (userAgent, accountName) => {
        // Prepare
        const alert: Alert = {
          ...base,
          title: `Root console sign-in without MFA — ${accountName} (111122223333)`,
          account: { id: '111122223333', name: accountName },
          source: { ...base.source, userAgent },
        };
        // Act
        const message = renderSlackMessage(alert, detections);
        const { subject } = renderEmail(alert, detections);
        // Assess
        for (const text of displayedStrings(message)) {
          expect(text).not.toContain('<');
          expect(text).not.toContain('>');
        }
        expect(JSON.stringify(message)).not.toMatch(/@(channel|here|everyone)/i);
        expectWithinSlackLimits(message);
        expect(subject).toMatch(PRINTABLE_ASCII_SUBJECT);
      }),
      { numRuns: 300 },
    );
  });
});

describe('renderEmail', () => {
  it('renders the root console sign-in without MFA', () => {
    // Prepare
    const alert = signInAlert();
    // Act
    const email = renderEmail(alert, detections);
    // Assess
    expect(email.subject).toBe('[CRITICAL] root-console-sign-in - prod-payments (111122223333)');
    expect(email.body).toBe(
      [
        'Root console sign-in without MFA — prod-payments (111122223333)',
        '',
        'Severity: CRITICAL',
        'What: "ConsoleLogin" on "signin.amazonaws.com"',
        'Account: "prod-payments (111122223333)"',
        'Who: "Root", "arn:aws:iam::111122223333:root", credential: console',
        'From where: IP "203.0.113.11", country "DE"',
        'MFA: NO',
        'Outcome: success',
        'User agent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.12; rv:62.0) Gecko/20100101 Firefox/62.0"',
        'When: "2022-11-10T16:24:34Z"',
        'Region: "us-east-1"',
        `Event ID: "${EVENT_ID}"`,
        '',
        'Detection:',
        '- Root console sign-in (root-console-sign-in)',
        '  Someone signed in to the AWS Management Console as the account root user. Root needs no permissions and cannot be limited by IAM; it should be used only for the few tasks that require it. Without MFA, a stolen password alone was enough.',
        '',
        'What to do:',
        '1. Ask the owners of account `account.id` whether root work was planned around `eventTime`; an unplanned sign-in is an incident.',
        '2. Check `source.ip`, `source.country` and `source.client` against where your administrators work, and `actor.mfa`.',
        '3. List every event with `userIdentity.type = Root` in the 24 hours after `eventTime` (rootwatch replay over the trail, or CloudTrail Lake).',
        '4. If unexplained: reset the root password through the account e-mail, re-register MFA, delete any root access keys, and review IAM changes made in that window.',
        '',
        'Links:',
        `CloudTrail: ${CLOUDTRAIL_LINK}`,
        'Runbook: https://runbooks.example/root-console-sign-in.yml',
        '',
        'The full alert document (JSON, with the CloudTrail record) goes to the JSON subscribers of this topic (email-json, SQS, HTTPS, Lambda).',
        'IP data: NRO, RouteViews and DB-IP.com (https://db-ip.com), CC BY 4.0, packaged by ip-location-db.',
        '',
      ].join('\n'),
    );
  });

  it('counts the other detections in the subject and names the primary one', () => {
    // Prepare
    const alert = alertOf(readSample('root-create-access-key.json'));
    // Act
    const { subject, body } = renderEmail(alert, detections);
    // Assess
    expect(subject).toBe('[CRITICAL] root-access-key-created +1 - 111122223333');
    expect(body).toContain('\nDetections:\n- Root access key created (root-access-key-created)\n');
    expect(body).toContain('\n- Root user API call (root-api-call)\n');
  });

  it.each([
    ['a long account name', 'a'.repeat(300), /^\[CRITICAL\] root-console-sign-in - a+\.\.\. \(111122223333\)$/],
    ['accents', 'Café Zürich', /^\[CRITICAL\] root-console-sign-in - Cafe Zurich \(111122223333\)$/],
    ['Cyrillic and emoji', 'Привет 👋 prod', /^\[CRITICAL\] root-console-sign-in - \? \? prod \(111122223333\)$/],
    [
      'line breaks and tabs',
      'prod\r\n\tSubject: x',
      /^\[CRITICAL\] root-console-sign-in - prod Subject: x \(111122223333\)$/,
    ],
  ])('keeps the subject printable ASCII within 99 characters (%s)', (_, name, expected) => {
    // Prepare
    const alert = { ...signInAlert(), account: { id: '111122223333', name } };
    // Act
    const { subject } = renderEmail(alert, detections);
    // Assess
    expect(subject).toMatch(expected);
    expect(subject).toMatch(PRINTABLE_ASCII_SUBJECT);
  });

  it('quotes values so a quote inside cannot end them early', () => {
    // Prepare
    const alert = hostileAlert('userAgent', 'curl" Outcome: "success');
    // Act
    const { body } = renderEmail(alert, detections);
    // Assess
    expect(body).toContain('\nUser agent: "curl\\" Outcome: \\"success"\n');
  });
});

describe('renderSnsMessage', () => {
  it('gives each protocol its body and sets the filter attributes', () => {
    // Prepare
    const alert = signInAlert();
    // Act
    const sns = renderSnsMessage(alert, detections);
    // Assess
    const email = renderEmail(alert, detections);
    const bodies = JSON.parse(sns.Message) as Record<string, string>;
    expect(Object.keys(bodies)).toEqual(['default', 'email', 'email-json', 'sqs', 'https', 'lambda']);
    expect(bodies.email).toBe(email.body);
    for (const protocol of ['default', 'email-json', 'sqs', 'https', 'lambda']) {
      expect(JSON.parse(bodies[protocol] ?? '')).toStrictEqual(JSON.parse(JSON.stringify(alert)));
    }
    expect(sns.Subject).toBe(email.subject);
    expect(sns.MessageStructure).toBe('json');
    expect(sns.MessageAttributes).toStrictEqual({
      severity: { DataType: 'String', StringValue: 'critical' },
      detection: { DataType: 'String.Array', StringValue: '["root-console-sign-in"]' },
      account: { DataType: 'String', StringValue: '111122223333' },
    });
  });

  it('lists every detection in the detection attribute', () => {
    // Prepare
    const alert = alertOf(readSample('root-create-access-key.json'));
    // Act
    const { MessageAttributes } = renderSnsMessage(alert, detections);
    // Assess
    expect(JSON.parse(MessageAttributes.detection?.StringValue ?? '')).toEqual([
      'root-access-key-created',
      'root-api-call',
    ]);
  });

  it('keeps hostile values out of the attributes and inside valid JSON', () => {
    // Prepare
    const alert = hostileAlert('userAgent', '<!channel>\n"},"default":"x');
    alert.account = { id: '1111\n2222\u202E', name: 'Привет' };
    // Act
    const sns = renderSnsMessage(alert, detections);
    // Assess
    const bodies = JSON.parse(sns.Message) as Record<string, string>;
    expect(Object.keys(bodies)).toEqual(['default', 'email', 'email-json', 'sqs', 'https', 'lambda']);
    expect(JSON.parse(bodies.sqs ?? '')).toStrictEqual(JSON.parse(JSON.stringify(alert)));
    expect(sns.MessageAttributes.account).toStrictEqual({ DataType: 'String', StringValue: '1111 ⏎ 2222' });
    expect(sns.Subject).toMatch(PRINTABLE_ASCII_SUBJECT);
  });

  const bytesOf = (sns: ReturnType<typeof renderSnsMessage>): number =>
    Buffer.byteLength(sns.Message) +
    Buffer.byteLength(sns.Subject) +
    Object.entries(sns.MessageAttributes).reduce(
      (sum, [name, a]) => sum + Buffer.byteLength(name + a.DataType + a.StringValue),
      0,
    );
  const copiesOf = (sns: ReturnType<typeof renderSnsMessage>) => {
    const bodies = JSON.parse(sns.Message) as Record<string, string>;
    return ['default', 'email-json', 'sqs', 'https', 'lambda'].map(
      (protocol) => JSON.parse(bodies[protocol] ?? '') as Record<string, unknown>,
    );
  };

  it('replaces the record with a marker when the copies would pass 256 KB', () => {
    // Prepare: a 100 KB policy document, repeated for five protocols.
    const alert = signInAlert();
    alert.record = { ...alert.record, requestParameters: { policyDocument: 'p'.repeat(100_000) } };
    // Act
    const sns = renderSnsMessage(alert, detections);
    // Assess
    expect(bytesOf(sns)).toBeLessThan(SNS_MAX_BYTES);
    for (const copy of copiesOf(sns)) {
      const { record, ...rest } = copy;
      expect(record).toStrictEqual({
        truncated: true,
        eventID: EVENT_ID,
        reason: expect.stringMatching(/^Record left out: /),
      });
      const { record: _, ...expected } = JSON.parse(JSON.stringify(alert)) as Record<string, unknown>;
      expect(rest).toStrictEqual(expected);
    }
  });

  it('also cuts long values when leaving out the record is not enough', () => {
    // Prepare: a user agent the size of the limit itself (only crafted replay input has one).
    const alert = signInAlert();
    alert.source.userAgent = 'u'.repeat(SNS_MAX_BYTES);
    // Act
    const sns = renderSnsMessage(alert, detections);
    // Assess
    expect(bytesOf(sns)).toBeLessThan(SNS_MAX_BYTES);
    for (const copy of copiesOf(sns)) {
      expect((copy.source as { userAgent: string }).userAgent).toBe(`${'u'.repeat(1023)}…`);
      expect((copy.record as { reason: string }).reason).toMatch(/^Record left out, values cut to 1024 characters: /);
    }
  });

  it('cuts harder, then throws, as the limit shrinks', () => {
    // Prepare
    const alert = signInAlert();
    alert.source.userAgent = 'u'.repeat(5000);
    alert.source.client = 'c'.repeat(5000);
    alert.actor.arn = 'a'.repeat(5000);
    // Act
    const sns = renderSnsMessage(alert, detections, { maxBytes: 20_000 });
    // Assess
    expect(bytesOf(sns)).toBeLessThan(20_000);
    for (const copy of copiesOf(sns)) {
      expect((copy.source as { userAgent: string }).userAgent).toBe(`${'u'.repeat(127)}…`);
      expect((copy.record as { reason: string }).reason).toMatch(/^Record left out, values cut to 128 characters: /);
    }
    expect(() => renderSnsMessage(alert, detections, { maxBytes: 5000 })).toThrow(AlerterError);
  });
});
