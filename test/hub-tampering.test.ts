import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { classify } from '../functions/core/classify.js';
import { recordToEvent } from '../functions/core/event.js';
import { forwarderRolePrefix, forwarderStackName, hubBusName } from '../functions/core/forwarding.js';
import type { Severity } from '../functions/core/severity.js';
import { loadDetections } from '../functions/io/detections.js';

/*
 * alerter-tampering on what the hub and its forwarders add (issue 9), table-driven like test/tampering.test.ts: the hub
 * bus and every rule on it, the forwarder StackSet, the forwarders' stacks, roles, queues and heartbeat schedules, in
 * every identifier form the APIs take, must raise the detection at its severity; look-alikes must not. Names come from
 * functions/core/forwarding.ts, the one place they are made.
 */

const detections = loadDetections();
const STAGE = 'prod';
const HUB_ACCOUNT = '111122223333';
const MEMBER_ACCOUNT = '444455556666';
const REGION = 'us-east-1';
const HUB_BUS = hubBusName(STAGE);
const FORWARDER = forwarderStackName(STAGE);
const STACK_SET_ID = `${FORWARDER}:8c2d4e6f-1a3b-4c5d-9e7f-0a1b2c3d4e5f`;
/** A StackSet's stack instance: StackSets names the stack StackSet-<stack set name>-<id>. */
const INSTANCE = `StackSet-${FORWARDER}-2b7c9e41-5d3a-4f68-a0c1-7e9d8b6f5a43`;

/** A role's call in `account`, as CloudTrail records it (the samples' shape, events/samples/role-*.json). */
const recordOf = (
  eventSource: string,
  eventName: string,
  requestParameters: Record<string, unknown>,
  account = HUB_ACCOUNT,
): Record<string, unknown> => ({
  eventVersion: '1.09',
  userIdentity: {
    type: 'AssumedRole',
    principalId: 'AROAEXAMPLEOPS:mallory',
    arn: `arn:aws:sts::${account}:assumed-role/Ops/mallory`,
    accountId: account,
  },
  eventTime: '2025-05-06T05:00:00Z',
  eventSource: `${eventSource}.amazonaws.com`,
  eventName,
  awsRegion: REGION,
  sourceIPAddress: '203.0.113.27',
  userAgent: 'aws-cli/2.27.0',
  requestParameters,
  responseElements: null,
  requestID: 'c0ffee00-0000-4000-8000-00000000cafe',
  eventID: `hub-${eventSource}-${eventName}`,
  readOnly: false,
  eventType: 'AwsApiCall',
  managementEvent: true,
  recipientAccountId: account,
  eventCategory: 'Management',
});

/** The severity alerter-tampering gives the record, or undefined when it does not match. */
const severityOf = (record: Record<string, unknown>): Severity | undefined =>
  classify(recordToEvent(record), detections).find((match) => match.detection.id === 'alerter-tampering')?.severity;

interface Api {
  readonly source: string;
  readonly eventNames: readonly string[];
  readonly request: (id: string) => Record<string, unknown>;
  /** When not critical. */
  readonly severity?: Severity;
}

interface Resource {
  readonly what: string;
  readonly ids: readonly string[];
  readonly others: readonly string[];
  readonly apis: readonly Api[];
  readonly account?: string;
}

const queueForms = (account: string, name: string): string[] => [
  `https://sqs.eu-west-1.amazonaws.com/${account}/${name}`,
  `https://eu-west-1.queue.amazonaws.com/${account}/${name}`,
];

