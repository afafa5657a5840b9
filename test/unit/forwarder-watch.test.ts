import { describe, expect, it } from 'vitest';
import { createForwarderWatch, type ForwarderWatchLog } from '../../functions/app/forwarder-watch.js';
import { buildSilentForwardersAlert, type ForwarderSightings } from '../../functions/core/forwarder-silence.js';
import { DRIFT_DETECTION } from '../../functions/core/guard/alert.js';
import { loadDetections } from '../../functions/io/detections.js';

const detection = loadDetections().find((candidate) => candidate.id === DRIFT_DETECTION);
if (!detection) throw new Error(`the catalog has no ${DRIFT_DETECTION}`);
const MINUTE = 60_000;
const NOW = Date.parse('2026-03-01T12:00:00Z');
const HUB = '111122223333';

/** The forwarders' item in memory, as io/forwarder-log.ts keeps it (expect keeps the first time). */
const memoryLog = (initial: Partial<ForwarderSightings> = {}) => {
  const lastSeen: Record<string, number> = { ...initial.lastSeen };
  const expectedSince: Record<string, number> = { ...initial.expectedSince };
  const log: ForwarderWatchLog & { lastSeen: typeof lastSeen; expectedSince: typeof expectedSince } = {
    lastSeen,
    expectedSince,
    read: async () => ({ lastSeen: { ...lastSeen }, expectedSince: { ...expectedSince } }),
    expect: async (keys, nowMs) => {
      for (const key of keys) expectedSince[key] ??= nowMs;
    },
  };
  return log;
};

const watchOver = (log: ForwarderWatchLog, expectedRegions: string[] = []) => {
  const counts: number[] = [];
  const watch = createForwarderWatch({
    log,
    expected: expectedRegions.map((region) => ({ account: HUB, region })),
    heartbeatMinutes: 10,
    countSilent: (count) => void counts.push(count),
    alertOf: (silent, nowMs) =>
      buildSilentForwardersAlert(silent, {
        stage: 'test',
        accountId: HUB,
        region: 'us-east-1',
        partition: 'aws',
        detection,
        runbookBaseUrl: 'https://runbooks.example/',
        heartbeatMinutes: 10,
        nowMs,
      }),
  });
  return { watch, counts };
};

describe('createForwarderWatch', () => {
  it('counts zero and builds no alert while every forwarder was heard from within two periods', async () => {
    // Prepare
    const { watch, counts } = watchOver(memoryLog({ lastSeen: { '210987654321:eu-west-1': NOW - 20 * MINUTE } }));

    // Act
    const check = await watch.check(NOW);

    // Assess
    expect(check).toStrictEqual({ watched: 1, silent: [] });
    expect(counts).toStrictEqual([0]);
  });

  it('counts the silent forwarders and builds one alert naming each account and region', async () => {
    // Prepare
    const log = memoryLog({
      lastSeen: { '210987654321:eu-west-1': NOW - 21 * MINUTE, '210987654321:ap-south-1': NOW - 3 * MINUTE },
      expectedSince: { [`${HUB}:eu-central-1`]: NOW - 90 * MINUTE },
    });
    const { watch, counts } = watchOver(log);

    // Act
    const check = await watch.check(NOW);

    // Assess
    expect(counts).toStrictEqual([2]);
    expect(check.watched).toBe(3);
    expect(check.silent.map((status) => status.key)).toStrictEqual([`${HUB}:eu-central-1`, '210987654321:eu-west-1']);
    expect(check.alert?.title).toBe(
      'rootwatch test: forwarder silent in eu-central-1 of 111122223333, never heard from in 90 minutes (+1 more)',
    );
  });

  it('expects the forwarders of its regions from the first check on, reporting them two periods later', async () => {
    // Prepare
    const log = memoryLog();
    const { watch, counts } = watchOver(log, ['eu-west-1']);

    // Act
    const first = await watch.check(NOW);
    const within = await watch.check(NOW + 20 * MINUTE);
    const later = await watch.check(NOW + 20 * MINUTE + 1);

    // Assess
    expect(log.expectedSince).toStrictEqual({ [`${HUB}:eu-west-1`]: NOW });
    expect(first.silent).toStrictEqual([]);
    expect(within.silent).toStrictEqual([]);
    expect(later.silent.map((status) => status.key)).toStrictEqual([`${HUB}:eu-west-1`]);
    expect(counts).toStrictEqual([0, 0, 1]);
  });

  it('rejects, emitting no count, when the item cannot be read', async () => {
    // Prepare
    const log: ForwarderWatchLog = {
      read: async () => {
        throw new Error('AccessDeniedException');
      },
      expect: async () => {},
    };
    const { watch, counts } = watchOver(log, ['eu-west-1']);

    // Act
    const checking = watch.check(NOW);

    // Assess
    await expect(checking).rejects.toThrow('AccessDeniedException');
    expect(counts).toStrictEqual([]);
  });
});
