import { describe, expect, it } from 'vitest';
import { classify } from '../../functions/core/classify.js';
import { recordToEvent } from '../../functions/core/event.js';
import { createReplayPipeline } from '../../functions/core/pipeline.js';
import { loadDetections } from '../../functions/io/detections.js';
import { readSample } from '../helpers/samples.js';

const detections = loadDetections();
const failure = readSample('root-console-sign-in-failure.json');
const failureAt = (minute: number, n: number, account = '111122223333') =>
  recordToEvent({
    ...failure,
    eventID: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    eventTime: new Date(Date.UTC(2025, 0, 1, 12, minute)).toISOString(),
    recipientAccountId: account,
  });

describe('classify', () => {
  it('returns nothing for an event no detection matches', () => {
    expect(classify(recordToEvent(readSample('iam-user-create-access-key.json')), detections)).toEqual([]);
  });

  it('orders matches most severe first', () => {
    const matches = classify(recordToEvent(readSample('root-create-access-key.json')), detections);
    expect(matches.map((m) => [m.detection.id, m.severity])).toEqual([
      ['root-access-key-created', 'critical'],
      ['root-api-call', 'high'],
    ]);
  });

  it('knows which event sources a detection is limited to, and still matches through the shortcut', () => {
    const byId = new Map(detections.map((d) => [d.id, d]));
    expect([...(byId.get('audit-trail-tampering')?.sources ?? [])]).toEqual(['aws.cloudtrail']);
    expect(byId.get('root-api-call')?.sources).toBeUndefined(); // no source in its patterns: always tried
    const stop = recordToEvent(readSample('iam-user-stop-logging.json'));
    expect(classify(stop, detections).map((m) => m.detection.id)).toEqual(['audit-trail-tampering']);
    // The same record under another source is not a CloudTrail event of that service.
    expect(classify({ ...stop, source: 'aws.s3' }, detections)).toEqual([]);
  });

  it('applies the first modifier that matches', () => {
    const [match] = classify(recordToEvent(readSample('root-api-call-long-term-key.json')), detections);
    expect(match).toMatchObject({ severity: 'critical', reason: 'made with a long-term root access key' });
  });
});

describe('repeated root sign-in failures', () => {
  const severities = (events: ReturnType<typeof failureAt>[]) => {
    const pipeline = createReplayPipeline({ detections, minSeverity: 'info', runbookBaseUrl: '' });
    return events.map((event) => pipeline(event)?.severity);
  };

  it('raises the 5th failure within 15 minutes for one account to high', () => {
    expect(severities([0, 2, 4, 6, 8, 9].map((m, i) => failureAt(m, i)))).toEqual([
      'medium',
      'medium',
      'medium',
      'medium',
      'high',
      'high',
    ]);
  });

  it('keeps failures spread over more than 15 minutes at medium', () => {
    expect(severities([0, 5, 10, 15, 20].map((m, i) => failureAt(m, i)))).toEqual(Array(5).fill('medium'));
  });

  it('counts each account on its own', () => {
    const events = [0, 1, 2, 3, 4].map((m, i) => failureAt(m, i, i % 2 === 0 ? '111122223333' : '444455556666'));
    expect(severities(events)).toEqual(Array(5).fill('medium'));
  });

  it('counts an event delivered twice once, and alerts on it once', () => {
    const twice = [0, 1, 2, 3].flatMap((m, i) => [failureAt(m, i), failureAt(m, i)]);
    expect(severities([...twice, failureAt(4, 9)])).toEqual([
      'medium',
      undefined,
      'medium',
      undefined,
      'medium',
      undefined,
      'medium',
      undefined,
      'high',
    ]);
  });
});
