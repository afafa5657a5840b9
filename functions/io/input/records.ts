import { InputError } from '../../errors.js';
import type { InputItem } from './read-input.js';

/*
 * One value where a record is expected: a CloudTrail record, an EventBridge event whose detail is
 * one, or what is wrong with it.
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

/** Whether an object that is not a record reads as a broken one (some of its fields) rather than as something else. */
/**
 * Appends toItem's item for a value at a record position (`item`, when the caller has it already), then what a member
 * of the value could otherwise hide. CloudTrail writes none of these shapes; crafted, they must not blind replay:
 * - an EventBridge event (`detail-type` and `detail`) that also carries a record's own string eventName and
 *   eventSource is read as that record too;
 * - the elements of a `Records` array the value holds (or its EventBridge `detail` holds) are read the same way, at
 *   `POSITION.Records[i]` (`POSITION.detail.Records[i]`).
 */
const pushItems = (
  value: unknown,
  file: string,
  position: string,
  out: InputItem[],
  item: InputItem = toItem(value, file, position),
): void => {
  out.push(item);
  if (!isObject(value)) return;
  if (item.kind === 'event' && recordProblem(value) === undefined) {
    out.push({ kind: 'record', record: value, file, position });
  }
  pushNested(value.Records, file, fieldPosition(position, 'Records'), out);
  if (item.kind === 'event' && isObject(value.detail)) {
    pushNested(value.detail.Records, file, fieldPosition(position, 'detail.Records'), out);
  }
};

/** pushItems for each element of `records` when it is an array, at `at[i]`. */
const pushNested = (records: unknown, file: string, at: string, out: InputItem[]): void => {
  if (!Array.isArray(records)) return;
  for (let index = 0; index < records.length; index++) pushItems(records[index], file, `${at}[${index}]`, out);
};

const looksLikeRecord = (value: Record<string, unknown>): boolean =>
  'eventName' in value ||
  'eventSource' in value ||
  'eventVersion' in value ||
  'userIdentity' in value ||
  'detail-type' in value ||
  'detail' in value;

/**
 * A position inside the value at `position` (undefined: the whole file): `Events[3]` and
 * `CloudTrailEvent` give `Events[3].CloudTrailEvent`, `line 4` gives `line 4, CloudTrailEvent`.
 */
const fieldPosition = (position: string | undefined, field: string): string =>
  position === undefined ? field : position.endsWith(']') ? `${position}.${field}` : `${position}, ${field}`;

export { describeType, fieldPosition, inputError, isObject, looksLikeRecord, pushItems, toItem };
