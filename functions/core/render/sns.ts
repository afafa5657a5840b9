import { Buffer } from 'node:buffer';
import { AlertTooLargeError } from '../../errors.js';
import type { Alert } from '../alert-document.js';
import type { Detection } from '../detection.js';
import { type Email, renderEmail } from './email.js';
import { clip, fitValue, replaceNonXmlChars, toXmlSafeJson } from './text.js';

interface SnsMessageAttribute {
  DataType: 'String' | 'String.Array';
  StringValue: string;
}

/** The PublishCommand input for the alerts topic, without TopicArn. */
interface SnsMessage {
  Subject: string;
  Message: string;
  MessageStructure: 'json';
  MessageAttributes: Record<string, SnsMessageAttribute>;
}

/** Stands in for `record` in the JSON copies when the full SNS message would be too big. */
interface TruncatedRecord {
  truncated: true;
  eventID: string;
  reason: string;
}

interface SnsRenderOptions {
  /** The SNS limit for message plus attributes; lower it in tests only. */
  maxBytes?: number;
}

/** SNS: "maximum message size is 256 KB", message body and attributes together. */
const SNS_MAX_BYTES = 262_144;

// ── SNS ────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Every string longer than `max` cut to `max` characters with "…"; a last resort for crafted input.
 *
 * @example
 * shrinkStrings({ a: 'abcdef', n: [1] }, 4); // { a: 'abc…', n: [1] }
 */
const shrinkStrings = (value: unknown, max: number): unknown => {
  if (typeof value === 'string') return value.length > max ? clip(value, max) : value;
  if (Array.isArray(value)) return value.map((item) => shrinkStrings(item, max));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, shrinkStrings(item, max)]));
  }
  return value;
};

const withoutRecord = (alert: Alert, reason: string): Omit<Alert, 'record'> & { record: TruncatedRecord } => ({
  ...alert,
  record: { truncated: true, eventID: alert.eventID, reason },
});

/**
 * The filter attributes of an alert, and of a digest (its detection ids): `severity`, `detection` (a String.Array,
 * one id per element), `account`; values cleaned to one line of at most 256 characters.
 *
 * @example
 * attributesOf({ severity: 'high', detections: ['root-api-call'], account: { id: '111122223333' } }).detection;
 * // { DataType: 'String.Array', StringValue: '["root-api-call"]' }
 */
const attributesOf = (document: {
  severity: Alert['severity'];
  detections: readonly string[];
  account: { id: string };
}): Record<string, SnsMessageAttribute> => ({
  severity: { DataType: 'String', StringValue: document.severity },
  // Filter policies match String.Array attributes element by element: one id per element.
  detection: {
    DataType: 'String.Array',
    StringValue: JSON.stringify(document.detections.map((id) => fitValue(id, 256))),
  },
  account: { DataType: 'String', StringValue: fitValue(document.account.id, 256) || 'unknown' },
});

/** Bytes SNS counts against its limit: the message and every attribute's name, type and value (and, to be safe, the subject). */
const snsSize = (message: SnsMessage): number =>
  Buffer.byteLength(message.Message) +
  Buffer.byteLength(message.Subject) +
  Object.entries(message.MessageAttributes).reduce(
    (sum, [name, attribute]) =>
      sum + Buffer.byteLength(name) + Buffer.byteLength(attribute.DataType) + Buffer.byteLength(attribute.StringValue),
    0,
  );

/**
 * SNS MessageStructure json: one body per protocol; `default` serves any protocol not named. SNS unescapes each
 * value before delivering it, so each must itself be text SQS and SNS accept: the document is JSON with
 * U+FFFF and the like escaped (it parses back unchanged), the e-mail has them replaced (render/text.ts).
 */
const snsMessageOf = (document: unknown, emailBody: string): string => {
  const json = toXmlSafeJson(document);
  const email = replaceNonXmlChars(emailBody);
  return toXmlSafeJson({ default: json, email, 'email-json': json, sqs: json, https: json, lambda: json });
};

