import { type Alert, accountLabelOf } from '../alert-document.js';
import type { Segment } from './facts.js';

/*
 * A detection's runbook as people read it in an alert: its steps name alert fields in back-ticks (`account.id`,
 * `eventTime`, `record.requestParameters`), and the message shows each field's value in its place ("Ask the owners of
 * account prod-payments (111122223333) whether root work was planned around 2026-10-02 09:01 UTC"). The alert document
 * keeps the runbook's field names; only Slack and e-mail fill them in. Values come from the event, so they are
 * segments of kind `value`, which each renderer escapes as untrusted data (slackSegment, emailSegment).
 */

/** A back-ticked span of a runbook line: a field path (`actor.arn`) or other code (`aws organizations …`). */
const CODE_SPAN = /`([^`\n]+)`/g;
const FIELD_PATH = /^[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*)*$/;
/**
 * A field a step compares ("If `actor.credential` is \"long-term key\"…", "`outcome.failedAt` is \"mfa\""): its value in
 * place would read "If \"console\" is \"long-term key\"", so the step keeps the name and shows the value beside it.
 */
const COMPARED = /^\s+(?:is|are|was|equals)\b/;
/** The longest JSON shown for an object field (`record.requestParameters`): a glance, the document has the rest. */
const MAX_JSON = 300;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The value at `path` in the alert document, or undefined (an own property at every step: no prototype lookups). */
const valueAt = (alert: Alert, path: string): unknown => {
  let value: unknown = alert;
  for (const key of path.split('.')) {
    if (!isRecord(value) || !Object.hasOwn(value, key)) return undefined;
    value = value[key];
  }
  return value;
};

/** "2026-10-02 09:01 UTC" for an ISO time, to the minute; undefined when the text is not one. */
const minuteOf = (time: string): string | undefined => {
  const ms = Date.parse(time);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(time) || Number.isNaN(ms)) return undefined;
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
};

/**
 * What a field shows as in a runbook step, or undefined to leave its name: the account as its label, the event time to
 * the minute in UTC, the outcome and MFA in words ("failure (AccessDenied)", "no MFA"), a scalar as text, and an object or array of the CloudTrail record
 * (`record.…`) as compact JSON cut to MAX_JSON characters. Other objects, and absent or empty values, keep the name.
 */
const shownValue = (alert: Alert, path: string): string | undefined => {
  if (path === 'account.id' || path === 'account') return accountLabelOf(alert.account);
  if (path === 'eventTime') return minuteOf(alert.eventTime) ?? (alert.eventTime || undefined);
  if (path === 'outcome') {
    const { result, errorCode } = alert.outcome;
    return errorCode ? `${result} (${errorCode})` : result;
  }
  if (path === 'actor.mfa' && alert.actor.mfa !== undefined) return alert.actor.mfa ? 'MFA used' : 'no MFA';
  const value = valueAt(alert, path);
  if (typeof value === 'string') return value.trim() === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value !== null && typeof value === 'object' && path.startsWith('record.')) {
    const json = JSON.stringify(value);
    return json.length > MAX_JSON ? `${json.slice(0, MAX_JSON - 1)}…` : json;
  }
  return undefined;
};

/**
 * The runbook's lines (blank ones dropped) as segments, each back-ticked field filled in with its value from the alert:
 * catalog words as text, a filled-in field as `{ value }` (untrusted: renderers escape it), and a field without a
 * value, or other back-ticked code (a command), as `{ code }` (catalog text shown as code). A field the step compares
 * (followed by "is", "are", "was" or "equals") keeps its name, its value beside it: "`actor.credential` (here
 * `console`) is …", never "`console` is …".
 *
 * @example
 * import type { Alert } from '../alert-document.js';
 *
 * declare const alert: Alert; // account 111122223333, named prod-payments; eventTime 2026-10-02T09:01:37Z
 * runbookLines('1. Ask the owners of account `account.id` about `eventTime`.', alert);
 * // [['1. Ask the owners of account ', { value: 'prod-payments (111122223333)' }, ' about ',
 * //   { value: '2026-10-02 09:01 UTC' }, '.']]
 */
const runbookLines = (runbook: string, alert: Alert): Segment[][] =>
  runbook
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const segments: Segment[] = [];
      let at = 0;
      for (const match of line.matchAll(CODE_SPAN)) {
        if (match.index > at) segments.push(line.slice(at, match.index));
        const code = match[1] as string;
        const value = FIELD_PATH.test(code) ? shownValue(alert, code) : undefined;
        at = match.index + match[0].length;
        if (value === undefined) segments.push({ code });
        else if (COMPARED.test(line.slice(at))) segments.push({ code }, ' (here ', { value }, ')');
        else segments.push({ value });
      }
      if (at < line.length) segments.push(line.slice(at));
      return segments;
    });

export { runbookLines };
