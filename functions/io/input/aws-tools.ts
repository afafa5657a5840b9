import { toError } from '../../errors.js';
import { describeFailure, gunzipPayload } from './bytes.js';
import { limitMessage } from './limits.js';
import type { InputItem } from './read-input.js';
import { describeType, fieldPosition, inputError, isObject, toItem } from './records.js';
import { type ScanLimits, valueVerdict } from './scan.js';

/*
 * What AWS tools write when they hand out CloudTrail records one by one, each as a JSON string:
 * `aws cloudtrail lookup-events` output, CloudWatch Logs output of a trail's log group
 * (`aws logs filter-log-events`, `aws logs get-log-events`) and CloudWatch Logs subscription payloads.
 * Only reached for a document that is not a CloudTrail log file, record or event, so it costs the
 * common shapes nothing.
 */

/** A subscription payload unpacks to no more than this; a bigger one is refused, never held. */
const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;
/** Base64 of the gzip magic bytes 1f 8b and deflate (08): how every subscription payload's text begins. */
const GZIP_BASE64_PREFIX = 'H4sI';
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

type Decoded = { ok: true; value: unknown } | { ok: false; message: string };

/**
 * The record a JSON string holds, as an item at `position` (the string's own position); one nested deeper or holding
 * a string longer than `limits` allow is that limit's error, as a record of a log file is.
 */
const recordFromString = (text: string, file: string, position: string, limits: ScanLimits): InputItem => {
  const verdict = valueVerdict(text, undefined, limits);
  if (verdict === 'deep') return inputError(file, position, limitMessage('maxDepth', limits.maxDepth));
  if (verdict === 'long') return inputError(file, position, limitMessage('maxStringBytes', limits.maxStringBytes));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return inputError(file, position, `not a CloudTrail record as JSON: ${toError(error).message}`);
  }
  return toItem(value, file, position);
};

/**
 * One result of `aws cloudtrail lookup-events`: its `CloudTrailEvent` is "a JSON string that
 * contains a representation of the event returned", the record as CloudTrail writes it
 * (https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_Event.html).
 */
const fromLookupResult = (
  value: unknown,
  file: string,
  position: string | undefined,
  limits: ScanLimits,
): InputItem => {
  if (!isObject(value)) {
    return inputError(
      file,
      position,
      `expected a lookup-events result (an object with CloudTrailEvent), found ${describeType(value)}`,
    );
  }
  const json = value.CloudTrailEvent;
  if (typeof json !== 'string') {
    return inputError(
      file,
      position,
      json === undefined
        ? 'a lookup-events result without CloudTrailEvent'
        : `CloudTrailEvent is ${describeType(json)}, expected the record as a JSON string`,
    );
  }
  return recordFromString(json, file, fieldPosition(position, 'CloudTrailEvent'), limits);
};

/**
 * One log event of a trail's log group, whose `message` is one CloudTrail record (or, for a log
 * group an EventBridge rule writes to, one event): `FilteredLogEvent` of filter-log-events
 * (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilteredLogEvent.html),
 * `OutputLogEvent` of get-log-events
 * (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_OutputLogEvent.html) and
 * the `logEvents` of a subscription payload all carry it.
 */
const fromLogEvent = (value: unknown, file: string, position: string | undefined, limits: ScanLimits): InputItem => {
  if (!isObject(value) || typeof value.message !== 'string') {
    return inputError(
      file,
      position,
      isObject(value)
        ? `a log event whose message is ${describeType(value.message)}, expected a CloudTrail record as a JSON string`
        : `expected a log event (an object with message), found ${describeType(value)}`,
    );
  }
  return recordFromString(value.message, file, fieldPosition(position, 'message'), limits);
};

/** The items of a list in AWS tool output, appended to `out`; an error when it is not a list. */
const fromList = (
  list: unknown,
  name: string,
  what: string,
  file: string,
  prefix: string | undefined,
  out: InputItem[],
  limits: ScanLimits,
  fromEntry: (entry: unknown, file: string, position: string, limits: ScanLimits) => InputItem,
): void => {
  if (!Array.isArray(list)) {
    out.push(inputError(file, prefix, `${name} is ${describeType(list)}, expected an array of ${what}`));
    return;
  }
  const at = prefix === undefined ? '' : `${prefix}, `;
  for (let index = 0; index < list.length; index++) {
    out.push(fromEntry(list[index], file, `${at}${name}[${index}]`, limits));
  }
};

/**
 * The text of a subscription payload as CloudWatch Logs delivers it: "base64 encoded and compressed
 * with the gzip format" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Subscriptions.html),
 * decoded and parsed.
 */
const decodeSubscriptionData = (data: string): Decoded => {
  const base64 = data.replace(/\s+/g, '');
  if (base64 === '' || base64.length % 4 !== 0 || !BASE64.test(base64)) {
    return { ok: false, message: 'not base64 text (a subscription payload is base64 of gzip)' };
  }
  const bytes = Buffer.from(base64, 'base64');
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) {
    return { ok: false, message: 'not gzip data once base64-decoded (a subscription payload is base64 of gzip)' };
  }
  let text: string;
  try {
    text = gunzipPayload(bytes, MAX_PAYLOAD_BYTES).toString('utf8');
  } catch (error) {
    return { ok: false, message: describeFailure(error) };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, message: `not valid JSON once unpacked: ${toError(error).message}` };
  }
};