const RESOURCES: Resource[] = [
  {
    what: 'the hub bus (these calls take its name only)',
    ids: [HUB_BUS],
    others: ['orders', `${STAGE}-rootwatch-hub`, 'rootwatcher-hub'],
    apis: [
      { source: 'events', eventNames: ['DeleteEventBus'], request: (name) => ({ name }) },
      { source: 'events', eventNames: ['UpdateEventBus'], request: (name) => ({ name, description: 'd' }) },
      {
        source: 'events',
        eventNames: ['PutPermission'],
        request: (eventBusName) => ({ eventBusName, action: 'events:PutEvents', principal: '*', statementId: 's' }),
      },
      {
        source: 'events',
        eventNames: ['RemovePermission'],
        request: (eventBusName) => ({ eventBusName, removeAllPermissions: true }),
      },
    ],
  },
  {
    what: 'any rule on the hub bus, the bus by name or ARN',
    ids: [
      HUB_BUS,
      `arn:aws:events:${REGION}:${HUB_ACCOUNT}:event-bus/${HUB_BUS}`,
      `arn:aws-us-gov:events:us-gov-west-1:${HUB_ACCOUNT}:event-bus/${HUB_BUS}`,
    ],
    others: ['orders', `arn:aws:events:${REGION}:${HUB_ACCOUNT}:event-bus/orders`, 'default'],
    apis: [
      {
        source: 'events',
        eventNames: ['PutRule', 'DisableRule', 'DeleteRule'],
        request: (eventBusName) => ({ name: 'copy-everything', eventBusName }),
      },
      {
        source: 'events',
        eventNames: ['PutTargets', 'RemoveTargets'],
        request: (eventBusName) => ({ rule: 'copy-everything', eventBusName, ids: ['out'] }),
      },
    ],
  },
  {
    what: 'the forwarder StackSet, by name, unique id or ARN',
    ids: [FORWARDER, STACK_SET_ID, `arn:aws:cloudformation:${REGION}:${HUB_ACCOUNT}:stackset/${STACK_SET_ID}`],
    others: [
      'baseline-guardrails',
      'baseline-guardrails:8c2d4e6f-1a3b-4c5d-9e7f-0a1b2c3d4e5f',
      `arn:aws:cloudformation:${REGION}:${HUB_ACCOUNT}:stackset/baseline-guardrails:8c2d4e6f`,
      `${STAGE}-rootwatch-forwarder`,
    ],
    apis: [
      {
        source: 'cloudformation',
        eventNames: ['DeleteStackSet', 'DeleteStackInstances', 'StopStackSetOperation'],
        request: (stackSetName) => ({ stackSetName, callAs: 'SELF' }),
      },
      {
        source: 'cloudformation',
        eventNames: ['UpdateStackSet', 'UpdateStackInstances'],
        request: (stackSetName) => ({ stackSetName, callAs: 'SELF' }),
        severity: 'high',
      },
    ],
  },
  {
    what: "the forwarders' stacks: the deploy command's in other regions, a StackSet's stack instances",
    account: MEMBER_ACCOUNT,
    ids: [
      FORWARDER,
      INSTANCE,
      `arn:aws:cloudformation:eu-west-1:${MEMBER_ACCOUNT}:stack/${INSTANCE}/0c9e8d7f-6a5b-11f0-8e4d-0a1b2c3d4e5f`,
      `arn:aws:cloudformation:eu-west-1:${HUB_ACCOUNT}:stack/${FORWARDER}/0c9e8d7f-6a5b-11f0-8e4d-0a1b2c3d4e5f`,
    ],
    others: [
      'StackSet-baseline-guardrails-9a8b7c6d',
      `arn:aws:cloudformation:eu-west-1:${MEMBER_ACCOUNT}:stack/StackSet-baseline-guardrails-9a8b7c6d/0c9e8d7f`,
      'StackSet-rootwatcher-1',
    ],
    apis: [
      { source: 'cloudformation', eventNames: ['DeleteStack'], request: (stackName) => ({ stackName }) },
      {
        source: 'cloudformation',
        eventNames: ['UpdateStack', 'CreateChangeSet', 'ExecuteChangeSet'],
        request: (stackName) => ({ stackName, changeSetName: 'c' }),
        severity: 'high',
      },
    ],
  },
  {
    what: "a member account's forwarder role (IAM names roles only)",
    account: MEMBER_ACCOUNT,
    ids: [`${forwarderRolePrefix(STAGE)}eu-west-1`, `${forwarderRolePrefix(STAGE)}ap-southeast-2`],
    others: ['OrganizationAccountAccessRole', 'forwarder-eu-west-1'],
    apis: [
      {
        source: 'iam',
        eventNames: ['DeleteRole', 'PutRolePolicy', 'DetachRolePolicy', 'UpdateAssumeRolePolicy'],
        request: (roleName) => ({ roleName }),
      },
    ],
  },
  {
    what: "a member account's forwarder dead-letter queue, by any URL",
    account: MEMBER_ACCOUNT,
    ids: queueForms(MEMBER_ACCOUNT, `${FORWARDER}-dlq`),
    others: queueForms(MEMBER_ACCOUNT, 'orders-dlq'),
    apis: [
      {
        source: 'sqs',
        eventNames: ['DeleteQueue', 'PurgeQueue', 'SetQueueAttributes'],
        request: (queueUrl) => ({ queueUrl }),
      },
    ],
  },
  {
    what: "a member account's forwarder heartbeat schedule",
    account: MEMBER_ACCOUNT,
    ids: [`${FORWARDER}-heartbeat`],
    others: ['orders-nightly-export'],
    apis: [
      { source: 'scheduler', eventNames: ['DeleteSchedule'], request: (name) => ({ name }) },
      {
        source: 'scheduler',
        eventNames: ['UpdateSchedule'],
        request: (name) => ({ name, groupName: 'default', state: 'DISABLED' }),
      },
    ],
  },
];

