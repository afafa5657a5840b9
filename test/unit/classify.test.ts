import { describe, expect, it } from 'vitest';
import { classify } from '../../functions/core/classify.js';
import { recordToEvent } from '../../functions/core/event.js';
import { loadDetections } from '../../functions/io/detections.js';
import { readSample } from '../helpers/samples.js';

const detections = loadDetections();
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
