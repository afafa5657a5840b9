import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type Forwarder,
  type ForwarderSightings,
  forwarderKey,
  isForwarder,
  parseForwarderKey,
} from '../core/forwarder-silence.js';
import { AlerterError } from '../errors.js';
import { sdk } from './aws-clients.js';

/** @aws-sdk/client-dynamodb, imported on first use rather than at module load (io/aws-clients.ts, "Loading"). */

/**
 * Whether DynamoDB refused a write for its condition: by the error's name, as the SDK's
 * ConditionalCheckFailedException class is not loaded before the first call.
 */
const isConditionalCheckFailed = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

/** The forwarders' item could not be written as asked (not a failure of DynamoDB itself, which rejects as the SDK's). */
class ForwarderLogError extends AlerterError {}

/** The item's key: `forwarders`, beside `alert#…`, `count#…` and `heartbeat#…` in the same table (key `pk`). */
const KEY = { pk: { S: 'forwarders' } };
/** The two maps of the item, by forwarderKey (`<account>:<region>`), epoch milliseconds. */
const MAPS = { lastSeen: 'lastSeen', expectedSince: 'expectedSince' } as const;
type MapName = keyof typeof MAPS;

/** A map attribute (`M`) as key → epoch ms, skipping what is not a number. */
const numbersOf = (value: AttributeValue | undefined): Record<string, number> =>
  Object.fromEntries(
    Object.entries(value?.M ?? {}).flatMap(([key, entry]) =>
      entry.N !== undefined && Number.isFinite(Number(entry.N)) ? [[key, Number(entry.N)]] : [],
    ),
  );

/**
 * When the hub last heard from each forwarder, in the state table (key `pk`): one item `forwarders` with two maps by
 * `<account>:<region>`, `lastSeen` (each forwarder's last heartbeat) and `expectedSince` (when the guard first
 * expected a forwarder it had never heard from), epoch milliseconds. The item has no `expiresAt`: it lives until
 * entries are forgotten.
 *
 * Each write is one UpdateItem that sets its own entries (`SET lastSeen.#key = :at`), so two writers (two forwarders'
 * heartbeats, handled by two concurrent invocations) never lose each other's entries, with no read before the write.
 * DynamoDB refuses to set a path inside a map that does not exist ("The document path provided in the update
 * expression is invalid for update"), so the write is conditioned on the map existing; when it does not (the first
 * heartbeat ever), the map is created with `if_not_exists` (which never replaces one a concurrent writer created
 * meanwhile) and the write is made again.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.UpdateExpressions.html
 *
 * Every call rejects with the SDK's error when the table fails, throttles or does not answer.
 *
 * @example
 * import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
 *
 * const log = createDynamoForwarderLog(new DynamoDBClient({}), 'rootwatch-prod-state');
 * await log.recordHeartbeat({ account: '210987654321', region: 'eu-west-1' }, Date.now());
 * (await log.read()).lastSeen['210987654321:eu-west-1']; // epoch ms
 */
const createDynamoForwarderLog = (client: DynamoDBClient, tableName: string) => {
  /** `SET map.#k0 = :v, map.#k1 = …` on an existing map; false when the map does not exist. */
  const setEntries = async (map: MapName, keys: readonly string[], atMs: number, keepFirst: boolean) => {
    const names = Object.fromEntries(keys.map((key, index) => [`#k${index}`, key]));
    const assignments = keys.map((_, index) => {
      const path = `#map.#k${index}`;
      return keepFirst ? `${path} = if_not_exists(${path}, :at)` : `${path} = :at`;
    });
    try {
      await client.send(
        new (await sdk.dynamodb()).UpdateItemCommand({
          TableName: tableName,
          Key: KEY,
          UpdateExpression: `SET ${assignments.join(', ')}`,
          ConditionExpression: 'attribute_exists(#map)',
          ExpressionAttributeNames: { '#map': MAPS[map], ...names },
          ExpressionAttributeValues: { ':at': { N: String(atMs) } },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  };

  /** Creates the map unless it exists (a concurrent writer's map is kept, entries and all). */
  const createMap = async (map: MapName) => {
    await client.send(
      new (await sdk.dynamodb()).UpdateItemCommand({
        TableName: tableName,
        Key: KEY,
        UpdateExpression: 'SET #map = if_not_exists(#map, :empty)',
        ExpressionAttributeNames: { '#map': MAPS[map] },
        ExpressionAttributeValues: { ':empty': { M: {} } },
      }),
    );
  };

  /** Sets the entries, creating the map first when it does not exist yet. */
  const write = async (map: MapName, keys: readonly string[], atMs: number, keepFirst: boolean) => {
    if (keys.length === 0) return;
    if (await setEntries(map, keys, atMs, keepFirst)) return;
    await createMap(map);
    // Fails again only when the item was deleted in between (by hand): say so rather than loop.
    if (!(await setEntries(map, keys, atMs, keepFirst))) {
      throw new ForwarderLogError(
        `${tableName}: the map ${MAPS[map]} of item forwarders vanished while it was written`,
      );
    }
  };

  return {
    /**
     * Records the forwarder's heartbeat at `atMs` (the last one wins).
     *
     * @throws ForwarderLogError when the account is not 12 digits or the region is not a region name.
     */
    async recordHeartbeat(forwarder: Forwarder, atMs: number): Promise<void> {
      if (!isForwarder(forwarder)) {
        throw new ForwarderLogError(`not a forwarder: account "${forwarder.account}", region "${forwarder.region}"`);
      }
      await write('lastSeen', [forwarderKey(forwarder)], atMs, false);
    },

    /** Records `nowMs` as the time each key (`<account>:<region>`) was first expected; an earlier time is kept. */
    async expect(keys: readonly string[], nowMs: number): Promise<void> {
      await write('expectedSince', keys, nowMs, true);
    },

    /** Both maps, read consistently; empty maps when nothing was ever recorded. */
    async read(): Promise<ForwarderSightings> {
      const { Item } = await client.send(
        new (await sdk.dynamodb()).GetItemCommand({ TableName: tableName, Key: KEY, ConsistentRead: true }),
      );
      return { lastSeen: numbersOf(Item?.[MAPS.lastSeen]), expectedSince: numbersOf(Item?.[MAPS.expectedSince]) };
    },

    /**
     * Removes a forwarder (`<account>:<region>`) from both maps, so it is no longer watched; resolves to whether
     * either map had it. Removing a missing entry, or from a missing map, is no error.
     *
     * @throws ForwarderLogError when the key is not `<12-digit account>:<region>`.
     */
    async forget(key: string): Promise<boolean> {
      if (!parseForwarderKey(key)) throw new ForwarderLogError(`not a forwarder: "${key}" (expected ACCOUNT:REGION)`);
      let removed = false;
      for (const map of Object.keys(MAPS) as MapName[]) {
        try {
          await client.send(
            new (await sdk.dynamodb()).UpdateItemCommand({
              TableName: tableName,
              Key: KEY,
              UpdateExpression: 'REMOVE #map.#key',
              ConditionExpression: 'attribute_exists(#map.#key)',
              ExpressionAttributeNames: { '#map': MAPS[map], '#key': key },
            }),
          );
          removed = true;
        } catch (error) {
          if (!isConditionalCheckFailed(error)) throw error;
        }
      }
      return removed;
    },
  };
};

export { createDynamoForwarderLog, ForwarderLogError };
