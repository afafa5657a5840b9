/**
 * The detection catalog, inlined at bundle time. An esbuild plugin for the Lambda bundles (serverless.yml,
 * custom.esbuild.plugins: build/lambda-esbuild-plugins.cjs) and the CLI's (build/cli.mjs).
 *
 * At run time, loadDetections (functions/io/detections.ts) would read events/*.yml, parse the YAML and validate every
 * document with the detection schema (zod): about 250 ms on a cold start. This plugin does that once, when bundling,
 * through the very same code (functions/io/detections.ts readCatalogDocuments, loaded with tsx), and replaces the
 * module functions/io/bundled-catalog.ts with the validated documents as JSON. The bundle then only resolves the
 * placeholders with its deployment's parameters and compiles the patterns, which takes a few milliseconds, and the
 * `yaml` package is neither loaded nor shipped. A catalog that fails to load fails the build, with the loader's
 * message naming the file and the field.
 *
 * The catalog folder given (or defaulted) at run time is the bundled one: there is no events/ folder to ship.
 * A bundle built without this plugin reads events/ at run time, as the source does.
 */
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { tsImport } from 'tsx/esm/api';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The module whose content the plugin replaces (its exports: `bundledCatalog`). */
const BUNDLED_CATALOG = /[\\/]functions[\\/]io[\\/]bundled-catalog\.ts$/;

/**
 * The esbuild plugin that inlines the catalog.
 *
 * @param {{ eventsDir?: string, samples?: boolean }} [options]
 *   eventsDir: the catalog folder (default: events/ of this repository).
 *   samples: keep each detection's samples and events/samples/parameters.yml's values (default true; the demo and
 *   `rootwatch test` need them). The Lambda functions pass false: they never read a sample, and the catalog is about
 *   half as large without them.
 * @returns {import('esbuild').Plugin}
 * @throws {Error} at build time (esbuild reports it on the module): DetectionFileError from the loader, naming the
 *   file and the field, or a document JSON cannot carry unchanged.
 * @example
 * import { build } from 'esbuild';
 * import { catalogPlugin } from './build/catalog-plugin.mjs';
 *
 * await build({ entryPoints: ['functions/cli.ts'], bundle: true, outfile: 'dist/cli.mjs', plugins: [catalogPlugin()] });
 */
export function catalogPlugin(options = {}) {
  const eventsDir = resolve(options.eventsDir ?? join(ROOT, 'events'));
  const samples = options.samples !== false;
  return {
    name: 'rootwatch-catalog',
    setup(build) {
      build.onLoad({ filter: BUNDLED_CATALOG }, async () => {
        const { readCatalogDocuments } = await tsImport(join(ROOT, 'functions/io/detections.ts'), import.meta.url);
        const catalog = readCatalogDocuments(eventsDir, { samples });
        const json = JSON.stringify(catalog);
        if (!isDeepStrictEqual(JSON.parse(json), catalog)) {
          throw new Error(`${eventsDir}: a detection holds a value JSON cannot carry unchanged (a date, Infinity, …)`);
        }
        const watchFiles = readdirSync(eventsDir)
          .filter((name) => /\.ya?ml$/.test(name))
          .map((name) => join(eventsDir, name));
        if (samples) watchFiles.push(join(eventsDir, 'samples', 'parameters.yml'));
        return {
          // JSON.parse of one string literal: V8 reads it faster than the same data as an object literal.
          contents: `export const bundledCatalog = JSON.parse(${JSON.stringify(json)});\n`,
          loader: 'js',
          watchFiles,
        };
      });
    },
  };
}
