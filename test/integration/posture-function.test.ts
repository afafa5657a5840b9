/**
 * The posture function's handler end to end, configured by its environment as serverless.yml sets it, against local
 * servers that speak AWS's wire protocols through the real SDK clients: fauxqs (the SNS topic, the Slack queues),
 * dynalite (the state table) and test/helpers/posture-servers.ts (Organizations, IAM, STS, Account).
 */
import { readFileSync } from 'node:fs';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PostureOutcome } from '../../functions/app/posture.js';
import { type Alert, AlertSchema } from '../../functions/core/alert-document.js';
import type { PostureFinding } from '../../functions/core/posture.js';
import { renderSlackMessage } from '../../functions/core/render/slack.js';
import { loadDetections } from '../../functions/io/detections.js';
import { type LocalAws, publishedOf, startLocalAws } from '../../functions/local/aws.js';
import { type LocalAccount, type PostureServers, startPostureServers } from '../helpers/posture-servers.js';

const STAGE = 'ci';
const FUNCTION = `rootwatch-${STAGE}-posture`;
const MANAGEMENT = '111122223333';
const PAYMENTS = '210987654321';
const SANDBOX = '444455556666';

const cleanAccount = (id: string, name: string): LocalAccount => ({
  id,
  name,
  email: `aws-${name}@example.com`,
  root: { mfaDevices: 1, accessKeys: 0, signingCertificates: 0, password: true },
  securityContact: true,
});

