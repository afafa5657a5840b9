import { HEARTBEAT_DETAIL_TYPE, HEARTBEAT_SOURCE } from '../core/heartbeat.js';
import type { CloudFormationResource } from './forwarder-template.js';

/*
 * The heartbeat's schedule and the role it puts the heartbeat with, as CloudFormation: the hub's
 * (resources/heartbeat.cjs) and each forwarder's (functions/deploy/forwarder-template.ts) are this one builder's.
 *
 * Why EventBridge Scheduler: its templated EventBridge target calls PutEvents with the Source and DetailType we name,
 * so the heartbeat enters the default bus as a `rootwatch.heartbeat` event and travels the rules as any event does; a
 * scheduled EventBridge rule could only send `aws.events` events, or its Input straight to a target. The Input becomes
 * the event's detail, Scheduler's context attributes filled in (a unique id per invocation, the scheduled time).
 *   https://docs.aws.amazon.com/scheduler/latest/APIReference/API_EventBridgeParameters.html
 *   https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html
 * The role may put that source on the default bus and nothing else (events:source), and trusts Scheduler for this
 * account's default schedule group only (aws:SourceAccount, aws:SourceArn).
 *   https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role
 *   https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-conditions.html (events:source)
 */

/** What one heartbeat schedule is built from. */
interface HeartbeatScheduleOptions {
  /** The schedule's logical id; its role's is this id followed by `Role`. */
  logicalId: string;
  stage: string;
  /** Minutes between two heartbeats, 5 to 720: the rate, and how long Scheduler retries one heartbeat. */
  heartbeatMinutes: number;
  /** The schedule's name (64 characters at most). */
  name: string;
  /** The schedule's description. */
  description: string;
  /** The role's description. */
  roleDescription: string;
  /** A condition of the template both resources are created under (the forwarder's OutsideHub); none by default. */
  condition?: string;
  /** The heartbeat's `detail.origin` (FORWARDER_ORIGIN for a forwarder's); none for the hub's own. */
  origin?: string;
}

/**
 * The name of the schedule's role in `region` (a region name, or `${AWS::Region}` inside an `Fn::Sub`): IAM names are
 * per account, and a stage has a heartbeat in each region of an account, so the name ends with the region.
 *
 * @example
 * heartbeatRoleName('prod', 'eu-west-1'); // 'rootwatch-prod-heartbeat-eu-west-1'
 */
const heartbeatRoleName = (stage: string, region: string): string => `rootwatch-${stage}-heartbeat-${region}`;

/**
 * The heartbeat schedule and its role, in this order, by logical id:
 * - `<logicalId>Role` (AWS::IAM::Role) named heartbeatRoleName(stage, the stack's region), assumed by
 *   scheduler.amazonaws.com for this account's default schedule group only, allowed events:PutEvents on this account
 *   and region's default bus for the source HEARTBEAT_SOURCE only;
 * - `<logicalId>` (AWS::Scheduler::Schedule) `options.name`, `rate(<heartbeatMinutes> minutes)`, no flexible window,
 *   enabled, putting on the default bus an event of HEARTBEAT_SOURCE and HEARTBEAT_DETAIL_TYPE whose detail is
 *   `{ id: <execution id>, scheduledTime: <scheduled time>, origin? }`, retried (185 attempts, Scheduler's maximum:
 *   https://docs.aws.amazon.com/scheduler/latest/APIReference/API_RetryPolicy.html) for one period at most, since a
 *   later heartbeat is on its way by then;
 * both under `options.condition` when given.
 *
 * @example
 * const resources = buildHeartbeatSchedule({
 *   logicalId: 'HeartbeatSchedule',
 *   stage: 'prod',
 *   heartbeatMinutes: 10,
 *   name: 'rootwatch-prod-heartbeat',
 *   description: 'rootwatch prod heartbeat',
 *   roleDescription: 'rootwatch prod - EventBridge Scheduler puts the heartbeat on the default event bus',
 * });
 * Object.keys(resources); // ['HeartbeatScheduleRole', 'HeartbeatSchedule']
 */
const buildHeartbeatSchedule = (options: HeartbeatScheduleOptions): Record<string, CloudFormationResource> => {
  const { logicalId, stage, heartbeatMinutes, condition, origin } = options;
  const roleLogicalId = `${logicalId}Role`;
  const defaultBus = {
    'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:event-bus/default`,
  };
  const conditioned = condition === undefined ? {} : { Condition: condition };
  return {
    [roleLogicalId]: {
      Type: 'AWS::IAM::Role',
      ...conditioned,
      Properties: {
        RoleName: { 'Fn::Sub': heartbeatRoleName(stage, `\${AWS::Region}`) },
        Description: options.roleDescription,
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'scheduler.amazonaws.com' },
              Action: 'sts:AssumeRole',
              Condition: {
                StringEquals: {
                  'aws:SourceAccount': { Ref: 'AWS::AccountId' },
                  'aws:SourceArn': {
                    'Fn::Sub': `arn:\${AWS::Partition}:scheduler:\${AWS::Region}:\${AWS::AccountId}:schedule-group/default`,
                  },
                },
              },
            },
          ],
        },
        Policies: [
          {
            PolicyName: 'heartbeat',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                {
                  Sid: 'PutHeartbeat',
                  Effect: 'Allow',
                  Action: 'events:PutEvents',
                  Resource: defaultBus,
                  Condition: { StringEquals: { 'events:source': HEARTBEAT_SOURCE } },
                },
              ],
            },
          },
        ],
      },
    },
    [logicalId]: {
      Type: 'AWS::Scheduler::Schedule',
      ...conditioned,
      Properties: {
        Name: options.name,
        Description: options.description,
        ScheduleExpression: `rate(${heartbeatMinutes} minutes)`,
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: 'ENABLED',
        Target: {
          Arn: defaultBus,
          RoleArn: { 'Fn::GetAtt': [roleLogicalId, 'Arn'] },
          EventBridgeParameters: { Source: HEARTBEAT_SOURCE, DetailType: HEARTBEAT_DETAIL_TYPE },
          Input: JSON.stringify({
            id: '<aws.scheduler.execution-id>',
            scheduledTime: '<aws.scheduler.scheduled-time>',
            ...(origin === undefined ? {} : { origin }),
          }),
          // Retried for one period at most: a later heartbeat is on its way by then.
          RetryPolicy: { MaximumEventAgeInSeconds: heartbeatMinutes * 60, MaximumRetryAttempts: 185 },
        },
      },
    },
  };
};

export { buildHeartbeatSchedule, heartbeatRoleName };
