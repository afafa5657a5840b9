import type { ExpectedWindow } from '../expected-window.js';
import { NEVER_PLANNED, shortUtc } from '../expected-window.js';
import type { ExpectedWindowNotice } from '../expected-window-notice.js';
import { emailLine, emailValue, subjectWithAccount } from './email.js';
import type { Fact, Segment } from './facts.js';
import {
  type Block,
  type BlockOf,
  SLACK_LIMITS,
  type SlackMessage,
  slackField,
  slackPlain,
  slackText,
} from './slack.js';
import { renderSnsDocument, type SnsMessage } from './sns.js';
import { fitValue } from './text.js';

/*
 * The announcement of a break-glass window (rootwatch.expected-window/v1) as people read it: a Slack message, an
 * e-mail, and the SNS publish input carrying both the e-mail and the document. The reason and the ARNs are untrusted
 * text (whoever holds the operator role typed them), escaped as values like any field of an event.
 */

/** "declared" or "ended early", for people. */
const WHAT: Readonly<Record<ExpectedWindowNotice['event'], string>> = {
  declared: 'declared',
  ended: 'ended early',
};

/** A time as "2026-10-02 10:30 UTC" (ours, digits only), or the stored text as a value when it is no time. */
const timeSegment = (time: string): Segment => (Number.isNaN(Date.parse(time)) ? { value: time } : shortUtc(time));

/** "Expected root use declared — 111122223333 until 2026-10-02 10:30 UTC": ours and digits only. */
const titleOf = (notice: ExpectedWindowNotice): string => {
  const { window } = notice;
  const until = Number.isNaN(Date.parse(window.until)) ? '' : ` until ${shortUtc(window.until)}`;
  const ended = notice.event === 'ended' && window.endedAt !== undefined ? ` at ${shortUtc(window.endedAt)}` : until;
  return `Expected root use ${WHAT[notice.event]} — ${fitValue(window.account, 20)}${ended}`;
};

/** What the window does to alerts, in our words (no value of the window in it). */
const effectLine = (window: ExpectedWindow): string =>
  `Alerts of this account inside the window are still delivered, marked expected and one severity step lower; ${NEVER_PLANNED.join(', ')} and root's MFA deactivated keep their severity. Not planned? Treat it as an incident: end the window (rootwatch expect --end ${window.id}) and ask who declared it.`;

/**
 * The notice's facts, for Slack and e-mail alike: the reason, the account, who declared it, when, the detections it
 * covers, the window's id, and who ended it.
 */
const noticeFacts = (notice: ExpectedWindowNotice): Fact[] => {
  const { window } = notice;
  return [
    { label: 'Reason', items: [[{ value: window.reason }]] },
    { label: 'Account', items: [[{ value: window.account }]] },
    { label: 'Declared by', items: [[{ value: window.declaredBy }]] },
    { label: 'Window', items: [['from ', timeSegment(window.declaredAt), ' until ', timeSegment(window.until)]] },
    {
      label: 'Detections',
      items:
        window.detections === undefined
          ? [['all (but the never-planned)']]
          : window.detections.map((id): Segment[] => [{ value: id }]),
    },
    { label: 'Window ID', items: [[{ value: window.id }]] },
    ...(notice.event === 'ended'
      ? [
          {
            label: 'Ended by',
            items: [
              [{ value: window.endedBy ?? 'unknown' }],
              ...(window.endedAt === undefined ? [] : [['at ', timeSegment(window.endedAt)]]),
            ],
          },
        ]
      : []),
  ];
};

/**
 * The Slack message announcing a window declared or ended: a header ("🗓 EXPECTED WINDOW · Expected root use declared —
 * 111122223333 until …"), the facts as fields (values as inline code: no mention, link or markup applies), and what
 * the window does to alerts.
 *
 * @example
 * import type { ExpectedWindow } from '../expected-window.js';
 * import { noticeOf } from '../expected-window-notice.js';
 *
 * declare const window: ExpectedWindow;
 * renderNoticeSlack(noticeOf('declared', window)).text; // "🗓 EXPECTED WINDOW: Expected root use declared — 111122223333 until 2026-10-02 10:30 UTC"
 */
const renderNoticeSlack = (notice: ExpectedWindowNotice): SlackMessage => {
  const lead = '🗓 EXPECTED WINDOW';
  const title = titleOf(notice);
  const header: BlockOf<'header'> = {
    type: 'header',
    text: { type: 'plain_text', text: `${lead} · ${slackPlain(title, SLACK_LIMITS.header - lead.length - 3)}` },
  };
  const facts: BlockOf<'section'> = {
    type: 'section',
    fields: noticeFacts(notice).slice(0, SLACK_LIMITS.fields).map(slackField),
  };
  const context: BlockOf<'context'> = {
    type: 'context',
    elements: [{ type: 'mrkdwn', text: slackText(effectLine(notice.window), 1000), verbatim: true }],
  };
  const blocks: Block[] = [header, facts, context];
  return { text: `${lead}: ${slackPlain(title, 300)}`, blocks };
};

/**
 * The e-mail announcing a window: subject "[EXPECTED WINDOW] declared - 111122223333", the facts one per line with
 * values quoted, and what the window does to alerts.
 *
 * @example
 * import type { ExpectedWindow } from '../expected-window.js';
 * import { noticeOf } from '../expected-window-notice.js';
 *
 * declare const window: ExpectedWindow;
 * renderNoticeEmail(noticeOf('ended', window)).subject; // "[EXPECTED WINDOW] ended early - 111122223333"
 */
const renderNoticeEmail = (notice: ExpectedWindowNotice): { subject: string; body: string } => {
  const body = [
    titleOf(notice),
    '',
    ...noticeFacts(notice).map(emailLine),
    '',
    effectLine(notice.window),
    '',
    `Window ${emailValue(notice.window.id)}: rootwatch expect --list shows every window.`,
    '',
  ].join('\n');
  return {
    subject: subjectWithAccount(`[EXPECTED WINDOW] ${WHAT[notice.event]} - `, { id: notice.window.account }),
    body,
  };
};

/**
 * The SNS publish input of a notice: the e-mail for `email` subscribers, the notice document for every other
 * protocol, and the attributes `document: expected-window`, `severity` and `account` (filter policies: a SIEM
 * subscription keeps them, a paging one may drop `document` values it does not know).
 *
 * @throws AlertTooLargeError when the notice would pass SNS's 256 KB (it cannot: its strings are bounded).
 * @example
 * import type { ExpectedWindow } from '../expected-window.js';
 * import { noticeOf } from '../expected-window-notice.js';
 *
 * declare const window: ExpectedWindow;
 * renderNoticeSns(noticeOf('declared', window)).MessageAttributes.document; // { DataType: 'String', StringValue: 'expected-window' }
 */
const renderNoticeSns = (notice: ExpectedWindowNotice): SnsMessage =>
  renderSnsDocument({
    document: notice,
    email: renderNoticeEmail(notice),
    attributes: {
      document: { DataType: 'String', StringValue: 'expected-window' },
      severity: { DataType: 'String', StringValue: notice.severity },
      account: { DataType: 'String', StringValue: fitValue(notice.window.account, 256) || 'unknown' },
    },
    id: notice.noticeID,
    fallbacks: [],
  });

export { renderNoticeEmail, renderNoticeSlack, renderNoticeSns };
