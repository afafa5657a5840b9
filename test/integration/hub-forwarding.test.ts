/**
 * A member account's event, in another region, through what rootwatch deploys: the forwarder's rules (the template
 * `rootwatch forwarder-template` prints) on the member's default bus, their target the hub bus, the hub's rules on
 * that bus (the packaged stack's), and the deployed alert handler on local AWS. Both buses are local EventBridge
 * stand-ins that match with rootwatch's matcher and honour rule states (read-only management events reach only rules
 * in ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS); an event bus target hands the event on unchanged, as EventBridge
 * does between buses. What is not reproduced here: IAM (the forwarder role, the hub bus policy), which the template
 * tests assert on.
 */
import { createRequire } from 'node:module';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AlertSchema } from '../../functions/core/alert-document.js';
import { hubBusName } from '../../functions/core/forwarding.js';
import { HEARTBEAT_DETAIL_TYPE, HEARTBEAT_SOURCE } from '../../functions/core/heartbeat.js';
import { buildForwarderTemplate } from '../../functions/deploy/forwarder-template.js';
import { DEFAULT_DETECTIONS_DIR } from '../../functions/io/detections.js';
import { createDynamoForwarderLog } from '../../functions/io/forwarder-log.js';
import { CREDENTIALS, deployedEnvironment, type LocalAws, startLocalAws } from '../../functions/local/aws.js';
import {
  type BusEvent,
  type EventBridgeServer,
  type LocalRule,
  startEventBridgeServer,
} from '../../functions/local/eventbridge-server.js';
import { envelopeOf, publishedOf } from '../helpers/pipeline.js';
import { readSample } from '../helpers/samples.js';

