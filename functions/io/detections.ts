import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Detection, parseDetection } from '../core/detection.js';
import { DetectionFileError, toError } from '../errors.js';

/** events/ beside functions/ in the source tree; a Lambda bundle sets DETECTIONS_DIR instead. */
const DEFAULT_DETECTIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../events');

/** A detection and the base name of the file it was read from (`root-api-call.yml`). */
interface DetectionFile {
  readonly file: string;
  readonly detection: Detection;
}

/**
 * Reads and validates every `*.yml` / `*.yaml` in `dir`, sorted by file name, keeping each file's name. The one
 * reader of the catalog: the functions, the CLI, the tests and the packaging (resources/event-rules.cjs) all
 * come through here.
 *
 * @throws DetectionFileError naming the folder when it cannot be read or holds no detection file, or naming the
 *   first bad file and its field: what parseDetection rejects (unknown key, id ≠ file name, a pattern EventBridge
 *   rejects, …), and a file without a `match` or without a `no-match` sample.
 * @example
 * for (const { file, detection } of loadDetectionFiles('events')) console.log(file, detection.patterns.length);
 */
const loadDetectionFiles = (dir: string = DEFAULT_DETECTIONS_DIR): DetectionFile[] => {
  let files: string[];
  try {
    files = readdirSync(dir).filter((name) => /\.ya?ml$/.test(name));
  } catch (error) {
    throw new DetectionFileError(dir, `cannot read the detections folder: ${toError(error).message}`, { cause: error });
  }
  if (files.length === 0) throw new DetectionFileError(dir, 'no detection files (*.yml) found');
  return files.sort().map((file) => ({ file, detection: parseDetection(readFileSync(join(dir, file), 'utf8'), file) }));
};

/**
 * Reads and validates every detection in `dir` (default: the project's events/), sorted by id (the file name).
 *
 * @throws DetectionFileError on the first bad file, naming it and the field; see loadDetectionFiles.
 * @example
 * const detections = loadDetections(); // at cold start: a bad file fails here, once
 */
const loadDetections = (dir: string = DEFAULT_DETECTIONS_DIR): Detection[] =>
  loadDetectionFiles(dir).map(({ detection }) => detection);

/**
 * The catalog folder for a deployed function: DETECTIONS_DIR relative to the Lambda task root, or as given when
 * absolute (or outside Lambda); unset, the project's events/.
 *
 * @example
 * detectionsDirFor('events', '/var/task'); // '/var/task/events'
 */
const detectionsDirFor = (configured: string | undefined, taskRoot: string | undefined): string => {
  if (!configured) return DEFAULT_DETECTIONS_DIR;
  return taskRoot && !configured.startsWith('/') ? join(taskRoot, configured) : configured;
};

export { DEFAULT_DETECTIONS_DIR, detectionsDirFor, loadDetectionFiles, loadDetections };
