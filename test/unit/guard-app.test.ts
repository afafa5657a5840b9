import { describe, expect, it } from 'vitest';
import { createForwarderWatch, type ForwarderWatchLog } from '../../functions/app/forwarder-watch.js';
import { createGuard } from '../../functions/app/guard.js';
import type { AlertState, Sink } from '../../functions/app/ports.js';
import type { Alert } from '../../functions/core/alert-document.js';
import { buildSilentForwardersAlert } from '../../functions/core/forwarder-silence.js';
import { buildDriftAlert, DRIFT_DETECTION } from '../../functions/core/guard/alert.js';
import type { DeployedState } from '../../functions/core/guard/compare.js';
import { DeliveryError } from '../../functions/errors.js';
import { loadDetections } from '../../functions/io/detections.js';
import { createMemoryState } from '../../functions/io/memory-state.js';
import { deployedAsExpected, sampleExpectation } from '../helpers/guard.js';

const detection = loadDetections().find((candidate) => candidate.id === DRIFT_DETECTION);
if (!detection) throw new Error(`the catalog has no ${DRIFT_DETECTION}`);
const expectation = sampleExpectation();
const HOUR = 3_600_000;

/** A sink that records what it was sent, failing while `failing` is true. */
const recordingSink = (name: string) => {
  const sent: Alert[] = [];
  const sink: Sink & { sent: Alert[]; failing: boolean } = {
    name,
    sent,
    failing: false,
    async send(alert) {
      if (sink.failing) throw new Error(`${name} is down`);
      sent.push(alert);
    },
  };
  return sink;
};

/**
 * Claims as the DynamoDB state keeps them: held for 45 s by their owner, then free to take again with the
 * destinations already delivered (createMemoryState, replay's, never frees a claim).
 */
const leasedState = (): AlertState => {
  const claims = new Map<string, { owner: string; at: number; sinks: Set<string> }>();
  return {
    ...createMemoryState(),
    async claim(eventId, owner, nowMs) {
      const held = claims.get(eventId);
      if (held && held.owner !== owner && held.at > nowMs - 45_000) return undefined;
      const sinks = held?.sinks ?? new Set<string>();
      claims.set(eventId, { owner, at: nowMs, sinks });
      return new Set(sinks);
    },
    async markDelivered(eventId, sink) {
      claims.get(eventId)?.sinks.add(sink);
    },
  };
};

/**
 * The forwarders' item in memory: `lastSeen` as the test sets it, `expectedSince` as the guard writes it; `failing`
 * makes every read fail.
 */
const forwarderLog = () => {
  const log: ForwarderWatchLog & {
    lastSeen: Record<string, number>;
    expectedSince: Record<string, number>;
    failing: boolean;
  } = {
    lastSeen: {},
    expectedSince: {},
    failing: false,
    async read() {
      if (log.failing) throw new Error('ResourceNotFoundException: the table was deleted');
      return { lastSeen: { ...log.lastSeen }, expectedSince: { ...log.expectedSince } };
    },
    async expect(keys, nowMs) {
      for (const key of keys) log.expectedSince[key] ??= nowMs;
    },
  };
  return log;
};

/** The guard over a deployment the test changes, at a clock the test moves. */
const guardOver = (state: AlertState = leasedState(), forwarders?: ReturnType<typeof forwarderLog>) => {
  let deployed: DeployedState = deployedAsExpected(expectation);
  let nowMs = Date.parse('2026-03-01T12:00:00Z');
  const silentCounts: number[] = [];
  const sns = recordingSink('sns');
  const slack = recordingSink('slack-queue');
  const guard = createGuard({
    expectation,
    readDeployment: async () => deployed,
    alertOf: (drifts, at) =>
      buildDriftAlert(drifts, {
        stage: 'test',
        accountId: '000000000000',
        region: 'us-east-1',
        partition: 'aws',
        detection,
        runbookBaseUrl: 'https://runbooks.example/',
        nowMs: at,
      }),
    state,
    sinks: [sns, slack],
    ...(forwarders
      ? {
          forwarders: createForwarderWatch({
            log: forwarders,
            expected: [{ account: '000000000000', region: 'eu-central-1' }],
            heartbeatMinutes: 10,
            countSilent: (count) => void silentCounts.push(count),
            alertOf: (silent, at) =>
              buildSilentForwardersAlert(silent, {
                stage: 'test',
                accountId: '000000000000',
                region: 'us-east-1',
                partition: 'aws',
                accountNames: { '210987654321': 'prod-payments' },
                detection,
                runbookBaseUrl: 'https://runbooks.example/',
                heartbeatMinutes: 10,
                nowMs: at,
              }),
          }),
        }
      : {}),
    now: () => nowMs,
  });
  return {
    guard,
    sns,
    slack,
    silentCounts,
    now: () => nowMs,
    drift: () => {
      deployed = structuredClone(deployed);
      const rule = deployed.rules['rootwatch-test-root-api-call'];
      if (rule?.status === 'found') rule.value.state = 'DISABLED';
    },
    later: (ms: number) => {
      nowMs += ms;
    },
  };
};