const STAGE = 'ci';
const HUB_ACCOUNT = '111122223333';
const HUB_REGION = 'us-east-1';
const MEMBER_ACCOUNT = '210987654321';
const MEMBER_REGION = 'eu-west-1';
const HUB_BUS_ARN = `arn:aws:events:${HUB_REGION}:${HUB_ACCOUNT}:event-bus/${hubBusName(STAGE)}`;
const HUB_KEY_ARN = `arn:aws:kms:${HUB_REGION}:${HUB_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

interface TemplateRule {
  Type: string;
  Condition?: string;
  Properties: {
    Name: string;
    EventBusName?: unknown;
    EventPattern: unknown;
    State: string;
    Targets: { Arn: unknown }[];
  };
}
type Resources = Record<string, TemplateRule | { Type: string }>;

const rulesOf = (resources: Resources): [string, TemplateRule][] =>
  Object.entries(resources).filter((entry): entry is [string, TemplateRule] => entry[1].Type === 'AWS::Events::Rule');

/** The hub's intrinsics for its own key, resolved as CloudFormation would in the hub account. */
const resolveHubKey = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(resolveHubKey);
  if (typeof value !== 'object' || value === null) return value;
  const node = value as Record<string, unknown>;
  if (JSON.stringify(node) === JSON.stringify({ 'Fn::GetAtt': ['AlertTopicKey', 'Arn'] })) return HUB_KEY_ARN;
  if (JSON.stringify(node) === JSON.stringify({ Ref: 'AlertTopicKey' })) return HUB_KEY_ARN.split('/').pop();
  return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, resolveHubKey(item)]));
};

const lambdaContext = () =>
  ({
    awsRequestId: `req-${Math.random()}`,
    invokedFunctionArn: `arn:aws:lambda:${HUB_REGION}:${HUB_ACCOUNT}:function:rootwatch-${STAGE}-alert`,
    functionName: `rootwatch-${STAGE}-alert`,
    getRemainingTimeInMillis: () => 30_000,
  }) as unknown as Context;

let aws: LocalAws;
let hubBus: EventBridgeServer;
let memberBus: EventBridgeServer;
/** Every event the hub's rules handed the alert function, by rule name. */
const invocations: { rule: string; event: BusEvent }[] = [];
let forwarderRules: [string, TemplateRule][] = [];
let hubRules: [string, TemplateRule][] = [];
/** The forwarder's heartbeat schedule's Input, before Scheduler fills in its context attributes. */
let heartbeatInput: Record<string, string>;

beforeAll(async () => {
  aws = await startLocalAws(`rootwatch-${STAGE}`);
  const env = deployedEnvironment(aws, 'http://127.0.0.1:9', {
    ACCOUNT_NAMES: JSON.stringify({ [MEMBER_ACCOUNT]: 'payments-eu' }),
    ACCOUNT_LOOKUP: 'none',
    ALERTER_KEY_ARN: HUB_KEY_ARN,
  });
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const { handler } = await import('../../functions/alert.js');

  const require = createRequire(import.meta.url);
  const { loadEventRules } = require('../../resources/event-rules.cjs') as {
    loadEventRules: (stage: string) => { Resources: Resources };
  };
  const { buildHeartbeat } = require('../../resources/heartbeat.cjs') as {
    buildHeartbeat: (stage: string, minutes: number) => { Resources: Resources };
  };
  const hubResources = { ...loadEventRules(STAGE).Resources, ...buildHeartbeat(STAGE, 10).Resources };
  hubRules = rulesOf(hubResources).filter(
    ([, rule]) => JSON.stringify(rule.Properties.EventBusName) === JSON.stringify({ Ref: 'HubEventBus' }),
  );
  const template = buildForwarderTemplate({
    stage: STAGE,
    hubBusArn: HUB_BUS_ARN,
    hubKeyArn: HUB_KEY_ARN,
    values: {},
    heartbeatMinutes: 10,
    detectionsDir: DEFAULT_DETECTIONS_DIR,
  }) as { Resources: Resources };
  forwarderRules = rulesOf(template.Resources).filter(([, rule]) => rule.Properties.Targets[0]?.Arn === HUB_BUS_ARN);
  heartbeatInput = JSON.parse(
    (template.Resources.ForwarderHeartbeatSchedule as unknown as { Properties: { Target: { Input: string } } })
      .Properties.Target.Input,
  );

  hubBus = await startEventBridgeServer(
    hubRules.map(
      ([, rule]): LocalRule => ({
        name: rule.Properties.Name,
        pattern: resolveHubKey(rule.Properties.EventPattern),
        state: rule.Properties.State,
        target: async (event) => {
          invocations.push({ rule: rule.Properties.Name, event });
          return handler(event, lambdaContext());
        },
      }),
    ),
    { account: HUB_ACCOUNT, region: HUB_REGION },
  );
  memberBus = await startEventBridgeServer(
    forwarderRules.map(
      ([, rule]): LocalRule => ({
        name: rule.Properties.Name,
        pattern: rule.Properties.EventPattern,
        state: rule.Properties.State,
        // An event bus target: the event goes on to the hub bus as it is, its account and region kept.
        target: async (event) => hubBus.deliver(event),
      }),
    ),
    { account: MEMBER_ACCOUNT, region: MEMBER_REGION },
  );
}, 60_000);

afterAll(async () => {
  vi.unstubAllEnvs();
  await memberBus?.close();
  await hubBus?.close();
  await aws?.stop();
});

/** What CloudTrail hands the member account's default bus in MEMBER_REGION for `sample`. */
const memberEvent = (sample: string, eventID: string): BusEvent => {
  const record = { ...readSample(sample), eventID, recipientAccountId: MEMBER_ACCOUNT, awsRegion: MEMBER_REGION };
  return { ...envelopeOf(record), account: MEMBER_ACCOUNT, region: MEMBER_REGION } as BusEvent;
};

/** The alert document an SNS message carries (its `sqs` structure, what JSON subscribers receive). */
const alertOf = (message: ReturnType<typeof publishedOf> | undefined) =>
  AlertSchema.parse(JSON.parse(message?.structure.sqs ?? '{}'));

const settle = async () => {
  await memberBus.settled();
  await hubBus.settled();
};

describe('a member account event in another region, through forwarder and hub', () => {
  it('has a forwarder rule for every hub rule, and the forwarder sends to the hub bus only', () => {
    const catalogIds = (rules: [string, TemplateRule][], prefix: string) =>
      rules.flatMap(([id]) => (id.startsWith(prefix) ? [id.slice(prefix.length)] : [])).sort();
    expect(catalogIds(forwarderRules, 'Rule')).toEqual(catalogIds(hubRules, 'HubRule'));
    expect(catalogIds(forwarderRules, 'Rule').length).toBeGreaterThan(20);
  });

  it('alerts once, naming the member account and its region', async () => {
    await aws.drain(aws.subscriberQueueUrl);
    const before = invocations.length;
    memberBus.deliver(memberEvent('root-console-sign-in-no-mfa.json', 'hub-forwarding-sign-in'));
    await settle();
    expect(invocations.length).toBeGreaterThan(before);
    const messages = (await aws.drain(aws.subscriberQueueUrl)).map(publishedOf);
    expect(messages).toHaveLength(1);
    expect(messages[0]?.Subject).toBe(`[CRITICAL] root-console-sign-in - payments-eu (${MEMBER_ACCOUNT})`);
    const alert = alertOf(messages[0]);
    expect(messages[0]?.structure.email).toContain(`Region: "${MEMBER_REGION}"`);
    expect(alert).toMatchObject({ account: { id: MEMBER_ACCOUNT, name: 'payments-eu' }, region: MEMBER_REGION });
  });

  it('alerts once for an event two detections match, forwarded twice and handled four times', async () => {
    await aws.drain(aws.subscriberQueueUrl);
    const before = invocations.length;
    const forwarded = memberBus.deliver(memberEvent('root-create-access-key.json', 'hub-forwarding-access-key'));
    await settle();
    expect(forwarded.matched).toHaveLength(2);
    // Each forwarded copy matches both detections' rules on the hub bus.
    expect(invocations.slice(before)).toHaveLength(4);
    const messages = (await aws.drain(aws.subscriberQueueUrl)).map(publishedOf);
    expect(messages).toHaveLength(1);
    const alert = alertOf(messages[0]);
    expect(alert.detections).toEqual(expect.arrayContaining(['root-access-key-created', 'root-api-call']));
    expect(alert).toMatchObject({ account: { id: MEMBER_ACCOUNT }, region: MEMBER_REGION });
  });

  it('carries a read-only root call through rules in the state that admits read-only events', async () => {
    await aws.drain(aws.subscriberQueueUrl);
    memberBus.deliver(memberEvent('root-api-call-list-access-keys.json', 'hub-forwarding-read-only'));
    await settle();
    const messages = (await aws.drain(aws.subscriberQueueUrl)).map(publishedOf);
    expect(messages).toHaveLength(1);
    expect(alertOf(messages[0])).toMatchObject({
      account: { id: MEMBER_ACCOUNT },
      region: MEMBER_REGION,
      detections: ['root-api-call'],
    });
  });

  it("carries the forwarder's heartbeat to the hub, which records it under the member account and region", async () => {
    // What EventBridge Scheduler puts on the member's default bus: the schedule's Input, its context filled in.
    const detail = {
      ...heartbeatInput,
      id: 'a1b2c3d4-forwarder-heartbeat',
      scheduledTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
    const client = new EventBridgeClient({
      endpoint: memberBus.endpoint,
      region: MEMBER_REGION,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    await client.send(
      new PutEventsCommand({
        Entries: [{ Source: HEARTBEAT_SOURCE, DetailType: HEARTBEAT_DETAIL_TYPE, Detail: JSON.stringify(detail) }],
      }),
    );
    await settle();
    const { lastSeen } = await createDynamoForwarderLog(
      new DynamoDBClient({ endpoint: aws.endpoints.dynamodb, region: HUB_REGION, credentials: CREDENTIALS }),
      aws.tableName,
    ).read();
    expect(Object.keys(lastSeen)).toEqual([`${MEMBER_ACCOUNT}:${MEMBER_REGION}`]);
    // A forwarder's heartbeat proves the forwarding path; it is not relayed to people's destinations.
    expect(await aws.drain(aws.subscriberQueueUrl)).toHaveLength(0);
  });

  it('forwards nothing of an event no detection matches', async () => {
    await aws.drain(aws.subscriberQueueUrl);
    const record = memberBus.deliver(memberEvent('federated-user-of-iam-user-get-caller-identity.json', 'hub-none'));
    await settle();
    expect(record.matched).toEqual([]);
    expect(await aws.drain(aws.subscriberQueueUrl)).toHaveLength(0);
  });
});
