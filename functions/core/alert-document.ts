import { mergeAttackTags } from './attack.js';
import { isCentralizedRootSession, type Match } from './classify.js';
import { withinDepth } from './depth.js';
import { type CloudTrailEvent, type CloudTrailRecord, CloudTrailRecordSchema } from './event.js';
import { ExpectedSchema } from './expected-window.js';
import { REGION_NAME } from './forwarding.js';
import { encodeUrlPart } from './render/text.js';
import { SEVERITIES } from './severity.js';
import { classifySourceAddress } from './source-address.js';
import { describeClient, isConsoleUserAgent } from './user-agent.js';
import * as z from './zod.js';

const ALERT_SCHEMA = 'rootwatch.alert/v1';

/**
 * How the caller authenticated. "assumed root": a centralized root session (sts:AssumeRoot); "session
 * issued by root": the federated user of root's GetFederationToken, whose calls do not show as root.
 */
const CREDENTIAL_KINDS = ['console', 'long-term key', 'session', 'assumed root', 'session issued by root'] as const;
type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

const SOURCE_KINDS = ['aws-service', 'aws-internal'] as const;

/** The step a failed console sign-in stopped at: the password, or the MFA challenge after it. */
const SIGN_IN_STEPS = ['password', 'mfa'] as const;
type SignInStep = (typeof SIGN_IN_STEPS)[number];

const CONSOLE_SIGN_IN = 'AWS Console Sign In via CloudTrail';
const CONSOLE_ACTION = 'AWS Console Action via CloudTrail';

/**
 * The alert document: one per alerting event, the same in SNS JSON, the Slack queue, the DLQs and the
 * CLI (DESIGN.md "The alert document"). The builder is typed from it, the Slack notifier parses queue
 * messages with it, and `schema/alert.schema.json` is generated from it for SIEM subscribers
 * (`npm run schema`). Fields may be added within v1; none is removed or changes meaning.
 */
