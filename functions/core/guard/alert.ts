import { createHash } from 'node:crypto';
import { type Alert, runbookLink } from '../alert-document.js';
import type { Detection } from '../detection.js';
import { encodeUrlPart } from '../render/text.js';
import { type Severity, severityRank } from '../severity.js';
import type { Drift } from './compare.js';

/*
 * The guard's finding as an alert document (rootwatch.alert/v1), so that it travels like any alert: SNS (e-mail
 * text, and the document for JSON subscribers, with the same message attributes) and the Slack queue, rendered by
 * the same renderers and parsed by the same notifier. It is raised under the detection that covers changes to
 * rootwatch itself (alerter-tampering): subscribers that filter on it get it. There is no CloudTrail record behind
 * it, so `record` holds the guard's finding in CloudTrail's shape: eventSource `rootwatch.guard`, eventName
 * `DriftDetected`, and every drift in `serviceEventDetails.drifts`.
 */

/** `eventSource` of the guard's finding, which no AWS service uses (theirs end in amazonaws.com). */
const GUARD_EVENT_SOURCE = 'rootwatch.guard';
const GUARD_EVENT_NAME = 'DriftDetected';
/** The detection a drift is an instance of: rootwatch's own resources changed. */
const DRIFT_DETECTION = 'alerter-tampering';
/**
 * While the deployment stays drifted the same way, the alert is repeated once in this period (one eventID per
 * period), so a drift nobody fixed is not forgotten; a new or changed drift alerts at once.
 */
const REMIND_EVERY_MS = 60 * 60 * 1000;

interface DriftAlertOptions {
  stage: string;
  accountId: string;
  /** The account's display name (the accountNames parameter), when known. */
  accountName?: string;
  region: string;
  partition: string;
  /** The catalog entry of alerter-tampering: its tags, and the runbook the alert links to. */
  detection: Detection;
  runbookBaseUrl?: string | undefined;
  /** Epoch milliseconds of the check. */
  nowMs: number;
}

/** The console's domain in the partition (commercial, GovCloud, China). */
const consoleDomain = (partition: string): string => {
  if (partition === 'aws-us-gov') return 'console.amazonaws-us-gov.com';
  if (partition === 'aws-cn') return 'console.amazonaws.cn';
  return 'console.aws.amazon.com';
};

/** The name CloudTrail's event history knows the drifted resource by. */
const resourceNameOf = (drift: Drift): string => {
  // `rootwatch-prod-notify-slack ← rootwatch-prod-slack`: the function.
  if (drift.resource === 'event source mapping') return drift.name.split(' ')[0] ?? drift.name;
  // `rootwatch-prod-hub/rootwatch-prod-root-api-call`, a rule on the hub bus: the rule's name.
  if (drift.resource === 'rule') return drift.name.split('/').at(-1) ?? drift.name;
  return drift.name;
};

/**
 * CloudTrail's event history of the drifted resource, which says who changed it and when: by resource name (a
 * subscription, named by an ARN the guard may not know, by the Unsubscribe calls instead).
 */
const historyLink = (drift: Drift, options: DriftAlertOptions): string => {
  const region = encodeUrlPart(options.region);
  const filter =
    drift.resource === 'subscription'
      ? 'EventName=Unsubscribe'
      : `ResourceName=${encodeUrlPart(resourceNameOf(drift))}`;
  return `https://${region}.${consoleDomain(options.partition)}/cloudtrailv2/home?region=${region}#/events?${filter}`;
};

/**
 * The eventID of the alert for these drifts: the same while the deployment drifts the same way within one
 * reminder period, so that the state table alerts once per period (`rootwatch-guard-<stage>-<digest>-<period>`).
 *
 * @example
 * import type { Drift } from './compare.js';
 *
 * declare const drifts: Drift[];
 * driftEventId('prod', drifts, Date.parse('2026-01-01T00:05:00Z')); // 'rootwatch-guard-prod-3f2a9c1e5b7d4a60-493128'
 */
const driftEventId = (stage: string, drifts: readonly Drift[], nowMs: number): string => {
  const digest = createHash('sha256')
    .update(
      JSON.stringify(
        drifts
          .map((drift) => [
            drift.resource,
            drift.name,
            drift.property,
            // An error's text may change from run to run (request ids): that the resource is unreadable is the drift.
            drift.property === 'readable' ? null : (drift.actual ?? null),
          ])
          .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      ),
    )
    .digest('hex')
    .slice(0, 16);
  return `rootwatch-guard-${stage}-${digest}-${Math.floor(nowMs / REMIND_EVERY_MS)}`;
};

