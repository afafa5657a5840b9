/**
 * `npm run mutate:catalog`: removes or changes each clause of each detection in turn (test/helpers/clauses.ts,
 * mutationsOf), recompiles that one detection in memory and re-checks its samples (match or no match, and
 * the expected severity). A mutation is caught when some sample's outcome changes. Prints every surviving
 * mutation and exits 1 if any survives. In-process and read-only: nothing is written.
 */
import { loadDetections } from '../functions/io/detections.js';
import { mutationReport } from './helpers/clauses.js';
import { readSampleEvent } from './helpers/samples.js';

const started = performance.now();
const events = new Map<string, unknown>();
const eventOf = (fixture: string): unknown => {
  if (!events.has(fixture)) events.set(fixture, readSampleEvent(fixture));
  return events.get(fixture);
};

let caught = 0;
let total = 0;
const survivors: string[] = [];
for (const detection of loadDetections()) {
  const report = mutationReport(detection, eventOf);
  caught += report.caught;
  total += report.total;
  survivors.push(...report.survivors.map((label) => `${detection.id}: ${label}`));
  const notes = [
    report.invalid.length > 0 ? `${report.invalid.length} rejected by EventBridge, not tried` : '',
    report.failingSamples.length > 0 ? `samples already failing: ${report.failingSamples.join('; ')}` : '',
  ].filter(Boolean);
  process.stdout.write(
    `${detection.id}: ${report.caught}/${report.total} caught${notes.length > 0 ? ` (${notes.join('; ')})` : ''}\n`,
  );
}

if (survivors.length > 0) {
  process.stdout.write(`\nSurviving mutations (every sample still gets its expected outcome):\n`);
  for (const survivor of survivors) process.stdout.write(`  ${survivor}\n`);
}
const seconds = ((performance.now() - started) / 1000).toFixed(2);
process.stdout.write(`\n${caught}/${total} mutations caught, ${survivors.length} survived (${seconds} s)\n`);
process.exitCode = survivors.length > 0 ? 1 : 0;
