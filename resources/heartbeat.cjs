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
 * Why EventBridge Scheduler and not a scheduled EventBridge rule: functions/deploy/heartbeat-schedule.ts, which builds
 * the schedule and its role for the hub (here) and for every forwarder alike.
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
 *
 * And the forwarders' proof of life: each forwarder's schedule puts a heartbeat with `origin: forwarder` on its own
 * default bus, which its rule sends to the hub bus (functions/core/forwarding.ts); the alert function counts it per
 * account and region (ForwarderHeartbeat) and records when it was heard (functions/app/heartbeat.ts):
 * - `HubHeartbeatRule` `rootwatch-<stage>-heartbeat` on the hub bus (`HubEventBus`, resources/event-rules.cjs), the
 *   same pattern and target as `HeartbeatRule`. Its permission to invoke the alert function is the one that
 *   event-rules.cjs gives every rule of the hub bus;
 * - `ForwarderAlarm<Region>` `rootwatch-<stage>-forwarder-<region>` per region of the forwarderRegions parameter (this
 *   account's forwarders): no ForwarderHeartbeat from that account and region in two periods (missing data breaching);
 * - `ForwardersSilentAlarm` `rootwatch-<stage>-forwarders-silent`: the guard, every run, counted silent forwarders
 *   (SilentForwarders > 0), any account, any region; the guard's alert names them. Missing data keeps the alarm's
 *   state (`ignore`): the guard emits the count every run it can read the forwarders' item, and a guard that stopped
 *   or fails is reported by its own alarms (rootwatch-<stage>-guard-not-running, -guard-errors, resources/alarms.yml);
 *   `breaching` would page twice for one cause, under a name that points at the forwarders, and `notBreaching` would
 *   turn OK between two runs that fall in one period.
 *   https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-missing-data
 */

const { register } = require('tsx/cjs/api');

const typescript = register({ namespace: 'rootwatch-resources' });
const { HEARTBEAT_METRIC, HEARTBEAT_PATTERN, HEARTBEAT_SOURCE } = typescript.require(
  '../functions/core/heartbeat.ts',
  __filename,
);
const { FORWARDER_METRIC, forwarderStackName, hubBusName } = typescript.require(
  '../functions/core/forwarding.ts',
  __filename,
);
const { SILENT_FORWARDERS_METRIC } = typescript.require('../functions/core/forwarder-silence.ts', __filename);
const { buildHeartbeatSchedule } = typescript.require('../functions/deploy/heartbeat-schedule.ts', __filename);
typescript.unregister();
const { checkHeartbeatParameters, checkHubParameters, resolveParameterValues } = require('./parameters.cjs');

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

/** The hub bus's logical id (resources/event-rules.cjs). */
const HUB_BUS = 'HubEventBus';
/** The guard's schedule, `rate(5 minutes)` in serverless.yml: one SilentForwarders data point per run. */
const GUARD_PERIOD_SECONDS = 300;

/** `eu-west-1` → `EuWest1`, for logical ids. */
const pascalOf = (region) =>
  region
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');

/** What to check when a forwarder went quiet, in its region and in the hub. */
const forwarderCheck = (stage, region) =>
  `Check, in ${region}: the stack ${forwarderStackName(stage)} (it exists, no drift), its heartbeat schedule and its rules (enabled, targeting the hub bus ${hubBusName(stage)}) and its dead-letter queue; in the hub: the policy of ${hubBusName(stage)} and its rule rootwatch-${stage}-heartbeat. \`npx rootwatch forwarders --stage ${stage}\` lists every forwarder's last heartbeat.`;

/**
 * An alarm on `metric` (`{ namespace, name, service }`, as the code that emits it exports it) of `stage`: its
 * dimensions are service, stage, then `dimensions` (`[{ Name, Value }]`); `evaluation` is how it is judged (Statistic,
 * Period, EvaluationPeriods, DatapointsToAlarm, Threshold, ComparisonOperator, TreatMissingData). It notifies both
 * ALARM_TOPICS when it fires and when it is OK again.
 */
const alarmOn = ({ stage, name, description, metric, dimensions = [], evaluation }) => {
  const actions = ALARM_TOPICS.map((topic) => ({ Ref: topic }));
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: name,
      AlarmDescription: description,
      Namespace: metric.namespace,
      MetricName: metric.name,
      Dimensions: [{ Name: 'service', Value: metric.service }, { Name: 'stage', Value: stage }, ...dimensions],
      ...evaluation,
      AlarmActions: actions,
      OKActions: actions,
    },
  };
};

/**
 * Fewer than one heartbeat in each of two periods of `seconds`: one late or lost heartbeat (a cold start across a
 * period's edge, a backlog on the Slack queue) does not page anyone; two do. A missing data point is a missing
 * heartbeat (breaching).
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-missing-data
 */
const silentForTwoPeriods = (seconds) => ({
  Statistic: 'Sum',
  Period: seconds,
  EvaluationPeriods: 2,
  DatapointsToAlarm: 2,
  Threshold: 1,
  ComparisonOperator: 'LessThanThreshold',
  TreatMissingData: 'breaching',
});

