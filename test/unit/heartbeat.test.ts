import { createRequire } from 'node:module';
import type { SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type HeartbeatLog, receiveHeartbeat, relayHeartbeat } from '../../functions/app/heartbeat.js';
import { createSlackNotifier } from '../../functions/app/slack-notifier.js';
import { matchDetections } from '../../functions/core/classify.js';
import { compilePattern } from '../../functions/core/event-pattern/compile.js';
import {
  HEARTBEAT_PATTERN,
  type Heartbeat,
  type HeartbeatHop,
  heartbeatOfMessage,
  isHeartbeatEvent,
  parseHeartbeatEvent,
} from '../../functions/core/heartbeat.js';
import { DeliveryError, EventParseError } from '../../functions/errors.js';
import { loadDetections } from '../../functions/io/detections.js';
import {
  createForwarderMetrics,
  createHopMetrics,
  createSilentForwarderMetrics,
  hopMetricsOf,
} from '../../functions/io/heartbeat-metrics.js';
import { createRecordedHopMetrics } from '../../functions/local/alerter.js';

/** resources/heartbeat.cjs: the schedule, rule and alarms, built for a stage and a period. */
interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}
const { buildHeartbeat } = createRequire(import.meta.url)('../../resources/heartbeat.cjs') as {
  buildHeartbeat: (
    stage: string,
    minutes: number,
    forwarderRegions?: string[],
  ) => { Resources: Record<string, Resource> };
};

/** The event EventBridge Scheduler puts on the bus for resources/heartbeat.cjs's schedule, context attributes filled. */
const scheduledEvent = (overrides: Record<string, unknown> = {}) => {
  const schedule = buildHeartbeat('ci', 10).Resources.HeartbeatSchedule as Resource;
  const { Target } = schedule.Properties as {
    Target: { Input: string; EventBridgeParameters: { Source: string; DetailType: string } };
  };
  const detail = JSON.parse(
    Target.Input.replace('<aws.scheduler.execution-id>', 'd32c5kddcf5bb8c3').replace(
      '<aws.scheduler.scheduled-time>',
      '2025-06-04T12:00:00Z',
    ),
  ) as Record<string, unknown>;
  return {
    version: '0',
    id: '0b5a1c0e-5a2c-4d3b-9a5e-0c1d2e3f4a5b',
    'detail-type': Target.EventBridgeParameters.DetailType,
    source: Target.EventBridgeParameters.Source,
    account: '111122223333',
    time: '2025-06-04T12:00:01Z',
    region: 'us-east-1',
    resources: [],
    detail,
    ...overrides,
  };
};

const heartbeat: Heartbeat = {
  schema: 'rootwatch.heartbeat/v1',
  id: 'd32c5kddcf5bb8c3',
  test: false,
  time: '2025-06-04T12:00:01Z',
  account: '111122223333',
  region: 'us-east-1',
};

/** A heartbeat log in memory: each call, in order. */
const memoryLog = () => {
  const calls: { hop: HeartbeatHop; error?: string }[] = [];
  const log: HeartbeatLog = {
    recordHop: async (_heartbeat, hop, _at, error) => {
      calls.push(error === undefined ? { hop } : { hop, error });
    },
  };
  return { log, calls };
};

