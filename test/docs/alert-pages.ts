/**
 * Self-contained HTML pages for the README's pictures (test/docs/screenshots.ts): a Slack message's Block Kit payload
 * drawn the way Slack's desktop client draws it, and an e-mail as the plain text it is. Pure: a payload in, a page out.
 *
 * Everything in a payload is text to this page. Slack mrkdwn is read as Slack reads it
 * (https://docs.slack.dev/messaging/formatting-message-text): `&amp;`, `&lt;`, `&gt;` are the only entities, a raw
 * `<…>` is a link or a mention, `*bold*`, `_italic_`, `~strike~`, `` `code` `` and ``` ```pre``` ``` format; then
 * every character is escaped for HTML, links are kept only with an https, http or mailto URL, and the page's Content
 * Security Policy allows no script, no request and no form, so no payload can run or load anything.
 */
import type { Block, BlockOf, SlackMessage } from '../../functions/core/render/slack.js';

/** An e-mail as SNS sends it: a subject line and a plain-text body. */
interface EmailText {
  readonly subject: string;
  readonly body: string;
}

/** What the page shows around the message: the app's name and the time beside it ("16:24"). */
interface SlackPageOptions {
  readonly appName?: string;
  readonly time?: string;
}

// ── HTML ───────────────────────────────────────────────────────────────────────────────────────

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Text as HTML text or attribute value: the five markup characters escaped.
 *
 * @example
 * escapeHtml('<script>"x"</script>'); // '&lt;script&gt;&quot;x&quot;&lt;/script&gt;'
 */
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);

/** Slack's three entities back to their characters (the payload's text is escaped for Slack). */
const decodeSlackEntities = (text: string): string =>
  text.replace(/&(amp|lt|gt);/g, (_, name: string) => (name === 'amp' ? '&' : name === 'lt' ? '<' : '>'));

/** The URL if it is https, http or mailto and parses; undefined otherwise (`javascript:`, garbage). */
const safeUrl = (url: string): string | undefined => {
  try {
    const parsed = new URL(url);
    return ['https:', 'http:', 'mailto:'].includes(parsed.protocol) ? parsed.href : undefined;
  } catch {
    return undefined;
  }
};

// ── Slack mrkdwn ───────────────────────────────────────────────────────────────────────────────

/**
 * Emphasis in text already escaped for HTML: `*bold*`, `_italic_`, `~strike~`, each opening after a line start, a
 * space or an opening bracket and closing before a space, punctuation or the end, as Slack does. The markers are
 * not HTML characters, so escaped text stays escaped.
 */
