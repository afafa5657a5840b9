import { fromAwsToolOutput } from './aws-tools.js';
import type { InputItem } from './read-input.js';
import { describeType, inputError, isObject, looksLikeRecord, pushItems, toItem } from './records.js';
import type { ScanLimits } from './scan.js';

/*
 * Parsed JSON as input items: CloudTrail log files, records and EventBridge events first, then what
 * AWS tools write (aws-tools.ts); digest files skipped; and, for anything else, what replay reads.
 */

/** What a document that is none of the shapes replay reads is told. */
const NOT_CLOUDTRAIL_INPUT =
  'not CloudTrail input: expected CloudTrail records ({"Records":[…]}, a record, an array or NDJSON of records), ' +
  'EventBridge events, aws cloudtrail lookup-events output ({"Events":[…CloudTrailEvent]}), ' +
  'or CloudWatch Logs output (filter-log-events, get-log-events, a subscription payload)';

/** A CloudTrail digest file (CloudTrail-Digest/ in the trail's bucket): log file hashes, no records. */
const isDigest = (value: Record<string, unknown>): boolean =>
  typeof value.digestStartTime === 'string' && Array.isArray(value.logFiles);

/**
 * A value that is not a record or event, at a document or entry position (undefined: the file as a
 * whole): AWS tool output, a digest file, a broken record, or not CloudTrail input at all. `error`
 * is what toItem said of it.
 */
const fromOther = (
  value: unknown,
  error: InputItem,
  file: string,
  prefix: string | undefined,
  explicit: boolean,
  out: InputItem[],
  limits: ScanLimits,
): void => {
  if (isObject(value)) {
    if (fromAwsToolOutput(value, file, prefix, out, limits)) return;
    if (isDigest(value)) {
      // A synced trail bucket holds digest files beside the logs: a walk skips them, a named one is a mistake.
      if (explicit) out.push(inputError(file, prefix, 'a CloudTrail digest file, which holds no records'));
      return;
    }
    if (looksLikeRecord(value)) {
      out.push(error);
      return;
    }
  } else if (prefix !== undefined) {
    out.push(error);
    return;
  }
  out.push(inputError(file, prefix, NOT_CLOUDTRAIL_INPUT));
};

/**
 * The items of one element of a top-level array (`[3]`, `line 2, [3]`): a record or event, else fromOther's (the
 * records AWS tool output holds as JSON strings read under `limits`).
 */
const fromArrayEntry = (
  value: unknown,
  file: string,
  position: string,
  explicit: boolean,
  out: InputItem[],
  limits: ScanLimits,
): void => {
  const item = toItem(value, file, position);
  if (item.kind === 'error') fromOther(value, item, file, position, explicit, out, limits);
  else pushItems(value, file, position, out, item);
};

/**
 * The members beside a log file's `Records` (none in a log file CloudTrail writes), as an object of their own: read
 * as a record when they look like one, as what an AWS tool writes (lookup-events `Events`, CloudWatch Logs output)
 * when they are that, and otherwise passed over. A member must not hide what it holds.
 */
const fromMembers = (
  members: Record<string, unknown>,
  file: string,
  prefix: string | undefined,
  out: InputItem[],
  limits: ScanLimits,
): void => {
  if (looksLikeRecord(members)) pushItems(members, file, prefix ?? 'document', out);
  else fromAwsToolOutput(members, file, prefix, out, limits);
};

/**
 * The items of one JSON document, appended to `out`: a whole file (prefix undefined) or one line or
 * value of it (prefix `line N`, `line N, value K`). A document is a `{"Records": [...]}` log file,
 * an array of records or events, a single record or event, or what AWS tools write (aws-tools.ts), whose records,
 * JSON strings of the document, are read under `limits` (depth, string length).
 */
const fromDocument = (
  value: unknown,
  file: string,
  prefix: string | undefined,
  explicit: boolean,
  out: InputItem[],
  limits: ScanLimits,
): void => {
  const at = prefix === undefined ? '' : `${prefix}, `;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++)
      fromArrayEntry(value[index], file, `${at}[${index}]`, explicit, out, limits);
    return;
  }
  if (isObject(value) && 'Records' in value) {
    const { Records: records, ...members } = value;
    if (!Array.isArray(records)) {
      out.push(
        inputError(file, prefix, `Records is ${describeType(records)}, expected an array of CloudTrail records`),
      );
    } else {
      for (let index = 0; index < records.length; index++) {
        pushItems(records[index], file, `${at}Records[${index}]`, out);
      }
    }
    fromMembers(members, file, prefix, out, limits);
    return;
  }
  const item = toItem(value, file, prefix ?? 'document');
  if (item.kind === 'error') fromOther(value, item, file, prefix, explicit, out, limits);
  else pushItems(value, file, prefix ?? 'document', out, item);
};

export { fromArrayEntry, fromDocument, fromMembers };
