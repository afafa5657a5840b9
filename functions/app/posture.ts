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
  /**
   * Every account's root posture now (io/posture-reader.ts); an account it cannot check is in it, with its errors.
   * With `accountIds`, only those accounts (a Config compliance change); the rest of the organization is left out.
   */
  readPosture: (accountIds?: readonly string[]) => Promise<OrganizationPosture>;
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
  /**
   * A check of one account (runAccount) that did nothing: `no-baseline`, no run has saved findings yet (the first
   * full run's summary will hold what is wrong); `not-in-organization`, the account is not among those readable.
   */
  | { status: 'skipped'; accountId: string; reason: 'no-baseline' | 'not-in-organization' }
  | { status: 'unchanged'; accounts: number; findings: number }
  | { status: 'alerted'; accounts: number; findings: number; alerts: SentAlert[] };

/** The detail of the organization's own `unreachable` finding (core/posture.ts findingsOf), not an account's. */
const ORGANIZATION_UNREACHABLE = /^could not check (accounts|centralized-root-access): /;

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

  /**
   * Alerts each of `worsened` (at once; every alert is tried), then saves `findings` less those whose alert did not
   * go out, so that they are new again next time. Throws DeliveryError listing every destination that failed.
   */
  const alertWorsened = async (
    posture: OrganizationPosture,
    worsened: PostureFinding[],
    findings: PostureFinding[],
    runKey: string,
    checkedAt = posture.checkedAt,
  ): Promise<SentAlert[]> => {
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
    await store.save({ findings: findings.filter((finding) => !failed.has(keyOf(finding))), checkedAt });
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
    return alerts;
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
      const alerts = await alertWorsened(posture, worsened, findings, runKey);
      return { status: 'alerted', accounts, findings: findings.length, alerts };
    },

    /**
     * The check of one account, on a Config compliance change (`accountId`: 12 digits): reads that account alone,
     * compares its findings with the last record's for it, alerts each that got worse as `run` does (one alert per
     * finding, the same eventIDs for the same `runKey`, never a finding already in the record), and saves the record
     * with that account's findings replaced and every other account's kept. Does nothing (`skipped`) before the first
     * full run has saved a record, or when the account is not readable from here. Rejects as `run` does.
     */
    async runAccount(accountId: string, runKey: string): Promise<PostureOutcome> {
      const posture = await options.readPosture([accountId]);
      const previous = await store.load();
      if (!previous) {
        logger.warn('posture account check before the first run', { accountId });
        return { status: 'skipped', accountId, reason: 'no-baseline' };
      }
      const accounts = posture.accounts.filter((account) => account.accountId === accountId);
      if (accounts.length === 0) {
        logger.warn('posture account not in the organization', { accountId });
        return { status: 'skipped', accountId, reason: 'not-in-organization' };
      }
      // The account's own findings only: those of the organization (centralized root access, the account list) are
      // the full run's.
      const own = findingsOf(
        { checkedAt: posture.checkedAt, accounts },
        { rootEmailDomains: options.rootEmailDomains },
      );
      const isOrganizationFinding = (finding: PostureFinding) =>
        finding.kind === 'centralized-root-access-off' ||
        (finding.kind === 'unreachable' && ORGANIZATION_UNREACHABLE.test(finding.detail));
      const kept = previous.findings.filter(
        (finding) => finding.accountId !== accountId || isOrganizationFinding(finding),
      );
      const findings = [...kept, ...own];
      const worsened = worsenedFindings(previous.findings, own);
      if (worsened.length === 0) {
        await store.save({ findings, checkedAt: previous.checkedAt });
        logger.info('posture account unchanged or better', { accountId, findings: own.length });
        return { status: 'unchanged', accounts: 1, findings: own.length };
      }
      const alerts = await alertWorsened(posture, worsened, findings, runKey, previous.checkedAt);
      return { status: 'alerted', accounts: 1, findings: own.length, alerts };
    },
  };
};

type PostureCheck = ReturnType<typeof createPostureCheck>;

export type { PostureCheck, PostureOutcome, PostureStore };
export { createPostureCheck };
