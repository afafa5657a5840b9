import { describe, expect, it } from 'vitest';
import { mapLimit, settleEach } from '../../functions/core/concurrency.js';

/** Work that records how many calls ran at once, takes a few milliseconds, and fails for `failing`. */
const recordingWork = (failing?: number) => {
  const seen = { running: 0, most: 0, started: [] as number[] };
  const work = async (item: number) => {
    seen.started.push(item);
    seen.running++;
    seen.most = Math.max(seen.most, seen.running);
    await new Promise((resolve) => setTimeout(resolve, 5 + (item % 3)));
    seen.running--;
    if (item === failing) throw new Error(`item ${item} failed`);
    return item * 10;
  };
  return { seen, work };
};

describe('settleEach', () => {
  it('runs at most `limit` at once, keeps the order, and one failure stops no other', async () => {
    // Prepare
    const { seen, work } = recordingWork(3);

    // Act
    const outcomes = await settleEach([1, 2, 3, 4, 5, 6, 7, 8, 9], 4, work);

    // Assess
    expect(seen.most).toBe(4);
    expect(outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : 'failed'))).toStrictEqual([
      10,
      20,
      'failed',
      40,
      50,
      60,
      70,
      80,
      90,
    ]);
    expect(outcomes[2]).toMatchObject({ status: 'rejected', reason: new Error('item 3 failed') });
  });

  it('gives nothing for no items, and runs fewer workers than the limit for fewer items', async () => {
    // Prepare
    const { seen, work } = recordingWork();

    // Act
    const none = await settleEach([], 4, work);
    const two = await settleEach([1, 2], 4, work);

    // Assess
    expect(none).toStrictEqual([]);
    expect(two).toStrictEqual([
      { status: 'fulfilled', value: 10 },
      { status: 'fulfilled', value: 20 },
    ]);
    expect(seen.most).toBe(2);
  });
});

describe('mapLimit', () => {
  it('runs at most `limit` at once, starts the items in order and gives the results in their order', async () => {
    // Prepare
    const { seen, work } = recordingWork();

    // Act
    const results = await mapLimit([1, 2, 3, 4, 5, 6, 7], 3, work);

    // Assess
    expect(results).toStrictEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(seen.most).toBe(3);
    expect(seen.started).toStrictEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('rejects with the error of the call that failed', async () => {
    // Prepare
    const { work } = recordingWork(4);

    // Act
    const mapping = mapLimit([1, 2, 3, 4, 5, 6], 2, work);

    // Assess
    await expect(mapping).rejects.toThrow('item 4 failed');
  });
});
