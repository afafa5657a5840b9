import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Detection, parseDetection } from '../core/detection.js';
import { DetectionFileError, toError } from '../errors.js';

/** events/ beside functions/ in the source tree; a Lambda bundle sets DETECTIONS_DIR instead. */
const DEFAULT_DETECTIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../events');

/** Reads and validates every events/*.yml, sorted by id. Throws DetectionFileError on the first bad file. */
const loadDetections = (dir: string = DEFAULT_DETECTIONS_DIR): Detection[] => {
  let files: string[];
  try {
    files = readdirSync(dir).filter((name) => /\.ya?ml$/.test(name));
  } catch (error) {
    throw new DetectionFileError(dir, `cannot read the detections folder: ${toError(error).message}`, { cause: error });
  }
  if (files.length === 0) throw new DetectionFileError(dir, 'no detection files (*.yml) found');
  return files.sort().map((name) => parseDetection(readFileSync(join(dir, name), 'utf8'), name));
};

/** The catalog folder for a deployed function: relative to the Lambda task root, else as given. */
const detectionsDirFor = (configured: string | undefined, taskRoot: string | undefined): string => {
  if (!configured) return DEFAULT_DETECTIONS_DIR;
  return taskRoot && !configured.startsWith('/') ? join(taskRoot, configured) : configured;
};

export { DEFAULT_DETECTIONS_DIR, detectionsDirFor, loadDetections };