describe('alerter-tampering on the hub and its forwarders', () => {
  it.each(RESOURCES.map((resource) => ({ what: resource.what, resource })))(
    '$what: each API in each spelling, and none of the look-alikes',
    ({ resource }) => {
      // Prepare
      const calls = resource.apis.flatMap((api) =>
        api.eventNames.flatMap((eventName) => [
          ...resource.ids.map((id) => ({ api, eventName, id, expected: api.severity ?? 'critical' })),
          ...resource.others.map((id) => ({ api, eventName, id, expected: undefined })),
        ]),
      );

      // Act
      const outcomes = calls.map(({ api, eventName, id }) => ({
        call: `${eventName} ${id}`,
        severity: severityOf(recordOf(api.source, eventName, api.request(id), resource.account)),
      }));

      // Assess
      expect(outcomes).toStrictEqual(
        calls.map(({ eventName, id, expected }) => ({ call: `${eventName} ${id}`, severity: expected })),
      );
    },
  );

  it("sees each of the hub bus's own rules (the catalog's twins) disabled, deleted or stripped of its target", () => {
    // Prepare
    const { loadEventRules } = createRequire(import.meta.url)('../resources/event-rules.cjs') as {
      loadEventRules: (stage: string) => {
        Resources: Record<string, { Type: string; Properties: { Name?: string; EventBusName?: unknown } }>;
      };
    };
    const twins = Object.entries(loadEventRules(STAGE).Resources)
      .filter(([, resource]) => resource.Type === 'AWS::Events::Rule' && resource.Properties.EventBusName)
      .map(([, resource]) => resource.Properties.Name as string);

    // Act
    const unseen = twins.flatMap((name) =>
      [
        recordOf('events', 'DisableRule', { name, eventBusName: HUB_BUS }),
        recordOf('events', 'DeleteRule', { name, eventBusName: HUB_BUS }),
        recordOf('events', 'RemoveTargets', { rule: name, eventBusName: HUB_BUS, ids: ['alert'] }),
      ]
        .filter((record) => severityOf(record) !== 'critical')
        .map((record) => `${String(record.eventName)} ${name}`),
    );

    // Assess
    expect(twins.length).toBeGreaterThan(10);
    expect(unseen).toStrictEqual([]);
  });

  it('ignores reads of the hub bus and of the forwarder StackSet', () => {
    // Assess
    expect(severityOf(recordOf('events', 'DescribeEventBus', { name: HUB_BUS }))).toBeUndefined();
    expect(severityOf(recordOf('events', 'ListRules', { eventBusName: HUB_BUS }))).toBeUndefined();
    expect(severityOf(recordOf('events', 'ListTargetsByRule', { rule: 'x', eventBusName: HUB_BUS }))).toBeUndefined();
    expect(severityOf(recordOf('cloudformation', 'DescribeStackSet', { stackSetName: FORWARDER }))).toBeUndefined();
    expect(severityOf(recordOf('cloudformation', 'ListStackInstances', { stackSetName: FORWARDER }))).toBeUndefined();
  });
});
