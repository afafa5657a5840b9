import { describe, expect, it } from 'vitest';
import type { AlertState, Sink } from '../../functions/app/ports.js';
import { createPostureCheck, type PostureStore } from '../../functions/app/posture.js';
import { type Alert, AlertSchema } from '../../functions/core/alert-document.js';
import type { AccountPosture, OrganizationPosture, PostureFinding } from '../../functions/core/posture.js';
import {
  buildPostureFindingAlert,
  buildPostureSummaryAlert,
  POSTURE_DETECTION,
} from '../../functions/core/posture-alert.js';
import { DeliveryError } from '../../functions/errors.js';
import { loadDetections } from '../../functions/io/detections.js';
import type { PostureRecord } from '../../functions/io/posture-state.js';

const detection = loadDetections().find((candidate) => candidate.id === POSTURE_DETECTION);
if (!detection) throw new Error(`the catalog has no ${POSTURE_DETECTION}`);

const MANAGEMENT = '111122223333';
const PAYMENTS = '210987654321';
const SANDBOX = '444455556666';

/** An account whose root follows every practice. */
const clean = (accountId: string, name: string): AccountPosture => ({
  accountId,
  name,
  rootEmail: `aws-${name}@example.com`,
  mfa: true,
  accessKeys: 0,
  signingCertificates: 0,
  password: true,
  securityContact: true,
  via: accountId === MANAGEMENT ? 'account-summary' : 'assume-root',
  errors: [],
});

/** A clean organization of three accounts, with `changes` applied to the account named. */
const organization = (changes: Record<string, Partial<AccountPosture>> = {}): OrganizationPosture => ({
  checkedAt: '2026-03-01T06:00:00.000Z',
  organizationId: 'o-a1b2c3d4e5',
  managementAccountId: MANAGEMENT,
  centralizedRootAccess: { credentialsManagement: true, rootSessions: true },
  accounts: [clean(MANAGEMENT, 'management'), clean(PAYMENTS, 'prod-payments'), clean(SANDBOX, 'sandbox')].map(
    (account) => ({ ...account, ...changes[account.accountId] }),
  ),
});

const recordingSink = (name: string) => {
  const sent: Alert[] = [];
  const sink: Sink & { sent: Alert[]; failing: boolean } = {
    name,
    sent,
    failing: false,
    async send(alert) {
      if (sink.failing) throw new Error(`${name} is down`);
      sent.push(AlertSchema.parse(alert));
    },
  };
  return sink;
};

/** Claims in memory, as the state table keeps them per eventID (the owner's claim is taken again on its retry). */
const memoryClaims = (): AlertState => {
  const delivered = new Map<string, Set<string>>();
  return {
    async claim(eventId) {
      const sinks = delivered.get(eventId) ?? new Set<string>();
      delivered.set(eventId, sinks);
      return new Set(sinks);
    },
    async delivered(eventId) {
      return new Set(delivered.get(eventId));
    },
    async markDelivered(eventId, sink) {
      delivered.get(eventId)?.add(sink);
    },
    async countRecent() {
      return 1;
    },
    async countWindow() {
      return 0;
    },
  };
};

const memoryStore = (): PostureStore & { record: PostureRecord | undefined } => {
  const store: PostureStore & { record: PostureRecord | undefined } = {
    record: undefined,
    async load() {
      return store.record && structuredClone(store.record);
    },
    async save(record) {
      store.record = structuredClone(record);
    },
  };
  return store;
};

