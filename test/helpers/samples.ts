import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CloudTrailEvent, parseEvent, recordToEvent } from '../../functions/core/event.js';
import { DEFAULT_DETECTIONS_DIR } from '../../functions/io/detections.js';

const SAMPLES_DIR = join(DEFAULT_DETECTIONS_DIR, 'samples');

/** A sample from events/samples/ by file name, as stored: a CloudTrail record, or an EventBridge event. */
const readSample = (fileName: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(SAMPLES_DIR, fileName), 'utf8')) as Record<string, unknown>;

/**
 * Whether a sample is a whole EventBridge event rather than a CloudTrail record: the samples that need
 * their envelope, such as an application's PutEvents look-alike of a CloudTrail event (its `source` is
 * not `aws.…`, which no CloudTrail record can express).
 */
const isEnvelope = (sample: Record<string, unknown>): boolean => 'detail' in sample && 'detail-type' in sample;

/** The event a detection sees for a sample: an EventBridge event as stored, or the one AWS builds around a record. */
const readSampleEvent = (fileName: string): CloudTrailEvent => {
  const sample = readSample(fileName);
  return isEnvelope(sample) ? parseEvent(sample) : recordToEvent(sample);
};

/** The CloudTrail record of a sample: the record itself, or an envelope's `detail`. */
const readSampleRecord = (fileName: string): Record<string, unknown> => {
  const sample = readSample(fileName);
  return isEnvelope(sample) ? (sample.detail as Record<string, unknown>) : sample;
};

export { readSample, readSampleEvent, readSampleRecord, SAMPLES_DIR };
