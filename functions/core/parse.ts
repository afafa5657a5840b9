import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import type { z } from 'zod';
import { EventParseError } from '../errors.js';
import { type CloudTrailEvent, CloudTrailRecordSchema, eventIdOf } from './event.js';

/** A CloudTrail record as EventBridge delivers it: Powertools' envelope schema with our detail. */
const RootActivityEventSchema = EventBridgeSchema.extend({ detail: CloudTrailRecordSchema });

/**
 * Parses what EventBridge handed the Lambda. The alert's id is the CloudTrail eventID, not the
 * EventBridge id, so that one CloudTrail event yields one alert whichever rule or retry delivered it.
 */
const parseEvent = (raw: unknown): CloudTrailEvent => {
  const result = RootActivityEventSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`);
    throw new EventParseError(`not a CloudTrail event from EventBridge: ${problems.join('; ')}`, {
      cause: result.error,
    });
  }
  const envelope = result.data;
  // Keep the record exactly as delivered (zod copies objects): alerts carry it unchanged.
  const detail = (raw as { detail: CloudTrailEvent['detail'] }).detail;
  return {
    version: envelope.version,
    id: eventIdOf(detail, detail),
    'detail-type': envelope['detail-type'],
    source: envelope.source,
    account: envelope.account,
    time: envelope.time,
    region: envelope.region,
    resources: envelope.resources,
    detail,
  };
};

export { parseEvent, RootActivityEventSchema };
export type RootActivityEvent = z.infer<typeof RootActivityEventSchema>;
