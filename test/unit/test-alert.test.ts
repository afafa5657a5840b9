import { describe, expect, it } from 'vitest';
import { testAlert } from '../../functions/commands/test-alert.js';
import type { HeartbeatHop } from '../../functions/core/heartbeat.js';
import { PutEventsError } from '../../functions/errors.js';
import type { HeartbeatRecord } from '../../functions/io/heartbeat-log.js';

/**
 * test-alert's report over a fake bus, table and clock: the table shows `timeline[i]` on the i-th read (the last
 * one from then on; undefined: no item); the fake clock moves only while test-alert sleeps.
 */
const run = async (timeline: (Partial<HeartbeatRecord> | undefined)[], timeoutMs = 5_000) => {
  let clock = 0;
  let reads = 0;
  const lines: string[] = [];
  const report = await testAlert({
    stage: 'prod',
    region: 'eu-west-1',
    timeoutMs,
    pollMs: 1_000,
    newId: () => 'test-1',
    now: () => clock,
    sleep: async (ms) => {
      clock += ms;
    },
    put: async (id) => {
      expect(id).toBe('test-1');
      return 'event-1';
    },
    read: async (id) => {
      const step = timeline[Math.min(reads, timeline.length - 1)];
      reads += 1;
      return step && { id, test: true, hops: {}, errors: {}, ...step };
    },
    write: (line) => void lines.push(line),
  });
  return { report, lines };
};
const at = (...hops: HeartbeatHop[]) => Object.fromEntries(hops.map((hop, i) => [hop, 1_000 + i]));

describe('testAlert', () => {
  it('reports each hop as it is recorded, and that the event arrived', async () => {
    // Act
    const { report, lines } = await run([
      {},
      { hops: at('alert') },
      { hops: at('alert', 'sns', 'slack-queue') },
      { hops: at('alert', 'sns', 'slack-queue', 'notifier') },
    ]);

    // Assess
    expect(report).toStrictEqual({
      id: 'test-1',
      arrived: true,
      reached: ['alert', 'sns', 'slack-queue', 'notifier'],
      lastHop: 'notifier',
    });
    expect(lines).toStrictEqual([
      '  ✓ put on the default event bus of eu-west-1  0.0 s  (event event-1)',
      '  ✓ rule rootwatch-prod-heartbeat → alert function rootwatch-prod-alert  1.0 s',
      '  ✓ alert function → SNS topic rootwatch-prod-alerts  2.0 s',
      '  ✓ alert function → Slack queue rootwatch-prod-slack  2.0 s',
      '  ✓ Slack queue → notifier rootwatch-prod-notify-slack (heartbeats are not posted)  3.0 s',
      'arrived: every hop in 3.0 s',
    ]);
  });

  it('names the bus as the last hop reached when no rule delivered the event, and what to check', async () => {
    // Act
    const { report, lines } = await run([undefined]);

    // Assess
    expect(report).toMatchObject({ arrived: false, reached: [], lastHop: 'put' });
    expect(lines).toContain('did not arrive within 5.0 s: last hop reached: put on the default event bus');
    expect(lines).toContain(
      '  ✗ rule rootwatch-prod-heartbeat → alert function rootwatch-prod-alert  not within 5.0 s',
    );
    expect(lines.join('\n')).toContain(
      'check that the rule rootwatch-prod-heartbeat is enabled and targets rootwatch-prod-alert',
    );
  });

  it('shows the error of a hop that failed, and the furthest hop reached', async () => {
    // Act
    const { report, lines } = await run([
      { hops: at('alert', 'slack-queue', 'notifier'), errors: { sns: 'KMSAccessDeniedException: denied' } },
    ]);

    // Assess
    expect(report).toMatchObject({
      arrived: false,
      reached: ['alert', 'slack-queue', 'notifier'],
      lastHop: 'notifier',
    });
    expect(lines.filter((line) => line.startsWith('  !'))).toStrictEqual([
      '  ! alert function → SNS topic rootwatch-prod-alerts failed (the alert function retries): KMSAccessDeniedException: denied',
    ]);
    expect(lines).toContain('  ✗ alert function → SNS topic rootwatch-prod-alerts  not within 5.0 s');
  });

  it('stops waiting at the timeout, having read the table about once a second', async () => {
    // Act
    const { lines } = await run([{ hops: at('alert', 'sns', 'slack-queue') }], 3_000);

    // Assess
    expect(lines.at(-2)).toBe(
      'did not arrive within 3.0 s: last hop reached: alert function → Slack queue rootwatch-prod-slack',
    );
    expect(lines.at(-1)).toMatch(/^ {2}check the notifier rootwatch-prod-notify-slack/);
  });

  it('rejects with the PutEventsError when EventBridge refuses the event', async () => {
    // Act
    const testing = testAlert({
      stage: 'prod',
      region: 'eu-west-1',
      timeoutMs: 1_000,
      put: async () => {
        throw new PutEventsError('NotAuthorizedForSourceException', 'Not authorized for the source.');
      },
      read: async () => undefined,
      write: () => {},
    });

    // Assess
    await expect(testing).rejects.toThrow(
      'EventBridge refused the event: NotAuthorizedForSourceException: Not authorized for the source.',
    );
  });
});