describe('the heartbeat event', () => {
  it("reads the schedule's event, with Scheduler's execution id as the heartbeat's id", () => {
    // Act
    const parsed = parseHeartbeatEvent(scheduledEvent());

    // Assess
    expect(parsed).toStrictEqual({ ...heartbeat });
  });

  it("takes EventBridge's event id when the detail names none, and marks test-alert's events", () => {
    // Act
    const withoutId = parseHeartbeatEvent(scheduledEvent({ detail: {} }));
    const test = parseHeartbeatEvent(scheduledEvent({ detail: { test: true, id: 'test-1' } }));

    // Assess
    expect(withoutId.id).toBe('0b5a1c0e-5a2c-4d3b-9a5e-0c1d2e3f4a5b');
    expect(test).toMatchObject({ id: 'test-1', test: true });
  });

  it('throws EventParseError naming the field for a malformed heartbeat', () => {
    // Act
    const parse = () => parseHeartbeatEvent(scheduledEvent({ detail: { id: 'a b' } }));

    // Assess
    expect(parse).toThrow(EventParseError);
    expect(parse).toThrow(/^not a rootwatch heartbeat: detail\.id: /);
  });

  it('is told from a CloudTrail event by its source alone', () => {
    expect(isHeartbeatEvent(scheduledEvent())).toBe(true);
    expect(isHeartbeatEvent({ source: 'aws.signin', detail: {} })).toBe(false);
    expect(isHeartbeatEvent(null)).toBe(false);
  });

  it('matches the heartbeat rule and no detection of the catalog', () => {
    // Prepare
    const event = scheduledEvent();

    // Act
    const matched = matchDetections(event, loadDetections());

    // Assess
    expect(compilePattern(HEARTBEAT_PATTERN)(event)).toBe(true);
    expect(matched.map((detection) => detection.id)).toStrictEqual([]);
  });

  it('is recognised in a queue message, and an alert document is not taken for one', () => {
    expect(heartbeatOfMessage(JSON.stringify(heartbeat))).toStrictEqual(heartbeat);
    expect(heartbeatOfMessage(JSON.stringify({ schema: 'rootwatch.alert/v1', eventID: 'x' }))).toBeUndefined();
    expect(heartbeatOfMessage('{"schema":"rootwatch.heartbeat/v1"')).toBeUndefined();
    expect(heartbeatOfMessage(JSON.stringify({ ...heartbeat, id: 'a b' }))).toBeUndefined();
  });
});

describe('relayHeartbeat', () => {
  it('records the alert hop, then publishes and queues, recording each hop and its metric', async () => {
    // Prepare
    const { log, calls } = memoryLog();
    const metrics = createRecordedHopMetrics();
    const sent: string[] = [];

    // Act
    const outcome = await relayHeartbeat({
      log,
      metrics,
      publish: async () => void sent.push('sns'),
      queue: async () => void sent.push('slack-queue'),
    })(heartbeat);

    // Assess
    expect(outcome).toStrictEqual({ status: 'heartbeat', id: heartbeat.id, hops: ['alert', 'sns', 'slack-queue'] });
    expect(sent.sort()).toStrictEqual(['slack-queue', 'sns']);
    expect(calls[0]).toStrictEqual({ hop: 'alert' });
    expect(calls.map((call) => call.hop).sort()).toStrictEqual(['alert', 'slack-queue', 'sns']);
    expect(metrics.hops[0]).toBe('alert');
    expect([...metrics.hops].sort()).toStrictEqual(['alert', 'slack-queue', 'sns']);
  });

  it('still queues for Slack when SNS fails, records the error, emits no SNS metric and throws DeliveryError', async () => {
    // Prepare
    const { log, calls } = memoryLog();
    const metrics = createRecordedHopMetrics();

    // Act
    const relaying = relayHeartbeat({
      log,
      metrics,
      publish: async () => {
        throw new Error('KMS.AccessDeniedException');
      },
      queue: async () => {},
    })(heartbeat);

    // Assess
    await expect(relaying).rejects.toThrow(DeliveryError);
    await expect(relaying).rejects.toThrow('Delivery failed for sns (KMS.AccessDeniedException)');
    expect(calls).toContainEqual({ hop: 'sns', error: 'KMS.AccessDeniedException' });
    expect(calls).toContainEqual({ hop: 'slack-queue' });
    expect(metrics.hops).not.toContain('sns');
    expect(metrics.hops).toContain('slack-queue');
  });

  it('relays, and counts the hops, when the state table cannot be written', async () => {
    // Prepare
    const metrics = createRecordedHopMetrics();
    const log: HeartbeatLog = {
      recordHop: async () => {
        throw new Error('ProvisionedThroughputExceededException');
      },
    };

    // Act
    const outcome = await relayHeartbeat({ log, metrics, publish: async () => {}, queue: async () => {} })(heartbeat);

    // Assess
    expect(outcome.hops).toStrictEqual(['alert', 'sns', 'slack-queue']);
    expect([...metrics.hops].sort()).toStrictEqual(['alert', 'slack-queue', 'sns']);
  });
});

