import { describe, expect, it } from 'vitest';
import { createGuard } from '../../functions/app/guard.js';
import type { AlertState, Sink } from '../../functions/app/ports.js';
import type { Alert } from '../../functions/core/alert-document.js';
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

/** The guard over a deployment the test changes, at a clock the test moves. */
const guardOver = (state: AlertState = leasedState()) => {
  let deployed: DeployedState = deployedAsExpected(expectation);
  let nowMs = Date.parse('2026-03-01T12:00:00Z');
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
    now: () => nowMs,
  });
  return {
    guard,
    sns,
    slack,
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
    expect(outcome).toStrictEqual({ status: 'in-sync', checked: 7 });
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
