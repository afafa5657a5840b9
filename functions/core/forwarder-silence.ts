import { createHash } from 'node:crypto';
import { type Alert, runbookLink } from './alert-document.js';
import type { Detection } from './detection.js';
import { ACCOUNT_ID, REGION_NAME } from './forwarding.js';
import { consoleDomain, REMIND_EVERY_MS } from './guard/alert.js';
import { encodeUrlPart } from './render/text.js';

/*
 * Proof of life per region and account: each forwarder's heartbeat reaches the hub, which records when it last heard
 * from that forwarder (io/forwarder-log.ts). The guard reads those times every run and reports the forwarders it has
 * not heard from for more than two heartbeat periods, here: which are silent, and the alert that names them.
 *
 * The alert has the shape of the guard's drift alert (core/guard/alert.ts: eventSource rootwatch.guard, eventName
 * DriftDetected, each finding in `record.serviceEventDetails.drifts`), one finding of resource `forwarder` per silent
 * forwarder: a forwarder rootwatch deployed that no longer proves it works is a deployment that differs from what was
 * deployed, and the renderers then show each silent forwarder as a fact of its own, escaped as every value is.
 */

/** One forwarder: the account and region its stack runs in. */
interface Forwarder {
  account: string;
  region: string;
}

/** What the hub remembers of its forwarders, by forwarderKey, in epoch milliseconds. */
interface ForwarderSightings {
  /** When the hub last received the forwarder's heartbeat. */
  lastSeen: Readonly<Record<string, number>>;
  /**
   * When the guard first expected a forwarder it had never heard from (a region of FORWARDER_REGIONS): its silence
   * is counted from then, so a forwarder deployed minutes after the hub is not reported.
   */
  expectedSince: Readonly<Record<string, number>>;
}

/** A watched forwarder and how long it has been silent. */
interface ForwarderStatus extends Forwarder {
  /** `<account>:<region>`. */
  key: string;
  /** Epoch ms of its last heartbeat; absent when never heard from. */
  lastSeenMs?: number;
  /** Epoch ms since when it is expected, for one never heard from. */
  expectedSinceMs?: number;
  /**
   * Milliseconds since its last heartbeat (or, never heard from, since it was expected); absent for a forwarder
   * expected from this very check on.
   */
  quietForMs?: number;
  /** Quiet for more than two heartbeat periods. */
  silent: boolean;
}

/** The metric the guard emits every run: how many forwarders are silent (dimensions `service` and `stage`). */
const SILENT_FORWARDERS_METRIC = { namespace: 'rootwatch', service: 'rootwatch', name: 'SilentForwarders' } as const;

/** At most this many silent forwarders are listed in the alert document, so it fits one SNS message. */
const MAX_LISTED = 100;
/** Severity of the alert: root activity there reaches nobody, though an outage looks the same as tampering. */
const SILENT_SEVERITY = 'high';

/**
 * The map key of a forwarder: `<account>:<region>`, as `rootwatch forwarders --forget` takes it.
 *
 * @example
 * forwarderKey({ account: '210987654321', region: 'eu-west-1' }); // '210987654321:eu-west-1'
 */
const forwarderKey = (forwarder: Forwarder): string => `${forwarder.account}:${forwarder.region}`;

/**
 * The forwarder a key names, or undefined when it is not `<12-digit account>:<region>`.
 *
 * @example
 * parseForwarderKey('210987654321:eu-west-1'); // { account: '210987654321', region: 'eu-west-1' }
 * parseForwarderKey('eu-west-1'); // undefined
 */
const parseForwarderKey = (key: string): Forwarder | undefined => {
  const [account = '', region = '', ...rest] = key.split(':');
  return rest.length === 0 && ACCOUNT_ID.test(account) && REGION_NAME.test(region) ? { account, region } : undefined;
};

/** Whether `forwarder` has a 12-digit account and a region name (what EventBridge puts in every event). */
const isForwarder = (forwarder: Forwarder): boolean =>
  ACCOUNT_ID.test(forwarder.account) && REGION_NAME.test(forwarder.region);

/** Two heartbeat periods, in milliseconds: quiet for longer than this is silent. */
const silenceLimitMs = (heartbeatMinutes: number): number => 2 * heartbeatMinutes * 60_000;

interface SilenceOptions {
  /** Forwarders expected even if never heard from: this account's FORWARDER_REGIONS. */
  expected?: readonly Forwarder[];
  nowMs: number;
  heartbeatMinutes: number;
}

/**
 * Every watched forwarder, sorted by account then region: each heard from (lastSeen), each expected and never heard
 * from (expectedSince), and each of `expected`. Silent: its last heartbeat (or, never heard from, the time it was
 * first expected) is more than two heartbeat periods before `nowMs`; exactly two periods is not silent yet. A
 * forwarder stays watched until forgotten (`rootwatch forwarders --forget`), so one that was removed keeps being
 * reported: removing a forwarder and silencing one look the same from the hub.
 *
 * @example
 * const statuses = forwarderStatuses(
 *   { lastSeen: { '210987654321:eu-west-1': Date.parse('2026-03-01T11:30:00Z') }, expectedSince: {} },
 *   { nowMs: Date.parse('2026-03-01T12:00:00Z'), heartbeatMinutes: 10 },
 * );
 * statuses[0]?.silent; // true: 30 minutes is more than two 10-minute periods
 */
