import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  countForwarderHeartbeat,
  type ForwarderHeartbeatLog,
  type ForwarderMetrics,
} from '../../functions/app/heartbeat.js';
import type { Forwarder } from '../../functions/core/forwarder-silence.js';
import { isForwarderHeartbeat, parseHeartbeatEvent } from '../../functions/core/heartbeat.js';
import { EventParseError } from '../../functions/errors.js';
import { createForwarderMetrics, forwarderMetricsOf } from '../../functions/io/heartbeat-metrics.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');

/** A forwarder's heartbeat as the hub bus delivers it: the forwarder's account and region, origin forwarder. */
const forwarderEvent = (detail: Record<string, unknown> = {}) => ({
  version: '0',
  id: '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  'detail-type': 'rootwatch heartbeat',
  source: 'rootwatch.heartbeat',
  account: '210987654321',
  time: '2026-03-01T12:00:00Z',
  region: 'eu-west-1',
  resources: ['arn:aws:scheduler:eu-west-1:210987654321:schedule/default/rootwatch-prod-forwarder-heartbeat'],
  detail: { id: 'fwd-1', scheduledTime: '2026-03-01T12:00:00Z', origin: 'forwarder', ...detail },
});

/** Records each metric data point and each write. */
const recorders = () => {
  const counted: Forwarder[] = [];
  const written: [Forwarder, number][] = [];
  const metrics: ForwarderMetrics = { heartbeat: (forwarder) => void counted.push(forwarder) };
  const log: ForwarderHeartbeatLog = {
    recordHeartbeat: async (forwarder, atMs) => void written.push([forwarder, atMs]),
  };
  return { counted, written, metrics, log };
};

describe("a forwarder's heartbeat event", () => {
  it('keeps its origin and is told from the hub’s own heartbeat by it', () => {
    // Act
    const forwarder = parseHeartbeatEvent(forwarderEvent());
    const hub = parseHeartbeatEvent({ ...forwarderEvent(), detail: { id: 'hub-1' } });
    const other = parseHeartbeatEvent(forwarderEvent({ origin: 'hub' }));

    // Assess
    expect(forwarder).toStrictEqual({
      schema: 'rootwatch.heartbeat/v1',
      id: 'fwd-1',
      test: false,
      time: '2026-03-01T12:00:00Z',
      account: '210987654321',
      region: 'eu-west-1',
      origin: 'forwarder',
    });
    expect([isForwarderHeartbeat(forwarder), isForwarderHeartbeat(hub), isForwarderHeartbeat(other)]).toStrictEqual([
      true,
      false,
      false,
    ]);
    expect('origin' in hub).toBe(false);
  });

  it('throws EventParseError naming detail.origin when it is not a word', () => {
    expect(() => parseHeartbeatEvent(forwarderEvent({ origin: '<b>forwarder</b>' }))).toThrow(EventParseError);
    expect(() => parseHeartbeatEvent(forwarderEvent({ origin: 7 }))).toThrow(/detail\.origin/);
  });
});

describe('countForwarderHeartbeat', () => {
  it('counts one data point for its account and region and records when the hub heard it', async () => {
    // Prepare
    const { counted, written, metrics, log } = recorders();

    // Act
    const outcome = await countForwarderHeartbeat({ log, metrics, now: () => NOW })(
      parseHeartbeatEvent(forwarderEvent()),
    );

    // Assess
    expect(outcome).toStrictEqual({
      status: 'forwarder-heartbeat',
      id: 'fwd-1',
      account: '210987654321',
      region: 'eu-west-1',
      recorded: true,
    });
    expect(counted).toStrictEqual([{ account: '210987654321', region: 'eu-west-1' }]);
    expect(written).toStrictEqual([[{ account: '210987654321', region: 'eu-west-1' }, NOW]]);
  });

  it("counts a test heartbeat from a forwarder (rootwatch test-alert in the forwarder's region) as any other", async () => {
    // Prepare
    const { counted, written, metrics, log } = recorders();

    // Act
    await countForwarderHeartbeat({ log, metrics, now: () => NOW })(
      parseHeartbeatEvent(forwarderEvent({ test: true, id: 'test-1' })),
    );

    // Assess
    expect(counted).toHaveLength(1);
    expect(written).toHaveLength(1);
  });

  it('still counts the heartbeat, and does not throw, when the state table cannot be written', async () => {
    // Prepare
    const { counted, metrics } = recorders();
    const log: ForwarderHeartbeatLog = {
      recordHeartbeat: async () => {
        throw new Error('ProvisionedThroughputExceededException');
      },
    };

    // Act
    const outcome = await countForwarderHeartbeat({ log, metrics, now: () => NOW })(
      parseHeartbeatEvent(forwarderEvent()),
    );

    // Assess
    expect(outcome.recorded).toBe(false);
    expect(counted).toStrictEqual([{ account: '210987654321', region: 'eu-west-1' }]);
  });
});

describe('the forwarder metrics (embedded metric format)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** Every EMF line written to stdout while `act` runs. */
  const emfOf = (act: () => void): Record<string, unknown>[] => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    act();
    vi.restoreAllMocks();
    return lines.map((line) => JSON.parse(line));
  };

  it('emits ForwarderHeartbeat with the dimensions service, stage, account and region, one line per heartbeat', () => {
    // Act
    const emitted = emfOf(() => {
      const metrics = createForwarderMetrics('prod');
      metrics.heartbeat({ account: '210987654321', region: 'eu-west-1' });
      metrics.heartbeat({ account: '111122223333', region: 'ap-south-1' });
    });

    // Assess
    expect(emitted.map((blob) => [blob.account, blob.region, blob.ForwarderHeartbeat])).toStrictEqual([
      ['210987654321', 'eu-west-1', 1],
      ['111122223333', 'ap-south-1', 1],
    ]);
    expect((emitted[0]?._aws as { CloudWatchMetrics?: unknown } | undefined)?.CloudWatchMetrics).toStrictEqual([
      {
        Namespace: 'rootwatch',
        Dimensions: [['service', 'stage', 'account', 'region']],
        Metrics: [{ Name: 'ForwarderHeartbeat', Unit: 'Count' }],
      },
    ]);
    expect(emitted[0]).toMatchObject({ service: 'rootwatch', stage: 'prod' });
  });

  it('counts nothing without a stage, so the alarms fire, and never throws', () => {
    // Act
    const emitted = emfOf(() => forwarderMetricsOf({}).heartbeat({ account: '210987654321', region: 'eu-west-1' }));

    // Assess
    expect(emitted).toStrictEqual([]);
  });
});
