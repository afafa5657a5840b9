import type { IncomingWebhookSendArguments } from '@slack/webhook';
import type { Alert } from '../alert-document.js';
import type { Detection } from '../detection.js';
import type { Severity } from '../severity.js';
import { detectionById, type Fact, factsOf, isShownExpected, present, type Segment } from './facts.js';
import { runbookLines } from './runbook.js';
import { defangLinks, ELLIPSIS, fitValue, MAX_VALUE, neutraliseMentions } from './text.js';

/** `@slack/webhook` re-exports the block union of `@slack/types` through its send arguments only. */
type Block = NonNullable<IncomingWebhookSendArguments['blocks']>[number];
type BlockOf<T extends string> = Extract<Block, { type: T }>;

interface SlackMessage {
  /** Fallback for notifications and screen readers: one line, severity and title. */
  text: string;
  blocks: Block[];
}

/**
 * Slack's documented Block Kit limits: at most 50 blocks in a message; a header's plain_text at most 150
 * characters; a section's text at most 3,000, its fields at most 10 of at most 2,000 each; a button's text 75, its
 * URL 3,000.
 *   https://docs.slack.dev/reference/block-kit/blocks
 *   https://docs.slack.dev/reference/block-kit/blocks/header-block
 *   https://docs.slack.dev/reference/block-kit/blocks/section-block
 */
const SLACK_LIMITS = {
  blocks: 50,
  sectionText: 3000,
  field: 2000,
  fields: 10,
  header: 150,
  buttonText: 75,
  buttonUrl: 3000,
} as const;

const SEVERITY_EMOJI: Readonly<Record<Severity, string>> = {
  critical: '🔴',
  high: '🟠',
  medium: '🟡',
  low: '🔵',
  info: '⚪',
};

// ── Slack mrkdwn ─────────────────────────────────────────────────────────────────────────────────

/** Slack's three control characters; the back-tick becomes a look-alike so no value can close a code span. */
const escapeCodeChar = (char: string): string => {
  if (char === '&') return '&amp;';
  if (char === '<') return '&lt;';
  if (char === '>') return '&gt;';
  if (char === '`') return 'ˋ';
  return char;
};

/** Outside code spans, formatting characters become look-alikes too: `*bold*` and `~strike~` stay literal. */
const escapeTextChar = (char: string): string => {
  if (char === '*') return '∗';
  if (char === '~') return '∼';
  return escapeCodeChar(char);
};

/** Underscores italicise only at word edges; keep them inside names ("prod_payments") and replace the rest. */
const neutraliseUnderscores = (value: string): string => value.replace(/(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])/gu, 'ˍ');

/**
 * An untrusted value as inline code: no formatting, no mentions and no links apply inside it, and its
 * look is "this is data". Empty values never reach here. At most `max` characters, back-ticks included.
 *
 * @example
 * slackCode('<!channel> `x`'); // "`&lt;!channel&gt; ˋxˋ`"
 */
const slackCode = (value: string, max = MAX_VALUE): string =>
  `\`${fitValue(value, max - 2, { prepare: neutraliseMentions, escape: escapeCodeChar })}\``;

/**
 * Text outside code spans (catalog titles, the fallback line): escaped, formatting and links neutralised.
 *
 * @example
 * slackText('*bold* @channel', 100); // "∗bold∗ @\u200Dchannel"
 */
const slackText = (value: string, max: number): string =>
  fitValue(value, max, {
    prepare: (text) => defangLinks(neutraliseUnderscores(neutraliseMentions(text))),
    escape: escapeTextChar,
  });

/**
 * plain_text is never parsed as mrkdwn, but `<`, `>` and back-ticks become look-alikes anyway: the same
 * text also reaches notifications and clients that do their own parsing.
 */
const escapePlainChar = (char: string): string => {
  if (char === '<') return '‹';
  if (char === '>') return '›';
  if (char === '`') return 'ˋ';
  return char;
};

/**
 * Text for a plain_text object (a header): one line, at most `max` characters, no mention, no link, no markup look-alikes.
 *
 * @example
 * slackPlain('<b> https://x.example', 150); // "‹b› https:\u2060//x.\u2060example"
 */
const slackPlain = (value: string, max: number): string =>
  fitValue(value, max, { prepare: (text) => defangLinks(neutraliseMentions(text)), escape: escapePlainChar });

// ── Slack ──────────────────────────────────────────────────────────────────────────────────────────

/**
 * A fact's segment in mrkdwn: our words as escaped text (their spaces kept), a value or catalog code as inline code,
 * emphasis bold.
 *
 * @example
 * slackSegment({ value: '<!here>' }); // "`&lt;!here&gt;`"
 */