const forwarderStatuses = (sightings: ForwarderSightings, options: SilenceOptions): ForwarderStatus[] => {
  const limit = silenceLimitMs(options.heartbeatMinutes);
  const keys = new Set([
    ...Object.keys(sightings.lastSeen),
    ...Object.keys(sightings.expectedSince),
    ...(options.expected ?? []).map(forwarderKey),
  ]);
  const statuses: ForwarderStatus[] = [];
  for (const key of keys) {
    const forwarder = parseForwarderKey(key);
    if (!forwarder) continue; // not written by rootwatch: nothing to name
    const lastSeenMs = sightings.lastSeen[key];
    const expectedSinceMs = sightings.expectedSince[key];
    const since = lastSeenMs ?? expectedSinceMs;
    const quietForMs = since === undefined ? undefined : Math.max(0, options.nowMs - since);
    statuses.push({
      ...forwarder,
      key,
      ...(lastSeenMs === undefined ? {} : { lastSeenMs }),
      ...(lastSeenMs === undefined && expectedSinceMs !== undefined ? { expectedSinceMs } : {}),
      ...(quietForMs === undefined ? {} : { quietForMs }),
      silent: quietForMs !== undefined && quietForMs > limit,
    });
  }
  return statuses.sort((a, b) => a.account.localeCompare(b.account) || a.region.localeCompare(b.region));
};

/**
 * The expected forwarders with no record at all (never heard from, never expected before): the guard records them
 * as expected from now on.
 *
 * @example
 * unrecordedForwarders({ lastSeen: {}, expectedSince: {} }, [{ account: '111122223333', region: 'eu-west-1' }]);
 * // ['111122223333:eu-west-1']
 */
const unrecordedForwarders = (sightings: ForwarderSightings, expected: readonly Forwarder[]): string[] =>
  expected
    .map(forwarderKey)
    .filter((key) => sightings.lastSeen[key] === undefined && sightings.expectedSince[key] === undefined);

/**
 * A duration for people: "25 minutes", "3 hours", "2 days" (rounded down, at least a minute).
 *
 * @example
 * formatDuration(90 * 60_000); // '90 minutes'
 */
const formatDuration = (ms: number): string => {
  const minutes = Math.max(1, Math.floor(ms / 60_000));
  const [value, unit] =
    minutes < 120
      ? [minutes, 'minute']
      : minutes < 2880
        ? [Math.floor(minutes / 60), 'hour']
        : [Math.floor(minutes / 1440), 'day'];
  return `${value} ${unit}${value === 1 ? '' : 's'}`;
};

interface SilentForwardersAlertOptions {
  stage: string;
  /** The hub's account and region (where the guard runs). */
  accountId: string;
  region: string;
  partition: string;
  /** Account names (the accountNames parameter), by account id. */
  accountNames?: Readonly<Record<string, string>>;
  /** The catalog entry the alert is raised under (alerter-tampering): its tags and runbook. */
  detection: Detection;
  runbookBaseUrl?: string | undefined;
  heartbeatMinutes: number;
  /** Epoch milliseconds of the check. */
  nowMs: number;
}

/** "prod-payments (210987654321)", or the id alone when the account has no configured name. */
const accountLabel = (account: string, names: Readonly<Record<string, string>> | undefined): string => {
  const name = names?.[account];
  return name ? `${name} (${account})` : account;
};

/** One silent forwarder in a sentence: where, and for how long. */
const describeSilence = (status: ForwarderStatus, options: SilentForwardersAlertOptions): string => {
  const where = `forwarder in ${status.region} of ${accountLabel(status.account, options.accountNames)}`;
  const quiet = formatDuration(status.quietForMs ?? 0);
  return status.lastSeenMs === undefined
    ? `${where}: never heard from in the ${quiet} it has been expected`
    : `${where}: no heartbeat for ${quiet} (last ${new Date(status.lastSeenMs).toISOString()})`;
};

/**
 * The eventID of the alert for these silent forwarders: the same while the same forwarders stay silent within one
 * reminder period (an hour), so the state table alerts once per period; another forwarder going silent (or one
 * coming back) changes it, and alerts at once. `rootwatch-forwarders-<stage>-<digest>-<period>`.
 *
 * @example
 * declare const silent: ForwarderStatus[];
 * silentForwardersEventId('prod', silent, Date.parse('2026-03-01T12:05:00Z')); // 'rootwatch-forwarders-prod-…-493140'
 */
const silentForwardersEventId = (stage: string, silent: readonly ForwarderStatus[], nowMs: number): string => {
  const digest = createHash('sha256')
    .update(JSON.stringify(silent.map((status) => status.key).sort()))
    .digest('hex')
    .slice(0, 16);
  return `rootwatch-forwarders-${stage}-${digest}-${Math.floor(nowMs / REMIND_EVERY_MS)}`;
};

