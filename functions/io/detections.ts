import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  checkFollowedDetections,
  compileDetectionSpec,
  type Detection,
  type DetectionParameters,
  type DetectionSpec,
  parseDetection,
  parseDetectionYaml,
  validateDetection,
} from '../core/detection.js';
import { DetectionFileError, toError } from '../errors.js';
import { bundledCatalog } from './bundled-catalog.js';
import { detectionParametersOf, readDetectionParameterFile } from './config.js';

/**
 * events/ beside functions/ in the source tree. In a bundle built with build/catalog-plugin.mjs, this folder (given or
 * by default) means the catalog the bundle carries (io/bundled-catalog.ts), which is read from no file.
 */
const DEFAULT_DETECTIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../events');

/**
 * The parameter values the catalog's samples are tested with, beside the samples (a replay configuration file).
 * The deployed functions ship no samples/ folder.
 */
const SAMPLE_PARAMETERS_FILE = join('samples', 'parameters.yml');

/**
 * The placeholders' values for the catalog in `dir` as its samples test it: `dir`/samples/parameters.yml, or none
 * when there is no such file.
 */
const sampleParametersOf = (dir: string): DetectionParameters => {
  const file = join(dir, SAMPLE_PARAMETERS_FILE);
  if (!existsSync(file)) return {};
  try {
    return detectionParametersOf(readDetectionParameterFile(file));
  } catch (error) {
    throw new DetectionFileError(SAMPLE_PARAMETERS_FILE, toError(error).message, { cause: error });
  }
};

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
 * Placeholders (`{ param: trailBuckets }`) take their values from `parameters`: the deployment's, which the alert
 * function, replay and packaging always pass (a parameter without values makes its clause match nothing). Without
 * `parameters` (the tests, `npm start`), they take the values the samples are tested with, from
 * `dir`/samples/parameters.yml.
 *
 * @throws DetectionFileError naming the folder when it cannot be read or holds no detection file, or naming the
 *   first bad file and its field: what parseDetection rejects (unknown key, id ≠ file name, an unknown
 *   placeholder, a pattern EventBridge rejects, …), and a file without a `match` or without a `no-match` sample;
 *   a follows modifier naming a detection the folder lacks; or naming samples/parameters.yml when it is invalid.
 * In a bundle built with build/catalog-plugin.mjs, the default folder is the catalog the bundle carries, validated
 * when it was built: its documents are only resolved and compiled here (no file read, no YAML, no schema).
 *
 * @example
 * for (const { file, detection } of loadDetectionFiles('events', {})) console.log(file, detection.patterns.length);
 */
const loadDetectionFiles = (
  dir: string = DEFAULT_DETECTIONS_DIR,
  parameters?: DetectionParameters,
): DetectionFile[] => {
  if (bundledCatalog && dir === DEFAULT_DETECTIONS_DIR) {
    const values = parameters ?? bundledCatalog.sampleParameters ?? {};
    const loaded = bundledCatalog.documents.map(({ file, spec }) => ({
      file,
      detection: compileDetectionSpec(spec, file, values),
    }));
    checkFollowedDetections(loaded.map(({ detection }) => detection));
    return loaded;
  }
  let files: string[];
  try {
    files = readdirSync(dir).filter((name) => /\.ya?ml$/.test(name));
  } catch (error) {
    throw new DetectionFileError(dir, `cannot read the detections folder: ${toError(error).message}`, { cause: error });
  }
  if (files.length === 0) throw new DetectionFileError(dir, 'no detection files (*.yml) found');
  const values = parameters ?? sampleParametersOf(dir);
  const loaded = files
    .sort()
    .map((file) => ({ file, detection: parseDetection(readFileSync(join(dir, file), 'utf8'), file, values) }));
  checkFollowedDetections(loaded.map(({ detection }) => detection));
  return loaded;
};

/**
 * What build/catalog-plugin.mjs inlines: every `*.yml` / `*.yaml` of `dir` parsed and validated (validateDetection),
 * sorted by file name, placeholders unresolved; and samples/parameters.yml's values, when `samples`. Without
 * `samples` (the Lambda bundles), each detection's samples, references and false positives are left out too: no
 * deployed function reads them, and they are a fifth of the catalog. The whole catalog
 * is also loaded as loadDetectionFiles loads it (with the samples' values, and with none), so that a bundle is never
 * built with a catalog that fails to load.
 *
 * @throws DetectionFileError as loadDetectionFiles does.
 * @example
 * const { documents } = readCatalogDocuments('events', { samples: false });
 * documents[0]; // { file: 'alerter-tampering.yml', spec: { id: 'alerter-tampering', …, references: [], samples: [] } }
 */
const readCatalogDocuments = (
  dir: string,
  options: { samples?: boolean } = {},
): { documents: { file: string; spec: DetectionSpec }[]; sampleParameters?: DetectionParameters } => {
  loadDetectionFiles(dir);
  loadDetectionFiles(dir, {});
  const documents = readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((file) => {
      const spec = validateDetection(parseDetectionYaml(readFileSync(join(dir, file), 'utf8'), file), file);
      // The deployed functions (samples: false) read neither samples nor the catalog's prose for reviewers.
      const deployed = { ...spec, samples: [], references: [], falsePositives: [] } as DetectionSpec;
      return { file, spec: options.samples === false ? deployed : spec };
    });
  return options.samples === false ? { documents } : { documents, sampleParameters: sampleParametersOf(dir) };
};

/**
 * Reads and validates every detection in `dir` (default: the project's events/), sorted by id (the file name),
 * with `parameters` as the placeholders' values (default: the samples' values; see loadDetectionFiles).
 *
 * @throws DetectionFileError on the first bad file, naming it and the field; see loadDetectionFiles.
 * @example
 * const detections = loadDetections(); // the catalog as its samples test it
 * const deployed = loadDetections(undefined, { trailBuckets: ['my-trail-bucket'] }); // as a deployment sees it
 */
const loadDetections = (dir: string = DEFAULT_DETECTIONS_DIR, parameters?: DetectionParameters): Detection[] =>
  loadDetectionFiles(dir, parameters).map(({ detection }) => detection);

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

export { DEFAULT_DETECTIONS_DIR, detectionsDirFor, loadDetectionFiles, loadDetections, readCatalogDocuments };
