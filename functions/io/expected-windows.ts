import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ExpectedWindows } from '../app/ports.js';
import {
  activeWindows,
  type ExpectedWindow,
  ExpectedWindowSchema,
  MAX_WINDOW_MS,
  WINDOW_RETENTION_MS,
  windowEndMs,
} from '../core/expected-window.js';
import { AlerterError } from '../errors.js';
import { sdk } from './aws-clients.js';

/** @aws-sdk/client-dynamodb, imported on first use rather than at module load (io/aws-clients.ts, "Loading"). */

/** A window could not be declared or ended as asked (DynamoDB itself failing rejects with the SDK's error). */
class ExpectedWindowError extends AlerterError {}

/**
 * Whether DynamoDB refused a write for its condition: by the error's name, as the SDK's
 * ConditionalCheckFailedException class is not loaded before the first call.
 */
const isConditionalCheckFailed = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

/** The item's key: `expected-windows`, beside `alert#…`, `count#…` and `forwarders` in the same table (key `pk`). */
const KEY = { pk: { S: 'expected-windows' } };

/**
 * The most windows the item keeps (active, or ended within WINDOW_RETENTION_MS): each is at most ~3 KB (a 200-character
 * reason, ARNs, the catalog's ids), so 100 stay far below DynamoDB's 400 KB item; a declaration past it is refused.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html
 */
const MAX_KEPT_WINDOWS = 100;

/** What the item's map holds, parsed; entries that are no window (hand-edited, a newer format) are left out. */
interface StoredWindows {
  windows: ExpectedWindow[];
  /** Entries left out, by id, with zod's first problem. */
  unreadable: { id: string; problem: string }[];
}

/** The map attribute `windows` (id → the window as JSON text), parsed entry by entry. */
const windowsOf = (item: Record<string, AttributeValue> | undefined): StoredWindows => {
  const windows: ExpectedWindow[] = [];
  const unreadable: StoredWindows['unreadable'] = [];
  for (const [id, value] of Object.entries(item?.windows?.M ?? {})) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value.S ?? '');
    } catch {
      unreadable.push({ id, problem: 'not JSON' });
      continue;
    }
    const result = ExpectedWindowSchema.safeParse(parsed);
    if (result.success && result.data.id === id) windows.push(result.data);
    else unreadable.push({ id, problem: result.error?.issues[0]?.message ?? 'its id is not its key' });
  }
  windows.sort((a, b) => Date.parse(a.declaredAt) - Date.parse(b.declaredAt) || (a.id < b.id ? -1 : 1));
  return { windows, unreadable };
};

/** What `end` did: ended the window now, found it already over (ended, or past its until), or found no such window. */
type EndResult =
  | { status: 'ended'; window: ExpectedWindow }
  | { status: 'already-over'; window: ExpectedWindow }
  | { status: 'unknown' };

/**
 * The break-glass windows in the state table (key `pk`): one item `expected-windows` whose map `windows` holds each
 * window by id, as JSON text (core/expected-window.ts, ExpectedWindowSchema). One item, read with one strongly
 * consistent GetItem, serves the alert function (a window declared a second ago already applies) and `--list`; the
 * table's key is `pk` alone, so a per-account item could not be listed without a Scan. Windows are few (a day at most
 * each, kept a week after they end), so the item stays small (MAX_KEPT_WINDOWS).
 *
 * TTL: each declaration sets `expiresAt` to now + MAX_WINDOW_MS + WINDOW_RETENTION_MS (seconds), which is past every
 * window's `until` + WINDOW_RETENTION_MS (every window was declared at or before now, for at most MAX_WINDOW_MS): the
 * item disappears a week after its last window ended, never while one could still be active. A declaration also
 * removes the windows over for longer than WINDOW_RETENTION_MS. Whether a window covers an event is decided by its
 * `until` and the event's time, never by the TTL.
 *
 * Writes are single UpdateItems on one entry of the map (`SET windows.#id`), so two declarations at once never lose
 * each other; an end is conditioned on the entry being unchanged since it was read. Every call rejects with the
 * SDK's error when the table fails, throttles or does not answer.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.UpdateExpressions.html
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html
 *
 * @example
 * import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
 * import type { ExpectedWindow } from '../core/expected-window.js';
 *
 * declare const window: ExpectedWindow;
 * const store = createDynamoExpectedWindows(new DynamoDBClient({}), 'rootwatch-prod-state');
 * await store.declare(window, Date.now());
 * await store.activeAt('111122223333', Date.now()); // [window]
 */
