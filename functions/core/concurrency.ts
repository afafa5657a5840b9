/*
 * A bounded pool of workers over a list: at most `limit` calls in flight, the next item started as soon as one ends.
 * The guard's reads (functions/io/deployment.ts, in a Lambda bundle) and the deploy command's regions
 * (functions/deploy/all-regions.ts) both go through it; no SDK, no I/O of its own.
 */

/**
 * Calls `fn(item, index)` for every item, at most `limit` (a whole number, at least 1) at once, started in the
 * items' order. Rejects as soon as one call rejects, with its error; the other workers still go on through the items
 * left, and what they do is nobody's to see.
 */
const forEachLimit = async <T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> => {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
};

/**
 * `fn` over `items`, at most `limit` calls at a time; the results in the items' order.
 *
 * @throws the first error a call rejects with (fail fast: use settleEach to let every item run).
 * @example
 * declare const readRule: (name: string) => Promise<string>;
 * const rules = await mapLimit(['rule-a', 'rule-b', 'rule-c'], 2, readRule);
 */
const mapLimit = async <T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> => {
  const results: R[] = new Array(items.length);
  await forEachLimit(items, limit, async (item, index) => {
    results[index] = await fn(item);
  });
  return results;
};

/**
 * `fn` over every item, at most `limit` running at once; each item's outcome in the order of `items` (a failure
 * never stops the others). Never rejects.
 *
 * @example
 * declare const deploy: (region: string) => Promise<string>;
 * const outcomes = await settleEach(['eu-west-1', 'eu-central-1'], 4, (region) => deploy(region));
 * outcomes[0]; // { status: 'fulfilled', value: … } or { status: 'rejected', reason: … }
 */
const settleEach = async <T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> => {
  const outcomes: PromiseSettledResult<R>[] = new Array(items.length);
  await forEachLimit(items, limit, async (item, index) => {
    try {
      outcomes[index] = { status: 'fulfilled', value: await fn(item) };
    } catch (error) {
      outcomes[index] = { status: 'rejected', reason: error };
    }
  });
  return outcomes;
};

export { mapLimit, settleEach };
