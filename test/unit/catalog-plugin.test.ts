import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: an ES module without types, as the CLI build imports it too.
import { catalogPlugin } from '../../build/catalog-plugin.mjs';
import type { Detection } from '../../functions/core/detection.js';
import { DEFAULT_DETECTIONS_DIR, loadDetectionFiles } from '../../functions/io/detections.js';
import { REPO_ROOT } from '../helpers/corpus.js';

/**
 * build/catalog-plugin.mjs: a bundle built with it carries the catalog as validated JSON and loads it without reading
 * events/, the YAML parser or the detection schema, with the same detections as the source reads from events/.
 */

type Loader = typeof loadDetectionFiles;
const ENTRY = `export { loadDetectionFiles, DEFAULT_DETECTIONS_DIR } from ${JSON.stringify(join(REPO_ROOT, 'functions/io/detections.ts'))};`;

/** Bundles the catalog loader with the plugin (given options) into `dir`, returning the bundle's path. */
const bundleLoader = async (dir: string, options?: Record<string, unknown>): Promise<string> => {
  const outfile = join(dir, `loader-${Math.random().toString(36).slice(2)}.mjs`);
  await build({
    stdin: { contents: ENTRY, resolveDir: REPO_ROOT, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    external: ['yaml', 'zod'],
    plugins: [catalogPlugin(options)],
    logLevel: 'silent',
  });
  return outfile;
};

/** What a detection is, apart from its compiled functions. */
const dataOf = (detection: Detection) =>
  JSON.parse(JSON.stringify(detection, (key, value) => (key === 'sources' ? [...(value as Set<string>)] : value)));

describe('catalogPlugin', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rootwatch-catalog-plugin-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('inlines the catalog: the bundle loads the same detections (patterns resolved, modifiers, samples) from no file', async () => {
    // Prepare
    const bundle = await bundleLoader(dir);
    const { loadDetectionFiles: bundled, DEFAULT_DETECTIONS_DIR: bundledDir } = (await import(
      pathToFileURL(bundle).href
    )) as { loadDetectionFiles: Loader; DEFAULT_DETECTIONS_DIR: string };
    const parameters = { trailBuckets: ['my-trail-bucket'], slackWebhookParameter: ['/rootwatch/x/slack'] };

    // Act
    const fromBundle = bundled(undefined, parameters);
    const fromSource = loadDetectionFiles(DEFAULT_DETECTIONS_DIR, parameters);
    const samplesFromBundle = bundled();

    // Assess
    expect(bundledDir).not.toBe(DEFAULT_DETECTIONS_DIR); // the bundle's own folder, which holds no events/
    expect(fromBundle.map(({ file }) => file)).toStrictEqual(fromSource.map(({ file }) => file));
    expect(fromBundle.map(({ detection }) => dataOf(detection))).toStrictEqual(
      fromSource.map(({ detection }) => dataOf(detection)),
    );
    expect(samplesFromBundle.map(({ detection }) => dataOf(detection))).toStrictEqual(
      loadDetectionFiles().map(({ detection }) => dataOf(detection)),
    );
    const text = readFileSync(bundle, 'utf8');
    expect(text).not.toMatch(/from ["']yaml["']/);
  });

  it('leaves the samples, references and false positives out when asked (the Lambda bundles), and nothing else', async () => {
    // Prepare
    const bundle = await bundleLoader(dir, { samples: false });
    const { loadDetectionFiles: bundled } = (await import(pathToFileURL(bundle).href)) as {
      loadDetectionFiles: Loader;
    };

    // Act
    const loaded = bundled(undefined, {});

    // Assess
    const source = loadDetectionFiles(DEFAULT_DETECTIONS_DIR, {});
    expect(loaded.map(({ detection }) => detection.samples)).toStrictEqual(source.map(() => []));
    expect(loaded.map(({ detection }) => [detection.references, detection.falsePositives])).toStrictEqual(
      source.map(() => [[], []]),
    );
    const deployed = (detection: (typeof source)[number]['detection']) => ({
      ...dataOf(detection),
      samples: [],
      references: [],
      falsePositives: [],
    });
    expect(loaded.map(({ detection }) => deployed(detection))).toStrictEqual(
      source.map(({ detection }) => deployed(detection)),
    );
  });

  it("fails the build with the loader's message when a detection file is invalid", async () => {
    // Prepare: a copy of events/ with an unknown key in one file.
    const events = join(dir, 'events');
    cpSync(join(REPO_ROOT, 'events'), events, { recursive: true });
    const file = join(events, 'root-api-call.yml');
    writeFileSync(file, `${readFileSync(file, 'utf8')}colour: red\n`);

    // Act
    const failure = await bundleLoader(dir, { eventsDir: events }).then(
      () => undefined,
      (error: Error) => error,
    );

    // Assess
    expect(failure?.message).toMatch(/root-api-call\.yml: .*"colour"/);
  });
});
