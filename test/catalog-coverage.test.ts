import { describe, expect, it } from 'vitest';
import { classify } from '../functions/core/classify.js';
import { loadDetections } from '../functions/io/detections.js';
import { coverageGaps } from './helpers/clauses.js';
import { catalogSampleEvents } from './helpers/samples.js';

/*
 * Every clause of the catalog is proven by a sample (test/helpers/clauses.ts): each pattern, `$or` branch,
 * list value and severity modifier is reached by a match sample (a threshold by a sample that repeats, a follows
 * modifier by a sample that arrives after the records of the detection it follows), and
 * each exclusion (anything-but, exists: false, a modifier's match) is shown working by a sample or a
 * generated variant. The patterns are the loaded ones, with whatever the loader resolves already in place.
 * `npm run mutate:catalog` checks the same from the other side.
 */

const detections = loadDetections();
const events = catalogSampleEvents();

describe('every clause of the catalog', () => {
  it.each(detections)('$id is proven by its samples', async (detection) => {
    // Act
    const gaps = await coverageGaps(detection, events, detections);
    // Assess
    expect(gaps, `unproven clauses:\n${gaps.join('\n')}`).toEqual([]);
  });
});

describe('the variants generated from every match sample', () => {
  // An application's PutEvents dressed as CloudTrail, and AWS acting on its own: neither is a person's action.
  it('match no detection', () => {
    // Prepare
    const variants = detections.flatMap((detection) => detection.samples.flatMap((sample) => events.variants(sample)));
    // Act
    const matched = variants.flatMap(({ label, event }) =>
      classify(event, detections).map((match) => `${label} matches ${match.detection.id}`),
    );
    // Assess
    expect(variants.length).toBeGreaterThan(0);
    expect(matched).toEqual([]);
  });
});
