import { EventParseError } from '../errors.js';
import { EventBridgeSchema } from './event.js';
import { FORWARDER_ORIGIN } from './forwarding.js';
import * as z from './zod.js';

/*
 * The heartbeat: a synthetic event that travels the deployed path (rule → alert function → SNS and the
 * Slack queue → notifier) so that silence can be told apart from "nothing to say". EventBridge Scheduler
 * puts one on the default bus every `heartbeatMinutes` (resources/heartbeat.cjs); `rootwatch test-alert`
 * puts one on demand, marked `test: true`. It is never a detection: every catalog pattern requires an
 * `aws.` source, which PutEvents refuses to anyone but AWS.
 *
 * A forwarder (another region, or a member account) has a schedule of its own whose heartbeat says
 * `origin: forwarder`; its rule sends it to the hub bus, where the hub's heartbeat rule hands it to the alert
 * function, which counts it per account and region (app/heartbeat.ts, countForwarderHeartbeat) instead of relaying it.
 * EventBridge keeps the forwarder's `account` and `region` on the way: the receiving account's rules match events
 * by the sender's `account` ("Rules for events between AWS accounts"), and `region` is "the AWS Region where the
 * event originated".
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html
 */

/** The event's `source`; EventBridge refuses `aws.` sources from PutEvents and Scheduler alike. */
const HEARTBEAT_SOURCE = 'rootwatch.heartbeat';
/** The event's `detail-type`. */
const HEARTBEAT_DETAIL_TYPE = 'rootwatch heartbeat';
/** The heartbeat rule's event pattern (resources/heartbeat.cjs packages exactly this). */
const HEARTBEAT_PATTERN = { source: [HEARTBEAT_SOURCE] };
/** `schema` of the heartbeat message on the SNS topic and the Slack queue. */
const HEARTBEAT_SCHEMA = 'rootwatch.heartbeat/v1';
/**
 * The SNS and SQS message attribute that marks a heartbeat: `kind: heartbeat`. Only heartbeats carry `kind`,
 * so a subscription filter policy `{"kind": [{"exists": false}]}` keeps them out (resources/parameters.cjs).
 */
const HEARTBEAT_ATTRIBUTE = { name: 'kind', value: 'heartbeat' } as const;

/**
 * The hops a heartbeat completes, in path order: the alert function received it (the rule delivered it),
 * published it to the SNS topic, sent it to the Slack queue, and the notifier received it from the queue.
 */
const HEARTBEAT_HOPS = ['alert', 'sns', 'slack-queue', 'notifier'] as const;
type HeartbeatHop = (typeof HEARTBEAT_HOPS)[number];

/**
 * Each completed hop is one data point of this CloudWatch metric (embedded metric format), with the
 * dimensions `service` (rootwatch), `stage` and `hop`; the heartbeat alarms watch it per hop.
 */
const HEARTBEAT_METRIC = { namespace: 'rootwatch', service: 'rootwatch', name: 'HeartbeatHop' } as const;

/** A heartbeat id: Scheduler's execution id, test-alert's UUID, or EventBridge's event id. */
const HeartbeatIdSchema = z.string().check(z.regex(/^[\w.:-]{1,128}$/, 'letters, digits and _ . : - (at most 128)'));

/** `detail.origin`: who sent the heartbeat; absent for the hub's own, FORWARDER_ORIGIN for a forwarder's. */
const HeartbeatOriginSchema = z.string().check(z.regex(/^[a-z-]{1,32}$/, 'lowercase letters and - (at most 32)'));

/**
 * What the schedule and test-alert put in `detail`: the schedule's Input, with Scheduler's context attributes
 * (`<aws.scheduler.execution-id>`, `<aws.scheduler.scheduled-time>`), or `{ test: true, id }`; a forwarder's adds
 * `origin: forwarder`. Other keys are ignored.
 */
const HeartbeatDetailSchema = z.object({
  id: z.optional(HeartbeatIdSchema),
  test: z.optional(z.boolean()),
  scheduledTime: z.optional(z.string()),
  origin: z.optional(HeartbeatOriginSchema),
});

