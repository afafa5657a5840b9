import type { Alert } from '../core/alert-document.js';
import { findingsOf, type OrganizationPosture, type PostureFinding, worsenedFindings } from '../core/posture.js';
import { DeliveryError, toError } from '../errors.js';
import { logger } from '../io/logger.js';
import type { PostureRecord } from '../io/posture-state.js';
import { deliver } from './deliver.js';
import type { AlertState, Sink } from './ports.js';
import { DEFAULT_STATE_TIMEOUT_MS, guardState } from './state-guard.js';

/** Where the posture function keeps the last run's findings (io/posture-state.ts in the state table). */
interface PostureStore {
  /** The last record saved; undefined before the first run. Rejects when the store fails. */
  load(): Promise<PostureRecord | undefined>;
  /** Replaces the record. Rejects when the store fails. */
  save(record: PostureRecord): Promise<void>;
}

interface PostureCheckOptions {
  /** Every account's root posture now (io/posture-reader.ts); an account it cannot check is in it, with its errors. */
  readPosture: () => Promise<OrganizationPosture>;
  /** The company's domains (the parameter rootEmailDomains); empty: only personal mailboxes are findings. */
  rootEmailDomains: readonly string[];
  store: PostureStore;
  /** The alert for one finding that got worse (core/posture-alert.ts, buildPostureFindingAlert). */
  alertOfFinding: (finding: PostureFinding, run: PostureRun) => Alert;
  /** The first run's one alert for every finding already present (core/posture-alert.ts, buildPostureSummaryAlert). */
  summaryOf: (findings: readonly PostureFinding[], accountsChecked: number, run: PostureRun) => Alert;
  /** Which destinations have an alert (by eventID), so a retried run sends each destination an alert once. */
  state: AlertState;
  /** The SNS topic and the Slack queue, as the guard writes to them. */
  sinks: readonly Sink[];
  /** Epoch milliseconds; injectable for tests. */
  now?: () => number;
}

/** What the alerts of one run share. */
interface PostureRun {
  /** Names the run across Lambda's retries of it (the scheduled event's id). */
  runKey: string;
  /** Epoch milliseconds of the alert. */
  nowMs: number;
  /** The accounts' Organizations names, by account id. */
  accountNames: Readonly<Record<string, string>>;
}

/** The Organizations names of the posture's accounts, by id. */
const namesOf = (posture: OrganizationPosture): Record<string, string> =>
  Object.fromEntries(posture.accounts.flatMap((account) => (account.name ? [[account.accountId, account.name]] : [])));

/** One alert the run sent (or found already sent by an earlier try of the same run: `sinks` empty). */
interface SentAlert {
  eventID: string;
  severity: Alert['severity'];
  sinks: string[];
}

/** What one run found and did. `accounts`: how many were checked; `findings`: how many findings they have now. */
type PostureOutcome =
  | { status: 'first-run'; accounts: number; findings: number; summary?: SentAlert }
  | { status: 'unchanged'; accounts: number; findings: number }
  | { status: 'alerted'; accounts: number; findings: number; alerts: SentAlert[] };

const keyOf = (finding: PostureFinding): string => `${finding.accountId}\u0000${finding.kind}`;

/**
 * The posture check: reads every account's root posture, compares its findings (core/posture.ts, findingsOf) with
 * the last run's, alerts each finding that got worse (a root key appeared, MFA removed, the e-mail moved off the
 * company's domains, the security contact removed, an account could no longer be checked) as an alert of its own,
 * then saves the findings. The first run (no record yet) sends ONE summary of the findings already present, never an
 * alert per finding; a finding that stays is never repeated.
 *
 * `run(runKey)`: `runKey` names the run across Lambda's retries (the scheduled event's id), so a retried run makes the
 * same eventIDs and the state table sends each destination each alert once. It rejects:
 * - with the reader's or the store's error when the posture or the last record cannot be read (nothing is sent: what
 *   is new cannot be told);
 * - with DeliveryError when a destination did not take an alert, after every alert was tried. The findings whose
 *   alerts went out are saved; the others stay new, so the retry or the next run alerts them.
 */