/**
 * The SNS publish input for any document: `MessageStructure: 'json'` with the e-mail text for `email` and the
 * document for every other protocol, plus `attributes` for filter policies. When the message would reach
 * `maxBytes`, each of `fallbacks` is tried in turn (cheapest loss first, each computed only when needed) until
 * one fits.
 *
 * @throws AlertTooLargeError naming `id` when even the last fallback does not fit.
 * @example
 * import { loadDetections } from '../../io/detections.js';
 * import type { Digest } from '../digest-document.js';
 * import { renderDigestEmail } from './digest.js';
 *
 * declare const digest: Digest;
 * const message = renderSnsDocument({
 *   document: digest,
 *   email: renderDigestEmail(digest, loadDetections()),
 *   attributes: attributesOf({ ...digest, detections: Object.keys(digest.detections) }),
 *   id: digest.digestID,
 *   fallbacks: [], // none: a message of 256 KB or more throws AlertTooLargeError naming the digestID
 * });
 * message.MessageStructure; // "json"
 * Object.keys(JSON.parse(message.Message)); // ['default', 'email', 'email-json', 'sqs', 'https', 'lambda']
 */
const renderSnsDocument = (input: {
  document: unknown;
  email: Email;
  attributes: Record<string, SnsMessageAttribute>;
  /** Names the document in the error: an eventID, a digestID. */
  id: string;
  /** Each gets the reason the full message did not fit and returns a smaller document. */
  fallbacks: readonly ((why: string) => unknown)[];
  maxBytes?: number;
}): SnsMessage => {
  const maxBytes = input.maxBytes ?? SNS_MAX_BYTES;
  const render = (document: unknown): SnsMessage => ({
    Subject: input.email.subject,
    Message: snsMessageOf(document, input.email.body),
    MessageStructure: 'json',
    MessageAttributes: input.attributes,
  });
  const full = render(input.document);
  const fullSize = snsSize(full);
  if (fullSize < maxBytes) return full;
  const why = `the SNS message would have been ${fullSize} bytes, over the limit of ${maxBytes}`;
  let size = fullSize;
  for (const fallback of input.fallbacks) {
    const message = render(fallback(why));
    size = snsSize(message);
    if (size < maxBytes) return message;
  }
  throw new AlertTooLargeError(fitValue(input.id, 100), size, maxBytes);
};

/**
 * The SNS publish input: `MessageStructure: 'json'` gives each protocol its own body — the e-mail text
 * for `email`, the alert document for everything else — plus attributes for filter policies (attributesOf, and
 * `expected`, the window's id, for an alert inside a break-glass window).
 *
 * The document is repeated for five protocols, so a large CloudTrail record (a big policy document in
 * requestParameters) can push the message past SNS's 256 KB. Then the copies carry a marker instead of
 * the record (it stays in CloudTrail, by eventID); if that is not enough (crafted replay input), long
 * strings are cut too. The result is always under `maxBytes`, or this throws.
 *
 * @example
 * import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
 * import { loadDetections } from '../../io/detections.js';
 * import type { Alert } from '../alert-document.js';
 *
 * declare const alert: Alert;
 * const sns = new SNSClient({});
 * const message = renderSnsMessage(alert, loadDetections());
 * await sns.send(new PublishCommand({ TopicArn: process.env.ALERT_TOPIC_ARN, ...message }));
 */
const renderSnsMessage = (
  alert: Alert,
  detections: readonly Detection[],
  options: SnsRenderOptions = {},
): SnsMessage => {
  const inCloudTrail = 'read the record in CloudTrail by eventID';
  return renderSnsDocument({
    document: alert,
    email: renderEmail(alert, detections),
    attributes: {
      ...attributesOf(alert),
      // Inside a break-glass window (rootwatch expect): its id, so a filter policy can tell expected alerts apart
      // (`"expected": [{"exists": false}]` for a paging subscription). Ids are ours: "w-" and 8 hex digits.
      ...(alert.expected
        ? { expected: { DataType: 'String', StringValue: fitValue(alert.expected.windowId ?? '', 64) || 'unknown' } }
        : {}),
    },
    id: alert.eventID,
    ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
    fallbacks: [
      (why) => withoutRecord(alert, `Record left out: ${why}; ${inCloudTrail}.`),
      (why) =>
        withoutRecord(
          shrinkStrings(alert, 1024) as Alert,
          `Record left out, values cut to 1024 characters: ${why}; ${inCloudTrail}.`,
        ),
      (why) =>
        withoutRecord(
          shrinkStrings(alert, 128) as Alert,
          `Record left out, values cut to 128 characters: ${why}; ${inCloudTrail}.`,
        ),
    ],
  });
};

export type { SnsMessage, SnsRenderOptions };
export { attributesOf, renderSnsDocument, renderSnsMessage, SNS_MAX_BYTES, shrinkStrings };
