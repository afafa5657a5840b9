import { type Alert, accountLabelOf, taskPolicyName } from '../alert-document.js';
import type { Detection } from '../detection.js';
import { shortUtc } from '../expected-window.js';
import { driftsOf, isDriftAlert } from '../guard/alert.js';

// ── The facts: one model, rendered for Slack and for e-mail ─────────────────────────────────────────

/**
 * A piece of a fact or a runbook line: words we wrote, a value from the event (untrusted), our words in emphasis, or
 * code from the catalog (a field name or a command in a runbook, shown as code).
 */
type Segment = string | { value: string } | { strong: string } | { code: string };
interface Fact {
  label: string;
  /** Rendered joined by " · " in Slack and ", " in e-mail. */
  items: Segment[][];
}

/**
 * Whether a value is worth showing: a string with something other than whitespace in it.
 *
 * @example
 * present('  '); // false
 */
const present = (value: string | undefined | null): value is string =>
  typeof value === 'string' && value.trim().length > 0;

/** Request parameters as compact JSON (what bucket, which user, which trail); none when absent or null. */
const requestOf = (alert: Alert): string | undefined => {
  const parameters = (alert.record as Record<string, unknown>).requestParameters;
  if (parameters === undefined || parameters === null) return undefined;
  return typeof parameters === 'string' ? parameters : JSON.stringify(parameters);
};

/**
 * The MFA fact: on a failed console sign-in, how far it got (the MFA challenge failing after the
 * password was accepted is the alarming case); otherwise whether the caller used MFA.
 */
const mfaOf = ({ actor, outcome }: Alert): Segment[] => {
  if (outcome.failedAt === 'mfa') return [{ strong: 'FAILED' }, ' (password accepted, MFA challenge failed)'];
  if (outcome.failedAt === 'password') return ['not reached (wrong password)'];
  if (actor.mfa === undefined) return ['unknown'];
  return [actor.mfa ? 'yes' : { strong: 'NO' }];
};

/** What a non-address sourceIPAddress means, for the reader. */
const HOST_KINDS: Readonly<Record<string, string>> = {
  'aws-service': ' (an AWS service)',
  'aws-internal': ' (inside AWS)',
};

/** Drifts shown one per fact; Slack shows at most 10 fields, two of them the What and the Account. */
const MAX_DRIFT_FACTS = 7;

/** `2 silent forwarders`, `1 difference from what rootwatch deployed`, or both, joined. */
const whatDrifted = (drifts: readonly { resource: string }[]): string => {
  const plural = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;
  const silent = drifts.filter((drift) => drift.resource === 'forwarder').length;
  const other = drifts.length - silent;
  return [
    ...(silent > 0 ? [plural(silent, 'silent forwarder', 'silent forwarders')] : []),
    ...(other > 0 ? [`${plural(other, 'difference', 'differences')} from what rootwatch deployed`] : []),
  ].join(', ');
};

/** A guard finding's facts: what drifted, in which account, then each drift (resource kind, what differs). */
const driftFactsOf = (alert: Alert): Fact[] => {
  const drifts = driftsOf(alert);
  const shown = drifts.slice(0, drifts.length > MAX_DRIFT_FACTS + 1 ? MAX_DRIFT_FACTS : MAX_DRIFT_FACTS + 1);
  return [
    {
      label: 'What',
      items: [[whatDrifted(drifts)]],
    },
    { label: 'Account', items: [[{ value: accountLabelOf(alert.account) }]] },
    ...shown.map((drift) => ({
      label: `${drift.resource.charAt(0).toUpperCase()}${drift.resource.slice(1)}`,
      items: [[{ value: drift.message }]],
    })),
    ...(drifts.length > shown.length
      ? [{ label: 'More', items: [[`${drifts.length - shown.length} more in the alert document (JSON)`]] }]
      : []),
  ];
};

/**
 * The Who fact's items: the identity type, the ARN (or user name), the credential kind, who invoked the call on
 * root's behalf, and the task policy of a centralized root session; each when known.
 *
 * @example
 * whoOf({ type: 'Root', arn: 'arn:aws:iam::111122223333:root', credential: 'console' });
 * // [[{ value: 'Root' }], [{ value: 'arn:aws:iam::111122223333:root' }], ['credential: console']]
 */
const whoOf = (actor: Partial<Alert['actor']>): Segment[][] => {
  const who: Segment[][] = [[present(actor.type) ? { value: actor.type } : 'unknown']];
  const principal = actor.arn ?? actor.userName;
  if (present(principal)) who.push([{ value: principal }]);
  if (actor.credential) who.push([`credential: ${actor.credential}`]);
  if (present(actor.invokedBy)) who.push(['invoked by ', { value: actor.invokedBy }]);
  if (present(actor.taskPolicy)) who.push(['task policy ', { value: taskPolicyName(actor.taskPolicy) }]);
  return who;
};

