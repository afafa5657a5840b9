import type { DetectionParameters, DetectionSpec } from '../core/detection.js';

/**
 * The default catalog (events/*.yml) as a bundle carries it: build/catalog-plugin.mjs validates the files at bundle
 * time and replaces this module with their documents as JSON, so a bundle neither reads nor parses YAML at run time.
 */
interface BundledCatalog {
  /** Each detection file's base name (`root-api-call.yml`) and validated document, sorted by file name. */
  readonly documents: readonly { readonly file: string; readonly spec: DetectionSpec }[];
  /**
   * events/samples/parameters.yml's values, the placeholders' values when a caller gives none (loadDetections); absent
   * when the bundle was built without the samples (the Lambda functions, which always pass theirs).
   */
  readonly sampleParameters?: DetectionParameters;
}

/**
 * Undefined in the source tree, where the catalog is read from events/ (io/detections.ts); in a bundle built with
 * build/catalog-plugin.mjs, the catalog it was built with.
 */
const bundledCatalog = undefined as BundledCatalog | undefined;

export { bundledCatalog };