/** The one value all silent forwarders share, else `fallback`. */
const sharedOr = (values: readonly string[], fallback: string): string =>
  values.every((value) => value === values[0]) && values[0] !== undefined ? values[0] : fallback;

/**
 * The alert document for forwarders the hub has not heard from (at least one, as forwarderStatuses marks them
 * silent): severity high; the title names the first forwarder's region and account (and how many more); `account`
 * and `region` are the silent forwarders' when they all share one, else the hub's; the link opens CloudTrail's
 * EventBridge history in the first forwarder's region (DisableRule, DeleteRule, RemoveTargets show there, in that
 * account); each silent forwarder is a finding in `record.serviceEventDetails.drifts` (resource `forwarder`, name
 * `<account>:<region>`, property `heartbeat`), the first 100 of them.
 *
 * @throws TypeError when `silent` is empty.
 * @example
 * import { loadDetections } from '../io/detections.js';
 *
 * const detection = loadDetections().find((candidate) => candidate.id === 'alerter-tampering');
 * if (detection) {
 *   const alert = buildSilentForwardersAlert(
 *     [{ account: '210987654321', region: 'eu-west-1', key: '210987654321:eu-west-1', lastSeenMs: 0, quietForMs: 1_500_000, silent: true }],
 *     { stage: 'prod', accountId: '111122223333', region: 'us-east-1', partition: 'aws', detection,
 *       runbookBaseUrl: 'https://runbooks.example/', heartbeatMinutes: 10, nowMs: 1_500_000 },
 *   );
 *   alert.title; // 'rootwatch prod: forwarder silent in eu-west-1 of 210987654321, no heartbeat for 25 minutes'
 * }
 */
const buildSilentForwardersAlert = (
  silent: readonly ForwarderStatus[],
  options: SilentForwardersAlertOptions,
): Alert => {
  const first = silent[0];
  if (!first) throw new TypeError('buildSilentForwardersAlert needs at least one silent forwarder');
  const eventID = silentForwardersEventId(options.stage, silent, options.nowMs);
  const eventTime = new Date(options.nowMs).toISOString();
  const accountId = sharedOr(
    silent.map((status) => status.account),
    options.accountId,
  );
  const region = sharedOr(
    silent.map((status) => status.region),
    options.region,
  );
  const accountName = options.accountNames?.[accountId];
  const quiet = formatDuration(first.quietForMs ?? 0);
  const how = first.lastSeenMs === undefined ? `never heard from in ${quiet}` : `no heartbeat for ${quiet}`;
  const more = silent.length > 1 ? ` (+${silent.length - 1} more)` : '';
  const expected = `a heartbeat every ${options.heartbeatMinutes} minutes`;
  const drifts = silent.slice(0, MAX_LISTED).map((status) => ({
    resource: 'forwarder',
    name: status.key,
    property: 'heartbeat',
    expected,
    actual: status.lastSeenMs === undefined ? null : new Date(status.lastSeenMs).toISOString(),
    message: describeSilence(status, options),
    severity: SILENT_SEVERITY,
    account: status.account,
    ...(options.accountNames?.[status.account] ? { accountName: options.accountNames[status.account] } : {}),
    region: status.region,
  }));
  const linkRegion = encodeUrlPart(first.region);
  return {
    schema: 'rootwatch.alert/v1',
    eventID,
    detections: [options.detection.id],
    severity: SILENT_SEVERITY,
    title: `rootwatch ${options.stage}: forwarder silent in ${first.region} of ${accountLabel(first.account, options.accountNames)}, ${how}${more}`,
    eventTime,
    eventName: 'DriftDetected',
    eventSource: 'rootwatch.guard',
    region,
    account: { id: accountId, ...(accountName ? { name: accountName } : {}) },
    actor: { type: 'Unknown' },
    source: {},
    outcome: { result: 'success' },
    tags: [...options.detection.tags],
    links: {
      cloudtrail: `https://${linkRegion}.${consoleDomain(options.partition)}/cloudtrailv2/home?region=${linkRegion}#/events?EventSource=events.amazonaws.com`,
      ...runbookLink(options.runbookBaseUrl, options.detection.id),
    },
    record: {
      eventSource: 'rootwatch.guard',
      eventName: 'DriftDetected',
      eventType: 'RootwatchGuardFinding',
      eventID,
      eventTime,
      awsRegion: options.region,
      recipientAccountId: options.accountId,
      serviceEventDetails: {
        stage: options.stage,
        heartbeatMinutes: options.heartbeatMinutes,
        silentForwarders: silent.length,
        drifts,
      },
    },
  };
};

export type { Forwarder, ForwarderSightings, ForwarderStatus };
export {
  buildSilentForwardersAlert,
  formatDuration,
  forwarderKey,
  forwarderStatuses,
  isForwarder,
  parseForwarderKey,
  SILENT_FORWARDERS_METRIC,
  silenceLimitMs,
  silentForwardersEventId,
  unrecordedForwarders,
};