/** A posture check over `read` (changeable between runs), in-memory store and claims, SNS and Slack sinks. */
const setup = () => {
  let posture = organization();
  const sns = recordingSink('sns');
  const slack = recordingSink('slack-queue');
  const store = memoryStore();
  const options = { stage: 'prod', accountId: MANAGEMENT, region: 'us-east-1', partition: 'aws', detection };
  const check = createPostureCheck({
    // As the reader does with accountIds: the organization as it is, with those accounts only.
    readPosture: async (accountIds?: readonly string[]) => {
      const read = structuredClone(posture);
      return accountIds
        ? { ...read, accounts: read.accounts.filter((account) => accountIds.includes(account.accountId)) }
        : read;
    },
    rootEmailDomains: ['example.com'],
    store,
    alertOfFinding: (finding, run) => buildPostureFindingAlert(finding, { ...options, ...run }),
    summaryOf: (findings, accounts, run) => buildPostureSummaryAlert(findings, accounts, { ...options, ...run }),
    state: memoryClaims(),
    sinks: [sns, slack],
    now: () => Date.parse('2026-03-01T06:00:05Z'),
  });
  return {
    check,
    sns,
    slack,
    store,
    set(next: OrganizationPosture) {
      posture = next;
    },
  };
};

const findingOf = (alert: Alert): PostureFinding =>
  (alert.record as unknown as { serviceEventDetails: { finding: PostureFinding } }).serviceEventDetails.finding;

