import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderEmail } from '../../functions/core/render/email.js';
import { renderSlackMessage, type SlackMessage } from '../../functions/core/render/slack.js';
import { emailPage, escapeHtml, mrkdwnToHtml, slackPage } from '../docs/alert-pages.js';
import { detections, HOSTILE, hostileAlert, hostileText, PLACES, signInAlert } from '../helpers/render-alerts.js';

/** The tags and attributes the pages draw with: anything else in a page came from a payload. */
const TAGS = new Set(['main', 'div', 'span', 'strong', 'em', 's', 'code', 'pre', 'blockquote', 'a', 'br', 'hr', 'h1']);
const ATTRIBUTES = /^(\s+(class|href|rel)="[^"<>]*")*$/;

/** The page's body. */
const bodyOf = (page: string): string => page.slice(page.indexOf('<body>') + 6, page.indexOf('</body>'));

/** Every tag in `html` as [name, attributes]. Text is escaped, so every `<` left is a tag. */
const tagsOf = (html: string): [string, string][] =>
  [...html.matchAll(/<\/?([a-zA-Z][\w-]*)([^>]*)>/g)].map(([, name, attributes]) => [name ?? '', attributes ?? '']);

/** The markup is the page's own: known tags with known attributes, every link https, http or mailto. */
const expectOwnMarkup = (html: string): void => {
  for (const [name, attributes] of tagsOf(html)) {
    expect(TAGS.has(name.toLowerCase()), `unexpected <${name}>`).toBe(true);
    expect(attributes).toMatch(ATTRIBUTES);
  }
  for (const [, href] of html.matchAll(/href="([^"]*)"/g)) expect(href).toMatch(/^(https?|mailto):/);
  // Outside tags, no bare `<`: escaped text cannot open one.
  expect(html.replace(/<\/?[a-zA-Z][\w-]*[^>]*>/g, '')).not.toMatch(/[<>]/);
};

/** One section with `text` as mrkdwn, and a button to `url`. */
const messageWith = (text: string, url = 'https://example.com/'): SlackMessage => ({
  text: 'x',
  blocks: [
    { type: 'header', text: { type: 'plain_text', text } },
    { type: 'section', text: { type: 'mrkdwn', text }, fields: [{ type: 'mrkdwn', text }] },
    { type: 'context', elements: [{ type: 'mrkdwn', text }] },
    { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text }, url }] },
  ],
});

describe('mrkdwnToHtml', () => {
  it.each([
    ['bold label and code', '*MFA*\n`NO`', '<strong>MFA</strong><br><code>NO</code>'],
    ['italic and strike', '_a_ ~b~', '<em>a</em> <s>b</s>'],
    ['Slack entities, once', '&lt;b&gt; &amp;lt;', '&lt;b&gt; &amp;lt;'],
    [
      'nothing formats inside code',
      '`*x* &lt;!here&gt; <https://e.example|y>`',
      '<code>*x* &lt;!here&gt; &lt;https://e.example|y&gt;</code>',
    ],
    [
      'a labelled link',
      '<https://e.example/a?b=1&amp;c=2|open>',
      '<a href="https://e.example/a?b=1&amp;c=2" rel="noopener noreferrer">open</a>',
    ],
    ['a mention, drawn as one', 'hi <!here>', 'hi <span class="mention">@here</span>'],
    ['a javascript: link, as text', '<javascript:alert(1)|click>', '&lt;javascript:alert(1)|click&gt;'],
    ['a quote, only at a line start', '>q\n`a`>b', '<blockquote>q</blockquote><code>a</code>&gt;b'],
    ['a pre block', '```\n<b>\n```', '<pre>\n&lt;b&gt;\n</pre>'],
    ['an unpaired back-tick', 'a ` b', 'a ` b'],
  ])('draws %s', (_, mrkdwn, html) => {
    expect(mrkdwnToHtml(mrkdwn)).toBe(html);
  });
});

