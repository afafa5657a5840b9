/*
 * Three renderings of one alert document: a Slack Block Kit message, a plain-text e-mail, and the SNS
 * publish input that carries the e-mail and the JSON document side by side.
 *
 * Everything that came from the event is data, never markup: an attacker who can make a CloudTrail
 * record (a user agent, a request parameter, an error message, a user or account name — and in a
 * replayed log file, any field at all) must not be able to ping @channel, plant a link, fake a line of
 * the e-mail or blow Slack's size limits. Catalog text (detection titles, descriptions, runbooks) is
 * reviewed data, but it goes through the same escaping: it costs nothing.
 */

/** Visible length of one untrusted value: enough for an ARN or a user agent, small enough for 8 in a field. */
const MAX_VALUE = 300;

// ── Cleaning: one line of readable text, whatever came in ─────────────────────────────────────────

const ELLIPSIS = '…';
/** Where a value had a line break: visible, so nobody mistakes two lines for one, but on one line. */
const NEWLINE_MARK = ' ⏎ ';
/** Invisible; placed after "@" so "@channel" cannot notify, after "://" and between domain labels so nothing links. */
const WORD_JOINER = '\u2060';
const ZERO_WIDTH_JOINER = '\u200D';

/** Bidi overrides and isolates (U+202A–U+202E, U+2066–U+2069) and marks: they reorder what the reader sees. */
const isBidiControl = (code: number): boolean =>
  (code >= 0x202a && code <= 0x202e) ||
  (code >= 0x2066 && code <= 0x2069) ||
  code === 0x200e ||
  code === 0x200f ||
  code === 0x061c;

/*
 * What SQS and SNS take. SQS SendMessage: "A message can include only XML, JSON, and unformatted text. The
 * following Unicode characters are allowed: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to
 * #x10FFFF. If a message contains characters outside the allowed set, Amazon SQS rejects the message and returns
 * an InvalidMessageContents error" (message attributes: the same set), which is XML 1.0's Char production
 * (https://www.w3.org/TR/xml/#charsets).
 *   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
 * SNS Publish: "messages must be UTF-8 encoded strings" (a lone surrogate has no UTF-8 form), and with
 * MessageStructure json "the values will be parsed (unescaped) before they are used in outgoing messages", so a
 * value reaches an SQS subscriber as its text, not as JSON: it must already be within the set above.
 *   https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
 */

const REPLACEMENT_CHARACTER = '\uFFFD';

/**
 * Whether a code point is an XML 1.0 Char (#x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF),
 * the characters SQS and SNS accept.
 *
 * @example
 * isXmlChar(0x41); // true
 * isXmlChar(0xffff); // false
 */
const isXmlChar = (code: number): boolean =>
  code === 0x09 ||
  code === 0x0a ||
  code === 0x0d ||
  (code >= 0x20 && code <= 0xd7ff) ||
  (code >= 0xe000 && code <= 0xfffd) ||
  (code >= 0x10000 && code <= 0x10ffff);

/** One code point outside XML 1.0's Char production; lone surrogates match as themselves (the `u` flag). */
const NON_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/**
 * Plain text SQS and SNS accept: each code point outside XML 1.0's characters (U+FFFE, U+FFFF, lone
 * surrogates, C0 controls but tab and line breaks) becomes U+FFFD. For text nobody parses back (an e-mail body,
 * a message attribute, a dead letter's reason); JSON keeps its content with escapeJsonForXml instead.
 *
 * @example
 * replaceNonXmlChars('agent\uffff\ud800'); // "agent\ufffd\ufffd"
 */
const replaceNonXmlChars = (text: string): string => text.replace(NON_XML_CHAR, REPLACEMENT_CHARACTER);

/** One UTF-16 code unit that is not plain XML text in the Basic Multilingual Plane. */
const NOT_PLAIN_BMP_UNIT = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD]/g;

/**
 * JSON text SQS and SNS accept, meaning the same: every UTF-16 code unit outside XML 1.0's BMP characters is
 * written as a JSON escape (`\uffff`), so the document parses back unchanged. Valid for any JSON text, since
 * such a unit can only stand inside a string literal. Characters beyond the BMP (emoji) are escaped too, as
 * their surrogate pair: SQS would take them raw, but a consumer that reads the body as UCS-2 XML would not,
 * and escaping them costs a few bytes. Lone surrogates never reach here raw from JSON.stringify (it escapes
 * them since ES2019); U+FFFE and U+FFFF do.
 *
 * @example
 * escapeJsonForXml(JSON.stringify({ userAgent: 'curl\uffff' })); // '{"userAgent":"curl\\uffff"}'
 * JSON.parse(escapeJsonForXml(JSON.stringify({ userAgent: 'curl\uffff' }))).userAgent; // 'curl\uffff'
 */
const escapeJsonForXml = (json: string): string =>
  json.replace(NOT_PLAIN_BMP_UNIT, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);

/**
 * `JSON.stringify(value)`, written so that SQS and SNS take it (see escapeJsonForXml).
 *
 * @example
 * toXmlSafeJson({ userAgent: 'curl\uffff' }); // '{"userAgent":"curl\\uffff"}'
 */
const toXmlSafeJson = (value: unknown): string => escapeJsonForXml(JSON.stringify(value));