const slackSegment = (segment: Segment): string => {
  // Our own words between values (" on ", "IP "): their spaces are layout.
  if (typeof segment === 'string') return fitValue(segment, MAX_VALUE, { escape: escapeTextChar, keepSpaces: true });
  if ('value' in segment) return slackCode(segment.value);
  if ('code' in segment) return slackCode(segment.code);
  return `*${slackText(segment.strong, MAX_VALUE)}*`;
};

/**
 * "*Label*\nitem · item": at most 8 items of ≤ 300 characters each, well inside a field's 2,000. Should
 * a fact ever grow past that, whole items are dropped from the end: cutting the text could split a
 * code span or an entity.
 *
 * @example
 * slackField({ label: 'Region', items: [[{ value: 'us-east-1' }]] }); // { type: 'mrkdwn', text: '*Region*\n`us-east-1`', verbatim: true }
 */
const slackField = (fact: Fact) => {
  const items = fact.items.map((item) => item.map(slackSegment).join(''));
  const textOf = (count: number) =>
    `*${fact.label}*\n${[...items.slice(0, count), ...(count < items.length ? [ELLIPSIS] : [])].join(' · ')}`;
  let count = items.length;
  while (count > 1 && textOf(count).length > SLACK_LIMITS.field) count -= 1;
  // verbatim: Slack does no auto-linking or mention parsing of its own on top of our escaping.
  return { type: 'mrkdwn' as const, text: textOf(count), verbatim: true };
};

/** Room kept for the closing "…and N more" line: every `more` text is shorter. */
const MORE_LINE_RESERVE = 40;

/**
 * A heading and lines for one section text, within Slack's 3,000 characters: whole lines only (cutting one
 * could split a code span or an entity), then a line saying how many were left out — those that did not fit
 * plus `hidden`, the ones the caller never listed ("top 10, then +k more"). `more(n)` words that line (≤ 40
 * characters); by default "…and n more".
 *
 * @example
 * fitLines('*Events by name*', ['• `ListBuckets` × 3'], { hidden: 2, more: (n) => `+${n} more event names` });
 * // "*Events by name*\n• `ListBuckets` × 3\n+2 more event names"
 */
const fitLines = (
  heading: string,
  lines: readonly string[],
  options: { hidden?: number; more?: (count: number) => string } = {},
): string => {
  const hidden = options.hidden ?? 0;
  const more = options.more ?? ((count: number) => `…and ${count} more`);
  const kept: string[] = [];
  let length = heading.length;
  for (const [i, line] of lines.entries()) {
    const after = lines.length - i - 1 + hidden;
    const reserve = after > 0 ? MORE_LINE_RESERVE : 0;
    if (length + 1 + line.length + reserve > SLACK_LIMITS.sectionText) {
      kept.push(more(lines.length - i + hidden));
      return [heading, ...kept].join('\n');
    }
    kept.push(line);
    length += 1 + line.length;
  }
  if (hidden > 0) kept.push(more(hidden));
  return [heading, ...kept].join('\n');
};

/**
 * "• *Title* `id`" for a detection id, the catalog's title when it knows the id, plus `suffix` (our own mrkdwn).
 *
 * @example
 * import { loadDetections } from '../../io/detections.js';
 *
 * detectionLine(loadDetections(), 'root-api-call', ' × 3'); // "• *Root user API call* `root-api-call` × 3"
 * detectionLine(loadDetections(), 'retired-detection'); // "• `retired-detection`": not in the catalog
 */
const detectionLine = (detections: readonly Detection[], id: string, suffix = ''): string => {
  const title = detectionById(detections, id)?.title;
  return ['• ', title ? `*${slackText(title, 150)}* ` : '', slackCode(id, 120), suffix].join('');
};

/** The longest runbook line shown: its words and values, well inside a section's 3,000 characters. */
const MAX_RUNBOOK_LINE = 1200;

/**
 * "*What to do*" and the primary detection's runbook steps with the alert's values filled in (render/runbook.ts):
 * catalog words escaped as text, values and code as inline code. Undefined when the detection is not in the catalog.
 */
const runbookText = (alert: Alert, detections: readonly Detection[]): string | undefined => {
  const primary = alert.detections[0] === undefined ? undefined : detectionById(detections, alert.detections[0]);
  if (primary === undefined) return undefined;
  const lines = runbookLines(primary.runbook, alert).map((line) =>
    line
      .map((segment) =>
        typeof segment === 'string'
          ? fitValue(segment, MAX_RUNBOOK_LINE, { escape: escapeTextChar, keepSpaces: true })
          : slackSegment(segment),
      )
      .join(''),
  );
  return fitLines('*What to do*', lines);
};

const detectionsText = (alert: Alert, detections: readonly Detection[]): string => {
  const heading = alert.detections.length === 1 ? '*Detection*' : '*Detections*';
  const lines = alert.detections.map((id) => {
    const reason = alert.reasons?.[id];
    return detectionLine(detections, id, reason ? ` — ${slackText(reason, 200)}` : '');
  });
  return fitLines(heading, lines);
};

