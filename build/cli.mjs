#!/usr/bin/env node
// Builds the command line into dist/ (`npm run build`; `npm ci` and `npm install` run it as `prepare`), so that
// bin/rootwatch.mjs starts plain JavaScript instead of compiling the TypeScript sources through tsx on every run.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { catalogPlugin } from './catalog-plugin.mjs';
import lambdaPlugins from './lambda-esbuild-plugins.cjs';

/** The repository: build/ is one of its folders. */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The folders (relative to the repository) whose files the bundle is built from: a file in them newer than the build
 * makes the bundle stale (bin/rootwatch.mjs then runs the sources). events/ holds the catalog the bundle may embed,
 * build/ this script and its plugins.
 */
const SOURCE_DIRS = ['functions', 'events', 'build'];

/** The file in the output folder recording when the build started, read by bin/rootwatch.mjs. */
const STAMP_FILE = 'build-stamp.json';

/**
 * Packages left out of the bundle and imported from node_modules when their command runs: Node-only servers the demo
 * starts (dynalite and its LevelDB, fauxqs), the Serverless Framework deploy runs, and the TypeScript loader.
 */
const EXTERNAL = ['dynalite', 'fauxqs', 'osls', 'serverless', 'serverless-esbuild', 'esbuild', 'tsx'];

/**
 * `import.meta.url` in a bundle is the bundle's file, not the source's: a source that finds files beside itself with
 * `fileURLToPath(import.meta.url)` (events/ two folders up, serverless.yml) would look beside dist/ instead. This
 * plugin rewrites that expression in each source to the path of the source file itself, relative to the output
 * folder, so those files are found where they are in the repository. `new URL(…, import.meta.url)` and
 * `createRequire(import.meta.url)` are left alone: they name files beside the bundle (the replay worker) and packages.
 *
 * @param {string} outdir absolute path of the output folder
 * @returns {import('esbuild').Plugin}
 */
const sourceLocationPlugin = (outdir) => ({
  name: 'rootwatch-source-location',
  setup(build) {
    build.onLoad({ filter: /[\\/]functions[\\/].*\.ts$/ }, async ({ path }) => {
      const { readFile } = await import('node:fs/promises');
      const text = await readFile(path, 'utf8');
      if (!text.includes('fileURLToPath(import.meta.url)')) return undefined;
      const fromOutput = relative(outdir, path).split(sep).join('/');
      return {
        contents: text.replaceAll(
          'fileURLToPath(import.meta.url)',
          `fileURLToPath(new URL(${JSON.stringify(fromOutput)}, import.meta.url))`,
        ),
        loader: 'ts',
      };
    });
  },
});

/**
 * The plugins the Lambda bundles are built with too (the lambda part's): the default catalog of `root`/events embedded
 * as validated JSON, samples included (the demo replays them), so that neither `yaml` nor the YAML parse and schema
 * run at start (build/catalog-plugin.mjs); and zod without its locales but English, 260 KB less to load
 * (build/lambda-esbuild-plugins.cjs, found there by its name).
 *
 * @param {string} root the repository built
 * @returns {import('esbuild').Plugin[]}
 */
const sharedPlugins = (root) => [
  catalogPlugin({ eventsDir: join(root, 'events') }),
  ...lambdaPlugins().filter((plugin) => plugin.name === 'rootwatch-zod-english'),
];

/**
 * Builds the command line: functions/cli.ts into `outdir`/cli.mjs and, when it exists, the replay worker
 * functions/io/input/replay-worker.ts into `outdir`/replay-worker.mjs, as minified ES modules for Node 20, split
 * so that each command's modules (deploy, forwarders, demo, test-alert, their AWS SDK clients) are chunks loaded
 * only when it runs. Empties `outdir` first, and writes `outdir`/build-stamp.json last (see {@link STAMP_FILE}).
 *
 * @param {{ root?: string, outdir?: string, minify?: boolean }} [options] root: the repository to build (default
 *   this one); outdir: the output folder (default `root`/dist); minify: false keeps names and one module's code
 *   together under a comment naming it, for reading a CPU profile (default true)
 * @returns {Promise<{ outdir: string, files: string[], bytes: number }>} the files written (relative to `outdir`) and
 *   the total size of the modules among them (source maps apart), in bytes
 * @throws the esbuild error listing what failed to compile or resolve
 */
const buildCli = async ({ root = REPO_ROOT, outdir = join(root, 'dist'), minify = true } = {}) => {
  const startedAt = Date.now();
  const { build } = await import('esbuild');
  const entryPoints = { cli: join(root, 'functions', 'cli.ts') };
  const worker = join(root, 'functions', 'io', 'input', 'replay-worker.ts');
  if (existsSync(worker)) entryPoints['replay-worker'] = worker;
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints,
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minify,
    // One flat folder: a chunk's import.meta.url is then beside cli.mjs and replay-worker.mjs.
    entryNames: '[name]',
    chunkNames: '[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    external: EXTERNAL,
    // The packages' ES module builds first (esbuild's default for Node is CommonJS first): an import() of a
    // CommonJS package split into its own chunk yields only a default export, and the sources import the AWS SDK
    // clients with import() so that only the command that needs one loads it.
    mainFields: ['module', 'main'],
    // Bundled CommonJS packages (the AWS SDK's) call require; ES modules have none. Aliased so that a source
    // importing createRequire itself does not declare it twice.
    banner: {
      js: "import{createRequire as __rootwatchCreateRequire}from'node:module';const require=__rootwatchCreateRequire(import.meta.url);",
    },
    legalComments: 'none',
    // Read only under `node --enable-source-maps bin/rootwatch.mjs …`: stack traces naming the sources' lines.
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    plugins: [sourceLocationPlugin(outdir), ...sharedPlugins(root)],
  });
  const files = Object.keys(result.metafile.outputs).map((file) => relative(outdir, resolve(root, file)));
  const bytes = files
    .filter((file) => file.endsWith('.mjs'))
    .reduce((sum, file) => sum + statSync(join(outdir, file)).size, 0);
  writeFileSync(join(outdir, STAMP_FILE), `${JSON.stringify({ startedAt, sources: SOURCE_DIRS })}\n`);
  return { outdir, files, bytes };
};

/**
 * The newest modification time (ms since the epoch) of the files under `root`'s {@link SOURCE_DIRS}, 0 when none.
 * bin/rootwatch.mjs does the same walk inline (it must not import this module's helpers to stay cheap).
 *
 * @param {string} [root]
 * @returns {number}
 */
const newestSourceTime = (root = REPO_ROOT) => {
  let newest = 0;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const dir of SOURCE_DIRS) if (existsSync(join(root, dir))) walk(join(root, dir));
  return newest;
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // --optional (the prepare script): an install without devDependencies has no esbuild; the bin then runs the sources.
  const optional = process.argv.includes('--optional');
  try {
    const { outdir, files, bytes } = await buildCli();
    process.stderr.write(
      `rootwatch: built ${relative(process.cwd(), outdir) || '.'}/ (${files.length} files, ${Math.round(bytes / 1024)} KB of modules)\n`,
    );
  } catch (error) {
    if (optional && error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes("'esbuild'")) {
      process.stderr.write('rootwatch: esbuild is not installed, so dist/ was not built: bin runs the sources\n');
    } else {
      throw error;
    }
  }
}

export { buildCli, EXTERNAL, newestSourceTime, SOURCE_DIRS, STAMP_FILE };
