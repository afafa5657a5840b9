/**
 * `npm run mutate:catalog`: removes or changes each clause of each detection in turn (test/helpers/clauses.ts,
 * mutationsOf), recompiles that one detection in memory and re-checks it. A mutation is caught when a sample's
 * outcome changes (match or no match, and the expected severity; a sample with `repeat` or `after` through the
 * alert pipeline, the records it arrives after meeting the detection a follows modifier names), when the detection starts matching a generated variant (an application's PutEvents look-alike or
 * an AWS service event derived from a match sample), or when a changed pattern, deployed as its own rule, alone
 * stops matching a match sample it matched or starts matching a no-match sample or variant. Prints every
 * surviving mutation and exits 1 if any survives. In-process and read-only: nothing is written.
 */
import { loadDetections } from '../functions/io/detections.js';
import { logger } from '../functions/io/logger.js';
import { mutationReport } from './helpers/clauses.js';
import { catalogSampleEvents } from './helpers/samples.js';

// The pipeline logs each event it alerts on; here that is every arrival of every repeated sample, many times.
logger.setLogLevel('SILENT');

const started = performance.now();
const events = catalogSampleEvents();

let caught = 0;
let total = 0;
const survivors: string[] = [];
const detections = loadDetections();
for (const detection of detections) {
  const report = await mutationReport(detection, events, detections);
  caught += report.caught;
  total += report.total;
  survivors.push(...report.survivors.map((label) => `${detection.id}: ${label}`));
  const notes = [
    report.invalid.length > 0 ? `${report.invalid.length} rejected by EventBridge, not tried` : '',
    report.failingSamples.length > 0 ? `samples already failing: ${report.failingSamples.join('; ')}` : '',
    report.matchedVariants.length > 0 ? `variants already matching: ${report.matchedVariants.join('; ')}` : '',
  ].filter(Boolean);
  process.stdout.write(
    `${detection.id}: ${report.caught}/${report.total} caught${notes.length > 0 ? ` (${notes.join('; ')})` : ''}\n`,
  );
}

if (survivors.length > 0) {
  process.stdout.write(`\nSurviving mutations (no sample, variant or rule tells them apart):\n`);
  for (const survivor of survivors) process.stdout.write(`  ${survivor}\n`);
}
const seconds = ((performance.now() - started) / 1000).toFixed(2);
process.stdout.write(`\n${caught}/${total} mutations caught, ${survivors.length} survived (${seconds} s)\n`);
process.exitCode = survivors.length > 0 ? 1 : 0;