describe('the Slack notifier and a heartbeat', () => {
  const sqsEventOf = (...bodies: string[]): SQSEvent =>
    ({
      Records: bodies.map((body, i) => ({ messageId: `m${i}`, body, attributes: { ApproximateReceiveCount: '1' } })),
    }) as unknown as SQSEvent;
  const notifierWith = (heartbeatPort?: (h: Heartbeat) => Promise<void>) => {
    const posted: unknown[] = [];
    const dead: string[] = [];
    const notifier = createSlackNotifier({
      detections: [],
      state: { delivered: async () => new Set(), markDelivered: async () => {} },
      post: async (message) => void posted.push(message),
      deadLetter: async (_record, reason) => void dead.push(reason),
      postpone: async () => {},
      minIntervalMs: 0,
      maxAgeMs: 3_600_000,
      ...(heartbeatPort ? { heartbeat: heartbeatPort } : {}),
    });
    return { notifier, posted, dead };
  };

  it('records the notifier hop, posts nothing and dead-letters nothing', async () => {
    // Prepare
    const { log, calls } = memoryLog();
    const metrics = createRecordedHopMetrics();
    const { notifier, posted, dead } = notifierWith(receiveHeartbeat({ log, metrics }));

    // Act
    const result = await notifier(sqsEventOf(JSON.stringify(heartbeat)));

    // Assess
    expect(result.batchItemFailures).toStrictEqual([]);
    expect(posted).toStrictEqual([]);
    expect(dead).toStrictEqual([]);
    expect(calls).toStrictEqual([{ hop: 'notifier' }]);
    expect(metrics.hops).toStrictEqual(['notifier']);
  });

  it('takes a heartbeat off the queue even when nothing records it', async () => {
    // Prepare
    const { notifier, posted, dead } = notifierWith();

    // Act
    const result = await notifier(sqsEventOf(JSON.stringify(heartbeat)));

    // Assess
    expect(result.batchItemFailures).toStrictEqual([]);
    expect([posted, dead]).toStrictEqual([[], []]);
  });
});

describe('the heartbeat metrics (embedded metric format)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('emits one HeartbeatHop per hop, with exactly the namespace, metric and dimensions the alarms watch', () => {
    // Prepare
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    const alarms = Object.values(buildHeartbeat('ci', 10).Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');

    // Act
    createHopMetrics('ci').hop('sns');
    createHopMetrics('ci').hop('notifier');

    // Assess
    const emitted = lines.map((line) => JSON.parse(line));
    expect(emitted).toHaveLength(2);
    for (const [index, hop] of ['sns', 'notifier'].entries()) {
      const blob = emitted[index];
      expect(blob._aws.CloudWatchMetrics).toStrictEqual([
        {
          Namespace: 'rootwatch',
          Dimensions: [['service', 'stage', 'hop']],
          Metrics: [{ Name: 'HeartbeatHop', Unit: 'Count' }],
        },
      ]);
      expect(blob).toMatchObject({ service: 'rootwatch', stage: 'ci', hop, HeartbeatHop: 1 });
      const alarm = alarms.find((a) => (a.Properties.Dimensions as { Value: string }[]).some((d) => d.Value === hop));
      expect(alarm?.Properties).toMatchObject({
        Namespace: blob._aws.CloudWatchMetrics[0].Namespace,
        MetricName: 'HeartbeatHop',
        Dimensions: blob._aws.CloudWatchMetrics[0].Dimensions[0].map((name: string) => ({
          Name: name,
          Value: blob[name],
        })),
      });
    }
  });
});

