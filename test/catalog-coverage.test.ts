import { describe, expect, it } from 'vitest';
import { loadDetections } from '../functions/io/detections.js';
import { coverageGaps } from './helpers/clauses.js';
import { readSampleEvent } from './helpers/samples.js';

/*
 * Every clause of the catalog is proven by a sample (test/helpers/clauses.ts): each pattern, `$or` branch,
 * list value and severity modifier is reached by a match sample, and each exclusion (anything-but,
 * exists: false, a modifier's match) is shown working by a sample. The patterns are the loaded ones, with
 * whatever the loader resolves already in place. `npm run mutate:catalog` checks the same from the other side.
 */

const detections = loadDetections();
const events = new Map<string, unknown>();
const eventOf = (fixture: string): unknown => {
  if (!events.has(fixture)) events.set(fixture, readSampleEvent(fixture));
  return events.get(fixture);
};

describe('every clause of the catalog', () => {
  it.each(detections)('$id is proven by its samples', (detection) => {
    // Act
    const gaps = coverageGaps(detection, eventOf);
    // Assess
    expect(gaps, `unproven clauses:\n${gaps.join('\n')}`).toEqual([]);
  });
});
