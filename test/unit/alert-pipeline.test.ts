import { describe, expect, it } from 'vitest';
import { createAlertPipeline } from '../../functions/app/alert-pipeline.js';
import { type CloudTrailEvent, recordToEvent } from '../../functions/core/event.js';
import { loadDetections } from '../../functions/io/detections.js';
import { createMemoryState } from '../../functions/io/memory-state.js';
import { readSample } from '../helpers/samples.js';

const detections = loadDetections();
const failure = readSample('root-console-sign-in-failure.json');
const failureAt = (minute: number, n: number, account = '111122223333') =>
  recordToEvent({
    ...failure,
    eventID: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    eventTime: new Date(Date.UTC(2025, 0, 1, 12, minute)).toISOString(),
    recipientAccountId: account,
  });

describe('repeated root sign-in failures', async () => {
  /** Each event through a pipeline with in-memory state, as replay runs it: its severity, or undefined. */
  const severities = async (events: CloudTrailEvent[]) => {
    const pipeline = createAlertPipeline({
      detections,
      minSeverity: 'info',
      runbookBaseUrl: '',
      state: createMemoryState(),
      enrich: async () => ({}),
      sinks: [{ name: 'test', send: async () => {} }],
    });
    const out: (string | undefined)[] = [];
    for (const event of events) {
      const outcome = await pipeline.process(event, 'test');
      out.push(outcome.status === 'delivered' ? outcome.severity : undefined);
    }
    return out;
  };

  it('raises the 5th failure within 15 minutes for one account to high', async () => {
    expect(await severities([0, 2, 4, 6, 8, 9].map((m, i) => failureAt(m, i)))).toEqual([
      'medium',
      'medium',
      'medium',
      'medium',
      'high',
      'high',
    ]);
  });

  it('keeps failures spread over more than 15 minutes at medium', async () => {
    expect(await severities([0, 5, 10, 15, 20].map((m, i) => failureAt(m, i)))).toEqual(Array(5).fill('medium'));
  });

  it('counts each account on its own', async () => {
    const events = [0, 1, 2, 3, 4].map((m, i) => failureAt(m, i, i % 2 === 0 ? '111122223333' : '444455556666'));
    expect(await severities(events)).toEqual(Array(5).fill('medium'));
  });

  it('counts an event delivered twice once, and alerts on it once', async () => {
    const twice = [0, 1, 2, 3].flatMap((m, i) => [failureAt(m, i), failureAt(m, i)]);
    expect(await severities([...twice, failureAt(4, 9)])).toEqual([
      'medium',
      undefined,
      'medium',
      undefined,
      'medium',
      undefined,
      'medium',
      undefined,
      'high',
    ]);
  });
});