describe('hopMetricsOf', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('counts nothing without a stage, so the alarms fire, and never throws at the alerts it shares a batch with', () => {
    // Prepare
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });

    // Act
    hopMetricsOf({}).hop('notifier');
    hopMetricsOf({ ROOTWATCH_STAGE: 'prod' }).hop('notifier');

    // Assess
    expect(lines.map((line) => JSON.parse(line)).map((blob) => [blob.stage, blob.hop])).toStrictEqual([
      ['prod', 'notifier'],
    ]);
  });
});

describe('resources/heartbeat.cjs', () => {
  it.each([5, 10, 720])('schedules every %i minutes and alarms after two silent periods of that length', (minutes) => {
    // Act
    const { Resources } = buildHeartbeat('prod', minutes);

    // Assess
    expect(Resources.HeartbeatSchedule?.Properties.ScheduleExpression).toBe(`rate(${minutes} minutes)`);
    for (const id of ['HeartbeatSnsAlarm', 'HeartbeatNotifierAlarm']) {
      const alarm = Resources[id]?.Properties ?? {};
      expect(alarm).toMatchObject({
        Period: minutes * 60,
        EvaluationPeriods: 2,
        DatapointsToAlarm: 2,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
        Statistic: 'Sum',
      });
      // CloudWatch evaluates at most a day; a description holds at most 1024 characters.
      expect(Number(alarm.Period) * Number(alarm.EvaluationPeriods)).toBeLessThanOrEqual(86_400);
      expect(String(alarm.AlarmDescription).length).toBeLessThanOrEqual(1024);
      expect(String(alarm.AlarmDescription)).toContain(`${2 * minutes} minutes`);
    }
  });
});