describe('createPostureCheck', () => {
  it('sends nothing on a clean first run, and saves the empty findings', async () => {
    // Prepare
    const { check, sns, store } = setup();

    // Act
    const outcome = await check.run('run-1');

    // Assess
    expect(outcome).toStrictEqual({ status: 'first-run', accounts: 3, findings: 0 });
    expect(sns.sent).toStrictEqual([]);
    expect(store.record).toStrictEqual({ findings: [], checkedAt: '2026-03-01T06:00:00.000Z' });
  });

  it('sends ONE summary of what is already wrong on the first run, then never repeats it', async () => {
    // Prepare
    const { check, sns, slack, set } = setup();
    set(
      organization({
        [PAYMENTS]: { accessKeys: 1 },
        [SANDBOX]: { mfa: false, rootEmail: 'bob@gmail.com', securityContact: false },
      }),
    );

    // Act
    const first = await check.run('run-1');
    const second = await check.run('run-2');

    // Assess: one alert, to both destinations, with every finding, the worst first.
    expect(first).toMatchObject({ status: 'first-run', accounts: 3, findings: 4 });
    expect(sns.sent).toHaveLength(1);
    expect(slack.sent).toHaveLength(1);
    const [summary] = sns.sent as [Alert];
    expect(summary).toMatchObject({
      detections: ['root-posture-drift'],
      severity: 'critical',
      eventName: 'PostureSummary',
      title: `Root posture, first check: 4 findings in 2 of 3 accounts (2 critical) — management (${MANAGEMENT})`,
      account: { id: MANAGEMENT, name: 'management' },
    });
    const listed = (summary.record as unknown as { serviceEventDetails: { findings: PostureFinding[] } })
      .serviceEventDetails.findings;
    expect(listed.map((finding) => [finding.accountId, finding.kind])).toStrictEqual([
      [PAYMENTS, 'root-access-key'],
      [SANDBOX, 'root-mfa-missing'],
      [SANDBOX, 'root-email-personal'],
      [SANDBOX, 'security-contact-missing'],
    ]);
    // The same findings the next day: nothing.
    expect(second).toStrictEqual({ status: 'unchanged', accounts: 3, findings: 4 });
    expect(sns.sent).toHaveLength(1);
  });

  it.each([
    ['a root access key appears', { accessKeys: 2 }, 'root-access-key', 'critical', 'Root access key present'],
    ['root MFA is removed', { mfa: false }, 'root-mfa-missing', 'critical', 'Root MFA missing'],
    [
      "the root e-mail moves off the company's domains",
      { rootEmail: 'aws@other.example.net' },
      'root-email-domain',
      'high',
      "Root e-mail off the company's domains",
    ],
    [
      'the security contact is removed',
      { securityContact: false },
      'security-contact-missing',
      'high',
      'Security contact missing',
    ],
  ] as const)('alerts once, on its own, when %s', async (_, change, kind, severity, words) => {
    // Prepare
    const { check, sns, slack, set } = setup();
    await check.run('run-1');
    set(organization({ [PAYMENTS]: change }));

    // Act
    const outcome = await check.run('run-2');
    const again = await check.run('run-3');

    // Assess
    expect(outcome).toMatchObject({ status: 'alerted', alerts: [{ severity, sinks: ['sns', 'slack-queue'] }] });
    expect(sns.sent).toHaveLength(1);
    expect(slack.sent).toHaveLength(1);
    const [alert] = sns.sent as [Alert];
    expect(alert.severity).toBe(severity);
    expect(alert.title.startsWith(`${words} — prod-payments (${PAYMENTS}): `)).toBe(true);
    expect(alert.account).toStrictEqual({ id: PAYMENTS, name: 'prod-payments' });
    expect(findingOf(alert)).toMatchObject({ accountId: PAYMENTS, kind });
    expect(again.status).toBe('unchanged');
    expect(sns.sent).toHaveLength(1);
  });

  it('alerts an account that can no longer be checked as a finding of its own, naming why', async () => {
    // Prepare
    const { check, sns, set } = setup();
    await check.run('run-1');
    const unreachable: Partial<AccountPosture> = {
      mfa: undefined,
      accessKeys: undefined,
      signingCertificates: undefined,
      password: undefined,
      via: undefined,
      errors: [{ check: 'account', message: 'AssumeRoot: AccessDenied: not authorized to perform sts:AssumeRoot' }],
    };
    set(organization({ [SANDBOX]: unreachable }));

    // Act
    const outcome = await check.run('run-2');

    // Assess
    expect(outcome).toMatchObject({ status: 'alerted', alerts: [{ severity: 'high' }] });
    const [alert] = sns.sent as [Alert];
    expect(findingOf(alert)).toMatchObject({ accountId: SANDBOX, kind: 'unreachable' });
    expect(alert.title).toContain('Root posture could not be checked — sandbox (444455556666)');
    expect(alert.title).toContain('AssumeRoot: AccessDenied');
  });

  it('alerts a finding that went away and came back, as new', async () => {
    // Prepare
    const { check, sns, set } = setup();
    set(organization({ [PAYMENTS]: { mfa: false } }));
    await check.run('run-1'); // the summary
    set(organization());
    await check.run('run-2'); // fixed

    // Act
    set(organization({ [PAYMENTS]: { mfa: false } }));
    await check.run('run-3');

    // Assess
    expect(sns.sent.map((alert) => alert.eventName)).toStrictEqual(['PostureSummary', 'PostureDrift']);
  });

  it('keeps a finding whose alert a destination refused new, and a retried run sends only what is missing', async () => {
    // Prepare
    const { check, sns, slack, store, set } = setup();
    await check.run('run-1');
    set(organization({ [PAYMENTS]: { accessKeys: 1 }, [SANDBOX]: { mfa: false } }));
    slack.failing = true;

    // Act
    const failed = check.run('run-2');

    // Assess: SNS got both alerts; the record leaves both findings out, so that they stay new.
    await expect(failed).rejects.toBeInstanceOf(DeliveryError);
    expect(sns.sent).toHaveLength(2);
    expect(store.record?.findings).toStrictEqual([]);

    // Act: Lambda's retry of the same run (same event id), Slack back.
    slack.failing = false;
    const retried = await check.run('run-2');

    // Assess: Slack gets each alert once; SNS, which had them, nothing more.
    expect(retried).toMatchObject({
      status: 'alerted',
      alerts: [{ sinks: ['slack-queue'] }, { sinks: ['slack-queue'] }],
    });
    expect(sns.sent).toHaveLength(2);
    expect(slack.sent.map((alert) => findingOf(alert).kind).sort()).toStrictEqual([
      'root-access-key',
      'root-mfa-missing',
    ]);
    expect(store.record?.findings.map((finding) => finding.kind).sort()).toStrictEqual([
      'root-access-key',
      'root-mfa-missing',
    ]);
  });

  it('sends nothing and rejects when the last findings cannot be read (what is new cannot be told)', async () => {
    // Prepare
    const { check, sns, store, set } = setup();
    await check.run('run-1');
    set(organization({ [PAYMENTS]: { accessKeys: 1 } }));
    store.load = async () => {
      throw new Error('ProvisionedThroughputExceededException');
    };

    // Act + Assess
    await expect(check.run('run-2')).rejects.toThrow('ProvisionedThroughputExceededException');
    expect(sns.sent).toStrictEqual([]);
  });
});

