import type { Alert } from '../alert-document.js';
import type { Detection } from '../detection.js';
import { detectionById, type Fact, factsOf, isShownExpected, present, type Segment } from './facts.js';
import { runbookLines } from './runbook.js';
import { httpsUrl } from './slack.js';
import { cleanLine, fitValue, MAX_VALUE } from './text.js';

interface Email {
  subject: string;
  body: string;
}

/** SNS e-mail subjects: ASCII, no line breaks, fewer than 100 characters. */
const MAX_SUBJECT = 99;

// ── E-mail ─────────────────────────────────────────────────────────────────────────────────────────

/** Values are quoted; a quote or backslash inside is escaped, so where a value ends is never in doubt. */
const escapeQuotedChar = (char: string): string => (char === '"' || char === '\\' ? `\\${char}` : char);

/**
 * An untrusted value for the e-mail: one line, quoted, inner quotes and backslashes escaped, at most 300 characters.
 *
 * @example
 * emailValue('a "b"\nSubject: x'); // '"a \\"b\\" ⏎ Subject: x"'
 */
const emailValue = (value: string): string => `"${fitValue(value, MAX_VALUE, { escape: escapeQuotedChar })}"`;

/**
 * A fact's segment in plain text: our words cleaned to one line, a value quoted (emailValue), emphasis as plain words,
 * catalog code in back-ticks.
 *
 * @example
 * emailSegment('IP '); // 'IP '
 * emailSegment({ value: '203.0.113.7' }); // '"203.0.113.7"'
 * emailSegment({ strong: 'critical' }); // 'critical'
 * emailSegment({ code: 'actor.arn' }); // '`actor.arn`'
 */
const emailSegment = (segment: Segment): string => {
  if (typeof segment === 'string') return cleanLine(segment);
  if ('value' in segment) return emailValue(segment.value);
  if ('code' in segment) return `\`${cleanLine(segment.code)}\``;
  return cleanLine(segment.strong);
};

/**
 * "Label: item, item": a fact on one line, values quoted.
 *
 * @example
 * emailLine({ label: 'Region', items: [[{ value: 'us-east-1' }]] }); // 'Region: "us-east-1"'
 */
const emailLine = (fact: Fact): string =>
  `${fact.label}: ${fact.items.map((item) => item.map(emailSegment).join('')).join(', ')}`;

/**
 * Printable ASCII only: accents dropped ("é" → "e"), other letters become "?", control characters and
 * whitespace runs a single space. SNS rejects anything else in a subject.
 *
 * @example
 * // toAscii is not exported; subjectWithAccount shows it at work:
 * subjectWithAccount('[HIGH] ', { id: '111122223333', name: 'Café\nПривет' }); // "[HIGH] Cafe ? (111122223333)"
 */
const toAscii = (value: string): string =>
  value
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[\s\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu, ' ')
    .replace(/[^\x20-\x7e]+/gu, '?')
    .replace(/ {2,}/g, ' ')
    .trim();

const clipAscii = (value: string, max: number): string =>
  value.length <= max ? value : `${value.slice(0, Math.max(0, max - 3)).trimEnd()}...`;

/**
 * `prefix` (printable ASCII, ours) then the account label, "name (id)" or the id, cut so the whole is ≤ 99
 * printable ASCII characters: the name gives way first, the id is kept.
 *
 * @example
 * subjectWithAccount('[HIGH] digest: 3 root events - ', { id: '111122223333', name: 'prod' }); // "[HIGH] digest: 3 root events - prod (111122223333)"
 */
const subjectWithAccount = (prefix: string, account: Alert['account']): string => {
  const id = toAscii(account.id) || 'unknown';
  const name = toAscii(account.name ?? account.alias ?? '');
  const suffix = name ? ` (${clipAscii(id, 20)})` : clipAscii(id, 40);
  const room = MAX_SUBJECT - prefix.length - suffix.length;
  const subject = name ? `${prefix}${clipAscii(name, Math.max(room, 0))}${suffix}` : `${prefix}${suffix}`;
  // The prefix starts with "[": SNS wants a subject to begin with a letter, number or punctuation.
  return clipAscii(subject.replace(/ {2,}/g, ' ').trim(), MAX_SUBJECT);
};

/**
 * "[CRITICAL] root-console-sign-in - prod-payments (111122223333)", ≤ 99 printable ASCII characters; "[MEDIUM]
 * [EXPECTED] root-api-call - …" when a break-glass window lowered the alert.
 */