const emphasise = (html: string): string =>
  html
    .replace(/(^|[\s(])\*([^*\n]+?)\*(?=$|[\s).,:;!?'])/gm, '$1<strong>$2</strong>')
    .replace(/(^|[\s(])_([^_\n]+?)_(?=$|[\s).,:;!?'])/gm, '$1<em>$2</em>')
    .replace(/(^|[\s(])~([^~\n]+?)~(?=$|[\s).,:;!?'])/gm, '$1<s>$2</s>');

/** Text outside code: decoded, escaped, emphasised; line breaks kept. */
const textHtml = (text: string): string => emphasise(escapeHtml(decodeSlackEntities(text))).replaceAll('\n', '<br>');

/** A raw `<…>` of mrkdwn: a mention, a channel, a link (with or without a label), or literal text. */
const angleHtml = (inner: string): string => {
  const special = /^!(here|channel|everyone)(\|.*)?$/.exec(inner);
  if (special) return `<span class="mention">@${escapeHtml(special[1] ?? '')}</span>`;
  const user = /^[@#]([A-Z0-9]+)(?:\|(.*))?$/.exec(inner);
  if (user) {
    const sigil = inner[0] ?? '@';
    return `<span class="mention">${escapeHtml(sigil + decodeSlackEntities(user[2] ?? user[1] ?? ''))}</span>`;
  }
  const bar = inner.indexOf('|');
  const target = decodeSlackEntities(bar === -1 ? inner : inner.slice(0, bar));
  const href = safeUrl(target);
  if (href === undefined) return escapeHtml(`<${decodeSlackEntities(inner)}>`);
  const label = bar === -1 ? target : decodeSlackEntities(inner.slice(bar + 1));
  return `<a href="${escapeHtml(href)}" rel="noopener noreferrer">${escapeHtml(label)}</a>`;
};

/** Text between code spans: its `<…>` tokens, and the text around them. */
const inlineHtml = (text: string): string =>
  text
    .split(/(<[^<>\n]*>)/)
    .map((part, i) => (i % 2 === 1 ? angleHtml(part.slice(1, -1)) : textHtml(part)))
    .join('');

/**
 * Slack mrkdwn as HTML: ``` blocks as pre, `code` as code (nothing formats inside either), a line beginning with a
 * raw `>` as a quote, the rest as inlineHtml. A back-tick with no partner is text.
 *
 * @example
 * mrkdwnToHtml('*MFA*\n`&lt;!here&gt;`'); // '<strong>MFA</strong><br><code>&lt;!here&gt;</code>'
 */
const mrkdwnToHtml = (mrkdwn: string): string =>
  mrkdwn
    .split(/(```[\s\S]*?```|`[^`\n]+`)/)
    .map((part, i) => {
      if (i % 2 === 0) {
        return (
          part
            .split('\n')
            // A part after a code span starts mid-line: its first line is no line start.
            .map((line, j) =>
              line.startsWith('>') && (i === 0 || j > 0)
                ? `<blockquote>${inlineHtml(line.slice(1))}</blockquote>`
                : inlineHtml(line),
            )
            .join('<br>')
            .replaceAll('</blockquote><br>', '</blockquote>')
        );
      }
      if (part.startsWith('```')) return `<pre>${escapeHtml(decodeSlackEntities(part.slice(3, -3)))}</pre>`;
      return `<code>${escapeHtml(decodeSlackEntities(part.slice(1, -1)))}</code>`;
    })
    .join('');

// ── Blocks ─────────────────────────────────────────────────────────────────────────────────────

/** A composition text object: plain_text as text, mrkdwn through mrkdwnToHtml. */
const textObjectHtml = (text: unknown): string => {
  if (typeof text !== 'object' || text === null) return '';
  const { type, text: value } = text as { type?: unknown; text?: unknown };
  if (typeof value !== 'string') return '';
  return type === 'mrkdwn' ? mrkdwnToHtml(value) : escapeHtml(value);
};

/** A button: a link when its URL is safe (safeUrl), else an inert box. */
const buttonHtml = (element: unknown): string => {
  const { text, url, style } = (element ?? {}) as { text?: unknown; url?: unknown; style?: unknown };
  const href = typeof url === 'string' ? safeUrl(url) : undefined;
  const kind = style === 'primary' || style === 'danger' ? ` ${style}` : '';
  const label = textObjectHtml(text);
  return href === undefined
    ? `<span class="button${kind}">${label}</span>`
    : `<a class="button${kind}" href="${escapeHtml(href)}" rel="noopener noreferrer">${label}</a>`;
};

/**
 * One Block Kit block as HTML; a block type this page does not draw is named, as text. The block union includes
 * Slack's open `Block` (any `type`), so each case reads the fields it draws as the known block of that type.
 */
const blockHtml = (block: Block): string => {
  switch (block.type) {
    case 'header':
      return `<div class="header">${textObjectHtml((block as BlockOf<'header'>).text)}</div>`;
    case 'section': {
      const section = block as BlockOf<'section'>;
      const text = section.text === undefined ? '' : `<div class="text">${textObjectHtml(section.text)}</div>`;
      const fields = (section.fields ?? []).map((field) => `<div>${textObjectHtml(field)}</div>`).join('');
      return `<div class="section">${text}${fields === '' ? '' : `<div class="fields">${fields}</div>`}</div>`;
    }
    case 'context': {
      const elements = (block as BlockOf<'context'>).elements;
      return `<div class="context">${elements.map((element) => `<span>${textObjectHtml(element)}</span>`).join('')}</div>`;
    }
    case 'actions':
      return `<div class="actions">${(block as BlockOf<'actions'>).elements.map(buttonHtml).join('')}</div>`;
    case 'divider':
      return '<hr>';
    default:
      return `<div class="unsupported">[${escapeHtml(String(block.type))} block]</div>`;
  }
};

// ── Pages ──────────────────────────────────────────────────────────────────────────────────────

/** No script, no request, no form, no frame: the page can only show its own markup and inline style. */
const CSP =
  "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

const page = (title: string, style: string, body: string): string =>
  [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">`,
    `<title>${escapeHtml(title)}</title>`,
    `<style>${style}</style>`,
    '</head>',
    `<body>${body}</body>`,
    '</html>',
    '',
  ].join('\n');

/** Slack's light theme, approximately: Lato where installed, the message 1000 px wide with its avatar. */
const SLACK_STYLE = `
body { margin: 0; background: #fff; color: #1d1c1d; font: 15px/1.47 Lato, "Helvetica Neue", Arial, "Liberation Sans", sans-serif; }
main { display: flex; gap: 8px; width: 968px; padding: 16px; }
.avatar { flex: none; width: 36px; height: 36px; border-radius: 6px; background: #b42318; color: #fff; font-weight: 900; font-size: 14px; display: flex; align-items: center; justify-content: center; }
.message { flex: 1; min-width: 0; }
.meta { display: flex; align-items: baseline; gap: 6px; }
.name { font-weight: 900; }
.app { font-size: 10px; font-weight: 700; color: #616061; background: #e8e8e8; border-radius: 2px; padding: 0 3px; }
.time { font-size: 12px; color: #616061; }
.header { font-size: 18px; font-weight: 900; line-height: 1.33; margin: 4px 0 8px; }
.section { margin: 4px 0 8px; overflow-wrap: anywhere; }
.fields { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 16px; }
.text + .fields { margin-top: 8px; }
.context { font-size: 13px; color: #616061; display: flex; flex-wrap: wrap; gap: 4px 12px; margin: 4px 0 8px; overflow-wrap: anywhere; }
.actions { display: flex; gap: 8px; margin: 8px 0 4px; }
.button { display: inline-block; border: 1px solid #bbb; border-radius: 4px; padding: 3px 12px; font-size: 13px; font-weight: 700; color: #1d1c1d; text-decoration: none; }
.button.primary { background: #007a5a; border-color: #007a5a; color: #fff; }
.button.danger { color: #e01e5a; }
code { font: 12px/1.5 Monaco, Menlo, Consolas, "DejaVu Sans Mono", monospace; color: #c01343; background: #f6f6f6; border: 1px solid #e2e2e2; border-radius: 3px; padding: 1px 3px; }
pre { font: 12px/1.5 Monaco, Menlo, Consolas, "DejaVu Sans Mono", monospace; background: #f8f8f8; border: 1px solid #e2e2e2; border-radius: 4px; padding: 8px; white-space: pre-wrap; margin: 4px 0; }
blockquote { margin: 0; padding-left: 12px; border-left: 4px solid #ddd; }
a { color: #1264a3; text-decoration: none; }
.mention { color: #1264a3; background: #e8f5fa; border-radius: 3px; padding: 0 2px; }
.unsupported { color: #616061; font-style: italic; }
hr { border: 0; border-top: 1px solid #ddd; }
`;

/**
 * A Slack message (its Block Kit payload, as posted to the webhook) as a page that looks like it does in Slack: the
 * app's avatar, name and time, then each block (header, sections with their fields in two columns, context, buttons,
 * dividers). Only the blocks are drawn; the top-level `text` is the notification's and Slack does not show it beside
 * blocks. The whole message fits in a `main` element 1000 px wide, which is what a screenshot crops to.
 *
 * @example
 * slackPage({ text: 'x', blocks: [{ type: 'header', text: { type: 'plain_text', text: '<b>' } }] }).includes('&lt;b&gt;'); // true
 */
const slackPage = (message: SlackMessage, options: SlackPageOptions = {}): string => {
  const appName = options.appName ?? 'rootwatch';
  const meta = [
    `<span class="name">${escapeHtml(appName)}</span>`,
    '<span class="app">APP</span>',
    options.time === undefined ? '' : `<span class="time">${escapeHtml(options.time)}</span>`,
  ].join('');
  const body = [
    '<main>',
    `<div class="avatar">${escapeHtml(appName.slice(0, 2))}</div>`,
    '<div class="message">',
    `<div class="meta">${meta}</div>`,
    ...message.blocks.map(blockHtml),
    '</div>',
    '</main>',
  ].join('\n');
  return page(`Slack: ${message.text}`, SLACK_STYLE, body);
};

const EMAIL_STYLE = `
body { margin: 0; background: #fff; color: #202124; font: 14px/1.5 Arial, "Liberation Sans", sans-serif; }
main { width: 952px; padding: 16px 24px; }
h1 { font-size: 20px; font-weight: 400; margin: 0 0 8px; }
.from { color: #5f6368; font-size: 13px; margin-bottom: 12px; border-bottom: 1px solid #e0e0e0; padding-bottom: 8px; }
pre { font: 13px/1.45 "DejaVu Sans Mono", Menlo, Consolas, monospace; white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
`;

/**
 * An e-mail as a mail client shows a plain-text message: the subject as the heading, the sender (SNS's, by
 * default), and the body in a monospace font, wrapped, every character as sent.
 *
 * @example
 * emailPage({ subject: '[HIGH] x', body: 'a <b>' }).includes('a &lt;b&gt;'); // true
 */
const emailPage = (email: EmailText, from = 'AWS Notifications <no-reply@sns.amazonaws.com>'): string =>
  page(
    email.subject,
    EMAIL_STYLE,
    [
      '<main>',
      `<h1>${escapeHtml(email.subject)}</h1>`,
      `<div class="from">${escapeHtml(from)}</div>`,
      `<pre>${escapeHtml(email.body)}</pre>`,
      '</main>',
    ].join('\n'),
  );

export { emailPage, escapeHtml, mrkdwnToHtml, slackPage };
