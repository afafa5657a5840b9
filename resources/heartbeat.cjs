'use strict';

/**
 * CloudFormation for the heartbeat, rootwatch's dead man's switch (functions/core/heartbeat.ts): a schedule puts a
 * synthetic event on the default bus every `heartbeatMinutes`, its own rule hands it to the alert function, which
 * sends it to the alert topic and the Slack queue, where the notifier receives it and posts nothing. Each completed
 * hop is a metric data point; an alarm per important hop fires when a hop has been silent for two periods.
 *
 * serverless.yml includes it as `resources: - ${file(./resources/heartbeat.cjs)}` (a CommonJS file variable source,
 * as resources/event-rules.cjs). The source, pattern, metric and dimensions come from the TypeScript the functions
 * run (loaded through tsx), so the schedule, the rule, the code and the alarms cannot drift apart.
 *
 * Why EventBridge Scheduler and not a scheduled EventBridge rule: a scheduled rule sends its target an event from
 * `aws.events` (detail-type "Scheduled Event"), or a constant Input straight to the target, bypassing the bus; it
 * cannot put an event of our own source on the bus. Scheduler's templated EventBridge target calls PutEvents with the
 * Source and DetailType we name, so the heartbeat enters the bus as `rootwatch.heartbeat` and reaches the alert
 * function through a rule, as a CloudTrail event does. Its Input becomes the event's detail, with Scheduler's context
 * attributes filled in (a unique id per invocation, the scheduled time).
 *   https://docs.aws.amazon.com/scheduler/latest/APIReference/API_EventBridgeParameters.html
 *   https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-rule-schedule.html
 *
 * Emits:
 * - `HeartbeatSchedule` (AWS::Scheduler::Schedule) `rootwatch-<stage>-heartbeat`, rate(heartbeatMinutes), and
 *   `HeartbeatScheduleRole`, which Scheduler assumes to put the event: events:PutEvents on the default bus, for the
 *   source rootwatch.heartbeat only, trusted by Scheduler for this account's default schedule group only;
 * - `HeartbeatRule` (AWS::Events::Rule) `rootwatch-<stage>-heartbeat` matching `source: [rootwatch.heartbeat]`,
 *   targeting the alert function, and `HeartbeatRulePermission` letting that rule invoke it. No dead-letter queue: a
 *   heartbeat too late to count is worth nothing, and its absence is what the alarms report;
 * - `HeartbeatSnsAlarm` and `HeartbeatNotifierAlarm` (AWS::CloudWatch::Alarm) `rootwatch-<stage>-heartbeat-sns` and
 *   `-heartbeat-notifier`: no heartbeat published to the topic, or received by the notifier, in two periods (missing
 *   data is breaching), notifying the alert topic and the alarm topic (resources/alarms.yml).
 * CloudFormation has no arithmetic, hence a generator: the alarms' period is the schedule's rate in seconds.
 */

const { register } = require('tsx/cjs/api');

const typescript = register({ namespace: 'rootwatch-resources' });
const { HEARTBEAT_DETAIL_TYPE, HEARTBEAT_METRIC, HEARTBEAT_PATTERN, HEARTBEAT_SOURCE } = typescript.require(
  '../functions/core/heartbeat.ts',
  __filename,
);
typescript.unregister();
const { checkHeartbeatParameters, resolveParameterValues } = require('./parameters.cjs');

/** serverless.yml's function `alert` becomes `AlertLambdaFunction` (the framework's naming). */
const ALERT_FUNCTION = 'AlertLambdaFunction';
/** Where the alarms notify: the alert topic (resources/alerting.yml) and the alarm topic (resources/alarms.yml). */
const ALARM_TOPICS = ['AlertTopic', 'AlarmTopic'];
/** The hops an alarm watches: the alert function published (to SNS), and the notifier received (off the queue). */
const ALARMED_HOPS = [
  {
    logicalId: 'HeartbeatSnsAlarm',
    hop: 'sns',
    what: 'published no heartbeat to the alert topic',
    check:
      'Check, in this order: the schedule rootwatch-STAGE-heartbeat (enabled), the rule rootwatch-STAGE-heartbeat (enabled, its target), the alert function (alarm rootwatch-STAGE-alert-errors, its logs), the topic and its KMS key. `npx rootwatch test-alert --stage STAGE` shows the last hop reached.',
  },
  {
    logicalId: 'HeartbeatNotifierAlarm',
    hop: 'notifier',
    what: 'saw no heartbeat reach the Slack notifier',
    check:
      'Alerts may not reach Slack. Check the queue rootwatch-STAGE-slack (its backlog, rootwatch-STAGE-slack-dlq), the notifier rootwatch-STAGE-notify-slack (alarm rootwatch-STAGE-notify-slack-errors, its logs, its event source mapping). `npx rootwatch test-alert --stage STAGE` shows the last hop reached.',
  },
];

