import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../functions/core/alert-document.js';
import { renderSlackMessage } from '../../functions/core/render/slack.js';
import {
  alertOf,
  CLOUDTRAIL_LINK,
  detections,
  EVENT_ID,
  HOSTILE,
  hostileAlert,
  hostileText,
  PLACES,
  signInAlert,
} from '../helpers/render-alerts.js';
import { readSample } from '../helpers/samples.js';
import { displayedStrings, expectInert, expectWithinSlackLimits, mrkdwnTexts } from '../helpers/slack-checks.js';

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
            {
              type: 'mrkdwn',
              text: '*From where*\nIP `203.0.113.11` · country `DE` · client `Firefox 62 on macOS`',
              verbatim: true,
            },
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
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: [
              '*What to do*',
              '1. Ask the owners of account `prod-payments (111122223333)` whether root work was planned around `2022-11-10 16:24 UTC`; an unplanned sign-in is an incident.',
              '2. Check `203.0.113.11`, `DE` and `Firefox 62 on macOS` against where your administrators work, and `no MFA`.',
              '3. List every event with `userIdentity.type = Root` in the 24 hours after `2022-11-10 16:24 UTC` (rootwatch replay over the trail, or CloudTrail Lake).',
              '4. If unexplained: reset the root password through the account e-mail, re-register MFA, delete any root access keys, and review IAM changes made in that window.',
            ].join('\n'),
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

  it.each([
    ['root-console-sign-in-failed-mfa.json', '*MFA*\n*FAILED* (password accepted, MFA challenge failed)'],
    ['root-console-sign-in-failure-wrong-password.json', '*MFA*\nnot reached (wrong password)'],
    ['root-console-sign-in-no-mfa.json', '*MFA*\n*NO*'],
  ])('says what happened to MFA on %s, not what MFAUsed would mean on a success', (fixture, mfa) => {
    // Prepare
    const alert = alertOf(readSample(fixture));
    // Act
    const [header, facts] = renderSlackMessage(alert, detections).blocks as unknown as [
      { text: { text: string } },
      { fields: { text: string }[] },
    ];
    // Assess
    expect(facts.fields.find((field) => field.text.startsWith('*MFA*'))?.text).toBe(mfa);
    expect(header.text.text).not.toContain('with MFA');
  });

  it('labels credentials derived from root and the task policy of a centralized root session', () => {
    // Prepare
    const federated = alertOf(readSample('federated-user-of-root-list-buckets.json'));
    const assumeRoot = alertOf(readSample('role-assume-root-delete-root-credentials.json'));
    // Act
    const whoOf = (alert: Alert) =>
      (renderSlackMessage(alert, detections).blocks[1] as { fields: { text: string }[] }).fields.find((field) =>
        field.text.startsWith('*Who*'),
      )?.text;
    // Assess
    expect(whoOf(federated)).toBe(
      '*Who*\n`FederatedUser` · `arn:aws:sts::111122223333:federated-user/ops` · credential: session issued by root',
    );
    expect(whoOf(assumeRoot)).toBe(
      '*Who*\n`AssumedRole` · `arn:aws:sts::111122223333:assumed-role/Admin/alice` · credential: session · task policy `IAMDeleteRootUserCredentials`',
    );
  });

  it('shows a hostile task policy as inert data', () => {
    // Prepare
    const record = structuredClone(readSample('role-assume-root-delete-root-credentials.json'));
    (record.requestParameters as { taskPolicyArn: { arn: string } }).taskPolicyArn.arn =
      'arn:aws:iam::aws:policy/root-task/<!channel> `x` *y*';
    // Act
    const message = renderSlackMessage(alertOf(record), detections);
    // Assess
    expectInert(message);
    expect(JSON.stringify(message)).toContain('task policy `&lt;!channel&gt; ˋxˋ *y*`');
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

  it('leaves the actions block out when no link is usable, and the runbook button out without a runbook link', () => {
    // Prepare
    const alert = { ...signInAlert(), links: { cloudtrail: 'ftp://x', runbook: '' } };
    // Act
    const message = renderSlackMessage(alert, detections);
    // Assess
    expect(message.blocks.map((block) => block.type)).toEqual(['header', 'section', 'section', 'section', 'context']);
    const { runbook: _, ...withoutRunbook } = signInAlert().links;
    const actions = renderSlackMessage({ ...signInAlert(), links: withoutRunbook }, detections).blocks.at(-1);
    expect(actions).toMatchObject({ type: 'actions', elements: [{ action_id: 'open-cloudtrail' }] });
    expect(JSON.stringify(actions)).not.toContain('open-runbook');
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
});

describe('renderSlackMessage on arbitrary input', () => {
  it('never lets a user agent or account name act as markup', () => {
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
        // Assess
        for (const text of displayedStrings(message)) {
          expect(text).not.toContain('<');
          expect(text).not.toContain('>');
        }
        expect(JSON.stringify(message)).not.toMatch(/@(channel|here|everyone)/i);
        expectWithinSlackLimits(message);
      }),
      { numRuns: 300 },
    );
  });
});
