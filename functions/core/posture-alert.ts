import { createHash } from 'node:crypto';
import { type Alert, runbookLink } from './alert-document.js';
import type { Detection } from './detection.js';
import { consoleDomain } from './guard/alert.js';
import type { PostureFinding, PostureFindingKind } from './posture.js';
import { encodeUrlPart } from './render/text.js';
import { type Severity, severityRank } from './severity.js';

/*
 * The posture function's findings as alert documents (rootwatch.alert/v1), raised under the detection
 * root-posture-drift, so that they travel like any alert: SNS (e-mail text, the document for JSON subscribers, the
 * same message attributes) and the Slack queue, rendered by the same renderers. There is no CloudTrail record behind
 * them, so `record` holds the finding in CloudTrail's shape, as the guard's drift alert does (core/guard/alert.ts):
 * eventSource `rootwatch.posture`, eventName `PostureDrift` (one finding that got worse) or `PostureSummary` (the
 * first run's findings, all in one alert), and the finding(s) in `serviceEventDetails`.
 */

/** `eventSource` of a posture alert, which no AWS service uses (theirs end in amazonaws.com). */
const POSTURE_EVENT_SOURCE = 'rootwatch.posture';
/** The detection every posture alert is an instance of. */
const POSTURE_DETECTION = 'root-posture-drift';

/** What every posture alert needs besides its finding(s). */
interface PostureAlertOptions {
  stage: string;
  /** The account the posture function runs in (12 digits): the summary's account. */
  accountId: string;
  /** The function's region: where the alert says it comes from, and the console links' region. */
  region: string;
  partition: string;
  /** The catalog entry of root-posture-drift: its tags, and the runbook the alert links to. */
  detection: Detection;
  runbookBaseUrl?: string | undefined;
  /** Display names by account id (Organizations names, overridden by the accountNames parameter). */
  accountNames?: Readonly<Record<string, string>>;
  /**
   * What identifies this run across Lambda's retries of it (the scheduled event's id): a retried run makes the same
   * eventIDs, so the state table sends each alert once per destination.
   */
  runKey: string;
  /** Epoch milliseconds of the check. */
  nowMs: number;
}

/** The CloudTrail event whose history shows who made each kind of finding (us-east-1: IAM and Account record there). */
const HISTORY_EVENT: Partial<Record<PostureFindingKind, string>> = {
  'root-access-key': 'CreateAccessKey',
  'root-mfa-missing': 'DeactivateMFADevice',
  'root-signing-certificate': 'UploadSigningCertificate',
  'security-contact-missing': 'DeleteAlternateContact',
  'root-email-domain': 'UpdateAccountEmailAddress',
  'root-email-personal': 'UpdateAccountEmailAddress',
};

/**
 * CloudTrail's event history in us-east-1 (where IAM, Account Management and Organizations record), filtered on the
 * call that makes the finding when there is one. It shows the account the reader is signed in to: for a member
 * account, sign in there (or query the organization trail).
 */
const historyLink = (kind: PostureFindingKind | undefined, partition: string): string => {
  const region = partition === 'aws-us-gov' ? 'us-gov-west-1' : partition === 'aws-cn' ? 'cn-north-1' : 'us-east-1';
  const event = kind ? HISTORY_EVENT[kind] : undefined;
  const filter = event ? `?EventName=${encodeUrlPart(event)}` : '';
  return `https://${region}.${consoleDomain(partition)}/cloudtrailv2/home?region=${region}#/events${filter}`;
};

/** `prefix` and the first 16 hex digits of the sha256 of `parts` (joined by NUL). */
const digestOf = (...parts: string[]): string =>
  createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 16);

/** The most severe of the findings' severities; info for none. */
const worstSeverity = (findings: readonly PostureFinding[]): Severity =>
  findings.reduce<Severity>(
    (worst, finding) => (severityRank(finding.severity) > severityRank(worst) ? finding.severity : worst),
    'info',
  );

/** `prod-payments (210987654321)` or `210987654321`. */
const accountLabel = (accountId: string, names: Readonly<Record<string, string>> | undefined): string => {
  const name = names?.[accountId];
  return name ? `${name} (${accountId})` : accountId;
};

/** The human words for each kind of finding, as a title says them. */
const KIND_TITLES: Readonly<Record<PostureFindingKind, string>> = {
  'root-access-key': 'Root access key present',
  'root-mfa-missing': 'Root MFA missing',
  unreachable: 'Root posture could not be checked',
  'root-signing-certificate': 'Root signing certificate present',
  'root-email-personal': 'Root e-mail is a personal mailbox',
  'root-email-domain': "Root e-mail off the company's domains",
  'security-contact-missing': 'Security contact missing',
  'centralized-root-access-off': 'Centralized root access off',
};

/**
 * The findings as the record keeps them: at most this many (an SQS or SNS message holds 256 KB, with the SNS copies
 * of the document); `omitted` counts the rest.
 */
const MAX_SUMMARY_FINDINGS = 300;