describe('createGuard', () => {
  it('sends nothing while the deployment is as deployed', async () => {
    // Prepare
    const { guard, sns, slack } = guardOver();

    // Act
    const outcome = await guard.check('run-1');

    // Assess
    // Two rules (one on the hub bus), two functions, two queues, the topic and the key.
    expect(outcome).toStrictEqual({ status: 'in-sync', checked: 8 });
    expect([...sns.sent, ...slack.sent]).toStrictEqual([]);
  });

  it('alerts a drift to the topic and the Slack queue once, and again an hour later while it lasts', async () => {
    // Prepare
    const { guard, sns, slack, drift, later } = guardOver();
    drift();

    // Act
    const first = await guard.check('run-1');
    later(5 * 60_000);
    const second = await guard.check('run-2');
    later(HOUR);
    const third = await guard.check('run-3');

    // Assess
    expect(first).toMatchObject({ status: 'alerted', drifts: 1, severity: 'critical', sinks: ['sns', 'slack-queue'] });
    expect(second).toMatchObject({ status: 'already-alerted', drifts: 1 });
    expect(third).toMatchObject({ status: 'alerted', drifts: 1 });
    expect(sns.sent.map((alert) => alert.eventID)).toStrictEqual(slack.sent.map((alert) => alert.eventID));
    expect(sns.sent).toHaveLength(2);
    expect(sns.sent[0]?.eventID).not.toBe(sns.sent[1]?.eventID);
  });

  it('alerts anyway when the state table fails: a duplicate is better than silence', async () => {
    // Prepare
    const broken: AlertState = {
      ...createMemoryState(),
      claim: async () => {
        throw new Error('ResourceNotFoundException: the table was deleted');
      },
      markDelivered: async () => {
        throw new Error('ResourceNotFoundException: the table was deleted');
      },
    };
    const { guard, sns, slack, drift } = guardOver(broken);
    drift();

    // Act
    const outcome = await guard.check('run-1');

    // Assess
    expect(outcome).toMatchObject({ status: 'alerted', sinks: ['sns', 'slack-queue'] });
    expect(sns.sent).toHaveLength(1);
    expect(slack.sent).toHaveLength(1);
  });

  it('still reaches Slack when SNS fails, fails so the alarm fires, and retries only SNS next time', async () => {
    // Prepare
    const { guard, sns, slack, drift, later } = guardOver();
    drift();
    sns.failing = true;

    // Act
    const failed = guard.check('run-1');
    await expect(failed).rejects.toThrow(DeliveryError);
    sns.failing = false;
    later(5 * 60_000);
    const retried = await guard.check('run-2');

    // Assess
    expect(slack.sent).toHaveLength(1);
    expect(retried).toMatchObject({ status: 'alerted', sinks: ['sns'] });
    expect(sns.sent.map((alert) => alert.eventID)).toStrictEqual(slack.sent.map((alert) => alert.eventID));
  });
});

