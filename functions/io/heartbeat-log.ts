import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { HeartbeatLog } from '../app/heartbeat.js';
import { HEARTBEAT_HOPS, type HeartbeatHop } from '../core/heartbeat.js';
import { sdk } from './aws-clients.js';

/** @aws-sdk/client-dynamodb, imported on first use rather than at module load (io/aws-clients.ts, "Loading"). */

/** A day: long enough to read a heartbeat back, short enough that 144 a day keep the table small. */
const HEARTBEAT_TTL_MS = 86_400_000;

/** What the state table knows of one heartbeat: when each hop completed, and why a hop failed. */
interface HeartbeatRecord {
  id: string;
  test: boolean;
  /** Epoch milliseconds at which each completed hop was first recorded. */
  hops: Partial<Record<HeartbeatHop, number>>;
  /** The last error of a hop that failed (it may have completed on a retry since). */
  errors: Partial<Record<HeartbeatHop, string>>;
}

/** `heartbeat#<id>`: beside the alert items (`alert#<eventID>`) and counts (`count#…`) of the same table. */
const keyOf = (id: string) => ({ pk: { S: `heartbeat#${id}` } });

/**
 * The heartbeat log in the state table (key `pk`, TTL `expiresAt`): one item `heartbeat#<id>` per heartbeat,
 * with an attribute `hop:<hop>` (epoch ms) per completed hop and `error:<hop>` per failed one. Each hop is one
 * UpdateItem, so the alert function and the notifier write to the same item without reading it first.
 *
 * @example
 * import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
 *
 * const log = createDynamoHeartbeatLog(new DynamoDBClient({}), 'rootwatch-prod-state');
 * const record = await log.read('d32c5kddcf5bb8c3');
 * record?.hops.notifier; // epoch ms, once the notifier has received it
 */
const createDynamoHeartbeatLog = (client: DynamoDBClient, tableName: string) => {
  const recordHop: HeartbeatLog['recordHop'] = async (heartbeat, hop, atMs, error) => {
    await client.send(
      new (await sdk.dynamodb()).UpdateItemCommand({
        TableName: tableName,
        Key: keyOf(heartbeat.id),
        // The first completion wins, so a redelivered heartbeat keeps its first times.
        UpdateExpression:
          error === undefined
            ? 'SET #hop = if_not_exists(#hop, :at), #test = :test, expiresAt = :expires'
            : 'SET #error = :error, #test = :test, expiresAt = :expires',
        ExpressionAttributeNames:
          error === undefined
            ? { '#hop': `hop:${hop}`, '#test': 'test' }
            : { '#error': `error:${hop}`, '#test': 'test' },
        ExpressionAttributeValues: {
          ...(error === undefined ? { ':at': { N: String(atMs) } } : { ':error': { S: error.slice(0, 1000) } }),
          ':test': { BOOL: heartbeat.test },
          ':expires': { N: String(Math.floor((atMs + HEARTBEAT_TTL_MS) / 1000)) },
        },
      }),
    );
  };

  /** The heartbeat's record, or undefined when no hop of it was recorded. */
  const read = async (id: string): Promise<HeartbeatRecord | undefined> => {
    const { Item } = await client.send(
      new (await sdk.dynamodb()).GetItemCommand({ TableName: tableName, Key: keyOf(id), ConsistentRead: true }),
    );
    if (!Item) return undefined;
    const hops: HeartbeatRecord['hops'] = {};
    const errors: HeartbeatRecord['errors'] = {};
    for (const hop of HEARTBEAT_HOPS) {
      const at = Item[`hop:${hop}`]?.N;
      if (at !== undefined) hops[hop] = Number(at);
      const error = Item[`error:${hop}`]?.S;
      if (error !== undefined) errors[hop] = error;
    }
    return { id, test: Item.test?.BOOL === true, hops, errors };
  };

  return { recordHop, read };
};

export type { HeartbeatRecord };
export { createDynamoHeartbeatLog };