const createPostureCheck = (options: PostureCheckOptions) => {
  const now = options.now ?? Date.now;
  const { state, sinks, store } = options;

  /** Sends `alert` to each destination that does not have it yet; resolves to those sent to. */
  const alertOnce = async (alert: Alert, runKey: string, nowMs: number): Promise<SentAlert> => {
    const guarded = guardState(undefined, DEFAULT_STATE_TIMEOUT_MS);
    const delivered = await guarded.call('claim', () => state.claim(alert.eventID, runKey, nowMs), new Set<string>());
    // Another invocation holds the claim: it is sending this very alert.
    if (!delivered) return { eventID: alert.eventID, severity: alert.severity, sinks: [] };
    const sent = await deliver(alert, sinks, {
      delivered,
      markDelivered: (sink) =>
        guarded.call('markDelivered', () => state.markDelivered(alert.eventID, sink, now()), undefined),
    });
    return { eventID: alert.eventID, severity: alert.severity, sinks: sent };
  };

  const firstRun = async (
    posture: OrganizationPosture,
    findings: PostureFinding[],
    runKey: string,
  ): Promise<PostureOutcome> => {
    const accounts = posture.accounts.length;
    if (findings.length === 0) {
      await store.save({ findings, checkedAt: posture.checkedAt });
      logger.info('posture first check clean', { accounts });
      return { status: 'first-run', accounts, findings: 0 };
    }
    const run = { runKey, nowMs: now(), accountNames: namesOf(posture) };
    const summary = await alertOnce(options.summaryOf(findings, accounts, run), runKey, run.nowMs);
    await store.save({ findings, checkedAt: posture.checkedAt });
    logger.info('posture first check summarised', { accounts, findings: findings.length, eventID: summary.eventID });
    return { status: 'first-run', accounts, findings: findings.length, summary };
  };

  return {
    async run(runKey: string): Promise<PostureOutcome> {
      const posture = await options.readPosture();
      const findings = findingsOf(posture, { rootEmailDomains: options.rootEmailDomains });
      const previous = await store.load();
      if (!previous) return firstRun(posture, findings, runKey);
      const accounts = posture.accounts.length;
      const worsened = worsenedFindings(previous.findings, findings);
      if (worsened.length === 0) {
        await store.save({ findings, checkedAt: posture.checkedAt });
        logger.info('posture unchanged or better', { accounts, findings: findings.length });
        return { status: 'unchanged', accounts, findings: findings.length };
      }
      logger.warn('posture worsened', {
        worsened: worsened.map((finding) => ({ accountId: finding.accountId, kind: finding.kind })),
      });
      const run = { runKey, nowMs: now(), accountNames: namesOf(posture) };
      const results = await Promise.allSettled(
        worsened.map((finding) => alertOnce(options.alertOfFinding(finding, run), runKey, run.nowMs)),
      );
      const failed = new Set(
        worsened.filter((_, index) => results[index]?.status === 'rejected').map((finding) => keyOf(finding)),
      );
      // A finding whose alert did not go out is left out of the record, so that it is new again next time.
      await store.save({
        findings: findings.filter((finding) => !failed.has(keyOf(finding))),
        checkedAt: posture.checkedAt,
      });
      const failures = results.flatMap((result) =>
        result.status === 'rejected'
          ? result.reason instanceof DeliveryError
            ? result.reason.failures
            : [{ sink: 'posture', error: toError(result.reason) }]
          : [],
      );
      if (failures.length > 0) throw new DeliveryError(failures);
      const alerts = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      logger.info('posture drift alerted', { alerts: alerts.map((alert) => alert.eventID) });
      return { status: 'alerted', accounts, findings: findings.length, alerts };
    },
  };
};

type PostureCheck = ReturnType<typeof createPostureCheck>;

export type { PostureCheck, PostureOutcome, PostureStore };
export { createPostureCheck };