/** What the alert says of its session, for the context line: nothing without a session. */
const sessionText = (alert: Alert): string | undefined => {
  const { session } = alert;
  if (session === undefined) return undefined;
  if (session.escalation !== undefined) return `⏫ *Escalation:* ${slackText(session.escalation.reason, 300)}`;
  if (session.first) return 'First alert of this session: its further events follow in digests';
  return undefined;
};

/**
 * The link if it is an https URL within Slack's URL limit; undefined for anything else (javascript:, http:, garbage).
 *
 * @example
 * httpsUrl('javascript:alert(1)'); // undefined
 */
const httpsUrl = (url: string): string | undefined => {
  let href: string;
  try {
    href = new URL(url).href;
  } catch {
    return undefined;
  }
  return href.startsWith('https://') && href.length <= SLACK_LIMITS.buttonUrl ? href : undefined;
};

/**
 * A link button, or undefined when the URL is no usable https URL (httpsUrl).
 *
 * @example
 * linkButton('Open in CloudTrail', 'open-cloudtrail', 'javascript:x'); // undefined
 */
const linkButton = (text: string, actionId: string, url: string) => {
  const href = httpsUrl(url);
  return href === undefined
    ? undefined
    : { type: 'button' as const, text: { type: 'plain_text' as const, text }, url: href, action_id: actionId };
};

/**
 * The value as inline code, or "unknown" when it is empty.
 *
 * @example
 * orUnknown('', 100); // "unknown"
 */
const orUnknown = (value: string, max: number): string => (present(value) ? slackCode(value, max) : 'unknown');

const severityLine = (alert: Alert): string => `${SEVERITY_EMOJI[alert.severity]} ${alert.severity.toUpperCase()}`;

/** What the header and the notification line put before the title: "[EXPECTED] " when a window lowered the alert. */
const expectedMark = (alert: Alert): string => (isShownExpected(alert) ? '[EXPECTED] ' : '');

/**
 * The Slack message for an alert, readable on a phone: header with severity and title, the facts as
 * fields, the detections, the runbook's steps with the alert's values filled in, when/where/which event, and buttons to
 * CloudTrail and, when runbookBaseUrl is set, the runbook.
 *
 * @example
 * import { loadDetections } from '../../io/detections.js';
 * import { postSlackMessage } from '../../io/slack-webhook.js';
 * import type { Alert } from '../alert-document.js';
 *
 * declare const alert: Alert;
 * declare const webhookUrl: string;
 * await postSlackMessage(webhookUrl, renderSlackMessage(alert, loadDetections()));
 */
const renderSlackMessage = (alert: Alert, detections: readonly Detection[]): SlackMessage => {
  const severity = severityLine(alert);
  const mark = expectedMark(alert);
  const header: BlockOf<'header'> = {
    type: 'header',
    text: {
      type: 'plain_text',
      text: `${severity} · ${mark}${slackPlain(alert.title, SLACK_LIMITS.header - severity.length - mark.length - 3)}`,
    },
  };
  const facts: BlockOf<'section'> = {
    type: 'section',
    fields: factsOf(alert).slice(0, SLACK_LIMITS.fields).map(slackField),
  };
  const matched: BlockOf<'section'> = {
    type: 'section',
    text: { type: 'mrkdwn', text: detectionsText(alert, detections), verbatim: true },
  };
  const steps = runbookText(alert, detections);
  const session = sessionText(alert);
  const context: BlockOf<'context'> = {
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: [
          `When ${orUnknown(alert.eventTime, 100)}`,
          `Region ${orUnknown(alert.region, 100)}`,
          `Event ID ${orUnknown(alert.eventID, 200)}`,
        ].join(' · '),
        verbatim: true,
      },
      ...(session === undefined ? [] : [{ type: 'mrkdwn' as const, text: session, verbatim: true }]),
    ],
  };
  // action_ids must be unique within the message; fixed ids also let an app tell the buttons apart.
  const buttons = [
    linkButton('Open in CloudTrail', 'open-cloudtrail', alert.links.cloudtrail),
    alert.links.runbook === undefined ? undefined : linkButton('Runbook', 'open-runbook', alert.links.runbook),
  ].filter((button) => button !== undefined);
  const blocks: Block[] = [header, facts, matched];
  if (steps !== undefined) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: steps, verbatim: true } });
  blocks.push(context);
  if (buttons.length > 0) blocks.push({ type: 'actions', elements: buttons } satisfies BlockOf<'actions'>);
  return { text: `${severity}: ${mark}${slackText(alert.title, 300)}`, blocks };
};

export type { Block, BlockOf, SlackMessage };
export {
  detectionLine,
  fitLines,
  httpsUrl,
  linkButton,
  orUnknown,
  renderSlackMessage,
  SLACK_LIMITS,
  slackCode,
  slackField,
  slackPlain,
  slackSegment,
  slackText,
};
