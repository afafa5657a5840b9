import type { EventBridgeEvent } from 'aws-lambda';

/**
 * Lambda entry for the EventBridge rules generated from events/*.yml. A placeholder until the alert
 * pipeline lands: it only logs that an event arrived, so packaging and wiring can be tested.
 */
const handler = async (event: EventBridgeEvent<string, unknown>): Promise<void> => {
  console.log(JSON.stringify({ message: 'rootwatch alert received', id: event?.id }));
};

export { handler };