/**
 * The heartbeat's `Resources` for `stage`, a heartbeat every `minutes` (a whole number from 5 to 720, as
 * checkHeartbeatParameters returns it), and an alarm for the forwarder of each of `forwarderRegions` (this account's
 * other regions, as checkHubParameters returns them; none by default).
 */
const buildHeartbeat = (stage, minutes, forwarderRegions = []) => {
  const name = `rootwatch-${stage}-heartbeat`;
  const seconds = minutes * 60;
  /** The heartbeat rules' one target, a fresh copy each: the alert function, retried for one period at most. */
  const alertTargets = () => [
    {
      Id: 'alert',
      Arn: { 'Fn::GetAtt': [ALERT_FUNCTION, 'Arn'] },
      RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: seconds },
    },
  ];

  const resources = {
    // HeartbeatScheduleRole and HeartbeatSchedule, as each forwarder's (functions/deploy/heartbeat-schedule.ts).
    ...buildHeartbeatSchedule({
      logicalId: 'HeartbeatSchedule',
      stage,
      heartbeatMinutes: minutes,
      name,
      description: `rootwatch ${stage} heartbeat: proves rule, alert function, topic, Slack queue and notifier work`,
      roleDescription: `rootwatch ${stage} - EventBridge Scheduler puts the heartbeat on the default event bus`,
    }),

    HeartbeatRule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        Name: name,
        Description: `rootwatch heartbeat (${HEARTBEAT_SOURCE}): to the alert function, never a detection`,
        EventPattern: HEARTBEAT_PATTERN,
        State: 'ENABLED',
        Targets: alertTargets(),
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

    // The forwarders' heartbeats, on the hub bus. No permission of its own: event-rules.cjs lets every rule of the
    // hub bus invoke the alert function.
    HubHeartbeatRule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        Name: name,
        Description: `rootwatch forwarders' heartbeats (${HEARTBEAT_SOURCE}) on the hub bus: counted per account and region`,
        EventBusName: { Ref: HUB_BUS },
        EventPattern: HEARTBEAT_PATTERN,
        State: 'ENABLED',
        Targets: alertTargets(),
      },
    },

    ForwardersSilentAlarm: alarmOn({
      stage,
      name: `rootwatch-${stage}-forwarders-silent`,
      description: `rootwatch ${stage}: the guard has not heard from one or more forwarders for more than ${2 * minutes} minutes (two heartbeat periods): root activity in their regions and accounts may not reach the hub. The guard's alert names each account and region; \`npx rootwatch forwarders --stage ${stage}\` lists them. For a forwarder removed on purpose: \`npx rootwatch forwarders --stage ${stage} --forget ACCOUNT:REGION\`.`,
      metric: SILENT_FORWARDERS_METRIC,
      evaluation: {
        Statistic: 'Maximum',
        Period: GUARD_PERIOD_SECONDS,
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'ignore',
      },
    }),
  };

  // One alarm per forwarder of this account, as the hop alarms below: two periods without a heartbeat.
  for (const region of forwarderRegions) {
    resources[`ForwarderAlarm${pascalOf(region)}`] = alarmOn({
      stage,
      name: `rootwatch-${stage}-forwarder-${region}`,
      description: sub(
        `rootwatch ${stage}: no heartbeat from the forwarder in ${region} of account \${AWS::AccountId} in ${2 * minutes} minutes: root activity in ${region} may not reach the hub. ${forwarderCheck(stage, region)}`,
      ),
      metric: FORWARDER_METRIC,
      dimensions: [
        { Name: 'account', Value: { Ref: 'AWS::AccountId' } },
        { Name: 'region', Value: region },
      ],
      evaluation: silentForTwoPeriods(seconds),
    });
  }

  for (const { logicalId, hop, what, check } of ALARMED_HOPS) {
    resources[logicalId] = alarmOn({
      stage,
      name: `${name}-${hop}`,
      description: `rootwatch ${stage} ${what} in ${2 * minutes} minutes: rootwatch may be silent. ${check.replaceAll('STAGE', stage)}`,
      metric: HEARTBEAT_METRIC,
      dimensions: [{ Name: 'hop', Value: hop }],
      evaluation: silentForTwoPeriods(seconds),
    });
  }
  return { Resources: resources };
};

/** The file variable source: `${file(./resources/heartbeat.cjs)}`. */
const resolveHeartbeat = async ({ resolveVariable }) => {
  const stage = await resolveVariable('sls:stage');
  // Throws parameters.cjs's ParameterError, listing every invalid parameter.
  const values = await resolveParameterValues(resolveVariable);
  const { heartbeatMinutes } = checkHeartbeatParameters(values);
  const { forwarderRegions } = checkHubParameters(values);
  return buildHeartbeat(stage, heartbeatMinutes, forwarderRegions);
};

module.exports = resolveHeartbeat;
module.exports.buildHeartbeat = buildHeartbeat;