/** The heartbeat event as the alert function receives it. */
const HeartbeatEventSchema = z.extend(EventBridgeSchema, {
  source: z.literal(HEARTBEAT_SOURCE),
  detail: HeartbeatDetailSchema,
});

/** The heartbeat as it travels: the SNS message and the Slack queue message. */
const HeartbeatSchema = z.object({
  schema: z.literal(HEARTBEAT_SCHEMA),
  id: HeartbeatIdSchema,
  /** Put by `rootwatch test-alert`, not by the schedule. */
  test: z.boolean(),
  /** When it was put on the bus (the event's `time`). */
  time: z.string(),
  account: z.string(),
  region: z.string(),
  /** `detail.origin` when the event had one: `forwarder` for a forwarder's heartbeat. */
  origin: z.optional(HeartbeatOriginSchema),
});
type Heartbeat = z.infer<typeof HeartbeatSchema>;

/** Whether the alert function was handed a heartbeat rather than a CloudTrail event (by its `source`). */
const isHeartbeatEvent = (raw: unknown): boolean =>
  typeof raw === 'object' && raw !== null && (raw as { source?: unknown }).source === HEARTBEAT_SOURCE;

/**
 * The heartbeat an EventBridge event carries: its id is `detail.id` when given, else the event's own id.
 *
 * @throws EventParseError naming each bad field.
 * @example
 * const heartbeat = parseHeartbeatEvent({
 *   version: '0', id: '7f9c…', 'detail-type': 'rootwatch heartbeat', source: 'rootwatch.heartbeat',
 *   account: '111122223333', time: '2025-06-04T12:00:00Z', region: 'us-east-1', resources: [],
 *   detail: { id: 'd32c5kddcf5bb8c3' },
 * });
 * heartbeat.id; // 'd32c5kddcf5bb8c3'
 */
const parseHeartbeatEvent = (raw: unknown): Heartbeat => {
  const result = HeartbeatEventSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`);
    throw new EventParseError(`not a rootwatch heartbeat: ${problems.join('; ')}`, { cause: result.error });
  }
  const event = result.data;
  return {
    schema: HEARTBEAT_SCHEMA,
    id: event.detail.id ?? event.id,
    test: event.detail.test === true,
    time: event.time,
    account: event.account,
    region: event.region,
    ...(event.detail.origin === undefined ? {} : { origin: event.detail.origin }),
  };
};

/**
 * Whether a heartbeat is a forwarder's (`detail.origin` is FORWARDER_ORIGIN): the hub counts it for its account and
 * region rather than relaying it to its topic and Slack queue.
 *
 * @example
 * isForwarderHeartbeat({ schema: 'rootwatch.heartbeat/v1', id: 'x', test: false, time: '2025-06-04T12:00:00Z',
 *   account: '210987654321', region: 'eu-west-1', origin: 'forwarder' }); // true
 */
const isForwarderHeartbeat = (heartbeat: Heartbeat): boolean => heartbeat.origin === FORWARDER_ORIGIN;

/**
 * The heartbeat in a queue message body, or undefined when the body is something else (an alert document):
 * how the Slack notifier tells a heartbeat from an alert.
 *
 * @example
 * heartbeatOfMessage('{"schema":"rootwatch.alert/v1"}'); // undefined
 */
const heartbeatOfMessage = (body: string): Heartbeat | undefined => {
  if (!body.includes(HEARTBEAT_SCHEMA)) return undefined;
  try {
    const result = HeartbeatSchema.safeParse(JSON.parse(body));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
};

export type { Heartbeat, HeartbeatHop };
export {
  HEARTBEAT_ATTRIBUTE,
  HEARTBEAT_DETAIL_TYPE,
  HEARTBEAT_HOPS,
  HEARTBEAT_METRIC,
  HEARTBEAT_PATTERN,
  HEARTBEAT_SOURCE,
  heartbeatOfMessage,
  isForwarderHeartbeat,
  isHeartbeatEvent,
  parseHeartbeatEvent,
};