describe('createGuard and the forwarders', () => {
  const MINUTE = 60_000;

  it('reports nothing and counts zero while every forwarder was heard from, and expects its own regions', async () => {
    // Prepare
    const log = forwarderLog();
    const { guard, sns, slack, silentCounts, now } = guardOver(leasedState(), log);
    log.lastSeen['210987654321:eu-west-1'] = now() - 5 * MINUTE;

    // Act
    const outcome = await guard.check('run-1');

    // Assess
    expect(outcome).toStrictEqual({
      status: 'in-sync',
      checked: expect.any(Number),
      forwarders: { status: 'all-heard', watched: 2 },
    });
    expect([...sns.sent, ...slack.sent]).toStrictEqual([]);
    expect(silentCounts).toStrictEqual([0]);
    expect(log.expectedSince).toStrictEqual({ '000000000000:eu-central-1': now() });
  });

  it('alerts a forwarder silent for more than two periods once an hour, naming its account and region', async () => {
    // Prepare
    const log = forwarderLog();
    const { guard, sns, slack, silentCounts, now, later } = guardOver(leasedState(), log);
    log.lastSeen['210987654321:eu-west-1'] = now();
    log.expectedSince['000000000000:eu-central-1'] = now();
    later(20 * MINUTE);

    // Act
    const atTwoPeriods = await guard.check('run-1');
    later(5 * MINUTE);
    const first = await guard.check('run-2');
    later(5 * MINUTE);
    const second = await guard.check('run-3');
    later(60 * MINUTE);
    const third = await guard.check('run-4');

    // Assess
    expect(atTwoPeriods.forwarders).toStrictEqual({ status: 'all-heard', watched: 2 });
    expect(first.forwarders).toMatchObject({ status: 'alerted', watched: 2, silent: 2, sinks: ['sns', 'slack-queue'] });
    expect(second.forwarders).toMatchObject({ status: 'already-alerted', silent: 2 });
    expect(third.forwarders).toMatchObject({ status: 'alerted', silent: 2 });
    expect(silentCounts).toStrictEqual([0, 2, 2, 2]);
    expect(sns.sent.map((alert) => alert.eventID)).toStrictEqual(slack.sent.map((alert) => alert.eventID));
    expect(sns.sent).toHaveLength(2);
    expect(sns.sent[0]?.title).toBe(
      'rootwatch test: forwarder silent in eu-central-1 of 000000000000, never heard from in 25 minutes (+1 more)',
    );
    expect(JSON.stringify(sns.sent[0]?.record)).toContain(
      'forwarder in eu-west-1 of prod-payments (210987654321): no heartbeat for 25 minutes',
    );
  });

  it('alerts at once when another forwarder goes silent within the hour', async () => {
    // Prepare
    const log = forwarderLog();
    const { guard, sns, now, later } = guardOver(leasedState(), log);
    log.lastSeen['210987654321:eu-west-1'] = now() - 21 * MINUTE;
    log.lastSeen['210987654321:ap-south-1'] = now();
    log.expectedSince['000000000000:eu-central-1'] = now();

    // Act
    const first = await guard.check('run-1');
    later(21 * MINUTE);
    const second = await guard.check('run-2');

    // Assess
    expect(first.forwarders).toMatchObject({ status: 'alerted', silent: 1 });
    expect(second.forwarders).toMatchObject({ status: 'alerted', silent: 3 });
    expect(sns.sent).toHaveLength(2);
  });

  it('alerts drifts and silent forwarders separately, each once', async () => {
    // Prepare
    const log = forwarderLog();
    const { guard, sns, drift, now } = guardOver(leasedState(), log);
    log.lastSeen['210987654321:eu-west-1'] = now() - 30 * MINUTE;
    drift();

    // Act
    const outcome = await guard.check('run-1');

    // Assess
    expect(outcome).toMatchObject({ status: 'alerted', drifts: 1, forwarders: { status: 'alerted', silent: 1 } });
    expect(sns.sent.map((alert) => alert.eventID.split('-').slice(0, 2).join('-')).sort()).toStrictEqual([
      'rootwatch-forwarders',
      'rootwatch-guard',
    ]);
  });

  it('still alerts a drift when the forwarders cannot be read, then fails so the error alarm fires', async () => {
    // Prepare
    const log = forwarderLog();
    log.failing = true;
    const { guard, sns, slack, drift, silentCounts } = guardOver(leasedState(), log);
    drift();

    // Act
    const checking = guard.check('run-1');

    // Assess
    await expect(checking).rejects.toThrow('ResourceNotFoundException');
    expect(sns.sent).toHaveLength(1);
    expect(slack.sent).toHaveLength(1);
    expect(silentCounts).toStrictEqual([]);
  });

  it('still alerts silent forwarders when a drift cannot be delivered to SNS, then fails', async () => {
    // Prepare
    const log = forwarderLog();
    const { guard, sns, slack, drift, now } = guardOver(leasedState(), log);
    log.lastSeen['210987654321:eu-west-1'] = now() - 30 * MINUTE;
    drift();
    sns.failing = true;

    // Act
    const checking = guard.check('run-1');

    // Assess
    await expect(checking).rejects.toThrow(DeliveryError);
    expect(slack.sent.map((alert) => alert.eventID.split('-').slice(0, 2).join('-')).sort()).toStrictEqual([
      'rootwatch-forwarders',
      'rootwatch-guard',
    ]);
  });
});
