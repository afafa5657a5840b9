import fc from 'fast-check';
import { type Alert, buildAlert, type Enrichment } from '../../functions/core/alert-document.js';
import { classify } from '../../functions/core/classify.js';
import { recordToEvent } from '../../functions/core/event.js';
import { loadDetections } from '../../functions/io/detections.js';
import { readSample } from './samples.js';

const detections = loadDetections();
const RUNBOOKS = 'https://runbooks.example/';
const EVENT_ID = 'deb1e1f9-c99b-4612-8e9f-21f93b5d79c0';
const CLOUDTRAIL_LINK = `https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events/${EVENT_ID}`;

/** The alert the pipeline builds for a record, with runbook links under RUNBOOKS. */
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

const PRINTABLE_ASCII_SUBJECT = /^[!-~][ -~]{0,98}$/;

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

/** Arbitrary text: binary strings, or hostile values, markup characters and graphemes run together. */
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

export {
  alertOf,
  CLOUDTRAIL_LINK,
  detections,
  EMAIL_LABEL,
  EVENT_ID,
  HOSTILE,
  hostileAlert,
  hostileText,
  PLACES,
  PRINTABLE_ASCII_SUBJECT,
  signInAlert,
};
