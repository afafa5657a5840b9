import type { IncomingWebhookSendArguments } from '@slack/webhook';
import type { Alert } from '../alert-document.js';
import type { Detection } from '../detection.js';
import type { Severity } from '../severity.js';
import { detectionById, type Fact, factsOf, present, type Segment } from './facts.js';
import { defangLinks, ELLIPSIS, fitValue, MAX_VALUE, neutraliseMentions } from './text.js';

/** `@slack/webhook` re-exports the block union of `@slack/types` through its send arguments only. */
type Block = NonNullable<IncomingWebhookSendArguments['blocks']>[number];
type BlockOf<T extends string> = Extract<Block, { type: T }>;

interface SlackMessage {
  /** Fallback for notifications and screen readers: one line, severity and title. */
  text: string;
  blocks: Block[];
}

// Slack's documented Block Kit limits (docs.slack.dev/reference/block-kit).
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
 * look is "this is data". Empty values never reach here.
 */
const slackCode = (value: string, max = MAX_VALUE): string =>
  `\`${fitValue(value, max - 2, { prepare: neutraliseMentions, escape: escapeCodeChar })}\``;

/** Text outside code spans (catalog titles, the fallback line): escaped, formatting and links neutralised. */
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

const slackPlain = (value: string, max: number): string =>
  fitValue(value, max, { prepare: (text) => defangLinks(neutraliseMentions(text)), escape: escapePlainChar });

// ── Slack ──────────────────────────────────────────────────────────────────────────────────────────

const slackSegment = (segment: Segment): string => {
  // Our own words between values (" on ", "IP "): their spaces are layout.
  if (typeof segment === 'string') return fitValue(segment, MAX_VALUE, { escape: escapeTextChar, keepSpaces: true });
  if ('value' in segment) return slackCode(segment.value);
  return `*${slackText(segment.strong, MAX_VALUE)}*`;
};

/**
 * "*Label*\nitem · item": at most 8 items of ≤ 300 characters each, well inside a field's 2,000. Should
 * a fact ever grow past that, whole items are dropped from the end: cutting the text could split a
 * code span or an entity.
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

const detectionsText = (alert: Alert, detections: readonly Detection[]): string => {
  const heading = alert.detections.length === 1 ? '*Detection*' : '*Detections*';
  const lines = alert.detections.map((id) => {
    const title = detectionById(detections, id)?.title;
    const reason = alert.reasons?.[id];
    return [
      '• ',
      title ? `*${slackText(title, 150)}* ` : '',
      slackCode(id, 120),
      reason ? ` — ${slackText(reason, 200)}` : '',
    ].join('');
  });
  // Whole lines only, and room for the "and N more" line: a section holds 3,000 characters.
  const kept: string[] = [];
  let length = heading.length;
  for (const [i, line] of lines.entries()) {
    const more = lines.length - i - 1;
    const reserve = more > 0 ? 40 : 0;
    if (length + 1 + line.length + reserve > SLACK_LIMITS.sectionText) {
      kept.push(`…and ${lines.length - i} more`);
      break;
    }
    kept.push(line);
    length += 1 + line.length;
  }
  return [heading, ...kept].join('\n');
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

const linkButton = (text: string, actionId: string, url: string) => {
  const href = httpsUrl(url);
  return href === undefined
    ? undefined
    : { type: 'button' as const, text: { type: 'plain_text' as const, text }, url: href, action_id: actionId };
};

const orUnknown = (value: string, max: number): string => (present(value) ? slackCode(value, max) : 'unknown');

const severityLine = (alert: Alert): string => `${SEVERITY_EMOJI[alert.severity]} ${alert.severity.toUpperCase()}`;

/**
 * The Slack message for an alert, readable on a phone: header with severity and title, the facts as
 * fields, the detections, when/where/which event, and buttons to CloudTrail and the runbook.
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
  const header: BlockOf<'header'> = {
    type: 'header',
    text: {
      type: 'plain_text',
      text: `${severity} · ${slackPlain(alert.title, SLACK_LIMITS.header - severity.length - 3)}`,
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
    ],
  };
  // action_ids must be unique within the message; fixed ids also let an app tell the buttons apart.
  const buttons = [
    linkButton('Open in CloudTrail', 'open-cloudtrail', alert.links.cloudtrail),
    linkButton('Runbook', 'open-runbook', alert.links.runbook),
  ].filter((button) => button !== undefined);
  const blocks: Block[] = [header, facts, matched, context];
  if (buttons.length > 0) blocks.push({ type: 'actions', elements: buttons } satisfies BlockOf<'actions'>);
  return { text: `${severity}: ${slackText(alert.title, 300)}`, blocks };
};

export type { SlackMessage };
export { httpsUrl, renderSlackMessage, SLACK_LIMITS };
