import { createHash } from 'node:crypto';
import { EventParseError } from '../errors.js';
import { withinDepth } from './depth.js';
import * as z from './zod.js';

/** An optional string field; vendor logs also write null for absent values. */
const text = z.nullish(z.string());

/**
 * The fields of a CloudTrail record that rootwatch reads. Records in the wild are ragged (vendor test
 * logs without eventType or eventTime, `requestParameters: null`), so only eventName and eventSource
 * are required; everything else is read defensively and unknown keys pass through untouched.
 */
const USER_IDENTITY_FIELDS = {
  type: text,
  arn: text,
  accountId: text,
  accessKeyId: text,
  invokedBy: text,
  userName: text,
};
const RECORD_FIELDS = {
  eventName: z.string().check(z.minLength(1)),
  eventSource: z.string().check(z.minLength(1)),
  eventID: text,
  eventTime: text,
  eventType: text,
  awsRegion: text,
  recipientAccountId: text,
  sourceIPAddress: text,
  userAgent: text,
  errorCode: text,
  errorMessage: text,
};

const CloudTrailRecordSchema = z.looseObject({
  ...RECORD_FIELDS,
  userIdentity: z.nullish(z.looseObject(USER_IDENTITY_FIELDS)),
});

/**
 * The same checks for parseRecord, which keeps the raw record and drops zod's output: a loose object
 * copies every unknown key into that output, which is most of a record. Unknown keys never fail
 * either way, so both schemas accept and reject exactly the same records, with the same issues.
 */
const RecordCheck = z.object({ ...RECORD_FIELDS, userIdentity: z.nullish(z.object(USER_IDENTITY_FIELDS)) });
type CloudTrailRecord = z.infer<typeof CloudTrailRecordSchema>;

/** A CloudTrail record in the envelope EventBridge delivers it in. */
interface CloudTrailEvent {
  version: string;
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: CloudTrailRecord;
}

/**
 * EventBridge names the detail-type after the record's eventType. Vendor logs also spell
 * "AwsConsoleSignin", so the lookup ignores case. VPC endpoint events (AwsVpceEvent) are denied API
 * calls and are treated as such.
 */
const API_CALL = 'AWS API Call via CloudTrail';
const CONSOLE_SIGN_IN = 'AWS Console Sign In via CloudTrail';
const DETAIL_TYPES: Readonly<Record<string, string>> = {
  awsapicall: API_CALL,
  awsvpceevent: API_CALL,
  awsconsolesignin: CONSOLE_SIGN_IN,
  awsconsoleaction: 'AWS Console Action via CloudTrail',
  awsserviceevent: 'AWS Service Event via CloudTrail',
  awscloudtrailinsight: 'AWS Insight via CloudTrail',
};

const detailTypeOf = (record: CloudTrailRecord): string => {
  const known = record.eventType ? DETAIL_TYPES[record.eventType.toLowerCase()] : undefined;
  if (known) return known;
  // Without eventType: the sign-in service only records sign-in events.
  return record.eventSource === 'signin.amazonaws.com' ? CONSOLE_SIGN_IN : API_CALL;
};

/** `iam.amazonaws.com` → `aws.iam`, as EventBridge names the source of CloudTrail events. */
const sourceOf = (eventSource: string): string => {
  const dot = eventSource.indexOf('.');
  return `aws.${dot === -1 ? eventSource : eventSource.slice(0, dot)}`;
};

/**
 * A stable id for records that carry no eventID (vendor test logs): the hash of the record (of its first 200 levels,
 * so that a crafted record nested thousands deep cannot overflow JSON.stringify).
 */
const eventIdOf = (record: CloudTrailRecord, raw: unknown): string =>
  record.eventID && record.eventID.length > 0
    ? record.eventID
    : `sha256:${createHash('sha256')
        .update(JSON.stringify(withinDepth(raw)))
        .digest('hex')
        .slice(0, 32)}`;

const TEXT_RECORD_FIELDS = Object.keys(RECORD_FIELDS).filter(
  (field) => field !== 'eventName' && field !== 'eventSource',
);
const USER_IDENTITY_FIELD_NAMES = Object.keys(USER_IDENTITY_FIELDS);

const isOptionalText = (value: unknown): boolean => value === undefined || value === null || typeof value === 'string';

const isPlainRecordObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Whether `raw` certainly passes RecordCheck: the same conditions written out, so that the records replay parses by
 * the thousand skip zod's machinery (about 60 µs a record). False sends the record to RecordCheck, which then either
 * accepts it after all or says what is wrong; a test holds the two to the same verdicts.
 */
const passesRecordCheck = (raw: unknown): boolean => {
  if (!isPlainRecordObject(raw)) return false;
  const { eventName, eventSource, userIdentity } = raw;
  if (typeof eventName !== 'string' || eventName.length === 0) return false;
  if (typeof eventSource !== 'string' || eventSource.length === 0) return false;
  for (const field of TEXT_RECORD_FIELDS) if (!isOptionalText(raw[field])) return false;
  if (userIdentity === undefined || userIdentity === null) return true;
  if (!isPlainRecordObject(userIdentity)) return false;
  for (const field of USER_IDENTITY_FIELD_NAMES) if (!isOptionalText(userIdentity[field])) return false;
  return true;
};

