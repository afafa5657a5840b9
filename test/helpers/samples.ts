import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_DETECTIONS_DIR } from '../../functions/io/detections.js';

const SAMPLES_DIR = join(DEFAULT_DETECTIONS_DIR, 'samples');

/** A sample CloudTrail record from events/samples/ by file name. */
const readSample = (fileName: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(SAMPLES_DIR, fileName), 'utf8')) as Record<string, unknown>;

export { readSample, SAMPLES_DIR };
