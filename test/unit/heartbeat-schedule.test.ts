import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { FORWARDER_ORIGIN } from '../../functions/core/forwarding.js';
import {
  buildForwarderTemplate,
  type CloudFormationResource,
  countRules,
} from '../../functions/deploy/forwarder-template.js';
import { buildHeartbeatSchedule, heartbeatRoleName } from '../../functions/deploy/heartbeat-schedule.js';

/** resources/heartbeat.cjs: the hub's heartbeat. */
const { buildHeartbeat } = createRequire(import.meta.url)('../../resources/heartbeat.cjs') as {
  buildHeartbeat: (stage: string, minutes: number) => { Resources: Record<string, CloudFormationResource> };
};

const forwarder = (heartbeatMinutes: number) =>
  buildForwarderTemplate({
    stage: 'prod',
    hubBusArn: 'arn:aws:events:us-east-1:111122223333:event-bus/rootwatch-prod-hub',
    values: {},
    heartbeatMinutes,
  });

/** A resource without what tells one heartbeat from the other: its condition, name, descriptions and the origin. */
const shapeOf = (resource: CloudFormationResource | undefined) => {
  const { Condition: _condition, ...rest } = structuredClone(resource) as CloudFormationResource;
  const properties = rest.Properties ?? {};
  delete properties.Name;
  delete properties.Description;
  const target = properties.Target as { Input?: string; RoleArn?: unknown } | undefined;
  if (target?.Input) {
    const { origin: _origin, ...input } = JSON.parse(target.Input) as Record<string, unknown>;
    target.Input = JSON.stringify(input);
    delete target.RoleArn;
  }
  return rest;
};

describe('buildHeartbeatSchedule', () => {
  it("gives the hub and every forwarder the same schedule and role, but for names, condition and the forwarder's origin", () => {
    // Act
    const hub = buildHeartbeat('prod', 15).Resources;
    const forwarderResources = forwarder(15).Resources;

    // Assess
    expect(shapeOf(forwarderResources.ForwarderHeartbeatSchedule)).toStrictEqual(shapeOf(hub.HeartbeatSchedule));
    expect(shapeOf(forwarderResources.ForwarderHeartbeatScheduleRole)).toStrictEqual(
      shapeOf(hub.HeartbeatScheduleRole),
    );
    expect(forwarderResources.ForwarderHeartbeatScheduleRole?.Condition).toBe('OutsideHub');
    expect(hub.HeartbeatScheduleRole?.Condition).toBeUndefined();
  });

  it('names the role after its schedule, and the origin only when given', () => {
    // Act
    const resources = buildHeartbeatSchedule({
      logicalId: 'TestSchedule',
      stage: 'ci',
      heartbeatMinutes: 5,
      name: 'rootwatch-ci-test-heartbeat',
      description: 'd',
      roleDescription: 'r',
      origin: FORWARDER_ORIGIN,
    });

    // Assess
    expect(Object.keys(resources)).toStrictEqual(['TestScheduleRole', 'TestSchedule']);
    const target = resources.TestSchedule?.Properties?.Target as Record<string, unknown>;
    expect(target.RoleArn).toStrictEqual({ 'Fn::GetAtt': ['TestScheduleRole', 'Arn'] });
    expect(JSON.parse(target.Input as string)).toStrictEqual({
      id: '<aws.scheduler.execution-id>',
      scheduledTime: '<aws.scheduler.scheduled-time>',
      origin: FORWARDER_ORIGIN,
    });
    expect(target.RetryPolicy).toStrictEqual({ MaximumEventAgeInSeconds: 300, MaximumRetryAttempts: 185 });
    expect(heartbeatRoleName('ci', 'eu-west-1')).toBe('rootwatch-ci-heartbeat-eu-west-1');
  });
});

describe('countRules', () => {
  it("counts a template's EventBridge rules and nothing else", () => {
    // Prepare
    const template = forwarder(10);
    const rules = Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::Events::Rule');

    // Act, Assess
    expect(countRules(template)).toBe(rules.length);
    expect(countRules(template)).toBeGreaterThan(1);
    expect(countRules({ Resources: { Queue: { Type: 'AWS::SQS::Queue' } } })).toBe(0);
  });
});