const createDynamoExpectedWindows = (client: DynamoDBClient, tableName: string) => {
  const read = async (): Promise<StoredWindows> => {
    const result = await client.send(
      new (await sdk.dynamodb()).GetItemCommand({ TableName: tableName, Key: KEY, ConsistentRead: true }),
    );
    return windowsOf(result.Item);
  };

  /** `SET windows.#id = :window` on the existing map, removing `stale`; false when the map does not exist yet. */
  const putEntry = async (window: ExpectedWindow, stale: readonly string[], nowMs: number): Promise<boolean> => {
    const removed = Object.fromEntries(stale.map((id, index) => [`#s${index}`, id]));
    try {
      await client.send(
        new (await sdk.dynamodb()).UpdateItemCommand({
          TableName: tableName,
          Key: KEY,
          UpdateExpression: `SET #windows.#id = :window, expiresAt = :expires${
            stale.length > 0
              ? ` REMOVE ${Object.keys(removed)
                  .map((name) => `#windows.${name}`)
                  .join(', ')}`
              : ''
          }`,
          ConditionExpression: 'attribute_exists(#windows) AND attribute_not_exists(#windows.#id)',
          ExpressionAttributeNames: { '#windows': 'windows', '#id': window.id, ...removed },
          ExpressionAttributeValues: {
            ':window': { S: JSON.stringify(window) },
            ':expires': { N: String(Math.floor((nowMs + MAX_WINDOW_MS + WINDOW_RETENTION_MS) / 1000)) },
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  };

  return {
    /** Every window kept (active, or over for less than WINDOW_RETENTION_MS), oldest first, and what did not parse. */
    read,

    /**
     * The windows of `account` covering `eventTimeMs` (ExpectedWindows.activeAt).
     */
    async activeAt(account: string, eventTimeMs: number): Promise<ExpectedWindow[]> {
      return activeWindows((await read()).windows, account, eventTimeMs);
    },

    /**
     * Records a new window (its id not yet used), dropping the windows over for longer than WINDOW_RETENTION_MS.
     *
     * @throws ExpectedWindowError when MAX_KEPT_WINDOWS windows are already kept, or the id is taken.
     */
    async declare(window: ExpectedWindow, nowMs: number): Promise<void> {
      const { windows } = await read();
      const stale = windows.filter((each) => windowEndMs(each) + WINDOW_RETENTION_MS < nowMs).map((each) => each.id);
      if (windows.length - stale.length >= MAX_KEPT_WINDOWS) {
        throw new ExpectedWindowError(
          `${windows.length - stale.length} windows are kept already (at most ${MAX_KEPT_WINDOWS}, active or ended in the last 7 days): end the ones not needed (--end ID)`,
        );
      }
      if (await putEntry(window, stale, nowMs)) return;
      // No map yet (the first window ever), or the id is taken: create the map without replacing one a concurrent
      // declaration made meanwhile, then try once more.
      await client.send(
        new (await sdk.dynamodb()).UpdateItemCommand({
          TableName: tableName,
          Key: KEY,
          UpdateExpression: 'SET #windows = if_not_exists(#windows, :empty)',
          ExpressionAttributeNames: { '#windows': 'windows' },
          ExpressionAttributeValues: { ':empty': { M: {} } },
        }),
      );
      if (!(await putEntry(window, [], nowMs))) {
        throw new ExpectedWindowError(`a window ${window.id} exists already: declare again for a new id`);
      }
    },

    /**
     * Ends window `id` at `nowMs` (its `endedAt`, and `endedBy` the ARN ending it), unless it is over already.
     * Conditioned on the window unchanged since read: a concurrent end makes this one report `already-over`.
     */
    async end(id: string, endedBy: string, nowMs: number): Promise<EndResult> {
      const { windows } = await read();
      const window = windows.find((each) => each.id === id);
      if (window === undefined) return { status: 'unknown' };
      if (windowEndMs(window) <= nowMs) return { status: 'already-over', window };
      const ended: ExpectedWindow = { ...window, endedAt: new Date(nowMs).toISOString(), endedBy };
      try {
        await client.send(
          new (await sdk.dynamodb()).UpdateItemCommand({
            TableName: tableName,
            Key: KEY,
            UpdateExpression: 'SET #windows.#id = :ended',
            ConditionExpression: '#windows.#id = :window',
            ExpressionAttributeNames: { '#windows': 'windows', '#id': id },
            ExpressionAttributeValues: {
              ':window': { S: JSON.stringify(window) },
              ':ended': { S: JSON.stringify(ended) },
            },
          }),
        );
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        const now = (await read()).windows.find((each) => each.id === id);
        return now === undefined ? { status: 'unknown' } : { status: 'already-over', window: now };
      }
      return { status: 'ended', window: ended };
    },
  };
};

/**
 * A fixed list of windows as the pipeline's port: for tests, and for a replay told which windows to assume.
 *
 * @example
 * import type { ExpectedWindow } from '../core/expected-window.js';
 *
 * declare const window: ExpectedWindow; // account 111122223333, 09:00 to 10:30 UTC
 * await createMemoryExpectedWindows([window]).activeAt('111122223333', Date.parse('2026-10-02T11:00:00Z')); // []
 */
const createMemoryExpectedWindows = (windows: readonly ExpectedWindow[]): ExpectedWindows => ({
  async activeAt(account, eventTimeMs) {
    return activeWindows(windows, account, eventTimeMs);
  },
});

export type { EndResult };
export { createDynamoExpectedWindows, createMemoryExpectedWindows };
