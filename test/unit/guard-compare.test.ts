import { describe, expect, it } from 'vitest';
import { canonicalPolicy, compareDeployment, type DeployedState } from '../../functions/core/guard/compare.js';
import { deployedAsExpected, sampleExpectation } from '../helpers/guard.js';

const expectation = sampleExpectation();
const RULE = 'rootwatch-test-root-api-call';
const HUB = 'rootwatch-test-hub';
/** The twin of RULE on the hub bus, as the guard's reads key it. */
const HUB_RULE = `${HUB}/${RULE}`;
const NOTIFIER = 'rootwatch-test-notify-slack';
const TOPIC = 'arn:aws:sns:us-east-1:000000000000:rootwatch-test-alerts';
const KEY = 'arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** The deployment as deployed, changed by `change` (which edits a fresh copy). */
const deployedWith = (change: (deployed: DeployedState) => void): DeployedState => {
  const deployed = structuredClone(deployedAsExpected(expectation));
  change(deployed);
  return deployed;
};

/** The found value of an observation, to change (failing the test when it is not found). */
const found = <T>(observed: unknown): T => {
  const { status, value } = (observed ?? {}) as { status?: string; value?: unknown };
  if (status !== 'found') throw new Error('expected a found observation');
  return value as T;
};

describe('compareDeployment', () => {
  it('finds no drift in a deployment as deployed, policies stored in another order', () => {
    // Act
    const drifts = compareDeployment(expectation, deployedAsExpected(expectation));

    // Assess
    expect(drifts).toStrictEqual([]);
  });

  it('reports a disabled rule, naming its state and the deployed one', () => {
    // Prepare
    const deployed = deployedWith((d) => {
      found<{ state: string }>(d.rules[RULE]).state = 'DISABLED';
    });

    // Act
    const drifts = compareDeployment(expectation, deployed);

    // Assess
    expect(drifts).toStrictEqual([
      {
        resource: 'rule',
        name: RULE,
        property: 'State',
        expected: 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS',
        actual: 'DISABLED',
        message: `rule ${RULE} is DISABLED, deployed ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`,
        severity: 'critical',
      },
    ]);
  });

  it('reports a rule that lost the read-only events of its state as a drift too', () => {
    // Prepare
    const deployed = deployedWith((d) => {
      found<{ state: string }>(d.rules[RULE]).state = 'ENABLED';
    });

    // Act
    const drifts = compareDeployment(expectation, deployed);

    // Assess
    expect(drifts.map((drift) => [drift.name, drift.property, drift.actual])).toStrictEqual([
      [RULE, 'State', 'ENABLED'],
    ]);
  });

  it("reports the hub bus's twin of a rule disabled, naming the bus, while the default bus's rule stays as deployed", () => {
    // Prepare
    const deployed = deployedWith((d) => {
      found<{ state: string }>(d.rules[HUB_RULE]).state = 'DISABLED';
    });

    // Act
    const drifts = compareDeployment(expectation, deployed);

    // Assess
    expect(drifts).toStrictEqual([
      {
        resource: 'rule',
        name: HUB_RULE,
        property: 'State',
        expected: 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS',
        actual: 'DISABLED',
        message: `rule ${RULE} on the bus ${HUB} is DISABLED, deployed ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`,
        severity: 'critical',
      },
    ]);
  });

  it('reports a hub-bus rule that is gone, or lost its target', () => {
    // Prepare
    const gone = deployedWith((d) => {
      d.rules = { ...d.rules, [HUB_RULE]: { status: 'missing' } };
    });
    const targetless = deployedWith((d) => {
      found<{ targets: { value: unknown[] } }>(d.rules[HUB_RULE]).targets.value = [];
    });

    // Act
    const drifts = [...compareDeployment(expectation, gone), ...compareDeployment(expectation, targetless)];

    // Assess
    expect(drifts.map((drift) => [drift.name, drift.property, drift.message])).toStrictEqual([
      [HUB_RULE, 'exists', `rule ${RULE} on the bus ${HUB} is missing (deleted?)`],
      [
        HUB_RULE,
        'Target alert',
        `rule ${RULE} on the bus ${HUB} lost its target alert (arn:aws:lambda:us-east-1:000000000000:function:rootwatch-test-alert)`,
      ],
    ]);
  });

  it('reports the hub bus opened to every account, and its policy removed, or the bus deleted', () => {
    // Prepare
    const policy = expectation.eventBuses[0]?.policy as { Statement: Record<string, unknown>[] };
    const widened = {
      ...policy,
      Statement: [
        ...policy.Statement,
        { Sid: 'Everyone', Effect: 'Allow', Principal: '*', Action: 'events:PutEvents', Resource: '*' },
      ],
    };
    const opened = deployedWith((d) => {
      found<{ policy?: string }>(d.eventBuses[HUB]).policy = JSON.stringify(widened);
    });
    const emptied = deployedWith((d) => {
      delete found<{ policy?: string }>(d.eventBuses[HUB]).policy;
    });
    const deleted = deployedWith((d) => {
      d.eventBuses = { [HUB]: { status: 'missing' } };
    });

    // Act
    const drifts = [opened, emptied, deleted].flatMap((deployed) => compareDeployment(expectation, deployed));

    // Assess
    expect(drifts).toStrictEqual([
      {
        resource: 'event bus',
        name: HUB,
        property: 'Policy',
        expected: policy,
        actual: widened,
        message: `event bus ${HUB} has another policy than deployed`,
        severity: 'critical',
      },
      {
        resource: 'event bus',
        name: HUB,
        property: 'Policy',
        expected: policy,
        actual: undefined,
        message: `event bus ${HUB} lost its policy`,
        severity: 'critical',
      },
      {
        resource: 'event bus',
        name: HUB,
        property: 'exists',
        message: `event bus ${HUB} is missing (deleted?)`,
        severity: 'critical',
      },
    ]);
  });

  it('reports a policy put on a hub bus deployed without one (neither organizationId nor memberAccounts)', () => {
    // Prepare
    const closed = {
      ...expectation,
      eventBuses: expectation.eventBuses.map(({ policy: _, ...bus }) => bus),
    };
    const deployed = deployedWith((d) => {
      found<{ policy?: string }>(d.eventBuses[HUB]).policy = JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: '*', Action: 'events:PutEvents', Resource: '*' }],
      });
    });

    // Act
    const drifts = compareDeployment(closed, deployed);
    const quiet = compareDeployment(
      closed,
      deployedWith((d) => {
        delete found<{ policy?: string }>(d.eventBuses[HUB]).policy;
      }),
    );

    // Assess
    expect(drifts.map((drift) => [drift.resource, drift.name, drift.property, drift.message])).toStrictEqual([
      ['event bus', HUB, 'Policy', `event bus ${HUB} has a policy rootwatch did not deploy`],
    ]);
    expect(quiet).toStrictEqual([]);
  });

  it('reports a removed target', () => {
    // Prepare
    const deployed = deployedWith((d) => {
      found<{ targets: { value: unknown[] } }>(d.rules[RULE]).targets.value = [];
    });

    // Act
    const drifts = compareDeployment(expectation, deployed);

    // Assess
    expect(drifts).toHaveLength(1);
    expect(drifts[0]).toMatchObject({
      resource: 'rule',
      name: RULE,
      property: 'Target alert',
      message: `rule ${RULE} lost its target alert (arn:aws:lambda:us-east-1:000000000000:function:rootwatch-test-alert)`,
      severity: 'critical',
    });
  });

  it.each([
    ['retry policy', { retryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 } }, 'RetryPolicy'],
    ['dead-letter queue', { deadLetterArn: undefined }, 'DeadLetterConfig'],
    ['function', { arn: 'arn:aws:lambda:us-east-1:000000000000:function:elsewhere' }, 'Arn'],
  ])('reports a target whose %s changed', (_, change, property) => {
    // Prepare
    const deployed = deployedWith((d) => {
      const [target] = found<{ targets: { value: Record<string, unknown>[] } }>(d.rules[RULE]).targets.value;
      Object.assign(target as object, change);
      for (const [key, value] of Object.entries(change)) if (value === undefined) delete target?.[key];
    });

    // Act
    const drifts = compareDeployment(expectation, deployed);

    // Assess
    expect(drifts.map((drift) => drift.property)).toStrictEqual([`Target alert ${property}`]);
  });

  it('reports a target rootwatch did not deploy', () => {
    // Prepare
    const deployed = deployedWith((d) => {
      found<{ targets: { value: unknown[] } }>(d.rules[RULE]).targets.value.push({
        id: 'exfiltrate',
        arn: 'arn:aws:events:us-east-1:999999999999:event-bus/default',
      });
    });

    // Act
    const drifts = compareDeployment(expectation, deployed);

    // Assess
    expect(drifts.map((drift) => drift.message)).toStrictEqual([
      `rule ${RULE} has a target rootwatch did not deploy: exfiltrate (arn:aws:events:us-east-1:999999999999:event-bus/default)`,
    ]);
  });

  it('reports a changed pattern, comparing patterns as JSON values', () => {
    // Prepare
    const changed = deployedWith((d) => {
      found<{ eventPattern: string }>(d.rules[RULE]).eventPattern = JSON.stringify({
        'detail-type': ['AWS API Call via CloudTrail'],
        detail: { userIdentity: { type: ['IAMUser'] } },
      });
    });
    const reformatted = deployedWith((d) => {
      // The same pattern, keys in another order and indented: not a drift.
      found<{ eventPattern: string }>(d.rules[RULE]).eventPattern = JSON.stringify(
        { detail: { userIdentity: { type: ['Root'] } }, 'detail-type': ['AWS API Call via CloudTrail'] },
        null,
        2,
      );
    });

    // Act
    const drifts = compareDeployment(expectation, changed);

    // Assess
    expect(drifts).toHaveLength(1);
    expect(drifts[0]).toMatchObject({
      property: 'EventPattern',
      expected: { 'detail-type': ['AWS API Call via CloudTrail'], detail: { userIdentity: { type: ['Root'] } } },
      actual: { 'detail-type': ['AWS API Call via CloudTrail'], detail: { userIdentity: { type: ['IAMUser'] } } },
    });
    expect(compareDeployment(expectation, reformatted)).toStrictEqual([]);
  });

  it('reports a deleted rule as missing', () => {
    // Prepare
    const deployed = deployedWith((d) => {
      (d.rules as Record<string, unknown>)[RULE] = { status: 'missing' };
    });

    // Act
    const drifts = compareDeployment(expectation, deployed);

    // Assess
    expect(drifts).toStrictEqual([
      {
        resource: 'rule',
        name: RULE,
        property: 'exists',
        message: `rule ${RULE} is missing (deleted?)`,
        severity: 'critical',
      },
    ]);
  });

  it('reports a deleted subscription', () => {
    // Prepare
    const deployed = deployedWith((d) => {
      found<{ subscriptions: { value: unknown[] } }>(d.topics[TOPIC]).subscriptions.value = [];
    });

    // Act
    const drifts = compareDeployment(expectation, deployed);

    // Assess
    expect(drifts).toStrictEqual([
      {
        resource: 'subscription',
        name: 'email sec@example.com',
        property: 'exists',
        message: 'the email sec@example.com subscription to rootwatch-test-alerts is missing (deleted?)',
        severity: 'critical',
      },
    ]);
  });

  it('reports a subscription whose filter policy now drops critical alerts', () => {
    // Prepare
    const deployed = deployedWith((d) => {
      const [subscription] = found<{ subscriptions: { value: { attributes: { value: { filterPolicy: string } } }[] } }>(
        d.topics[TOPIC],
      ).subscriptions.value;
      if (subscription) subscription.attributes.value.filterPolicy = JSON.stringify({ severity: ['low'] });
    });

    // Act
    const drifts = compareDeployment(expectation, deployed);

    // Assess
    expect(drifts.map((drift) => [drift.property, drift.actual])).toStrictEqual([
      ['FilterPolicy', { severity: ['low'] }],
    ]);
  });

  it('reports a subscription pending confirmation as medium', () => {
    // Prepare
    const deployed = deployedWith((d) => {
      const [subscription] = found<{ subscriptions: { value: Record<string, unknown>[] } }>(d.topics[TOPIC])
        .subscriptions.value;
      if (subscription) {
        subscription.pendingConfirmation = true;
        delete subscription.attributes;
      }
    });

    // Act
    const drifts = compareDeployment(expectation, deployed);

    // Assess
    expect(drifts.map((drift) => [drift.property, drift.severity])).toStrictEqual([['PendingConfirmation', 'medium']]);
  });

  it('reports a function with a reserved concurrency of 0: it cannot run', () => {
    // Prepare
    const deployed = deployedWith((d) => {
      found<{ reservedConcurrency: number }>(d.functions[NOTIFIER]).reservedConcurrency = 0;
    });

    // Act
    const drifts = compareDeployment(expectation, deployed);

    // Assess
    expect(drifts).toStrictEqual([
      {
        resource: 'function',
        name: NOTIFIER,
        property: 'ReservedConcurrency',
        expected: 2,
        actual: 0,
        message: `function ${NOTIFIER} has a reserved concurrency of 0: it cannot run at all`,
        severity: 'critical',
      },
    ]);
  });

  it('reports a reserved concurrency added to a function deployed without one', () => {
    // Prepare
    const deployed = deployedWith((d) => {
      found<{ reservedConcurrency: number }>(d.functions['rootwatch-test-alert']).reservedConcurrency = 1;
    });

    // Act
    const drifts = compareDeployment(expectation, deployed);

    // Assess
    expect(drifts.map((drift) => drift.message)).toStrictEqual([
      'function rootwatch-test-alert has a reserved concurrency of 1, deployed none',
    ]);
  });

  it('reports a function that is not Active, and one running with another role', () => {
    // Prepare
    const deployed = deployedWith((d) => {
      Object.assign(found<object>(d.functions['rootwatch-test-alert']), {
        state: 'Failed',
        role: 'arn:aws:iam::000000000000:role/attacker',
      });
    });

    // Act
    const drifts = compareDeployment(expectation, deployed);

    // Assess
    expect(drifts.map((drift) => drift.property)).toStrictEqual(['State', 'Role']);
  });

  it("reports the Slack queue's event source mapping disabled, or gone", () => {
    // Prepare
    const disabled = deployedWith((d) => {
      const [mapping] = found<{ eventSources: { value: { state: string }[] } }>(d.functions[NOTIFIER]).eventSources
        .value;
      if (mapping) mapping.state = 'Disabled';
    });
    const gone = deployedWith((d) => {
      found<{ eventSources: { value: unknown[] } }>(d.functions[NOTIFIER]).eventSources.value = [];
    });

    // Act
    const disabledDrifts = compareDeployment(expectation, disabled);
    const goneDrifts = compareDeployment(expectation, gone);

    // Assess
    expect(disabledDrifts.map((drift) => [drift.resource, drift.name, drift.property, drift.actual])).toStrictEqual([
      ['event source mapping', `${NOTIFIER} ← rootwatch-test-slack`, 'State', 'Disabled'],
    ]);
    expect(goneDrifts.map((drift) => drift.message)).toStrictEqual([
      `function ${NOTIFIER} no longer reads rootwatch-test-slack (its event source mapping is missing)`,
    ]);
  });

  it('reports a key pending deletion, with the date it will be deleted', () => {
    // Prepare
    const deployed = deployedWith((d) => {
      Object.assign(found<object>(d.keys[KEY]), {
        keyState: 'PendingDeletion',
        deletionDate: '2026-02-01T00:00:00.000Z',
      });
    });

    // Act
    const drifts = compareDeployment(expectation, deployed);

    // Assess
    expect(drifts).toStrictEqual([
      {
        resource: 'key',
        name: KEY,
        property: 'KeyState',
        expected: 'Enabled',
        actual: 'PendingDeletion',
        message: `KMS key ${KEY} is scheduled for deletion on 2026-02-01T00:00:00.000Z: cancel it (aws kms cancel-key-deletion)`,
        severity: 'critical',
      },
    ]);
  });

  it('reports a disabled key and a replaced key policy', () => {
    // Prepare
    const deployed = deployedWith((d) => {
      Object.assign(found<object>(d.keys[KEY]), {
        keyState: 'Disabled',
        policy: { status: 'found', value: JSON.stringify({ Version: '2012-10-17', Statement: [] }) },
      });
    });

    // Act
    const drifts = compareDeployment(expectation, deployed);

    // Assess
    expect(drifts.map((drift) => [drift.property, drift.message])).toStrictEqual([
      ['KeyState', `KMS key ${KEY} is Disabled, deployed Enabled`],
      ['Policy', `KMS key ${KEY} has another policy than deployed`],
    ]);
  });

  it('reports a queue policy removed, one added where none was deployed, and a topic policy changed', () => {
    // Prepare
    const deployed = deployedWith((d) => {
      found<{ policy?: string }>(d.queues['rootwatch-test-rules-dlq']).policy = undefined;
      found<{ policy?: string }>(d.queues['rootwatch-test-slack']).policy = JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: '*', Action: 'sqs:ReceiveMessage', Resource: '*' }],
      });
      found<{ policy?: string }>(d.topics[TOPIC]).policy = JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: '*', Action: 'sns:Publish', Resource: TOPIC }],
      });
    });

    // Act
    const drifts = compareDeployment(expectation, deployed);

    // Assess
    expect(drifts.map((drift) => drift.message)).toStrictEqual([
      'queue rootwatch-test-rules-dlq lost its policy',
      'queue rootwatch-test-slack has a policy rootwatch did not deploy',
      'topic rootwatch-test-alerts has another policy than deployed',
    ]);
  });

  it('reports a topic encrypted with another key, or none', () => {
    // Prepare
    const deployed = deployedWith((d) => {
      found<{ kmsMasterKeyId?: string }>(d.topics[TOPIC]).kmsMasterKeyId = undefined;
    });

    // Act
    const drifts = compareDeployment(expectation, deployed);

    // Assess
    expect(drifts.map((drift) => drift.message)).toStrictEqual([
      'topic rootwatch-test-alerts is encrypted with no key, not the one deployed',
    ]);
  });

  it('reports what could not be read as high, without hiding what could', () => {
    // Prepare
    const deployed = deployedWith((d) => {
      (d.functions as Record<string, unknown>)['rootwatch-test-alert'] = {
        status: 'unreadable',
        error: 'AccessDeniedException: not authorized',
      };
      found<{ state: string }>(d.rules[RULE]).state = 'DISABLED';
    });

    // Act
    const drifts = compareDeployment(expectation, deployed);

    // Assess
    expect(drifts.map((drift) => [drift.property, drift.severity, drift.message])).toStrictEqual([
      ['State', 'critical', `rule ${RULE} is DISABLED, deployed ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`],
      ['readable', 'high', 'function rootwatch-test-alert could not be read: AccessDeniedException: not authorized'],
    ]);
  });
});

describe('canonicalPolicy', () => {
  it('ignores the order of statements and values, lists of one, Id, and Principal "*" written as { AWS: "*" }', () => {
    // Prepare
    const deployed = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Deny', Principal: '*', Action: ['sqs:B', 'sqs:A'], Resource: 'q' },
        {
          Effect: 'Allow',
          Principal: { Service: ['events.amazonaws.com'] },
          Action: 'sqs:SendMessage',
          Resource: ['q'],
        },
      ],
    };
    const stored = {
      Version: '2012-10-17',
      Id: 'added-by-the-service',
      Statement: [
        { Resource: 'q', Action: 'sqs:SendMessage', Principal: { Service: 'events.amazonaws.com' }, Effect: 'Allow' },
        { Effect: 'Deny', Principal: { AWS: '*' }, Action: ['sqs:A', 'sqs:B'], Resource: 'q' },
      ],
    };

    // Assess
    expect(canonicalPolicy(stored)).toStrictEqual(canonicalPolicy(deployed));
    expect(canonicalPolicy({ ...stored, Statement: stored.Statement.slice(1) })).not.toStrictEqual(
      canonicalPolicy(deployed),
    );
  });
});
