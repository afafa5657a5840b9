import { type EventBridgeClient, PutEventsCommand, type PutEventsCommandOutput } from '@aws-sdk/client-eventbridge';
import { HEARTBEAT_DETAIL_TYPE, HEARTBEAT_SOURCE } from '../core/heartbeat.js';
import { PutEventsError, toError } from '../errors.js';

/**
 * Puts a heartbeat marked `test: true` on the default event bus, where the heartbeat rule routes it like the
 * schedule's: `source` rootwatch.heartbeat, `detail` `{ test: true, id }`. Resolves to EventBridge's id of the
 * event. PutEvents answers 200 even when it refuses an entry, so the entry's own error is checked.
 * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
 *
 * @throws PutEventsError with EventBridge's error code when it refused the entry, or with the request's error
 *   (no credentials, access denied, no such region) as its cause.
 * @example
 * import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
 *
 * const eventId = await putTestHeartbeat(new EventBridgeClient({ region: 'us-east-1' }), 'test-1a2b3c');
 */
const putTestHeartbeat = async (client: EventBridgeClient, id: string): Promise<string> => {
  let response: PutEventsCommandOutput;
  try {
    response = await client.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: HEARTBEAT_SOURCE,
            DetailType: HEARTBEAT_DETAIL_TYPE,
            Detail: JSON.stringify({ test: true, id }),
          },
        ],
      }),
    );
  } catch (error) {
    const err = toError(error);
    throw new PutEventsError(undefined, `could not put the event on the bus: ${err.name}: ${err.message}`, {
      cause: err,
    });
  }
  const entry = response.Entries?.[0];
  if (!entry?.EventId) {
    throw new PutEventsError(entry?.ErrorCode ?? 'NoEventId', entry?.ErrorMessage ?? 'the entry has no EventId');
  }
  return entry.EventId;
};

export { putTestHeartbeat };