/**
 * Whether the alert is shown as expected ("[EXPECTED]" in the Slack header and the e-mail subject): it fell in a
 * break-glass window that lowered it. One inside a window that did not lower it (a never-planned detection) is not.
 *
 * @example
 * import type { Alert } from '../alert-document.js';
 *
 * declare const alert: Alert; // inside a window, root-api-call lowered from high
 * isShownExpected(alert); // true
 */
const isShownExpected = (alert: Alert): boolean => alert.expected?.severityFrom !== undefined;

/**
 * The Expected fact, first when the alert fell in a break-glass window: its reason, who declared it and until when
 * (the reason and the ARN are values, escaped as any untrusted text), then what the window did to the severity, then
 * the window's id. None outside a window. For window w-3f9a2c1e, "CHG-123", until 10:30 UTC the same day, lowered
 * from high, its items are `[{ value: 'CHG-123' }, ' — declared by ', { value: 'arn:…' }, ' until ', '10:30 UTC']`,
 * `['severity lowered from high']` and `['window ', { value: 'w-3f9a2c1e' }]`.
 */
const expectedFacts = (alert: Alert): Fact[] => {
  const { expected } = alert;
  if (expected === undefined) return [];
  const until: Segment = Number.isNaN(Date.parse(expected.until))
    ? { value: expected.until }
    : shortUtc(expected.until, alert.eventTime);
  const declared: Segment[] = [
    { value: expected.reason },
    ' — declared by ',
    { value: expected.declaredBy },
    ' until ',
    until,
  ];
  const notCovered = expected.notCovered ?? [];
  const effect: Segment[][] = [
    ...(expected.severityFrom === undefined ? [] : [[`severity lowered from ${expected.severityFrom}`]]),
    ...(notCovered.length === 0
      ? []
      : [
          [
            expected.severityFrom === undefined ? { strong: 'severity kept' } : 'kept',
            ': expected window does not cover ',
            { value: notCovered.map((each) => `${each.detection} (${each.reason})`).join(', ') },
          ],
        ]),
  ];
  const window: Segment[][] = expected.windowId === undefined ? [] : [['window ', { value: expected.windowId }]];
  return [{ label: 'Expected', items: [declared, ...effect, ...window] }];
};

/**
 * The facts of an alert, in the order both media show them: (expected,) what, account, who, from where, MFA, outcome,
 * and the request and user agent when the record has them. A guard finding's are what, account and its drifts.
 *
 * @example
 * import { type Alert, taskPolicyName } from '../alert-document.js';
 *
 * declare const alert: Alert; // a root console sign-in (events/samples/root-console-sign-in-no-mfa.json)
 * factsOf(alert).map((fact) => fact.label); // ['What', 'Account', 'Who', 'From where', 'MFA', 'Outcome', 'User agent']
 */
const factsOf = (alert: Alert): Fact[] => {
  if (isDriftAlert(alert)) return driftFactsOf(alert);
  const { actor, source, outcome } = alert;
  const who = whoOf(actor);

  const network = [source.asn === undefined ? '' : `AS${source.asn}`, source.org ?? ''].join(' ').trim();
  const where: Segment[][] = [
    ...(present(source.ip) ? [['IP ', { value: source.ip }]] : []),
    ...(present(source.host) ? [[{ value: source.host }, HOST_KINDS[source.kind ?? ''] ?? '']] : []),
    ...(present(source.country) ? [['country ', { value: source.country }]] : []),
    ...(present(network) ? [['network ', { value: network }]] : []),
    ...(present(source.client) ? [['client ', { value: source.client }]] : []),
  ];

  const result: Segment[][] =
    outcome.result === 'success'
      ? [['success']]
      : [
          [{ strong: 'failure' }],
          ...(present(outcome.errorCode) ? [[{ value: outcome.errorCode }]] : []),
          ...(present(outcome.errorMessage) ? [[{ value: outcome.errorMessage }]] : []),
        ];

  const request = requestOf(alert);
  return [
    ...expectedFacts(alert),
    { label: 'What', items: [[{ value: alert.eventName }, ' on ', { value: alert.eventSource }]] },
    { label: 'Account', items: [[{ value: accountLabelOf(alert.account) }]] },
    { label: 'Who', items: who },
    { label: 'From where', items: where.length > 0 ? where : [['unknown']] },
    { label: 'MFA', items: [mfaOf(alert)] },
    { label: 'Outcome', items: result },
    ...(present(request) ? [{ label: 'Request', items: [[{ value: request }]] }] : []),
    ...(present(source.userAgent) ? [{ label: 'User agent', items: [[{ value: source.userAgent }]] }] : []),
  ];
};

/**
 * The catalog entry for a detection id; undefined for an id the catalog does not hold.
 *
 * @example
 * import { loadDetections } from '../../io/detections.js';
 *
 * detectionById(loadDetections(), 'root-console-sign-in')?.title; // "Root console sign-in"
 */
const detectionById = (detections: readonly Detection[], id: string): Detection | undefined =>
  detections.find((detection) => detection.id === id);

export type { Fact, Segment };
export { detectionById, factsOf, isShownExpected, present, whoOf };
