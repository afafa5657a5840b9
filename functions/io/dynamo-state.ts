import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AlertState } from '../app/ports.js';
import { sdk } from './aws-clients.js';

/** @aws-sdk/client-dynamodb, imported on first use rather than at module load (io/aws-clients.ts, "Loading"). */

/**
 * Whether DynamoDB refused a write for its condition: by the error's name, as the SDK's
 * ConditionalCheckFailedException class is not loaded before the first call.
 */
const isConditionalCheckFailed = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

const DAY_MS = 86_400_000;
/**
 * A claim older than this is free to take. Longer than the alert function's 30 s timeout, so a live
 * invocation keeps its event; shorter than Lambda's first async retry (about a minute), so the retry
 * of a failed invocation takes the event back even if it runs under another request id. A second
 * rule's copy of the event arrives within seconds and finds the claim held.
 */
const CLAIM_LEASE_MS = 45_000;
/** Keep the alert records a week: EventBridge retries for a day, Lambda for hours. */
const ALERT_TTL_MS = 7 * DAY_MS;

/**
 * The alert state in one DynamoDB table (key `pk`, TTL `expiresAt`):
 * - `alert#<eventID>`: who is alerting on the event and which destinations already have it, so that
 *   duplicate deliveries (EventBridge is at-least-once, and an event matching two rules arrives twice)
 *   and retries after a partial failure never alert a destination twice;
 * - `count#<detection>#<account>`: recent events of a detection with a threshold modifier, or one that another
 *   detection follows, by eventID (so a retried event is counted once), each with its event time; countRecent
 *   records and counts, countWindow only counts (one strongly consistent GetItem).
 * Each call rejects with the SDK's error when the table fails, throttles or (with the client's timeouts of
 * io/aws-clients.ts) does not answer; the alert goes on without the state then (app/state-guard.ts).
 */
const createDynamoState = (client: DynamoDBClient, tableName: string): AlertState => {
  const alertKey = (eventId: string) => ({ pk: { S: `alert#${eventId}` } });
  const sinksOf = (attributes: Record<string, { SS?: string[] }> | undefined) => new Set(attributes?.sinks?.SS ?? []);

  return {
    async claim(eventId, owner, nowMs) {
      try {
        const result = await client.send(
          new (await sdk.dynamodb()).UpdateItemCommand({
            TableName: tableName,
            Key: alertKey(eventId),
            UpdateExpression: 'SET #owner = :owner, claimedAt = :now, expiresAt = :expires',
            ConditionExpression: 'attribute_not_exists(pk) OR #owner = :owner OR claimedAt < :stale',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: {
              ':owner': { S: owner },
              ':now': { N: String(nowMs) },
              ':stale': { N: String(nowMs - CLAIM_LEASE_MS) },
              ':expires': { N: String(Math.floor((nowMs + ALERT_TTL_MS) / 1000)) },
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return sinksOf(result.Attributes as Record<string, { SS?: string[] }>);
      } catch (error) {
        if (isConditionalCheckFailed(error)) return undefined;
        throw error;
      }
    },

    async delivered(eventId) {
      const result = await client.send(
        new (await sdk.dynamodb()).GetItemCommand({
          TableName: tableName,
          Key: alertKey(eventId),
          ConsistentRead: true,
        }),
      );
      return sinksOf(result.Item as Record<string, { SS?: string[] }>);
    },

    async markDelivered(eventId, sink, nowMs) {
      await client.send(
        new (await sdk.dynamodb()).UpdateItemCommand({
          TableName: tableName,
          Key: alertKey(eventId),
          UpdateExpression: 'ADD sinks :sink SET expiresAt = if_not_exists(expiresAt, :expires)',
          ExpressionAttributeValues: {
            ':sink': { SS: [sink] },
            ':expires': { N: String(Math.floor((nowMs + ALERT_TTL_MS) / 1000)) },
          },
        }),
      );
    },

    async countRecent(key, eventId, eventTimeMs, windowMs) {
      const pk = { pk: { S: `count#${key}` } };
      const expires = { N: String(Math.floor((eventTimeMs + windowMs + DAY_MS) / 1000)) };
      let times: Record<string, { N?: string }> | undefined;
      try {
        const result = await client.send(
          new (await sdk.dynamodb()).UpdateItemCommand({
            TableName: tableName,
            Key: pk,
            UpdateExpression: 'SET times.#event = :time, expiresAt = :expires',
            ConditionExpression: 'attribute_exists(times)',
            ExpressionAttributeNames: { '#event': eventId },
            ExpressionAttributeValues: { ':time': { N: String(eventTimeMs) }, ':expires': expires },
            ReturnValues: 'ALL_NEW',
          }),
        );
        times = result.Attributes?.times?.M as Record<string, { N?: string }> | undefined;
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        try {
          await client.send(
            new (await sdk.dynamodb()).PutItemCommand({
              TableName: tableName,
              Item: { ...pk, times: { M: { [eventId]: { N: String(eventTimeMs) } } }, expiresAt: expires },
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          );
          return 1;
        } catch (raced) {
          // Another invocation created the item first: add to it.
          if (!isConditionalCheckFailed(raced)) throw raced;
          return this.countRecent(key, eventId, eventTimeMs, windowMs);
        }
      }
      const all = Object.entries(times ?? {}).map(([id, value]) => [id, Number(value.N)] as const);
      const stale = all.filter(([, t]) => t <= eventTimeMs - windowMs - DAY_MS).map(([id]) => id);
      if (stale.length > 50) await pruneTimes(client, tableName, pk, stale.slice(0, 100));
      return all.filter(([, t]) => t > eventTimeMs - windowMs && t <= eventTimeMs).length;
    },

    async countWindow(key, eventTimeMs, windowMs) {
      // A strongly consistent read, so an event countRecent recorded a moment ago (another invocation's) is seen.
      // https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_GetItem.html
      const result = await client.send(
        new (await sdk.dynamodb()).GetItemCommand({
          TableName: tableName,
          Key: { pk: { S: `count#${key}` } },
          ConsistentRead: true,
          ProjectionExpression: 'times',
        }),
      );
      const times = (result.Item?.times?.M ?? {}) as Record<string, { N?: string }>;
      return Object.values(times).filter(({ N }) => {
        const time = Number(N);
        return time > eventTimeMs - windowMs && time <= eventTimeMs;
      }).length;
    },
  };
};

/** Drops entries no window can count any more, so the item stays far below DynamoDB's 400 KB. */
const pruneTimes = async (
  client: DynamoDBClient,
  tableName: string,
  key: Record<string, { S: string }>,
  eventIds: string[],
): Promise<void> => {
  const names = Object.fromEntries(eventIds.map((id, i) => [`#e${i}`, id]));
  await client.send(
    new (await sdk.dynamodb()).UpdateItemCommand({
      TableName: tableName,
      Key: key,
      UpdateExpression: `REMOVE ${Object.keys(names)
        .map((name) => `times.${name}`)
        .join(', ')}`,
      ExpressionAttributeNames: names,
    }),
  );
};

export { createDynamoState };