/** Whether a text that is not JSON reads as a subscription payload's base64 text. */
const isSubscriptionData = (text: string): boolean => text.trimStart().startsWith(GZIP_BASE64_PREFIX);

/**
 * A subscription payload, decoded (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html):
 * `{"messageType": "DATA_MESSAGE", "owner", "logGroup", "logStream", "subscriptionFilters",
 * "logEvents": [{"id", "timestamp", "message"}]}`. "Sometimes CloudWatch Logs may emit … records with
 * a CONTROL_MESSAGE type, mainly for checking if the destination is reachable": those hold no
 * records and are skipped.
 */
const fromSubscriptionPayload = (
  value: unknown,
  file: string,
  prefix: string | undefined,
  out: InputItem[],
  limits: ScanLimits,
): void => {
  if (!isObject(value)) {
    out.push(inputError(file, prefix, `a subscription payload is a JSON object, found ${describeType(value)}`));
    return;
  }
  if (value.messageType === 'CONTROL_MESSAGE') return;
  if (value.messageType !== 'DATA_MESSAGE') {
    out.push(
      inputError(
        file,
        prefix,
        `a subscription payload whose messageType is ${JSON.stringify(value.messageType) ?? 'missing'}, expected DATA_MESSAGE or CONTROL_MESSAGE`,
      ),
    );
    return;
  }
  fromList(value.logEvents, 'logEvents', 'log events', file, prefix, out, limits, fromLogEvent);
};

/**
 * A subscription payload's base64 text (`awslogs.data`, a Kinesis record's data), decoded and read; each record in it
 * under `limits` (depth, string length).
 */
const fromSubscriptionData = (
  data: string,
  file: string,
  position: string | undefined,
  out: InputItem[],
  limits: ScanLimits,
): void => {
  const decoded = decodeSubscriptionData(data);
  if (decoded.ok) fromSubscriptionPayload(decoded.value, file, position, out, limits);
  else out.push(inputError(file, position, decoded.message));
};

/**
 * The items of a document that AWS tools wrote, appended to `out`; false when it is none of them.
 * `prefix` is the document's position (undefined: the file as a whole), and starts the items'. Each record, a JSON
 * string of the document, is read under `limits` (depth, string length) as a record of a log file is.
 *
 * - `aws cloudtrail lookup-events` (https://awscli.amazonaws.com/v2/documentation/api/latest/reference/cloudtrail/lookup-events.html,
 *   https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html):
 *   `{"Events": [{"EventId", …, "CloudTrailEvent": "<record>"}], "NextToken"?}`; a page at a time
 *   (`--max-items`, `--starting-token`) is several such documents one after another.
 * - `aws logs filter-log-events` (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html):
 *   `{"events": [{"logStreamName", "timestamp", "message": "<record>", "ingestionTime", "eventId"}], "searchedLogStreams"?, "nextToken"?}`;
 *   `aws logs get-log-events` (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogEvents.html):
 *   `{"events": [{"timestamp", "message": "<record>", "ingestionTime"}], "nextForwardToken", "nextBackwardToken"}`.
 *   A trail's log group holds one record per log event
 *   (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/send-cloudtrail-events-to-cloudwatch-logs.html).
 * - A subscription's delivery to Lambda, `{"awslogs": {"data": "<base64 of gzip>"}}`
 *   (https://docs.aws.amazon.com/lambda/latest/dg/services-cloudwatchlogs.html), or its payload decoded.
 * - One entry of these lists on its own (`--query 'Events[]'`, `jq -c '.events[]'`).
 *
 * @example
 * ```ts
 * import { DEFAULT_LIMITS } from './limits.js';
 * import type { InputItem } from './read-input.js';
 * const out: InputItem[] = [];
 * const output = { Events: [{ EventId: 'id', CloudTrailEvent: '{"eventName":"CreateUser","eventSource":"iam.amazonaws.com"}' }] };
 * fromAwsToolOutput(output, 'lookup.json', undefined, out, DEFAULT_LIMITS);
 * // out[0]: { kind: 'record', position: 'Events[0].CloudTrailEvent', … }
 * ```
 */
const fromAwsToolOutput = (
  value: Record<string, unknown>,
  file: string,
  prefix: string | undefined,
  out: InputItem[],
  limits: ScanLimits,
): boolean => {
  if ('Events' in value) {
    fromList(value.Events, 'Events', 'lookup-events results', file, prefix, out, limits, fromLookupResult);
  } else if ('events' in value) {
    fromList(value.events, 'events', 'log events', file, prefix, out, limits, fromLogEvent);
  } else if ('awslogs' in value) {
    const data = isObject(value.awslogs) ? value.awslogs.data : undefined;
    const position = fieldPosition(prefix, 'awslogs.data');
    if (typeof data === 'string') fromSubscriptionData(data, file, position, out, limits);
    else out.push(inputError(file, prefix, 'awslogs.data is missing: expected a subscription payload in base64'));
  } else if ('messageType' in value || 'logEvents' in value) {
    fromSubscriptionPayload(value, file, prefix, out, limits);
  } else if ('CloudTrailEvent' in value) {
    out.push(fromLookupResult(value, file, prefix, limits));
  } else if (typeof value.message === 'string' && typeof value.timestamp === 'number') {
    out.push(fromLogEvent(value, file, prefix, limits));
  } else {
    return false;
  }
  return true;
};

export { fromAwsToolOutput, fromSubscriptionData, isSubscriptionData };
