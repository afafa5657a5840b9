import { InputError } from '../../errors.js';
import type { InputItem } from './read-input.js';

/*
 * Parsed JSON as input items: CloudTrail log files, records and EventBridge events; digest files
 * skipped; and, for anything else, what is wrong with it.
 */

const NOT_INPUT = 'not a CloudTrail record or EventBridge event';

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** An error item for a file, at a position in it (undefined: the file as a whole). */
const inputError = (file: string, position: string | undefined, message: string, cause?: unknown): InputItem => ({
  kind: 'error',
  error: new InputError(file, position, message, cause === undefined ? undefined : { cause }),
});

const REQUIRED_FIELDS = ['eventName', 'eventSource'] as const;

/** Why an object is not a CloudTrail record, or undefined when it is one. */
const recordProblem = (value: Record<string, unknown>): string | undefined => {
  for (const field of REQUIRED_FIELDS) {
    if (value[field] === undefined) return `missing ${field}`;
    if (typeof value[field] !== 'string') return `${field} is not a string`;
  }
  return undefined;
};

const describeType = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;

/** Classifies one value found at a record position. */
const toItem = (value: unknown, file: string, position: string): InputItem => {
  if (!isObject(value))
    return inputError(file, position, `${NOT_INPUT}: expected an object, found ${describeType(value)}`);
  if (typeof value['detail-type'] === 'string' && isObject(value.detail)) {
    const problem = recordProblem(value.detail);
    if (problem !== undefined) {
      return inputError(
        file,
        position,
        `an EventBridge event whose detail is not a CloudTrail record: detail ${problem}`,
      );
    }
    return { kind: 'event', event: value, file, position };
  }
  const problem = recordProblem(value);
  if (problem === undefined) return { kind: 'record', record: value, file, position };
  if ('detail-type' in value || 'detail' in value) {
    return inputError(
      file,
      position,
      `${NOT_INPUT}: an EventBridge event needs a string detail-type and an object detail`,
    );
  }
  return inputError(file, position, `${NOT_INPUT}: ${problem}`);
};

/** A CloudTrail digest file (CloudTrail-Digest/ in the trail's bucket): log file hashes, no records. */
const isDigest = (value: unknown): boolean =>
  isObject(value) && typeof value.digestStartTime === 'string' && Array.isArray(value.logFiles);

/**
 * The items of one JSON document, appended to `out`: a whole file (prefix undefined) or one line or
 * value of it (prefix `line N`). A document is a `{"Records": [...]}` log file, an array of records
 * or events, or a single record or event.
 */
const fromDocument = (
  value: unknown,
  file: string,
  prefix: string | undefined,
  explicit: boolean,
  out: InputItem[],
): void => {
  const at = prefix === undefined ? '' : `${prefix}, `;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) out.push(toItem(value[index], file, `${at}[${index}]`));
    return;
  }
  if (isObject(value) && 'Records' in value) {
    const records = value.Records;
    if (!Array.isArray(records)) {
      out.push(
        inputError(file, prefix, `Records is ${describeType(records)}, expected an array of CloudTrail records`),
      );
      return;
    }
    for (let index = 0; index < records.length; index++) {
      out.push(toItem(records[index], file, `${at}Records[${index}]`));
    }
    return;
  }
  if (prefix === undefined && isDigest(value)) {
    // A synced trail bucket holds digest files beside the logs: a walk skips them, a named one is a mistake.
    if (explicit) out.push(inputError(file, undefined, 'a CloudTrail digest file, which holds no records'));
    return;
  }
  out.push(toItem(value, file, prefix ?? 'document'));
};

export { fromDocument, inputError };