describe('resources/heartbeat.cjs and the forwarders', () => {
  it("puts a heartbeat rule on the hub bus, the same pattern and target as the default bus's, without a permission", () => {
    // Act
    const { Resources } = buildHeartbeat('prod', 10);

    // Assess
    const hub = Resources.HubHeartbeatRule?.Properties ?? {};
    const own = Resources.HeartbeatRule?.Properties ?? {};
    expect(Resources.HubHeartbeatRule?.Type).toBe('AWS::Events::Rule');
    expect(hub).toMatchObject({
      Name: 'rootwatch-prod-heartbeat',
      EventBusName: { Ref: 'HubEventBus' },
      EventPattern: HEARTBEAT_PATTERN,
      State: 'ENABLED',
    });
    expect(hub.Targets).toStrictEqual(own.Targets);
    expect(own.EventBusName).toBeUndefined();
    // event-rules.cjs lets every rule of the hub bus invoke the alert function.
    const permissions = Object.values(Resources).filter((resource) => resource.Type === 'AWS::Lambda::Permission');
    expect(permissions.map((permission) => permission.Properties.SourceArn)).toStrictEqual([
      { 'Fn::GetAtt': ['HeartbeatRule', 'Arn'] },
    ]);
  });

  it.each([5, 10, 720])(
    'alarms per forwarder region after two silent %i-minute periods, naming the account and region',
    (minutes) => {
      // Act
      const { Resources } = buildHeartbeat('prod', minutes, ['eu-west-1', 'ap-southeast-5']);

      // Assess
      const alarms = Object.entries(Resources).filter(([id]) => id.startsWith('ForwarderAlarm'));
      expect(alarms.map(([id]) => id)).toStrictEqual(['ForwarderAlarmEuWest1', 'ForwarderAlarmApSoutheast5']);
      for (const [region, [, alarm]] of [
        ['eu-west-1', alarms[0]],
        ['ap-southeast-5', alarms[1]],
      ] as [string, [string, Resource]][]) {
        expect(alarm.Properties).toMatchObject({
          AlarmName: `rootwatch-prod-forwarder-${region}`,
          Namespace: 'rootwatch',
          MetricName: 'ForwarderHeartbeat',
          Dimensions: [
            { Name: 'service', Value: 'rootwatch' },
            { Name: 'stage', Value: 'prod' },
            { Name: 'account', Value: { Ref: 'AWS::AccountId' } },
            { Name: 'region', Value: region },
          ],
          Statistic: 'Sum',
          Period: minutes * 60,
          EvaluationPeriods: 2,
          DatapointsToAlarm: 2,
          Threshold: 1,
          ComparisonOperator: 'LessThanThreshold',
          TreatMissingData: 'breaching',
          AlarmActions: [{ Ref: 'AlertTopic' }, { Ref: 'AlarmTopic' }],
          OKActions: [{ Ref: 'AlertTopic' }, { Ref: 'AlarmTopic' }],
        });
        const description = (alarm.Properties.AlarmDescription as { 'Fn::Sub': string })['Fn::Sub'];
        expect(description).toContain(`in ${region} of account \${AWS::AccountId} in ${2 * minutes} minutes`);
        expect(description).toContain('rootwatch-prod-forwarder');
        expect(description).toContain('npx rootwatch forwarders --stage prod');
        // CloudFormation substitutes only the account: no other ${…} in the text.
        const accountVariable = `\${AWS::AccountId}`;
        expect(description.match(/\$\{[^}]*\}/g)).toStrictEqual([accountVariable]);
        // A description holds at most 1024 characters once the 12-digit account is in.
        expect(description.length - accountVariable.length + 12).toBeLessThanOrEqual(1024);
      }
    },
  );

  it('has no forwarder alarm without forwarder regions, and always the guard’s silent-forwarders alarm', () => {
    // Act
    const { Resources } = buildHeartbeat('prod', 10);

    // Assess
    expect(Object.keys(Resources).filter((id) => id.startsWith('ForwarderAlarm'))).toStrictEqual([]);
    expect(Resources.ForwardersSilentAlarm?.Properties).toMatchObject({
      AlarmName: 'rootwatch-prod-forwarders-silent',
      Namespace: 'rootwatch',
      MetricName: 'SilentForwarders',
      Dimensions: [
        { Name: 'service', Value: 'rootwatch' },
        { Name: 'stage', Value: 'prod' },
      ],
      Statistic: 'Maximum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'ignore',
      AlarmActions: [{ Ref: 'AlertTopic' }, { Ref: 'AlarmTopic' }],
    });
    expect(String(Resources.ForwardersSilentAlarm?.Properties.AlarmDescription).length).toBeLessThanOrEqual(1024);
  });

  it('alarms on exactly the namespace, metric and dimensions the alert function and the guard emit', () => {
    // Prepare
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    const { Resources } = buildHeartbeat('ci', 10, ['eu-west-1']);

    // Act
    createForwarderMetrics('ci').heartbeat({ account: '111122223333', region: 'eu-west-1' });
    createSilentForwarderMetrics('ci')(3);
    vi.restoreAllMocks();

    // Assess: the alarm's account is the stack's (${AWS::AccountId}), here 111122223333.
    const [heartbeatBlob, silentBlob] = lines.map((line) => JSON.parse(line));
    for (const [blob, alarm] of [
      [heartbeatBlob, Resources.ForwarderAlarmEuWest1],
      [silentBlob, Resources.ForwardersSilentAlarm],
    ] as [
      Record<string, unknown> & {
        _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
      },
      Resource,
    ][]) {
      const [directive] = blob._aws.CloudWatchMetrics;
      const dimensions = (alarm.Properties.Dimensions as { Name: string; Value: unknown }[]).map(({ Name, Value }) => ({
        Name,
        Value: typeof Value === 'object' ? '111122223333' : Value,
      }));
      expect(alarm.Properties.Namespace).toBe(directive?.Namespace);
      expect(alarm.Properties.MetricName).toBe(directive?.Metrics[0]?.Name);
      expect(dimensions).toStrictEqual(directive?.Dimensions[0]?.map((name) => ({ Name: name, Value: blob[name] })));
    }
    expect(silentBlob.SilentForwarders).toBe(3);
  });
});
