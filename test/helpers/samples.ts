import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Detection } from '../../functions/core/detection.js';
import { type CloudTrailEvent, parseEvent, recordToEvent } from '../../functions/core/event.js';
import { DEFAULT_DETECTIONS_DIR } from '../../functions/io/detections.js';

const SAMPLES_DIR = join(DEFAULT_DETECTIONS_DIR, 'samples');

/**
 * A sample of a detection file: its name, expected outcome, fixture and, for a threshold, its repetition; for a
 * follows modifier, the records it arrives after.
 */
type Sample = Detection['samples'][number];

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

/** `2022-11-10T16:24:34Z` as CloudTrail writes times: whole seconds, no milliseconds. */
const cloudTrailTime = (ms: number): string =>
  new Date(Math.round(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/**
 * `fileName`'s record arriving at `timeMs` with the eventID `id`: an EventBridge event as stored, its `time` and
 * record's eventTime moved, or the event AWS builds around the moved record.
 */
const arrivalAt = (fileName: string, timeMs: number, id: string): CloudTrailEvent => {
  const stored = readSample(fileName);
  const time = cloudTrailTime(timeMs);
  const arrival = { ...readSampleRecord(fileName), eventID: id, eventTime: time };
  return isEnvelope(stored) ? parseEvent({ ...stored, time, detail: arrival }) : recordToEvent(arrival);
};

/** A sample's record's eventTime in epoch milliseconds. */
const eventTimeOf = (fileName: string, why: string): number => {
  const start = Date.parse(String(readSampleRecord(fileName).eventTime));
  if (Number.isNaN(start)) throw new Error(`${fileName}: ${why} needs an eventTime`);
  return start;
};

/** The sample's own record: once, or its `repeat` arrivals. */
const ownArrivals = (sample: Sample): CloudTrailEvent[] => {
  if (!sample.repeat) return [readSampleEvent(sample.fixture)];
  const { count, everyMinutes } = sample.repeat;
  const start = eventTimeOf(sample.fixture, 'a repeated sample');
  const eventId = String(readSampleRecord(sample.fixture).eventID);
  return Array.from({ length: count }, (_, i) =>
    arrivalAt(sample.fixture, start + i * everyMinutes * 60_000, `${eventId}-repeat-${i + 1}`),
  );
};

/**
 * The events a sample stands for, in the order they arrive; the last one is judged. One event, or for a sample
 * with `repeat: { count, everyMinutes }` its record `count` times, `everyMinutes` apart from its own eventTime
 * on, each arrival with an eventID of its own (`…-repeat-1`, `…-repeat-2`, …) so that none is a duplicate. A sample
 * with `after: { fixture, count, everyMinutes, minutesBefore }` is preceded by that record `count` times,
 * `everyMinutes` apart, the last of them `minutesBefore` before the sample's eventTime (`…-before-1`, …).
 *
 * @example
 * sampleArrivals({ name: 'five', expect: 'match', fixture: 'root-console-sign-in-failure.json', repeat: { count: 5, everyMinutes: 3 } })
 *   .map((event) => event.time); // 16:24:34, 16:27:34, 16:30:34, 16:33:34, 16:36:34
 * sampleArrivals({ name: 'after', expect: 'match', fixture: 'root-console-sign-in-mfa-upper-case.json',
 *   after: { fixture: 'root-console-sign-in-failure.json', count: 2, everyMinutes: 3, minutesBefore: 1 } })
 *   .map((event) => event.time); // 16:20:34, 16:23:34, 16:24:34
 */
const sampleArrivals = (sample: Sample): CloudTrailEvent[] => {
  const own = ownArrivals(sample);
  if (!sample.after) return own;
  const { fixture, count, everyMinutes = 0, minutesBefore } = sample.after;
  const last = eventTimeOf(sample.fixture, 'a sample with after') - minutesBefore * 60_000;
  const eventId = String(readSampleRecord(fixture).eventID);
  const before = Array.from({ length: count }, (_, i) =>
    arrivalAt(fixture, last - (count - 1 - i) * everyMinutes * 60_000, `${eventId}-before-${i + 1}`),
  );
  return [...before, ...own];
};

/** An event derived from a match sample that no detection may match. */
interface Variant {
  /** `root-password-updated.json as an AWS service event`. */
  readonly label: string;
  readonly event: CloudTrailEvent;
}

/** The source of the PutEvents look-alikes: an application's, as PutEvents allows (never `aws.…`). */
const APPLICATION_SOURCE = 'com.example.app';

/**
 * The two events every match sample stands for on the other side of the catalog's two catalog-wide rules
 * (README, "The detections"), each of which must match no detection:
 * - the same event put on the bus by an application: `source` com.example.app (PutEvents refuses `aws.`), its
 *   detail-type and record unchanged;
 * - the same record as an AWS service event (`eventType` AwsServiceEvent, detail-type "AWS Service Event via
 *   CloudTrail"): AWS acting on its own, never a person's action.
 * A match sample alone cannot show the `source` and `detail-type` clauses working; these do.
 */
const generatedVariants = (sample: Sample): Variant[] => {
  if (sample.expect !== 'match') return [];
  const record = readSampleRecord(sample.fixture);
  return [
    {
      label: `${sample.fixture} put by an application (source ${APPLICATION_SOURCE})`,
      event: { ...readSampleEvent(sample.fixture), source: APPLICATION_SOURCE },
    },
    {
      label: `${sample.fixture} as an AWS service event`,
      event: recordToEvent({ ...record, eventType: 'AwsServiceEvent' }),
    },
  ];
};

/** sampleArrivals and generatedVariants, each sample read once (the mutation run asks for them many times). */
const catalogSampleEvents = () => {
  const arrivals = new Map<Sample, CloudTrailEvent[]>();
  const variants = new Map<Sample, Variant[]>();
  return {
    arrivals(sample: Sample): readonly CloudTrailEvent[] {
      let events = arrivals.get(sample);
      if (!events) {
        events = sampleArrivals(sample);
        arrivals.set(sample, events);
      }
      return events;
    },
    variants(sample: Sample): readonly Variant[] {
      let derived = variants.get(sample);
      if (!derived) {
        derived = generatedVariants(sample);
        variants.set(sample, derived);
      }
      return derived;
    },
  };
};

export {
  catalogSampleEvents,
  generatedVariants,
  isEnvelope,
  readSample,
  readSampleEvent,
  readSampleRecord,
  SAMPLES_DIR,
  sampleArrivals,
};