const AlertSchema = z
  .object({
    schema: z.literal(ALERT_SCHEMA),
    eventID: z
      .string()
      .check(z.minLength(1), z.describe('The CloudTrail eventID (or sha256:… of a record that has none)')),
    detections: z
      .array(z.string())
      .check(z.minLength(1), z.describe('Ids of every matching detection, most severe first')),
    severity: z.enum(SEVERITIES).check(z.describe('The highest severity of the detections')),
    title: z.string().check(z.describe('One line: what happened, in which account')),
    eventTime: z.string(),
    eventName: z.string(),
    eventSource: z.string(),
    region: z.string(),
    account: z.object({ id: z.string(), name: z.optional(z.string()), alias: z.optional(z.string()) }),
    actor: z.object({
      type: z.string().check(z.describe('userIdentity.type, "Unknown" when absent')),
      arn: z.optional(z.string()),
      userName: z.optional(z.string()),
      credential: z.optional(z.enum(CREDENTIAL_KINDS)).check(z.describe('How the caller authenticated')),
      mfa: z
        .optional(z.boolean())
        .check(
          z.describe(
            'Whether the caller authenticated with MFA, when the record says; absent on a failed console sign-in, whose MFAUsed tells how far it got (outcome.failedAt)',
          ),
        ),
      invokedBy: z.optional(z.string()),
      taskPolicy: z
        .optional(z.string())
        .check(
          z.describe(
            'The task policy of the centralized root session (sts:AssumeRoot) the event opens, when the record names it: arn:aws:iam::aws:policy/root-task/…',
          ),
        ),
    }),
    source: z.object({
      ip: z.optional(z.string()),
      host: z
        .optional(z.string())
        .check(z.describe('sourceIPAddress when it is no address: a service hostname, or "AWS Internal"')),
      country: z
        .optional(z.string())
        .check(z.describe('ISO 3166-1 alpha-2 code of the source address, from the bundled IP data')),
      asn: z.optional(z.number().check(z.int(), z.nonnegative())),
      org: z.optional(z.string()).check(z.describe('The organisation the ASN is registered to')),
      kind: z.optional(z.enum(SOURCE_KINDS)),
      userAgent: z.optional(z.string()),
      client: z
        .optional(z.string())
        .check(z.describe('A short label for the user agent: "Firefox 62 on macOS", "aws-cli 2.27.0"')),
    }),
    outcome: z.object({
      result: z.enum(['success', 'failure']),
      errorCode: z.optional(z.string()),
      errorMessage: z.optional(z.string()),
      failedAt: z
        .optional(z.enum(SIGN_IN_STEPS))
        .check(
          z.describe(
            'For a failed console sign-in, the step that failed: "password" (refused; MFA never asked) or "mfa" (password accepted, MFA challenge failed), from MFAUsed',
          ),
        ),
    }),
    reasons: z
      .optional(z.record(z.string(), z.string()))
      .check(z.describe("Why a detection's severity moved from its default, per detection id")),
    tags: z.array(z.string()).check(z.describe('ATT&CK technique ids of the detections, e.g. attack.t1078.004')),
    links: z.object({
      cloudtrail: z.string(),
      runbook: z.optional(z.string()).check(z.describe('Only when a runbook base URL is configured (runbookBaseUrl)')),
    }),
    session: z
      .optional(
        z.object({
          key: z
            .string()
            .check(
              z.minLength(1),
              z.describe(
                'The root session the event belongs to: "<account>#key#<access key id>", or "<account>#src#<source IP>#<user agent hash>" for events without an access key (ConsoleLogin); values not in AWS\'s shape are hashed ("~" and 16 hex digits)',
              ),
            ),
          first: z
            .boolean()
            .check(
              z.describe(
                "Whether this is the session's first alert; the session's later events are folded into digests (rootwatch.digest/v1) unless they escalate",
              ),
            ),
          escalation: z
            .optional(
              z.object({
                reason: z
                  .string()
                  .check(z.describe('Why, e.g. "severity high → critical" or "new detection root-access-key-created"')),
              }),
            )
            .check(
              z.describe(
                "Present when the event alerts on its own although its session already alerted: it ranks above the session's highest severity, or raises a detection the session has not",
              ),
            ),
        }),
      )
      .check(
        z.describe(
          'The correlated root session; absent when the event was not correlated: the session state was unavailable (the event is then alerted on its own), or rootwatch raised the alert itself (a guard finding, a silent forwarder)',
        ),
      ),
    expected: z.optional(ExpectedSchema),
    record: z
      .union([
        CloudTrailRecordSchema,
        z.object({ truncated: z.literal(true), eventID: z.string(), reason: z.string() }),
      ])
      .check(z.describe('The CloudTrail record unchanged; in SNS, a marker when the message would pass 256 KB')),
  })
  .check(z.meta({ title: 'rootwatch alert', description: 'One alert document per alerting CloudTrail event.' }));

/** The alert document (see AlertSchema). */
type Alert = z.infer<typeof AlertSchema>;

/**
 * The alert document as a JSON Schema (draft 2020-12), for SIEM subscribers; `schema/alert.schema.json`
 * in the repository is this, written by `npm run schema`. Objects are open (no `additionalProperties:
 * false`): v1 may gain fields, and a subscriber's validator must not break on them.
 */
const alertJsonSchema = (): Record<string, unknown> => ({
  $id: 'urn:rootwatch:schema:alert:v1',
  ...z.toJSONSchema(AlertSchema, { target: 'draft-2020-12', io: 'input' }),
});

/** What enrichment from data outside the event adds: account names, and the source address's network. */
interface Enrichment {
  account?: { name?: string; alias?: string };
  source?: { country?: string; asn?: number; org?: string };
}

interface AlertOptions {
  /** Base URL the detection file names are appended to, for `links.runbook`; undefined: no runbook link. */
  runbookBaseUrl?: string | undefined;
  enrichment?: Enrichment;
}

const asRecord = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;