describe('createPostureCheck runAccount (an AWS Config compliance change)', () => {
  it('does nothing before the first run has saved a record', async () => {
    // Prepare
    const { check, sns, store, set } = setup();
    set(organization({ [PAYMENTS]: { mfa: false } }));

    // Act
    const outcome = await check.runAccount(PAYMENTS, 'config-event-1');

    // Assess
    expect(outcome).toStrictEqual({ status: 'skipped', accountId: PAYMENTS, reason: 'no-baseline' });
    expect(sns.sent).toStrictEqual([]);
    expect(store.record).toBeUndefined();
  });

  it('alerts what got worse in that account alone, keeps the others, and never alerts it twice', async () => {
    // Prepare: a clean first run; then payments loses MFA and the sandbox gets a key (not yet the sandbox's turn)
    const { check, sns, slack, store, set } = setup();
    await check.run('run-1');
    set(organization({ [PAYMENTS]: { mfa: false }, [SANDBOX]: { accessKeys: 1 } }));

    // Act
    const first = await check.runAccount(PAYMENTS, 'config-event-1');
    const again = await check.runAccount(PAYMENTS, 'config-event-2');
    const daily = await check.run('run-2');

    // Assess: payments' finding once, as the daily run would raise it; the sandbox's left to the daily run
    expect(first).toMatchObject({ status: 'alerted', accounts: 1, findings: 1 });
    expect(sns.sent.map(findingOf).map((finding) => [finding.accountId, finding.kind])).toStrictEqual([
      [PAYMENTS, 'root-mfa-missing'],
      [SANDBOX, 'root-access-key'],
    ]);
    expect(slack.sent).toHaveLength(2);
    expect(again).toStrictEqual({ status: 'unchanged', accounts: 1, findings: 1 });
    expect(daily).toMatchObject({ status: 'alerted', alerts: [{ severity: 'critical' }] });
    expect(store.record?.findings.map((finding) => finding.kind).sort()).toStrictEqual([
      'root-access-key',
      'root-mfa-missing',
    ]);
  });

  it('replaces only that account’s findings in the record, fixed ones included', async () => {
    // Prepare: both accounts without MFA at the first run; payments fixes it
    const { check, sns, store, set } = setup();
    set(organization({ [PAYMENTS]: { mfa: false }, [SANDBOX]: { mfa: false } }));
    await check.run('run-1');
    set(organization({ [SANDBOX]: { mfa: false } }));

    // Act
    const outcome = await check.runAccount(PAYMENTS, 'config-event-1');

    // Assess: nothing sent beyond the first run's summary; the sandbox's finding kept
    expect(outcome).toStrictEqual({ status: 'unchanged', accounts: 1, findings: 0 });
    expect(sns.sent).toHaveLength(1);
    expect(store.record?.findings.map((finding) => finding.accountId)).toStrictEqual([SANDBOX]);
  });

  it('skips an account the organization does not list', async () => {
    // Prepare
    const { check, sns } = setup();
    await check.run('run-1');

    // Act
    const outcome = await check.runAccount('999988887777', 'config-event-1');

    // Assess
    expect(outcome).toStrictEqual({ status: 'skipped', accountId: '999988887777', reason: 'not-in-organization' });
    expect(sns.sent).toStrictEqual([]);
  });
});