describe('the deployed posture function against local AWS', () => {
  let aws: LocalAws;
  let servers: PostureServers;
  let handler: (event: unknown, context: Context) => Promise<PostureOutcome>;
  const detections = loadDetections();
  const context = () =>
    ({
      awsRequestId: `req-${Math.random()}`,
      invokedFunctionArn: `arn:aws:lambda:us-east-1:${MANAGEMENT}:function:${FUNCTION}`,
      functionName: FUNCTION,
    }) as unknown as Context;
  /** A scheduled event as EventBridge delivers it: its id names the run. */
  const scheduled = (id: string) => ({ id, 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} });
  const account = (id: string): LocalAccount => {
    const found = servers.organization.accounts.find((candidate) => candidate.id === id);
    if (!found) throw new Error(`no account ${id}`);
    return found;
  };
  /** What reached the topic's subscriber, as alert documents. */
  const publishedAlerts = async (): Promise<Alert[]> =>
    (await aws.drain(aws.subscriberQueueUrl))
      .map(publishedOf)
      .map((message) => AlertSchema.parse(JSON.parse(message.structure.sqs ?? '{}')));
  /** What reached either Slack lane. */
  const queuedAlerts = async (): Promise<{ lane: string; alert: Alert }[]> => [
    ...(await aws.drain(aws.slackPriorityQueueUrl)).map((message) => ({
      lane: 'priority',
      alert: AlertSchema.parse(JSON.parse(message.Body ?? '{}')),
    })),
    ...(await aws.drain(aws.slackQueueUrl)).map((message) => ({
      lane: 'normal',
      alert: AlertSchema.parse(JSON.parse(message.Body ?? '{}')),
    })),
  ];

  beforeAll(async () => {
    aws = await startLocalAws(`rootwatch-${STAGE}`);
    servers = await startPostureServers({
      id: 'o-a1b2c3d4e5',
      managementAccountId: MANAGEMENT,
      callerAccountId: MANAGEMENT,
      features: ['RootCredentialsManagement', 'RootSessions'],
      pageSize: 2,
      accounts: [
        cleanAccount(MANAGEMENT, 'management'),
        cleanAccount(PAYMENTS, 'prod-payments'),
        // Already bad before rootwatch first looks: a root key.
        {
          ...cleanAccount(SANDBOX, 'sandbox'),
          root: { mfaDevices: 1, accessKeys: 1, signingCertificates: 0, password: true },
        },
      ],
    });
    const env: Record<string, string> = {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIALOCALCALLER00001',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_SNS: aws.endpoints.fauxqs,
      AWS_ENDPOINT_URL_SQS: aws.endpoints.fauxqs,
      AWS_ENDPOINT_URL_DYNAMODB: aws.endpoints.dynamodb,
      ...servers.env,
      ROOTWATCH_STAGE: STAGE,
      ALERT_TOPIC_ARN: aws.topicArn,
      SLACK_QUEUE_URL: aws.slackQueueUrl,
      SLACK_PRIORITY_QUEUE_URL: aws.slackPriorityQueueUrl,
      STATE_TABLE: aws.tableName,
      ROOT_EMAIL_DOMAINS: 'example.com',
      RUNBOOK_BASE_URL: '',
      ACCOUNT_NAMES: '',
    };
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    ({ handler } = await import('../../functions/posture.js'));
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await servers?.close();
    await aws?.stop();
  });

  it('sends one summary of what is already wrong on its first run, through the topic and the priority lane', async () => {
    // Act
    const outcome = await handler(scheduled('run-1'), context());

    // Assess
    expect(outcome).toMatchObject({ status: 'first-run', accounts: 3, findings: 1 });
    const published = await publishedAlerts();
    expect(published).toHaveLength(1);
    const [summary] = published as [Alert];
    expect(summary).toMatchObject({
      detections: ['root-posture-drift'],
      severity: 'critical',
      eventName: 'PostureSummary',
      account: { id: MANAGEMENT, name: 'management' },
    });
    const findings = (summary.record as unknown as { serviceEventDetails: { findings: PostureFinding[] } })
      .serviceEventDetails.findings;
    expect(findings.map((finding) => [finding.accountId, finding.kind])).toStrictEqual([[SANDBOX, 'root-access-key']]);
    const queued = await queuedAlerts();
    expect(queued.map(({ lane, alert }) => [lane, alert.eventID])).toStrictEqual([['priority', summary.eventID]]);
    // The member's root was read in a root session with the audit task policy, and nothing else was asked of it.
    const assumed = servers.requests.filter((request) => request.action === 'AssumeRoot');
    expect(assumed.map((request) => request.params.TargetPrincipal).sort()).toStrictEqual([PAYMENTS, SANDBOX]);
    for (const request of assumed) {
      expect(request.params['TaskPolicyArn.arn']).toBe('arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials');
    }
  });

  it('sends nothing while the posture stays the same', async () => {
    // Act
    const outcome = await handler(scheduled('run-2'), context());

    // Assess
    expect(outcome).toStrictEqual({ status: 'unchanged', accounts: 3, findings: 1 });
    expect(await publishedAlerts()).toStrictEqual([]);
    expect(await queuedAlerts()).toStrictEqual([]);
  });

  it('alerts each finding that got worse on its own: MFA removed (critical), e-mail moved off the company domains', async () => {
    // Prepare
    account(PAYMENTS).root.mfaDevices = 0;
    account(MANAGEMENT).email = 'aws-management@other.example.net';

    // Act
    const outcome = await handler(scheduled('run-3'), context());

    // Assess
    expect(outcome).toMatchObject({ status: 'alerted', findings: 3 });
    const published = await publishedAlerts();
    const byKind = new Map(
      published.map((alert) => [
        (alert.record as unknown as { serviceEventDetails: { finding: PostureFinding } }).serviceEventDetails.finding
          .kind,
        alert,
      ]),
    );
    expect([...byKind.keys()].sort()).toStrictEqual(['root-email-domain', 'root-mfa-missing']);
    expect(byKind.get('root-mfa-missing')).toMatchObject({
      severity: 'critical',
      account: { id: PAYMENTS, name: 'prod-payments' },
      title: `Root MFA missing — prod-payments (${PAYMENTS}): root has a password and no MFA device`,
    });
    expect(byKind.get('root-email-domain')).toMatchObject({ severity: 'high', account: { id: MANAGEMENT } });
    const queued = await queuedAlerts();
    expect(queued.map(({ lane, alert }) => [lane, alert.severity]).sort()).toStrictEqual([
      ['normal', 'high'],
      ['priority', 'critical'],
    ]);
    // The Slack message renders the finding (the e-mail address is data, escaped like any field).
    const email = queued.find(({ alert }) => alert.severity === 'high')?.alert as Alert;
    expect(JSON.stringify(renderSlackMessage(email, detections))).toContain('other.example.net');
  });

  it('alerts an account it can no longer check, naming why, and does not repeat it the next day', async () => {
    // Prepare
    account(SANDBOX).assumeRootDenied = true;

    // Act
    const outcome = await handler(scheduled('run-4'), context());
    const next = await handler(scheduled('run-5'), context());

    // Assess
    expect(outcome).toMatchObject({ status: 'alerted', alerts: [{ severity: 'high' }] });
    const [alert] = (await publishedAlerts()) as [Alert];
    expect(alert.title).toMatch(/^Root posture could not be checked — sandbox \(444455556666\): could not check /);
    expect(next.status).toBe('unchanged');
    expect(await publishedAlerts()).toStrictEqual([]);
  });

  it('checks one account at once on an AWS Config compliance change, alerting only what is new, once', async () => {
    // Prepare: a root key appears in prod-payments; Config's root MFA rule reports the account NON_COMPLIANT.
    const change = JSON.parse(
      readFileSync(new URL('../fixtures/config/root-mfa-non-compliant.json', import.meta.url), 'utf8'),
    ) as { id: string; detail: { awsAccountId: string } };
    expect(change.detail.awsAccountId).toBe(PAYMENTS);
    account(PAYMENTS).root.accessKeys = 1;

    // Act
    const outcome = await handler(change, context());
    const again = await handler({ ...change, id: `${change.id}-again` }, context());

    // Assess: the key, the one finding the record did not hold; the MFA already alerted by the daily run is not repeated.
    expect(outcome).toMatchObject({ status: 'alerted', alerts: [{ severity: 'critical' }] });
    const [alert, ...more] = (await publishedAlerts()) as [Alert, ...Alert[]];
    expect(more).toStrictEqual([]);
    expect(alert).toMatchObject({ severity: 'critical', account: { id: PAYMENTS } });
    expect(
      (alert.record as unknown as { serviceEventDetails: { finding: PostureFinding } }).serviceEventDetails.finding
        .kind,
    ).toBe('root-access-key');
    expect(again.status).toBe('unchanged');
    expect(await publishedAlerts()).toStrictEqual([]);
    await queuedAlerts();
  });
});