const stringAt = (value: unknown, ...path: string[]): string | undefined => {
  let node: unknown = value;
  for (const key of path) node = asRecord(node)?.[key];
  return typeof node === 'string' ? node : undefined;
};

/** How the caller authenticated, from the shape of userIdentity; undefined when the record does not say. */
const credentialOf = (event: CloudTrailEvent): CredentialKind | undefined => {
  const record = event.detail;
  const identity = record.userIdentity;
  const keyId = identity?.accessKeyId ?? '';
  if (isCentralizedRootSession(event)) return 'assumed root';
  if (stringAt(identity, 'sessionContext', 'sessionIssuer', 'type') === 'Root') return 'session issued by root';
  if (event['detail-type'] === CONSOLE_SIGN_IN || event['detail-type'] === CONSOLE_ACTION) return 'console';
  if (keyId.startsWith('AKIA')) return 'long-term key';
  if (
    stringAt(record, 'sessionCredentialFromConsole') === 'true' ||
    identity?.invokedBy === 'signin.amazonaws.com' ||
    isConsoleUserAgent(record.userAgent)
  ) {
    return 'console';
  }
  if (keyId.startsWith('ASIA')) return 'session';
  return undefined;
};

/** A console sign-in attempt (ConsoleLogin) that failed, by its response: such records carry no errorCode. */
const isFailedSignIn = (record: CloudTrailRecord): boolean =>
  record.eventName === 'ConsoleLogin' && stringAt(record, 'responseElements', 'ConsoleLogin') === 'Failure';

/**
 * The step a failed console sign-in stopped at. MFAUsed "Yes" on a failure means the password was
 * accepted and the MFA challenge failed; "No", that the password was refused before MFA was asked.
 */
const failedAtOf = (record: CloudTrailRecord): SignInStep | undefined => {
  if (!isFailedSignIn(record)) return undefined;
  const used = stringAt(record, 'additionalEventData', 'MFAUsed')?.toLowerCase();
  if (used === 'yes') return 'mfa';
  if (used === 'no') return 'password';
  return undefined;
};

/**
 * MFA as the record states it: MFAUsed on sign-in ("Yes", "YES", "No"), else the session's attribute.
 * Nothing for a failed sign-in: nobody authenticated, and its MFAUsed says how far it got (failedAtOf).
 */
const mfaOf = (record: CloudTrailRecord): boolean | undefined => {
  if (isFailedSignIn(record)) return undefined;
  const used = stringAt(record, 'additionalEventData', 'MFAUsed');
  if (used !== undefined) return used.toLowerCase() === 'yes';
  const authenticated = stringAt(record.userIdentity, 'sessionContext', 'attributes', 'mfaAuthenticated');
  return authenticated === undefined ? undefined : authenticated.toLowerCase() === 'true';
};

/** Failure from errorCode, or from a sign-in event's "Failure" response (ConsoleLogin, PasswordUpdated…). */
const outcomeOf = (record: CloudTrailRecord): Alert['outcome'] => {
  const response = asRecord(record.responseElements);
  const signInFailed = response ? Object.values(response).some((value) => value === 'Failure') : false;
  if (!record.errorCode && !signInFailed) return { result: 'success' };
  const outcome: Alert['outcome'] = { result: 'failure' };
  if (record.errorCode) outcome.errorCode = record.errorCode;
  if (record.errorMessage) outcome.errorMessage = record.errorMessage;
  put(outcome, 'failedAt', failedAtOf(record));
  return outcome;
};

/** The task policy an sts:AssumeRoot call opens its centralized root session with (requestParameters.taskPolicyArn). */
const taskPolicyOf = (record: CloudTrailRecord): string | undefined =>
  record.eventName === 'AssumeRoot' ? stringAt(record, 'requestParameters', 'taskPolicyArn', 'arn') : undefined;

/** "IAMDeleteRootUserCredentials" from arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials. */
const taskPolicyName = (arn: string): string => arn.slice(arn.lastIndexOf('/') + 1) || arn;

