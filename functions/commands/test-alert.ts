import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { HEARTBEAT_HOPS, type HeartbeatHop } from '../core/heartbeat.js';
import { cleanLine } from '../core/render/text.js';
import { ConfigError, toError } from '../errors.js';
import { putTestHeartbeat } from '../io/event-bus.js';
import { createDynamoHeartbeatLog, type HeartbeatRecord } from '../io/heartbeat-log.js';

/** What test-alert needs from the world: the bus, the state table, a terminal and a clock. */
interface TestAlertPorts {
  stage: string;
  /** Where the event is put (for the report). */
  region: string;
  /** How long to wait for the last hop. */
  timeoutMs: number;
  /** How often the state table is read. */
  pollMs?: number;
  /** Puts the test heartbeat with this id on the default bus; resolves to EventBridge's event id. */
  put(id: string): Promise<string>;
  /** The heartbeat's hops as recorded in the state table. */
  read(id: string): Promise<HeartbeatRecord | undefined>;
  /** Writes one line of the report (stdout). */
  write(line: string): void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  newId?: () => string;
}

/** How far the test event got. */
interface TestAlertReport {
  id: string;
  arrived: boolean;
  /** The hops recorded, in path order. */
  reached: HeartbeatHop[];
  /** The furthest hop along the path (`put` when the event never reached the alert function). */
  lastHop: 'put' | HeartbeatHop;
}

/** Each hop in words, and what to check when it is missing; names follow serverless.yml's `rootwatch-<stage>-…`. */
const hopsOf = (stage: string): Record<HeartbeatHop, { label: string; check: string }> => {
  const name = (suffix: string) => `rootwatch-${stage}-${suffix}`;
  return {
    alert: {
      label: `rule ${name('heartbeat')} → alert function ${name('alert')}`,
      check: `that the rule ${name('heartbeat')} is enabled and targets ${name('alert')}, the function's logs and its alarm ${name('alert-errors')}, and ${name('rules-dlq')}`,
    },
    sns: {
      label: `alert function → SNS topic ${name('alerts')}`,
      check: `the alert function's logs: it could not publish to ${name('alerts')} (the topic policy, its KMS key)`,
    },
    'slack-queue': {
      label: `alert function → Slack queue ${name('slack')}`,
      check: `the alert function's logs: it could not send to ${name('slack')} (the queue policy)`,
    },
    notifier: {
      label: `Slack queue → notifier ${name('notify-slack')} (heartbeats are not posted)`,
      check: `the notifier ${name('notify-slack')} (its logs, its alarm ${name('notify-slack-errors')}, its SQS trigger enabled), the backlog of ${name('slack')} and ${name('slack-dlq')}`,
    },
  };
};

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * Puts a test heartbeat (`source` rootwatch.heartbeat, `detail` `{ test: true, id }`) on the default bus, which the
 * heartbeat rule routes like the schedule's, then reads its hops back from the state table every `pollMs` until the
 * notifier has received it or `timeoutMs` has passed, writing each hop as it is seen. A hop that failed shows its
 * recorded error; the alert function retries, so the wait goes on until the timeout.
 *
 * @throws PutEventsError when EventBridge did not take the event; the state table's error when it cannot be read.
 * @example
 * import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
 * import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
 * import { putTestHeartbeat } from '../io/event-bus.js';
 * import { createDynamoHeartbeatLog } from '../io/heartbeat-log.js';
 *
 * const events = new EventBridgeClient({ region: 'eu-west-1' });
 * const log = createDynamoHeartbeatLog(new DynamoDBClient({ region: 'eu-west-1' }), 'rootwatch-prod-state');
 * const report = await testAlert({
 *   stage: 'prod', region: 'eu-west-1', timeoutMs: 60_000,
 *   put: (id) => putTestHeartbeat(events, id), read: log.read, write: (line) => console.log(line),
 * });
 * report.arrived; // true once the notifier has received it
 */