/**
 * The drifts' values (whole patterns and policies) fit an SQS or SNS message (256 KB, with the SNS copies of the
 * document) up to about this many characters in all; past it, the alert keeps each drift without its values.
 */
const MAX_DRIFT_VALUES_LENGTH = 32_000;

/** The drifts, without their expected and actual values when those would make the message too big. */
const compactDrifts = (drifts: readonly Drift[]): Drift[] =>
  JSON.stringify(drifts).length <= MAX_DRIFT_VALUES_LENGTH
    ? [...drifts]
    : drifts.map(({ expected: _, actual: __, ...drift }) => drift);

/** The most severe of the drifts' severities. */
const severityOf = (drifts: readonly Drift[]): Severity =>
  drifts.reduce<Severity>(
    (worst, drift) => (severityRank(drift.severity) > severityRank(worst) ? drift.severity : worst),
    'info',
  );

/**
 * The alert document for drifts found by the guard (at least one): severity the worst drift's, title the first
 * drift and the count, links to CloudTrail's history of the first drifted resource and to alerter-tampering's
 * runbook, and the drifts themselves in `record.serviceEventDetails`.
 *
 * @example
 * import { loadDetections } from '../../io/detections.js';
 * import type { Drift } from './compare.js';
 *
 * declare const drifts: Drift[];
 * const detection = loadDetections().find((candidate) => candidate.id === 'alerter-tampering');
 * if (detection) {
 *   const alert = buildDriftAlert(drifts, {
 *     stage: 'prod',
 *     accountId: '111122223333',
 *     region: 'us-east-1',
 *     partition: 'aws',
 *     detection,
 *     runbookBaseUrl: 'https://github.com/rootwatch/rootwatch/blob/main/events/',
 *     nowMs: Date.now(),
 *   });
 *   alert.title; // 'rootwatch prod drifted: rule rootwatch-prod-alerter-tampering-0 is DISABLED, deployed ENABLED — 111122223333'
 * }
 */
const buildDriftAlert = (drifts: readonly Drift[], options: DriftAlertOptions): Alert => {
  const first = drifts[0];
  if (!first) throw new TypeError('buildDriftAlert needs at least one drift');
  const eventID = driftEventId(options.stage, drifts, options.nowMs);
  const eventTime = new Date(options.nowMs).toISOString();
  const account = { id: options.accountId, ...(options.accountName ? { name: options.accountName } : {}) };
  const accountLabel = options.accountName ? `${options.accountName} (${options.accountId})` : options.accountId;
  const more = drifts.length > 1 ? ` (+${drifts.length - 1} more)` : '';
  return {
    schema: 'rootwatch.alert/v1',
    eventID,
    detections: [options.detection.id],
    severity: severityOf(drifts),
    title: `rootwatch ${options.stage} drifted: ${first.message}${more} — ${accountLabel}`,
    eventTime,
    eventName: GUARD_EVENT_NAME,
    eventSource: GUARD_EVENT_SOURCE,
    region: options.region,
    account,
    actor: { type: 'Unknown' },
    source: {},
    outcome: { result: 'success' },
    tags: [...options.detection.tags],
    links: {
      cloudtrail: historyLink(first, options),
      ...runbookLink(options.runbookBaseUrl, options.detection.id),
    },
    record: {
      eventSource: GUARD_EVENT_SOURCE,
      eventName: GUARD_EVENT_NAME,
      eventType: 'RootwatchGuardFinding',
      eventID,
      eventTime,
      awsRegion: options.region,
      recipientAccountId: options.accountId,
      serviceEventDetails: { stage: options.stage, drifts: compactDrifts(drifts) },
    },
  };
};

/** Whether an alert document is a guard finding (its drifts are in `record.serviceEventDetails.drifts`). */
const isDriftAlert = (alert: Alert): boolean =>
  alert.eventSource === GUARD_EVENT_SOURCE && alert.eventName === GUARD_EVENT_NAME;

/** The drifts of a guard finding; none for any other alert. */
const driftsOf = (alert: Alert): Drift[] => {
  if (!isDriftAlert(alert)) return [];
  const details = (alert.record as { serviceEventDetails?: { drifts?: unknown } }).serviceEventDetails;
  return Array.isArray(details?.drifts) ? (details.drifts as Drift[]) : [];
};

export { buildDriftAlert, consoleDomain, DRIFT_DETECTION, driftEventId, driftsOf, isDriftAlert, REMIND_EVERY_MS };