/**
 * The partition an ARN names ("aws", "aws-us-gov", "aws-cn"); undefined for no ARN.
 *
 * @example
 * partitionOfArn('arn:aws-us-gov:iam::111122223333:root'); // "aws-us-gov"
 */
const partitionOfArn = (arn: string | null | undefined): string | undefined => (arn ?? '').split(':')[1] || undefined;

/**
 * The AWS console's domain in a partition: commercial (the default, also for an unknown partition), GovCloud, China.
 *
 * @example
 * consoleDomainOf('aws-cn'); // "console.amazonaws.cn"
 */
const consoleDomainOf = (partition: string | undefined): string => {
  if (partition === 'aws-us-gov') return 'console.amazonaws-us-gov.com';
  if (partition === 'aws-cn') return 'console.amazonaws.cn';
  return 'console.aws.amazon.com';
};

/**
 * The event in the CloudTrail console of its region. The region is the record's, which a crafted record can fill
 * with anything: unless it is shaped like a region, the link goes to the console's global host, which picks a region.
 */
const cloudTrailLinkOf = (event: CloudTrailEvent): string => {
  const domain = consoleDomainOf(partitionOfArn(event.detail.userIdentity?.arn));
  const id = encodeUrlPart(event.id);
  if (!REGION_NAME.test(event.region)) return `https://${domain}/cloudtrailv2/home#/events/${id}`;
  return `https://${event.region}.${domain}/cloudtrailv2/home?region=${event.region}#/events/${id}`;
};

/**
 * "prod-payments (111122223333)", or the bare id when the name (else the alias) is absent or blank.
 *
 * @example
 * accountLabelOf({ id: '111122223333', alias: 'prod' }); // "prod (111122223333)"
 * accountLabelOf({ id: '111122223333', name: ' ' }); // "111122223333"
 */
const accountLabelOf = (account: Alert['account']): string => {
  const name = account.name ?? account.alias;
  return name !== undefined && name.trim() !== '' ? `${name} (${account.id})` : account.id;
};

/** What a console sign-in's title adds: how MFA went on a success, and which step failed on a failure. */
const SIGN_IN_QUALIFIERS = {
  success: { true: ' with MFA', false: ' without MFA' },
  failedAt: { mfa: ': password accepted, MFA failed', password: ': wrong password' },
} as const;

/** What the title adds for credentials that are root's without showing as plain root. */
const CREDENTIAL_QUALIFIERS: Partial<Record<CredentialKind, string>> = {
  'assumed root': ' (centralized root session)',
  'session issued by root': ' (session issued by root)',
};

/**
 * "Root console sign-in without MFA — prod-payments (210987654321)", "Root console sign-in failed:
 * password accepted, MFA failed — …", "Root user API call: ListBuckets (session issued by root) — …".
 */
const titleOf = (
  primary: Match,
  event: CloudTrailEvent,
  alert: Pick<Alert, 'account' | 'actor' | 'outcome'>,
): string => {
  const record = event.detail;
  let what = primary.detection.title;
  if (record.eventName === 'ConsoleLogin') {
    const { failedAt } = alert.outcome;
    if (failedAt !== undefined) what += SIGN_IN_QUALIFIERS.failedAt[failedAt];
    else if (alert.outcome.result === 'success' && alert.actor.mfa !== undefined) {
      what += SIGN_IN_QUALIFIERS.success[`${alert.actor.mfa}`];
    }
  } else if (!what.includes(record.eventName)) {
    what += `: ${record.eventName}`;
  }
  if (alert.actor.taskPolicy !== undefined) what += ` (task policy ${taskPolicyName(alert.actor.taskPolicy)})`;
  if (alert.actor.credential !== undefined) what += CREDENTIAL_QUALIFIERS[alert.actor.credential] ?? '';
  if (alert.outcome.result === 'failure' && !/fail/i.test(what)) what += ' (failed)';
  return `${what} — ${accountLabelOf(alert.account)}`;
};