const subjectOf = (alert: Alert): string => {
  const others = alert.detections.length - 1;
  const detection = clipAscii(toAscii(alert.detections[0] ?? '') || 'alert', 50);
  const expected = isShownExpected(alert) ? '[EXPECTED] ' : '';
  return subjectWithAccount(
    `[${alert.severity.toUpperCase()}] ${expected}${detection}${others > 0 ? ` +${others}` : ''} - `,
    alert.account,
  );
};

/** What the alert says of its session, one line: nothing without a session. */
const sessionLines = (alert: Alert): string[] => {
  const { session } = alert;
  if (session === undefined) return [];
  if (session.escalation !== undefined) return [`Escalation: ${emailValue(session.escalation.reason)}`];
  if (session.first) return ['Session: first alert of this session; its further events follow in digests'];
  return [];
};

const JSON_NOTE =
  'The full alert document (JSON, with the CloudTrail record) goes to the JSON subscribers of this topic (email-json, SQS, HTTPS, Lambda).';

/** The IP databases are CC BY 4.0: where their country or network appears, credit them. */
const IP_DATA_NOTE =
  'IP data: NRO, RouteViews and DB-IP.com (https://db-ip.com), CC BY 4.0, packaged by ip-location-db.';
const hasIpData = (alert: Alert): boolean =>
  alert.source.country !== undefined || alert.source.asn !== undefined || alert.source.org !== undefined;

/** Catalog text on one line each: descriptions are folded YAML. */
const catalogLines = (text: string): string[] =>
  text
    .split('\n')
    .map((line) => cleanLine(line).trim())
    .filter((line) => line.length > 0);

/**
 * The plain-text e-mail for the distribution group: subject (severity, detection, account), the facts
 * one "Label: value" per line, the detections, what to do, and the links.
 *
 * @example
 * import { loadDetections } from '../../io/detections.js';
 * import type { Alert } from '../alert-document.js';
 *
 * // Root signed in to the console without MFA, in account 111122223333, which is named prod-payments.
 * declare const alert: Alert;
 * const { subject } = renderEmail(alert, loadDetections());
 * subject; // "[CRITICAL] root-console-sign-in - prod-payments (111122223333)"
 */
const renderEmail = (alert: Alert, detections: readonly Detection[]): Email => {
  const primary = alert.detections[0] === undefined ? undefined : detectionById(detections, alert.detections[0]);
  const facts = factsOf(alert).map(emailLine);
  const listed = alert.detections.flatMap((id) => {
    const detection = detectionById(detections, id);
    const reason = alert.reasons?.[id];
    const head = `- ${detection ? `${cleanLine(detection.title)} ` : ''}(${fitValue(id, 120)})`;
    return [
      reason ? `${head}: ${fitValue(reason, MAX_VALUE)}` : head,
      ...(detection ? catalogLines(detection.description).map((line) => `  ${line}`) : []),
    ];
  });
  const links = [
    ['CloudTrail', alert.links.cloudtrail],
    ['Runbook', alert.links.runbook],
  ].flatMap(([label, url]) => {
    const href = httpsUrl(url ?? '');
    return href ? [`${label}: ${href}`] : [];
  });
  const body = [
    fitValue(alert.title, MAX_VALUE),
    '',
    `Severity: ${alert.severity.toUpperCase()}`,
    ...facts,
    `When: ${present(alert.eventTime) ? emailValue(alert.eventTime) : 'unknown'}`,
    `Region: ${present(alert.region) ? emailValue(alert.region) : 'unknown'}`,
    `Event ID: ${present(alert.eventID) ? emailValue(alert.eventID) : 'unknown'}`,
    ...sessionLines(alert),
    '',
    alert.detections.length === 1 ? 'Detection:' : 'Detections:',
    ...listed,
    '',
    'What to do:',
    ...(primary
      ? runbookLines(primary.runbook, alert).map((line) => line.map(emailSegment).join(''))
      : ['Follow the runbook of the detection in the catalog (events/).']),
    ...(links.length > 0 ? ['', 'Links:', ...links] : []),
    '',
    JSON_NOTE,
    ...(hasIpData(alert) ? [IP_DATA_NOTE] : []),
    '',
  ].join('\n');
  return { subject: subjectOf(alert), body };
};

export type { Email };
export { emailLine, emailSegment, emailValue, renderEmail, subjectWithAccount };