/** Validates a raw CloudTrail record; throws EventParseError saying what is missing. */
const parseRecord = (raw: unknown): CloudTrailRecord => {
  if (passesRecordCheck(raw)) return raw as CloudTrailRecord;
  const result = RecordCheck.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(record)'}: ${issue.message}`);
    throw new EventParseError(`not a CloudTrail record: ${problems.join('; ')}`, { cause: result.error });
  }
  // The record stays exactly as it came: alerts carry it unchanged, and patterns match what AWS sent.
  return raw as CloudTrailRecord;
};

/** The EventBridge event AWS would deliver for a CloudTrail record. */
const recordToEvent = (raw: unknown): CloudTrailEvent => {
  const record = parseRecord(raw);
  return {
    version: '0',
    id: eventIdOf(record, raw),
    'detail-type': detailTypeOf(record),
    source: sourceOf(record.eventSource),
    account: record.recipientAccountId ?? record.userIdentity?.accountId ?? 'unknown',
    time: record.eventTime ?? '',
    region: record.awsRegion ?? 'us-east-1',
    resources: [],
    detail: record,
  };
};

/**
 * An EventBridge event: the envelope EventBridge puts around every event it delivers, with `detail` unchecked. The
 * fields, their order and their checks are those of Powertools for AWS Lambda's `EventBridgeSchema`
 * (@aws-lambda-powertools/parser, its "Built-in schemas": https://docs.powertools.aws.dev/lambda/typescript/latest/features/parser/),
 * written here in zod's mini API so that a Lambda bundle does not carry zod's classic API for it: `time` an ISO 8601
 * date-time, `resources` an array of ARNs, `replay-name` only on events replayed from an archive. The fields are
 * those of "Amazon EventBridge events" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html).
 */
const EventBridgeSchema = z.object({
  version: z.string(),
  id: z.string(),
  source: z.string(),
  account: z.string(),
  time: z.iso.datetime(),
  region: z.string(),
  resources: z.array(z.string()),
  'detail-type': z.string(),
  detail: z.unknown(),
  'replay-name': z.optional(z.string()),
});

/**
 * The envelope fields EventBridge puts around a record (EventBridgeSchema), each checked only where
 * present: a replayed NDJSON stream may hold trimmed envelopes. `time` is any string, as in a record.
 */
const EnvelopeSchema = z.partial(z.extend(z.omit(EventBridgeSchema, { detail: true }), { time: z.string() }));

/**
 * Reads an EventBridge event whose `detail` is a CloudTrail record: what the alert function is handed,
 * and what replay finds in a file of EventBridge events. The envelope's own fields win where present
 * (they are what EventBridge delivered); missing ones are derived from the record as `recordToEvent`
 * does. Except the account and the region: the record's `recipientAccountId` and `awsRegion` say where the
 * activity happened and win over the envelope's, so an event that reached the hub through a forwarder in
 * another account or region is named for that account and region whatever bus delivered it. The event's `id` is the CloudTrail eventID, not the EventBridge id, so that one CloudTrail event
 * yields one alert whichever rule or retry delivered it. The record is kept exactly as it came.
 *
 * @throws EventParseError naming each bad field (`detail.eventName: …`, `account: …`).
 */
const parseEvent = (raw: unknown): CloudTrailEvent => {
  const problems: string[] = [];
  const envelope = EnvelopeSchema.safeParse(raw);
  if (!envelope.success) {
    problems.push(...envelope.error.issues.map((issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`));
  }
  const detail = (raw as { detail?: unknown } | null)?.detail;
  const record = RecordCheck.safeParse(detail);
  if (!record.success) {
    problems.push(
      ...record.error.issues.map(
        (issue) => `detail${issue.path.map((key) => `.${String(key)}`).join('')}: ${issue.message}`,
      ),
    );
  }
  if (!envelope.success || !record.success) {
    throw new EventParseError(`not a CloudTrail event from EventBridge: ${problems.join('; ')}`);
  }
  const derived = recordToEvent(detail);
  const own = envelope.data;
  const pick = (value: string | undefined, fallback: string) =>
    value === undefined || value === '' ? fallback : value;
  return {
    ...derived,
    version: pick(own.version, derived.version),
    account: record.data.recipientAccountId ? derived.account : pick(own.account, derived.account),
    region: record.data.awsRegion ? derived.region : pick(own.region, derived.region),
    time: pick(own.time, derived.time),
    'detail-type': pick(own['detail-type'], derived['detail-type']),
    source: pick(own.source, derived.source),
    resources: own.resources ?? derived.resources,
  };
};

export type { CloudTrailEvent, CloudTrailRecord };
export {
  CloudTrailRecordSchema,
  EventBridgeSchema,
  parseEvent,
  parseRecord,
  passesRecordCheck,
  RecordCheck,
  recordToEvent,
};
