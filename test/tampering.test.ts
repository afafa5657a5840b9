import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { classify } from '../functions/core/classify.js';
import {
  DETECTION_PARAMETERS,
  type Detection,
  type DetectionParameters,
  parseDetection,
} from '../functions/core/detection.js';
import { recordToEvent } from '../functions/core/event.js';
import { compilePattern } from '../functions/core/event-pattern/compile.js';
import type { Severity } from '../functions/core/severity.js';
import { DetectionFileError } from '../functions/errors.js';
import { detectionParametersOf } from '../functions/io/config.js';
import { DEFAULT_DETECTIONS_DIR, loadDetections } from '../functions/io/detections.js';
import { runCliCaptured } from './helpers/cli.js';
import { readSample } from './helpers/samples.js';

/*
 * Self-protection (alerter-tampering) and where the audit trail lands (audit-trail-tampering), table-driven: for
 * each watched resource, a record per API built from a template, once per identifier spelling the API accepts,
 * must raise the detection at its severity; the same calls on resources that are not rootwatch's (or not the
 * trail's) must not. The catalog is loaded as its samples test it (events/samples/parameters.yml).
 */

const detections = loadDetections();
const SAMPLE_VALUES = parseYaml(
  readFileSync(join(DEFAULT_DETECTIONS_DIR, 'samples', 'parameters.yml'), 'utf8'),
) as Record<string, string>;
const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const STAGE = 'prod';

