'use strict';

/**
 * The esbuild plugins of the Lambda bundles: serverless.yml names this file in custom.esbuild.plugins, and
 * serverless-esbuild require()s it and calls the exported function (its README, "Esbuild Plugins"). CommonJS (`.cjs`)
 * because the plugin loader require()s it and package.json says "type": "module"; the catalog plugin, an ES module,
 * is imported inside an async setup, which esbuild awaits.
 *
 * - rootwatch-catalog (build/catalog-plugin.mjs): the detection catalog inlined as validated JSON, without its samples.
 * - rootwatch-split-per-function: what a function's first invocation needs in chunks of its own (see below).
 * - rootwatch-zod-english: zod's classic API (`import { z } from 'zod'`) re-exports every locale as `z.locales`, about
 *   260 KB minified of error messages in 40-odd languages, none of which rootwatch uses (zod speaks English unless
 *   configured otherwise, https://zod.dev/error-customization#internationalization); and `z.fromJSONSchema`, which
 *   builds schemas from JSON Schema and which no function calls. In a Lambda bundle the locales are English only and
 *   fromJSONSchema throws. esbuild fails the build if zod's exports change so that these stand-ins no longer fit.
 */

const path = require('node:path');

/** zod's classic entry and its core's index, the modules whose imports are replaced (both re-export `locales`). */
const ZOD_IMPORTERS = /[\\/]zod[\\/]v4[\\/](?:classic[\\/]external|core[\\/]index)\.js$/;

const zodEnglishOnly = () => ({
  name: 'rootwatch-zod-english',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$|^\.\/from-json-schema\.js$/ }, (args) => {
      if (!ZOD_IMPORTERS.test(args.importer)) return undefined;
      return { path: path.join(path.dirname(args.importer), args.path), namespace: 'rootwatch-zod-english' };
    });
    build.onLoad({ filter: /.*/, namespace: 'rootwatch-zod-english' }, (args) => {
      const resolveDir = path.dirname(args.path);
      if (args.path.endsWith('index.js')) {
        return { contents: "export { default as en } from './en.js';\n", resolveDir, loader: 'js' };
      }
      return {
        contents:
          "export const fromJSONSchema = () => { throw new Error('z.fromJSONSchema is not in this bundle (build/lambda-esbuild-plugins.cjs)'); };\n",
        resolveDir,
        loader: 'js',
      };
    });
  },
});

/**
 * Each function's code that its first invocation needs but its module load does not (everything behind the entries'
 * `await import(…)`: the wiring's modules, zod's schemas, the catalog, the renderers) goes to chunks of its own
 * (esbuild `splitting`), which Node reads and compiles on that first import rather than at load: compiling the text
 * of the bundle was most of a cold start's module load. The chunks are named after the function's entry
 * (`functions/alert.chunk-<hash>.mjs`), so that serverless-esbuild puts them in that function's zip only: it leaves
 * out of a zip every file whose path starts with another function's bundle path and a dot (its pack.js,
 * filterFilesForZipPackage). serverless-esbuild builds each function's entry on its own, so this plugin sees one entry.
 */
const splitPerFunction = () => ({
  name: 'rootwatch-split-per-function',
  setup(build) {
    const entries = [build.initialOptions.entryPoints ?? []].flat();
    if (entries.length !== 1 || typeof entries[0] !== 'string' || build.initialOptions.format !== 'esm') return;
    const base = path.basename(entries[0]).replace(/\.[^.]+$/, '');
    build.initialOptions.splitting = true;
    build.initialOptions.chunkNames = `${base}.[name]-[hash]`;
  },
});

module.exports = () => [
  {
    name: 'rootwatch-catalog',
    async setup(build) {
      const { catalogPlugin } = await import('./catalog-plugin.mjs');
      await catalogPlugin({ samples: false }).setup(build);
    },
  },
  zodEnglishOnly(),
  splitPerFunction(),
];