/** Builds the alert document for an event and its matches (most severe first, at least one). */
const buildAlert = (event: CloudTrailEvent, matches: readonly Match[], options: AlertOptions): Alert => {
  const primary = matches[0];
  if (!primary) throw new TypeError('buildAlert needs at least one match');
  const record = event.detail;
  const identity = record.userIdentity;
  const enrichment = options.enrichment ?? {};
  const address = classifySourceAddress(record.sourceIPAddress);
  // Built field by field rather than by spreading optional parts: the same document, in the same key order, without
  // an object per absent fact (this runs for every alert replay prints).
  const account: Alert['account'] = Object.assign({ id: event.account }, enrichment.account);
  const actor: Alert['actor'] = { type: identity?.type ?? 'Unknown' };
  if (identity?.arn) actor.arn = identity.arn;
  if (identity?.userName) actor.userName = identity.userName;
  put(actor, 'credential', credentialOf(event));
  put(actor, 'mfa', mfaOf(record));
  if (identity?.invokedBy) actor.invokedBy = identity.invokedBy;
  put(actor, 'taskPolicy', taskPolicyOf(record));
  const source: Alert['source'] = {};
  put(source, 'ip', address.ip);
  if (!address.ip) put(source, 'host', record.sourceIPAddress);
  put(source, 'kind', address.kind);
  Object.assign(source, enrichment.source);
  put(source, 'userAgent', record.userAgent);
  put(source, 'client', describeClient(record.userAgent));
  const outcome = outcomeOf(record);
  // Reasons, when any, come between the outcome and the tags: the rest is set in that order below.
  const alert = {
    schema: ALERT_SCHEMA,
    eventID: event.id,
    detections: matches.map((m) => m.detection.id),
    severity: primary.severity,
    title: titleOf(primary, event, { account, actor, outcome }),
    eventTime: event.time,
    eventName: record.eventName,
    eventSource: record.eventSource,
    region: event.region,
    account,
    actor,
    source,
    outcome,
  } as Alert;
  let reasons: Record<string, string> | undefined;
  for (const match of matches) {
    if (match.reason === undefined) continue;
    reasons ??= {};
    reasons[match.detection.id] = match.reason;
  }
  if (reasons !== undefined) alert.reasons = reasons;
  alert.tags = mergeAttackTags(matches.map((m) => m.detection.tags));
  alert.links = { cloudtrail: cloudTrailLinkOf(event), ...runbookLink(options.runbookBaseUrl, primary.detection.id) };
  // A crafted record nested deeper than 200 levels keeps everything above that depth (core/depth.ts).
  alert.record = withinDepth(record);
  return alert;
};

/**
 * `{ runbook: '<base><detection id>.yml' }` for an alert's `links`, or `{}` without a base URL: a link is made only to
 * runbooks the team says exist (the runbookBaseUrl parameter), never to a default that may not.
 *
 * @example
 * runbookLink('https://wiki.example.com/runbooks/', 'root-api-call'); // { runbook: 'https://wiki.example.com/runbooks/root-api-call.yml' }
 * runbookLink(undefined, 'root-api-call'); // {}
 */
const runbookLink = (baseUrl: string | undefined, detectionId: string): { runbook?: string } =>
  baseUrl ? { runbook: `${baseUrl}${detectionId}.yml` } : {};

/** Sets `target[key]` when value is present (not undefined or null): keeps absent facts out of the document. */
const put = <T extends object, K extends keyof T>(target: T, key: K, value: T[K] | null | undefined): void => {
  if (value !== undefined && value !== null) target[key] = value;
};

export type { Alert, CredentialKind, Enrichment };
export {
  AlertSchema,
  accountLabelOf,
  alertJsonSchema,
  buildAlert,
  CREDENTIAL_KINDS,
  consoleDomainOf,
  partitionOfArn,
  runbookLink,
  taskPolicyName,
};