describe('slackPage', () => {
  it("draws the alert's blocks: header, fields in two columns, sections, context, the CloudTrail button", () => {
    // Prepare
    const message = renderSlackMessage(signInAlert(), detections);
    // Act
    const page = slackPage(message, { time: '16:24' });
    // Assess
    const body = bodyOf(page);
    expect(body).toContain(
      '<div class="header">🔴 CRITICAL · Root console sign-in without MFA — prod-payments (111122223333)</div>',
    );
    expect(body).toContain(
      '<div class="fields"><div><strong>What</strong><br><code>ConsoleLogin</code> on <code>signin.amazonaws.com</code></div>',
    );
    expect(body).toContain('<div><strong>MFA</strong><br><strong>NO</strong></div>');
    expect(body).toContain(
      '<strong>What to do</strong><br>1. Ask the owners of account <code>prod-payments (111122223333)</code>',
    );
    expect(body).toContain('<div class="context"><span>When <code>2022-11-10T16:24:34Z</code>');
    expect(body).toMatch(
      /<a class="button" href="https:\/\/us-east-1\.console\.aws\.amazon\.com\/cloudtrailv2\/[^"]+" rel="noopener noreferrer">Open in CloudTrail<\/a>/,
    );
    expect(body).toContain('<span class="time">16:24</span>');
    expectOwnMarkup(body);
  });

  it('allows no script, request or form: a Content Security Policy with default-src none', () => {
    const page = slackPage(messageWith('x'));
    expect(page).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline';`,
    );
  });

  it.each(HOSTILE.flatMap(([name, value, visible]) => PLACES.map((place) => [name, place, value, visible] as const)))(
    'shows %s in %s as text, as Slack would',
    (_, place, value, visible) => {
      // Prepare
      const message = renderSlackMessage(hostileAlert(place, value), detections);
      // Act
      const body = bodyOf(slackPage(message));
      // Assess: the visible text is there, escaped; the only links are the buttons'; nobody is mentioned.
      // (Request parameters are JSON first, so a line break shows there as "\n": compare the first line.)
      const shown = (visible.split(' ⏎ ')[0] ?? '').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
      expect(body).toContain(escapeHtml(shown));
      expect(body.match(/<a /g)).toHaveLength(body.match(/<a class="button"/g)?.length ?? 0);
      expect(body.match(/<a class="button"/g)).toHaveLength(2); // CloudTrail and the runbook
      expect(body).not.toContain('class="mention"');
      expectOwnMarkup(body);
    },
  );

  it.each([
    ['a script tag in mrkdwn', '<script>alert(1)</script>'],
    ['an attribute break-out', '"><img src=x onerror=alert(1)>'],
    ['a closing code tag inside code', '`</code><script>alert(1)</script>`'],
    ['a javascript: link', '<javascript:alert(1)|click me>'],
    ['a data: link', '<data:text/html,<script>alert(1)</script>|x>'],
    ['a link whose label is markup', '<https://e.example|<img src=x>>'],
  ])('keeps %s as text in every block', (_, text) => {
    // Act
    const body = bodyOf(slackPage(messageWith(text, 'javascript:alert(1)')));
    // Assess
    expect(body).not.toMatch(/<(script|img)/i);
    expectOwnMarkup(body);
  });

  it('draws any payload text with its own markup only', () => {
    fc.assert(
      fc.property(hostileText, hostileText, (text, url) => {
        expectOwnMarkup(bodyOf(slackPage(messageWith(text, url))));
      }),
      { numRuns: 300 },
    );
  });
});

describe('emailPage', () => {
  it('shows the subject and the body as sent, every character as text', () => {
    // Prepare
    const email = renderEmail(signInAlert(), detections);
    // Act
    const body = bodyOf(emailPage(email));
    // Assess
    expect(body).toContain('<h1>[CRITICAL] root-console-sign-in - prod-payments (111122223333)</h1>');
    expect(body).toContain(`<pre>${escapeHtml(email.body)}</pre>`);
    expect(body).toContain('MFA: NO\n');
    expectOwnMarkup(body);
  });

  it('keeps a hostile subject and body as text', () => {
    const body = bodyOf(emailPage({ subject: '<script>x</script>', body: '</pre><img src=x onerror=alert(1)>' }));
    expect(body).toContain('&lt;/pre&gt;&lt;img src=x onerror=alert(1)&gt;');
    expectOwnMarkup(body);
  });
});