/** A CloudTrail record of a role's call, as the samples' (events/samples/role-disable-rootwatch-rule.json). */
const recordOf = (
  eventSource: string,
  eventName: string,
  requestParameters: Record<string, unknown> | null,
  responseElements: Record<string, unknown> | null = null,
): Record<string, unknown> => ({
  eventVersion: '1.09',
  userIdentity: {
    type: 'AssumedRole',
    principalId: 'AROAEXAMPLEOPS:mallory',
    arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Ops/mallory`,
    accountId: ACCOUNT,
  },
  eventTime: '2025-05-06T04:00:00Z',
  eventSource: `${eventSource}.amazonaws.com`,
  eventName,
  awsRegion: REGION,
  sourceIPAddress: '203.0.113.27',
  userAgent: 'aws-cli/2.27.0',
  requestParameters,
  responseElements,
  requestID: 'c0ffee00-0000-4000-8000-00000000beef',
  eventID: `table-${eventSource}-${eventName}`,
  readOnly: false,
  eventType: 'AwsApiCall',
  managementEvent: true,
  recipientAccountId: ACCOUNT,
  eventCategory: 'Management',
});

/** The severity `id` gives the record, or undefined when it does not match. */
const severityOf = (record: Record<string, unknown>, id: string, catalog = detections): Severity | undefined =>
  classify(recordToEvent(record), catalog).find((match) => match.detection.id === id)?.severity;

/** One API of a watched resource: its service, event names, and the record's parameters for one identifier. */
interface Api {
  readonly source: string;
  readonly eventNames: readonly string[];
  readonly request: (id: string) => Record<string, unknown> | null;
  readonly response?: (id: string) => Record<string, unknown>;
  /** The severity when it differs from the detection's (critical). */
  readonly severity?: Severity;
}

/** A watched resource: every identifier form of each instance, the APIs that change it, and look-alikes. */
interface Resource {
  readonly what: string;
  readonly detection: 'alerter-tampering' | 'audit-trail-tampering';
  readonly ids: readonly string[];
  readonly others: readonly string[];
  readonly apis: readonly Api[];
}

const functionForms = (name: string): string[] => [
  name,
  `${name}:live`,
  `${name}:7`,
  `${name}:$LATEST`,
  `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`,
  `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}:live`,
  `arn:aws-us-gov:lambda:us-gov-west-1:${ACCOUNT}:function:${name}`,
  `${ACCOUNT}:function:${name}`,
  `${ACCOUNT}:function:${name}:3`,
  `function:${name}`,
  `function:${name}:live`,
  `${REGION}:${ACCOUNT}:function:${name}`,
  `${REGION}:${ACCOUNT}:function:${name}:$LATEST`,
];
const queueForms = (name: string): string[] => [
  `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`,
  `https://queue.amazonaws.com/${ACCOUNT}/${name}`,
  `https://${REGION}.queue.amazonaws.com/${ACCOUNT}/${name}`,
  `https://sqs.${REGION}.api.aws/${ACCOUNT}/${name}`,
];
const FUNCTIONS = [`rootwatch-${STAGE}-alert`, `rootwatch-${STAGE}-notify-slack`];
const QUEUES = ['slack', 'slack-dlq', 'alert-dlq', 'rules-dlq'].map((name) => `rootwatch-${STAGE}-${name}`);
const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:rootwatch-${STAGE}-alerts`;
const KEY_ARN = SAMPLE_VALUES.alerterKeyArn as string;
const TRAIL_KEY_ARN = SAMPLE_VALUES.trailKeyArns as string;
const keyIdOf = (arn: string) => arn.slice(arn.indexOf(':key/') + 5);
const OTHER_KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111`;

/** The rules packaging deploys for stage prod: every one alerter-tampering must see changed. */
const { loadEventRules } = createRequire(import.meta.url)('../resources/event-rules.cjs') as {
  loadEventRules: (stage: string) => { Resources: Record<string, { Type: string; Properties: { Name?: string } }> };
};
const RULE_NAMES = Object.values(loadEventRules(STAGE).Resources)
  .filter((resource) => resource.Type === 'AWS::Events::Rule')
  .map((resource) => resource.Properties.Name as string);

const lambda = (eventNames: string[], request: (id: string) => Record<string, unknown>): Api => ({
  source: 'lambda',
  eventNames,
  request,
});

const RESOURCES: Resource[] = [
  {
    what: "rootwatch's rules",
    detection: 'alerter-tampering',
    ids: RULE_NAMES,
    others: ['orders-nightly', 'rootwatcher', 'prod-rootwatch-copy'],
    apis: [
      { source: 'events', eventNames: ['DisableRule', 'DeleteRule'], request: (name) => ({ name }) },
      { source: 'events', eventNames: ['PutRule'], request: (name) => ({ name, state: 'DISABLED' }) },
      { source: 'events', eventNames: ['PutTargets', 'RemoveTargets'], request: (rule) => ({ rule, ids: ['alert'] }) },
    ],
  },
  {
    what: 'the default event bus',
    detection: 'alerter-tampering',
    // These calls take the bus's name only (EventBridge API reference), the default when none is given.
    ids: ['(omitted)', 'default'],
    others: ['orders', 'default-copy'],
    apis: [
      {
        source: 'events',
        eventNames: ['PutPermission', 'RemovePermission'],
        request: (bus) => ({ statementId: 's1', ...(bus === '(omitted)' ? {} : { eventBusName: bus }) }),
      },
      {
        source: 'events',
        eventNames: ['UpdateEventBus'],
        request: (bus) => ({ description: 'd', ...(bus === '(omitted)' ? {} : { name: bus }) }),
      },
    ],
  },
  {
    what: "rootwatch's functions",
    detection: 'alerter-tampering',
    ids: FUNCTIONS.flatMap(functionForms),
    others: [
      ...functionForms('orders-api'),
      'function:not-rootwatch-x',
      'rootwatch',
      `${ACCOUNT}:function:my-rootwatch-x`,
    ],
    apis: [
      lambda(['DeleteFunction', 'DeleteFunction20150331'], (functionName) => ({ functionName })),
      lambda(['UpdateFunctionCode20150331v2', 'UpdateFunctionConfiguration20150331v2'], (functionName) => ({
        functionName,
      })),
      lambda(['PutFunctionConcurrency20171031', 'DeleteFunctionConcurrency20171031'], (functionName) => ({
        functionName,
      })),
      lambda(['AddPermission20150331v2', 'RemovePermission20150331v2'], (functionName) => ({
        functionName,
        statementId: 's1',
      })),
      lambda(
        ['PutFunctionEventInvokeConfig', 'UpdateFunctionEventInvokeConfig', 'DeleteFunctionEventInvokeConfig'],
        (functionName) => ({ functionName }),
      ),
      lambda(['CreateEventSourceMapping20150331'], (functionName) => ({
        functionName,
        eventSourceArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:orders`,
      })),
    ],
  },
  {
    what: "rootwatch's event source mappings, by the function Lambda resolves",
    detection: 'alerter-tampering',
    ids: FUNCTIONS.map((name) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`),
    others: [`arn:aws:lambda:${REGION}:${ACCOUNT}:function:orders-api`],
    apis: [
      {
        source: 'lambda',
        eventNames: ['UpdateEventSourceMapping20150331', 'DeleteEventSourceMapping20150331'],
        request: () => ({ uUID: 'b2c3d4e5-6789-01ab-cdef-EXAMPLEbbbbb' }),
        response: (functionArn) => ({ functionArn, eventSourceArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:orders` }),
      },
    ],
  },
  {
    what: "a function reading rootwatch's queues",
    detection: 'alerter-tampering',
    ids: QUEUES.map((name) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`),
    others: [`arn:aws:sqs:${REGION}:${ACCOUNT}:orders`],
    apis: [
      lambda(['CreateEventSourceMapping20150331'], (eventSourceArn) => ({ functionName: 'drain', eventSourceArn })),
    ],
  },
  {
    what: "rootwatch's queues",
    detection: 'alerter-tampering',
    ids: QUEUES.flatMap(queueForms),
    others: [...queueForms('orders'), ...queueForms('not-rootwatch-slack')],
    apis: [
      {
        source: 'sqs',
        eventNames: ['DeleteQueue', 'SetQueueAttributes', 'PurgeQueue', 'AddPermission', 'RemovePermission'],
        request: (queueUrl) => ({ queueUrl }),
      },
    ],
  },
  {
    what: "rootwatch's topic and its subscriptions",
    detection: 'alerter-tampering',
    ids: [TOPIC, `arn:aws-us-gov:sns:us-gov-west-1:${ACCOUNT}:rootwatch-${STAGE}-alerts`],
    others: [`arn:aws:sns:${REGION}:${ACCOUNT}:orders`, `arn:aws:sns:${REGION}:${ACCOUNT}:orders-rootwatch-copy`],
    apis: [
      {
        source: 'sns',
        eventNames: [
          'DeleteTopic',
          'SetTopicAttributes',
          'Subscribe',
          'AddPermission',
          'RemovePermission',
          'PutDataProtectionPolicy',
        ],
        request: (arn) => ({ topicArn: arn }),
      },
      {
        source: 'sns',
        eventNames: ['Unsubscribe', 'SetSubscriptionAttributes'],
        request: (arn) => ({ subscriptionArn: `${arn}:4f9c2a3e-1b2d-4c5e-8f90-1a2b3c4d5e6f` }),
      },
      { source: 'sns', eventNames: ['PutDataProtectionPolicy'], request: (resourceArn) => ({ resourceArn }) },
    ],
  },
  {
    what: "rootwatch's KMS key",
    detection: 'alerter-tampering',
    ids: [KEY_ARN, keyIdOf(KEY_ARN)],
    others: [OTHER_KEY_ARN, keyIdOf(OTHER_KEY_ARN), TRAIL_KEY_ARN],
    apis: [
      {
        source: 'kms',
        eventNames: ['DisableKey', 'ScheduleKeyDeletion', 'PutKeyPolicy'],
        request: (keyId) => ({ keyId }),
      },
    ],
  },
  {
    what: "rootwatch's key alias",
    detection: 'alerter-tampering',
    ids: [`alias/rootwatch-${STAGE}-alerts`],
    others: ['alias/orders', 'alias/aws/sns'],
    apis: [
      { source: 'kms', eventNames: ['DeleteAlias'], request: (aliasName) => ({ aliasName }) },
      { source: 'kms', eventNames: ['UpdateAlias'], request: (aliasName) => ({ aliasName, targetKeyId: 'x' }) },
    ],
  },
  {
    what: "rootwatch's state table",
    detection: 'alerter-tampering',
    ids: [`rootwatch-${STAGE}-state`, `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/rootwatch-${STAGE}-state`],
    others: ['orders', `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders`],
    apis: [
      {
        source: 'dynamodb',
        eventNames: ['DeleteTable', 'UpdateTable', 'UpdateTimeToLive'],
        request: (tableName) => ({ tableName }),
      },
    ],
  },
  {
    what: "rootwatch's state table's resource policy",
    detection: 'alerter-tampering',
    ids: [`arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/rootwatch-${STAGE}-state`],
    others: [`arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders`],
    apis: [
      {
        source: 'dynamodb',
        eventNames: ['PutResourcePolicy', 'DeleteResourcePolicy'],
        request: (resourceArn) => ({ resourceArn }),
      },
    ],
  },
  {
    what: 'the Slack webhook parameter',
    detection: 'alerter-tampering',
    ids: [`/rootwatch/${STAGE}/slack-webhook-url`, SAMPLE_VALUES.slackWebhookParameter as string],
    others: ['/app/orders/db-url', '/security/slack/other-webhook-url'],
    apis: [
      { source: 'ssm', eventNames: ['PutParameter', 'DeleteParameter'], request: (name) => ({ name }) },
      { source: 'ssm', eventNames: ['DeleteParameters'], request: (name) => ({ names: ['/app/x', name] }) },
    ],
  },
  {
    what: "rootwatch's roles",
    detection: 'alerter-tampering',
    ids: FUNCTIONS.flatMap((name) => [`${name}-${REGION}`, `${name}-eu-west-1`]),
    others: ['orders-api-us-east-1', 'Ops'],
    apis: [
      {
        source: 'iam',
        eventNames: [
          'DeleteRole',
          'PutRolePolicy',
          'DeleteRolePolicy',
          'AttachRolePolicy',
          'DetachRolePolicy',
          'PutRolePermissionsBoundary',
          'DeleteRolePermissionsBoundary',
          'UpdateAssumeRolePolicy',
        ],
        request: (roleName) => ({ roleName }),
      },
    ],
  },
  {
    what: "rootwatch's stack",
    detection: 'alerter-tampering',
    ids: [
      `rootwatch-${STAGE}`,
      `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/rootwatch-${STAGE}/5b6c1e70-2a1f-11f0-9c3e-0affd1a2b3c4`,
    ],
    others: ['orders-prod', `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/orders-prod/5b6c1e70`],
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
    what: "rootwatch's log groups",
    detection: 'alerter-tampering',
    ids: FUNCTIONS.map((name) => `/aws/lambda/${name}`),
    others: ['/aws/lambda/orders-api', '/rootwatch/other'],
    apis: [
      {
        source: 'logs',
        eventNames: ['DeleteLogGroup', 'DeleteLogStream', 'PutRetentionPolicy', 'DeleteSubscriptionFilter'],
        request: (logGroupName) => ({ logGroupName }),
      },
    ],
  },
  {
    what: "rootwatch's alarms",
    detection: 'alerter-tampering',
    ids: [`rootwatch-${STAGE}-alert-errors`, `rootwatch-${STAGE}-rules-dlq-messages`],
    others: ['orders-api-errors'],
    apis: [
      {
        source: 'monitoring',
        eventNames: ['DeleteAlarms', 'DisableAlarmActions'],
        request: (name) => ({ alarmNames: ['orders-api-errors', name] }),
      },
      { source: 'monitoring', eventNames: ['PutMetricAlarm'], request: (alarmName) => ({ alarmName }) },
    ],
  },
  {
    what: "rootwatch's heartbeat schedule",
    detection: 'alerter-tampering',
    // Scheduler takes schedule names only (no ARN); the group, when named, is rootwatch's `default`.
    ids: [`rootwatch-${STAGE}-heartbeat`],
    others: ['orders-nightly-export', 'prod-rootwatch-heartbeat', 'rootwatcher-heartbeat'],
    apis: [
      { source: 'scheduler', eventNames: ['DeleteSchedule'], request: (name) => ({ name }) },
      { source: 'scheduler', eventNames: ['DeleteSchedule'], request: (name) => ({ name, groupName: 'default' }) },
      {
        source: 'scheduler',
        eventNames: ['UpdateSchedule'],
        request: (name) => ({ name, groupName: 'default', state: 'DISABLED', scheduleExpression: 'rate(5 minutes)' }),
      },
    ],
  },
  {
    what: "the trail's bucket",
    detection: 'audit-trail-tampering',
    ids: [SAMPLE_VALUES.trailBuckets as string],
    others: ['orders-assets', `${SAMPLE_VALUES.trailBuckets}-copy`],
    apis: [
      {
        source: 's3',
        eventNames: [
          'DeleteBucket',
          'PutBucketPolicy',
          'DeleteBucketPolicy',
          'PutBucketAcl',
          'PutBucketLifecycle',
          'DeleteBucketLifecycle',
          'PutBucketPublicAccessBlock',
          'DeleteBucketPublicAccessBlock',
          'PutBucketEncryption',
          'DeleteBucketEncryption',
        ],
        request: (bucketName) => ({ bucketName, Host: `${bucketName}.s3.amazonaws.com` }),
      },
      {
        source: 's3',
        eventNames: ['PutBucketVersioning'],
        request: (bucketName) => ({ bucketName, VersioningConfiguration: { Status: 'Suspended' } }),
      },
    ],
  },
  {
    what: "the trail's KMS key",
    detection: 'audit-trail-tampering',
    ids: [TRAIL_KEY_ARN, keyIdOf(TRAIL_KEY_ARN)],
    others: [OTHER_KEY_ARN, keyIdOf(OTHER_KEY_ARN), KEY_ARN],
    apis: [
      {
        source: 'kms',
        eventNames: ['DisableKey', 'ScheduleKeyDeletion', 'PutKeyPolicy', 'DeleteImportedKeyMaterial'],
        request: (keyId) => ({ keyId }),
      },
    ],
  },
  {
    what: "the trail's log group",
    detection: 'audit-trail-tampering',
    ids: [SAMPLE_VALUES.trailLogGroups as string],
    others: ['/aws/lambda/orders-api', `${SAMPLE_VALUES.trailLogGroups}-copy`],
    apis: [
      {
        source: 'logs',
        eventNames: [
          'DeleteLogGroup',
          'DeleteLogStream',
          'PutRetentionPolicy',
          'DeleteSubscriptionFilter',
          'PutSubscriptionFilter',
          'DeleteMetricFilter',
          'PutMetricFilter',
        ],
        request: (logGroupName) => ({ logGroupName }),
      },
    ],
  },
];

/** Every (resource, API, event name, identifier) of the table, with what it must give. */
const cases = RESOURCES.flatMap((resource) =>
  resource.apis.flatMap((api) =>
    api.eventNames.flatMap((eventName) => [
      ...resource.ids.map((id) => ({ resource, api, eventName, id, expected: api.severity ?? 'critical' })),
      ...resource.others.map((id) => ({ resource, api, eventName, id, expected: undefined })),
    ]),
  ),
);

const recordFor = ({ api, eventName, id }: (typeof cases)[number]): Record<string, unknown> =>
  recordOf(api.source, eventName, api.request(id), api.response?.(id) ?? null);

describe('what self-protection and the audit trail watch, in every identifier form', () => {
  it.each(RESOURCES.map((resource) => ({ what: resource.what, detection: resource.detection, resource })))(
    '$detection: $what, each API in each spelling, and none of the look-alikes',
    ({ resource }) => {
      // Prepare
      const own = cases.filter((c) => c.resource === resource);
      // Act
      const outcomes = own.map((c) => ({
        call: `${c.eventName} ${c.id}`,
        severity: severityOf(recordFor(c), resource.detection),
      }));
      // Assess
      expect(outcomes).toStrictEqual(own.map((c) => ({ call: `${c.eventName} ${c.id}`, severity: c.expected })));
      expect(own.some((c) => c.expected !== undefined)).toBe(true);
    },
  );

  it('names every rule packaging deploys, so the rules table covers them all', () => {
    expect(RULE_NAMES.length).toBeGreaterThan(10);
    expect(RULE_NAMES).toContain(`rootwatch-${STAGE}-alerter-tampering-0`);
  });

  it('leaves the trail, bucket, key and log group clauses matching nothing when no parameter names them', () => {
    // Prepare
    const bare = loadDetections(DEFAULT_DETECTIONS_DIR, {});
    const watched = cases.filter(
      (c) =>
        c.expected !== undefined && c.resource.detection === 'audit-trail-tampering' && c.api.source !== 'cloudtrail',
    );
    // Act
    const matched = watched.filter((c) => severityOf(recordFor(c), 'audit-trail-tampering', bare) !== undefined);
    // Assess
    expect(watched.length).toBeGreaterThan(20);
    expect(matched).toStrictEqual([]);
  });
});

describe('alerter-tampering without a single point of failure', () => {
  const alerter = detections.find((detection) => detection.id === 'alerter-tampering') as Detection;
  const changes = (rule: string) => [
    recordOf('events', 'DisableRule', { name: rule }),
    recordOf('events', 'DeleteRule', { name: rule, force: true }),
    recordOf('events', 'PutRule', { name: rule, state: 'DISABLED' }),
    recordOf('events', 'RemoveTargets', { rule, ids: ['alert'] }),
    recordOf('events', 'PutTargets', { rule, targets: [] }),
  ];

  it.each(alerter.patterns.map((pattern, index) => ({ index, pattern })))(
    'rule rootwatch-prod-alerter-tampering-$index alone sees any rootwatch rule disabled, deleted, rewritten or untargeted',
    ({ pattern }) => {
      // Prepare
      const matches = compilePattern(pattern);
      // Act
      const unseen = RULE_NAMES.flatMap((rule) =>
        changes(rule)
          .filter((record) => !matches(recordToEvent(record)))
          .map((record) => `${String(record.eventName)} ${rule}`),
      );
      // Assess
      expect(unseen).toStrictEqual([]);
    },
  );

  it('sees the tampering rule disabled (the field case) with every other rule of the detection', () => {
    // Prepare
    const event = recordToEvent(readSample('role-disable-tampering-rule.json'));
    const disabled = 'rootwatch-prod-alerter-tampering-0';
    // Act
    const seenBy = alerter.patterns
      .map((pattern, index) => ({
        rule: `rootwatch-prod-alerter-tampering-${index}`,
        matches: compilePattern(pattern),
      }))
      .filter(({ rule, matches }) => rule !== disabled && matches(event));
    // Assess
    expect(seenBy.length).toBe(alerter.patterns.length - 1);
    expect(severityOf(readSample('role-disable-tampering-rule.json'), 'alerter-tampering')).toBe('critical');
  });
});

describe('placeholders in detection files', () => {
  const fileWith = (list: string) => `
id: test-detection
title: Test
severity: high
description: d
runbook: |
  1. one
  2. two
references: [https://example.com/a]
tags: [attack.t1562.008]
falsePositives: [none]
patterns:
  - source: [aws.s3]
    detail:
      requestParameters:
        bucketName: ${list}
samples:
  - { name: a, expect: match, fixture: a.json }
  - { name: b, expect: no-match, fixture: b.json }
`;
  const bucketsOf = (list: string, parameters: DetectionParameters) =>
    (
      parseDetection(fileWith(list), 'test-detection.yml', parameters).patterns[0] as {
        detail: { requestParameters: { bucketName: unknown[] } };
      }
    ).detail.requestParameters.bucketName;

  it('stand for the parameter values, beside the other values of the list', () => {
    expect(
      bucketsOf('[{ param: trailBuckets }, literal-bucket]', { trailBuckets: ['a-bucket', 'b-bucket'] }),
    ).toStrictEqual(['a-bucket', 'b-bucket', 'literal-bucket']);
  });

  it('leave a list that only they make up matching nothing when the parameter has no value', () => {
    // Act
    const values = bucketsOf('[{ param: trailBuckets }]', {});
    const detection = parseDetection(fileWith('[{ param: trailBuckets }]'), 'test-detection.yml', {});
    // Assess
    expect(values).toStrictEqual(['<no value: trailBuckets>']);
    expect(detection.matches(recordToEvent(recordOf('s3', 'DeleteBucket', { bucketName: 'any-bucket' })))).toBe(false);
  });

  it('drop out of a list that holds other values when the parameter has none', () => {
    expect(bucketsOf('[{ param: trailBuckets }, literal-bucket]', { trailBuckets: [] })).toStrictEqual([
      'literal-bucket',
    ]);
  });

  it.each([
    [
      'an unknown parameter',
      '[{ param: trailBucket }]',
      /bucketName\[0\]: unknown parameter "trailBucket" \(known: trailBuckets, /,
    ],
    [
      'a placeholder that is not in a list',
      '{ param: trailBuckets }',
      /bucketName: a placeholder stands for a list of values/,
    ],
    [
      'a placeholder inside an operator',
      '[{ anything-but: [{ param: trailBuckets }] }]',
      /bucketName\[0\]: a placeholder goes directly/,
    ],
  ])('reject %s, naming the file and where it is', (_, list, message) => {
    // Act
    const error = (() => {
      try {
        parseDetection(fileWith(list), 'test-detection.yml', {});
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    // Assess
    expect(error).toBeInstanceOf(DetectionFileError);
    expect(error?.message).toMatch(/^test-detection\.yml: patterns\[0\]\.detail\.requestParameters\./);
    expect(error?.message).toMatch(message);
  });

  it('resolve the same in a severity modifier', () => {
    // Prepare
    const text = fileWith('[any-bucket]').replace(
      'severity: high\n',
      'severity: high\nseverityModifiers:\n  - severity: critical\n    reason: the trail bucket\n    match:\n      detail:\n        requestParameters:\n          bucketName: [{ param: trailBuckets }]\n',
    );
    // Act
    const detection = parseDetection(text, 'test-detection.yml', { trailBuckets: ['any-bucket'] });
    // Assess
    expect(detection.severityModifiers[0]).toMatchObject({
      match: { detail: { requestParameters: { bucketName: ['any-bucket'] } } },
    });
  });

  it('each have a value in every deployment, given or derived (a key id from its ARN)', () => {
    expect(Object.keys(detectionParametersOf({})).sort()).toStrictEqual([...DETECTION_PARAMETERS].sort());
  });

  it('take the samples’ values when the catalog is loaded without parameters', () => {
    // Prepare
    const expected = detectionParametersOf({
      trailBuckets: [SAMPLE_VALUES.trailBuckets as string],
      trailKeyArns: [TRAIL_KEY_ARN],
      trailLogGroups: [SAMPLE_VALUES.trailLogGroups as string],
      alerterKeyArn: KEY_ARN,
      slackWebhookParameter: SAMPLE_VALUES.slackWebhookParameter as string,
    });
    // Act
    const deployed = loadDetections(DEFAULT_DETECTIONS_DIR, expected);
    // Assess
    expect(deployed.map((d) => d.patterns)).toStrictEqual(detections.map((d) => d.patterns));
    expect(expected.trailKeyIds).toStrictEqual([keyIdOf(TRAIL_KEY_ARN)]);
    expect(expected.alerterKeyId).toStrictEqual([keyIdOf(KEY_ARN)]);
  });
});

describe('rootwatch replay with the deploy parameters', () => {
  // Every event on its own: which events match the parameters is the question here, not how a session folds.
  const replay = (args: string[]) => runCliCaptured(['replay', '--no-fold', '--format', 'ndjson', ...args]);
  const trailFile = () => {
    const dir = mkdtempSync(join(tmpdir(), 'rootwatch-tampering-'));
    const file = join(dir, 'trail.json');
    const records = [
      'role-delete-trail-bucket.json',
      'role-disable-rootwatch-key.json',
      'role-cut-trail-log-retention.json',
    ];
    writeFileSync(file, JSON.stringify({ Records: records.map(readSample) }));
    return { dir, file };
  };
  const alerted = (stdout: string) =>
    stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { record: { eventName: string } }).record.eventName);

  it('matches nothing on the trail and rootwatch’s key without them', async () => {
    const { code, stdout } = await replay([trailFile().file]);
    expect(code).toBe(0);
    expect(alerted(stdout)).toStrictEqual([]);
  });

  it('reads them from --config, the format of events/samples/parameters.yml', async () => {
    const { code, stdout } = await replay([
      '--config',
      join(DEFAULT_DETECTIONS_DIR, 'samples', 'parameters.yml'),
      trailFile().file,
    ]);
    expect(code).toBe(0);
    expect(alerted(stdout)).toStrictEqual(['DeleteBucket', 'DisableKey', 'PutRetentionPolicy']);
  });

  it('takes --param NAME=VALUE over the file, comma-separated lists included', async () => {
    // Prepare
    const { dir, file } = trailFile();
    const config = join(dir, 'params.yml');
    writeFileSync(config, `trailBuckets: [other-bucket]\nalerterKeyArn: ${KEY_ARN}\n`);
    // Act
    const { code, stdout } = await replay([
      '--config',
      config,
      '--param',
      `trailBuckets=other-bucket,${SAMPLE_VALUES.trailBuckets}`,
      file,
    ]);
    // Assess
    expect(code).toBe(0);
    expect(alerted(stdout)).toStrictEqual(['DeleteBucket', 'DisableKey']);
  });

  it.each([
    [['--param', 'trailBucket=x'], /Invalid parameters in --param .*Unrecognized key: "trailBucket"/s],
    [['--param', 'trailKeyArns=alias/cloudtrail'], /"alias\/cloudtrail" is not a KMS key ARN/],
    [['--param', 'trailBuckets'], /--param takes NAME=VALUE \(got "trailBuckets"\)/],
  ])('refuses %j with exit status 2, saying why', async (args, message) => {
    const { code, stderr } = await replay([...args, trailFile().file]);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });
});