const isLineBreak = (code: number): boolean =>
  code === 0x0a || code === 0x0d || code === 0x85 || code === 0x2028 || code === 0x2029;

/**
 * One line, no control characters, no bidi tricks, and nothing outside XML 1.0's characters (lone
 * surrogates, U+FFFE, U+FFFF become U+FFFD): SQS and SNS refuse them (see isXmlChar). Cyrillic, CJK, emoji
 * and right-to-left letters pass through untouched.
 *
 * @example
 * cleanLine('line1\r\nline2\u202E\tx\uffff'); // "line1 ⏎ line2 x\ufffd"
 */
const cleanLine = (value: string): string => {
  let out = '';
  let previous = 0;
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    const crlf = code === 0x0a && previous === 0x0d; // one line break, one mark
    previous = code;
    if (crlf || isBidiControl(code)) continue;
    if (isLineBreak(code)) out += NEWLINE_MARK;
    else if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) out += ' ';
    // A lone surrogate (for..of yields pairs whole), U+FFFE or U+FFFF.
    else if (!isXmlChar(code)) out += REPLACEMENT_CHARACTER;
    else out += char;
  }
  return out;
};

/**
 * "@channel", "@here", "@everyone": broken by an invisible joiner, so no client turns them into a broadcast.
 *
 * @example
 * neutraliseMentions('@channel wake up'); // "@\u200Dchannel wake up"
 */
const neutraliseMentions = (value: string): string =>
  value.replace(/@(?=(?:channel|here|everyone)\b)/giu, `@${ZERO_WIDTH_JOINER}`);

/**
 * Bare URLs and domains outside code spans: "https://evil.example" → "https:⁠//evil.⁠example", unlinkable.
 *
 * @example
 * defangLinks('see https://evil.example'); // "see https:\u2060//evil.\u2060example"
 */
const defangLinks = (value: string): string =>
  value.replace(/:\/\//gu, `:${WORD_JOINER}//`).replace(/(?<=[\p{L}\p{N}])\.(?=[\p{L}\p{N}])/gu, `.${WORD_JOINER}`);

const identity = <T>(value: T): T => value;

/**
 * At most `max` UTF-16 units of output after `escape`, cut at a character boundary with "…". Counting
 * escaped output (not input) is what keeps a field of `&&&…` inside Slack's limits; never splits an
 * entity or a surrogate pair. `truncated`: the input was already shortened, so end with "…" anyway.
 *
 * @example
 * clip('abcdef', 4); // "abc…"
 */
const clip = (
  value: string,
  max: number,
  escapeChar: (char: string) => string = identity,
  truncated = false,
): string => {
  let out = '';
  let cut = 0;
  for (const char of value) {
    const piece = escapeChar(char);
    if (out.length + piece.length > max) return `${out.slice(0, cut).trimEnd()}${ELLIPSIS}`;
    out += piece;
    if (out.length < max) cut = out.length;
  }
  if (!truncated) return out;
  return `${(out.length < max ? out : out.slice(0, cut)).trimEnd()}${ELLIPSIS}`;
};

/**
 * One untrusted value made fit to show: cleaned to one line, prepared (mentions, links…), escaped and
 * cut to `max`. A 100 KB value is sliced first: every character that survives cleaning yields at least
 * one character of output, so twice `max` (plus slack for stripped controls) is all that can show.
 *
 * @example
 * fitValue('  a\nb  ', MAX_VALUE); // "a ⏎ b"
 */
const fitValue = (
  value: string,
  max: number,
  options: { prepare?: (text: string) => string; escape?: (char: string) => string; keepSpaces?: boolean } = {},
): string => {
  const bound = 2 * max + 16;
  const sliced = value.length > bound;
  const line = cleanLine(sliced ? value.slice(0, bound) : value);
  const text = (options.prepare ?? identity)(options.keepSpaces ? line : line.trim());
  return clip(text, max, options.escape, sliced);
};

/**
 * `encodeURIComponent(value)`, with each lone surrogate (which it refuses with a URIError) written as U+FFFD first:
 * an event's region or id is attacker-controlled text and may hold one.
 *
 * @example
 * encodeUrlPart('us-east-1'); // 'us-east-1'
 * encodeUrlPart('id-\ud800'); // 'id-%EF%BF%BD'
 */
const encodeUrlPart = (value: string): string =>
  encodeURIComponent(value.replace(/[\uD800-\uDFFF]/gu, REPLACEMENT_CHARACTER));

/**
 * A whole number with commas between groups of three digits, as `toLocaleString('en-US')` writes it, without
 * starting ICU (about 30 ms on its first call, which the CLI's start would pay).
 *
 * @example
 * groupDigits(1234567); // "1,234,567"
 * groupDigits(-1000); // "-1,000"
 * groupDigits(12.5); // "12.5"
 */
const groupDigits = (value: number): string => {
  if (!Number.isInteger(value)) return String(value);
  return String(value).replace(/\B(?=(\d{3})+$)/g, ',');
};

export {
  cleanLine,
  clip,
  defangLinks,
  ELLIPSIS,
  encodeUrlPart,
  escapeJsonForXml,
  fitValue,
  groupDigits,
  isXmlChar,
  MAX_VALUE,
  neutraliseMentions,
  replaceNonXmlChars,
  toXmlSafeJson,
};