/** `Fn::Sub` of `text`, where `${AWS::…}` are CloudFormation's pseudo-parameters. */
const sub = (text) => ({ 'Fn::Sub': text });

/**
 * The heartbeat's `Resources` for `stage`, a heartbeat every `minutes` (a whole number from 5 to 720, as
 * checkHeartbeatParameters returns it).
 */
const buildHeartbeat = (stage, minutes) => {
  const name = `rootwatch-${stage}-heartbeat`;
  const seconds = minutes * 60;
  const defaultBus = sub(`arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:event-bus/default`);
  const alarmActions = ALARM_TOPICS.map((topic) => ({ Ref: topic }));

  const resources = {
    // https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-conditions.html (events:source)
    HeartbeatScheduleRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        RoleName: sub(`rootwatch-${stage}-heartbeat-\${AWS::Region}`),
        Description: `rootwatch ${stage} - EventBridge Scheduler puts the heartbeat on the default event bus`,
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
                  'aws:SourceArn': sub(
                    `arn:\${AWS::Partition}:scheduler:\${AWS::Region}:\${AWS::AccountId}:schedule-group/default`,
                  ),
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

    HeartbeatSchedule: {
      Type: 'AWS::Scheduler::Schedule',
      Properties: {
        Name: name,
        Description: `rootwatch ${stage} heartbeat: proves rule, alert function, topic, Slack queue and notifier work`,
        ScheduleExpression: `rate(${minutes} minutes)`,
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: 'ENABLED',
        Target: {
          Arn: defaultBus,
          RoleArn: { 'Fn::GetAtt': ['HeartbeatScheduleRole', 'Arn'] },
          EventBridgeParameters: { Source: HEARTBEAT_SOURCE, DetailType: HEARTBEAT_DETAIL_TYPE },
          Input: JSON.stringify({
            id: '<aws.scheduler.execution-id>',
            scheduledTime: '<aws.scheduler.scheduled-time>',
          }),
          // Retried for one period at most: a later heartbeat is on its way by then.
          RetryPolicy: { MaximumEventAgeInSeconds: seconds, MaximumRetryAttempts: 185 },
        },
      },
    },

    HeartbeatRule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        Name: name,
        Description: `rootwatch heartbeat (${HEARTBEAT_SOURCE}): to the alert function, never a detection`,
        EventPattern: HEARTBEAT_PATTERN,
        State: 'ENABLED',
        Targets: [
          {
            Id: 'alert',
            Arn: { 'Fn::GetAtt': [ALERT_FUNCTION, 'Arn'] },
            RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: seconds },
          },
        ],
      },
    },

    HeartbeatRulePermission: {
      Type: 'AWS::Lambda::Permission',
      Properties: {
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': [ALERT_FUNCTION, 'Arn'] },
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': ['HeartbeatRule', 'Arn'] },
      },
    },
  };

  // Two periods without a data point: one late or lost heartbeat (a cold start across a period's edge, a backlog on
  // the Slack queue) does not page anyone; two do. A missing data point is a missing heartbeat (breaching).
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-missing-data
  for (const { logicalId, hop, what, check } of ALARMED_HOPS) {
    resources[logicalId] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: `${name}-${hop}`,
        AlarmDescription: `rootwatch ${stage} ${what} in ${2 * minutes} minutes: rootwatch may be silent. ${check.replaceAll('STAGE', stage)}`,
        Namespace: HEARTBEAT_METRIC.namespace,
        MetricName: HEARTBEAT_METRIC.name,
        Dimensions: [
          { Name: 'service', Value: HEARTBEAT_METRIC.service },
          { Name: 'stage', Value: stage },
          { Name: 'hop', Value: hop },
        ],
        Statistic: 'Sum',
        Period: seconds,
        EvaluationPeriods: 2,
        DatapointsToAlarm: 2,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
        AlarmActions: alarmActions,
        OKActions: alarmActions,
      },
    };
  }
  return { Resources: resources };
};

/** The file variable source: `${file(./resources/heartbeat.cjs)}`. */
const resolveHeartbeat = async ({ resolveVariable }) => {
  const stage = await resolveVariable('sls:stage');
  // Throws parameters.cjs's ParameterError, listing every invalid parameter.
  const { heartbeatMinutes } = checkHeartbeatParameters(await resolveParameterValues(resolveVariable));
  return buildHeartbeat(stage, heartbeatMinutes);
};

module.exports = resolveHeartbeat;
module.exports.buildHeartbeat = buildHeartbeat;