const testAlert = async (ports: TestAlertPorts): Promise<TestAlertReport> => {
  const now = ports.now ?? Date.now;
  const sleep = ports.sleep ?? ((ms: number) => delay(ms));
  const hops = hopsOf(ports.stage);
  const id = (ports.newId ?? (() => `test-${randomUUID()}`))();
  const started = now();
  const eventId = await ports.put(id);
  ports.write(`  ✓ put on the default event bus of ${ports.region}  ${seconds(now() - started)}  (event ${eventId})`);

  const seen = new Set<HeartbeatHop>();
  const errorsShown = new Map<HeartbeatHop, string>();
  let record: HeartbeatRecord | undefined;
  for (;;) {
    record = await ports.read(id);
    for (const hop of HEARTBEAT_HOPS) {
      if (record?.hops[hop] !== undefined && !seen.has(hop)) {
        seen.add(hop);
        ports.write(`  ✓ ${hops[hop].label}  ${seconds(now() - started)}`);
      }
      const error = record?.errors[hop];
      if (error !== undefined && !seen.has(hop) && errorsShown.get(hop) !== error) {
        errorsShown.set(hop, error);
        ports.write(`  ! ${hops[hop].label} failed (the alert function retries): ${error}`);
      }
    }
    if (seen.size === HEARTBEAT_HOPS.length || now() - started >= ports.timeoutMs) break;
    await sleep(Math.min(ports.pollMs ?? 1000, Math.max(0, ports.timeoutMs - (now() - started))));
  }

  const reached = HEARTBEAT_HOPS.filter((hop) => seen.has(hop));
  const lastHop = reached.at(-1) ?? 'put';
  if (reached.length === HEARTBEAT_HOPS.length) {
    ports.write(`arrived: every hop in ${seconds(now() - started)}`);
    return { id, arrived: true, reached, lastHop };
  }
  const missing = HEARTBEAT_HOPS.filter((hop) => !seen.has(hop));
  for (const hop of missing) ports.write(`  ✗ ${hops[hop].label}  not within ${seconds(ports.timeoutMs)}`);
  ports.write(
    `did not arrive within ${seconds(ports.timeoutMs)}: last hop reached: ${
      lastHop === 'put' ? 'put on the default event bus' : hops[lastHop].label
    }`,
  );
  for (const hop of missing) ports.write(`  check ${hops[hop].check}`);
  return { id, arrived: false, reached, lastHop };
};

interface TestAlertOptions {
  stage: string;
  /** Default: the SDK's (AWS_REGION, the profile's region). */
  region?: string;
  /** A profile of the shared config and credentials files; default: the SDK's chain (AWS_PROFILE, …). */
  profile?: string;
  timeoutSeconds: number;
}

/**
 * `rootwatch test-alert --stage S [--region R] [--profile P] [--timeout SECONDS]`: testAlert against the deployed
 * stage, with credentials and region from the AWS SDK's default chain (environment, AWS_PROFILE or `--profile`,
 * SSO, instance roles), reading the table `rootwatch-<stage>-state`. Resolves to the exit status: 0 when the event
 * reached the notifier, 1 when it did not in time or could not be put or read back.
 *
 * @throws ConfigError when no region is configured.
 */
const runTestAlert = async (
  options: TestAlertOptions,
  io: { stdout: (text: string) => void; stderr: NodeJS.WritableStream },
): Promise<number> => {
  const config = {
    ...(options.region ? { region: options.region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
  };
  const events = new EventBridgeClient(config);
  const dynamodb = new DynamoDBClient(config);
  try {
    const region = await events.config.region().catch(() => undefined);
    if (!region) {
      throw new ConfigError('test-alert needs a region: --region, AWS_REGION, or a profile with a region');
    }
    const table = `rootwatch-${options.stage}-state`;
    const log = createDynamoHeartbeatLog(dynamodb, table);
    const write = (line: string) => io.stdout(`${line}\n`);
    write(`rootwatch test-alert: a test heartbeat through stage ${options.stage} in ${region}`);
    try {
      const report = await testAlert({
        stage: options.stage,
        region,
        timeoutMs: options.timeoutSeconds * 1000,
        put: (id) => putTestHeartbeat(events, id),
        read: async (id) => {
          try {
            return await log.read(id);
          } catch (error) {
            const err = toError(error);
            throw new ConfigError(
              `could not read the state table ${table}: ${err.name}: ${err.message}. Its policy admits rootwatch's roles and rootwatch-${options.stage}-operator only: use credentials of the operator role (--profile)`,
              { cause: err },
            );
          }
        },
        write,
      });
      return report.arrived ? 0 : 1;
    } catch (error) {
      // The report so far is on stdout; why it stopped is an error, on stderr.
      io.stderr.write(`rootwatch test-alert: ${cleanLine(toError(error).message)}\n`);
      return 1;
    }
  } finally {
    events.destroy();
    dynamodb.destroy();
  }
};

export { runTestAlert, testAlert };