const baseAlert = (
  options: PostureAlertOptions,
  fields: { eventID: string; eventName: string; severity: Severity; title: string; accountId: string },
  kind: PostureFindingKind | undefined,
  details: Record<string, unknown>,
): Alert => {
  const eventTime = new Date(options.nowMs).toISOString();
  const name = options.accountNames?.[fields.accountId];
  return {
    schema: 'rootwatch.alert/v1',
    eventID: fields.eventID,
    detections: [options.detection.id],
    severity: fields.severity,
    title: fields.title,
    eventTime,
    eventName: fields.eventName,
    eventSource: POSTURE_EVENT_SOURCE,
    region: options.region,
    account: { id: fields.accountId, ...(name ? { name } : {}) },
    actor: { type: 'Unknown' },
    source: {},
    outcome: { result: 'success' },
    tags: [...options.detection.tags],
    links: {
      cloudtrail: historyLink(kind, options.partition),
      ...runbookLink(options.runbookBaseUrl, options.detection.id),
    },
    record: {
      eventSource: POSTURE_EVENT_SOURCE,
      eventName: fields.eventName,
      eventType: 'RootwatchPostureFinding',
      eventID: fields.eventID,
      eventTime,
      awsRegion: options.region,
      recipientAccountId: fields.accountId,
      serviceEventDetails: { stage: options.stage, ...details },
    },
  };
};

/**
 * The alert for one finding that got worse since the last run: severity the finding's (critical for a root access
 * key or missing MFA), title what it is and where (`Root MFA missing — prod-payments (210987654321): root has a
 * password and no MFA device`), the finding in `record.serviceEventDetails.finding`. Its eventID
 * (`rootwatch-posture-<stage>-<16 hex>`) is the same for the same account, kind and run, so a retried run alerts
 * each destination once.
 *
 * @example
 * import { loadDetections } from '../io/detections.js';
 *
 * const detection = loadDetections().find((candidate) => candidate.id === 'root-posture-drift');
 * if (detection) {
 *   const alert = buildPostureFindingAlert(
 *     { accountId: '210987654321', kind: 'root-access-key', severity: 'critical', detail: 'root has 1 access key' },
 *     { stage: 'prod', accountId: '111122223333', region: 'us-east-1', partition: 'aws', detection, runKey: 'run-1', nowMs: Date.now() },
 *   );
 *   alert.severity; // 'critical'
 * }
 */
const buildPostureFindingAlert = (finding: PostureFinding, options: PostureAlertOptions): Alert =>
  baseAlert(
    options,
    {
      eventID: `rootwatch-posture-${options.stage}-${digestOf(options.runKey, finding.accountId, finding.kind)}`,
      eventName: 'PostureDrift',
      severity: finding.severity,
      title: `${KIND_TITLES[finding.kind]} — ${accountLabel(finding.accountId, options.accountNames)}: ${finding.detail}`,
      accountId: finding.accountId,
    },
    finding.kind,
    { finding },
  );

/**
 * The first run's one alert: every finding already present when rootwatch first checked (never one alert per finding,
 * and never again: later runs alert only what gets worse). Severity the worst finding's; title the counts
 * (`Root posture, first check: 3 findings in 2 of 12 accounts (2 critical)`); the findings, worst first, in
 * `record.serviceEventDetails.findings` (at most 300, `omitted` counting the rest). Account: the one the function
 * runs in. Throws TypeError for no findings: a clean first check sends nothing.
 *
 * @example
 * import { loadDetections } from '../io/detections.js';
 * import type { PostureFinding } from './posture.js';
 *
 * declare const findings: PostureFinding[];
 * const detection = loadDetections().find((candidate) => candidate.id === 'root-posture-drift');
 * if (detection && findings.length > 0) {
 *   const alert = buildPostureSummaryAlert(findings, 12, {
 *     stage: 'prod', accountId: '111122223333', region: 'us-east-1', partition: 'aws', detection, runKey: 'run-1', nowMs: Date.now(),
 *   });
 *   alert.title; // 'Root posture, first check: 3 findings in 2 of 12 accounts (2 critical) — 111122223333'
 * }
 */
const buildPostureSummaryAlert = (
  findings: readonly PostureFinding[],
  accountsChecked: number,
  options: PostureAlertOptions,
): Alert => {
  if (findings.length === 0) throw new TypeError('buildPostureSummaryAlert needs at least one finding');
  const ordered = [...findings].sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  const accounts = new Set(findings.map((finding) => finding.accountId)).size;
  const critical = findings.filter((finding) => finding.severity === 'critical').length;
  const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
  const criticalText = critical > 0 ? ` (${critical} critical)` : '';
  const kept = ordered.slice(0, MAX_SUMMARY_FINDINGS);
  return baseAlert(
    options,
    {
      eventID: `rootwatch-posture-${options.stage}-${digestOf(options.runKey, 'summary')}`,
      eventName: 'PostureSummary',
      severity: worstSeverity(findings),
      title: `Root posture, first check: ${plural(findings.length, 'finding')} in ${accounts} of ${plural(accountsChecked, 'account')}${criticalText} — ${accountLabel(options.accountId, options.accountNames)}`,
      accountId: options.accountId,
    },
    undefined,
    {
      accountsChecked,
      findings: kept,
      ...(ordered.length > kept.length ? { omitted: ordered.length - kept.length } : {}),
    },
  );
};

export { buildPostureFindingAlert, buildPostureSummaryAlert, POSTURE_DETECTION };
