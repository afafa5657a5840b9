import { execFile } from 'node:child_process';
import {
  appendFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from '../../build/cli.mjs';
import { runCliCaptured } from '../helpers/cli.js';
import { readSampleRecord, SAMPLES_DIR } from '../helpers/samples.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * A copy of the repository's parts the command line is built from (bin/, build/, functions/, events/, package.json)
 * in a temporary folder, with node_modules linked package by package, and dist/ built in it: the copy's sources can
 * be edited, and its tsx removed, without touching the checkout.
 */
let copy: string;
/** The files buildCli wrote in the copy's dist/. */
let built: string[];

/** Links every package of the checkout's node_modules into the copy's, but tsx unless `withTsx`. */
const linkNodeModules = (withTsx: boolean) => {
  const modules = join(copy, 'node_modules');
  rmSync(modules, { recursive: true, force: true });
  mkdirSync(modules);
  for (const name of readdirSync(join(REPO_ROOT, 'node_modules'))) {
    if (name === 'tsx' && !withTsx) continue;
    symlinkSync(join(REPO_ROOT, 'node_modules', name), join(modules, name));
  }
};

/** Runs `node <copy>/bin/rootwatch.mjs …args` from a folder outside the copy; never rejects. */
const runBin = (args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    execFile(
      process.execPath,
      [join(copy, 'bin', 'rootwatch.mjs'), ...args],
      { cwd: tmpdir(), maxBuffer: 64 * 1024 * 1024, env: { PATH: process.env.PATH ?? '' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });

beforeAll(async () => {
  copy = mkdtempSync(join(tmpdir(), 'rootwatch-cli-bundle-'));
  for (const part of ['bin', 'build', 'functions', 'events', 'package.json']) {
    cpSync(join(REPO_ROOT, part), join(copy, part), { recursive: true });
  }
  // Built with tsx present (the catalog plugin loads the catalog's TypeScript loader with it), run without.
  linkNodeModules(true);
  ({ files: built } = await buildCli({ root: copy }));
  linkNodeModules(false);
}, 120_000);

afterAll(() => {
  if (copy) rmSync(copy, { recursive: true, force: true });
});

describe('the bundled command line (dist/, without tsx installed)', () => {
  it('prints the same help as the sources', async () => {
    // Act
    const bundled = await runBin(['--help']);
    const sources = await runCliCaptured(['--help']);

    // Assess
    expect(bundled.stderr).toBe('');
    expect(bundled.code).toBe(0);
    expect(bundled.stdout).toBe(sources.stdout);
    expect(bundled.stdout).toContain('rootwatch replay');
  });

  it('prints the same alert and digest schemas as the sources', async () => {
    for (const args of [['schema'], ['schema', '--digest']]) {
      // Act
      const bundled = await runBin(args);
      const sources = await runCliCaptured(args);

      // Assess
      expect(bundled.code).toBe(0);
      expect(bundled.stdout).toBe(sources.stdout);
      expect(JSON.parse(bundled.stdout)).toHaveProperty('$schema');
    }
  });

  it('replays the samples to the same documents as the sources, with the default catalog', async () => {
    // Act
    const args = ['replay', '--format', 'ndjson', SAMPLES_DIR];
    const bundled = await runBin(args);
    const sources = await runCliCaptured(args);

    // Assess: the samples hold records of every detection, so the catalog the bundle carries is the whole one
    expect(bundled.code).toBe(sources.code);
    expect(bundled.stdout).toBe(sources.stdout);
    const detections = new Set(
      bundled.stdout
        .trim()
        .split('\n')
        .flatMap((line) => (JSON.parse(line) as { detections?: string[] }).detections ?? []),
    );
    expect(detections.size).toBeGreaterThan(5);
  });

  it('reads files in worker threads started from dist/replay-worker.mjs to the same documents', async () => {
    // Act
    const bundled = await runBin(['replay', '--workers', '2', '--format', 'ndjson', SAMPLES_DIR]);
    const sources = await runCliCaptured(['replay', '--workers', '0', '--format', 'ndjson', SAMPLES_DIR]);

    // Assess
    expect(built).toContain('replay-worker.mjs');
    expect(bundled.code).toBe(sources.code);
    expect(bundled.stdout).toBe(sources.stdout);
  });

  it('prints hundreds of KB of documents with multi-byte characters, one longer than a write, exactly as the sources do', async () => {
    // Arrange: ndjson of many alerts whose user agents hold 2-, 3- and 4-byte UTF-8 characters; ten whose records hold
    // 40,000 euro signs (120,000 bytes, nearly all the room bin/rootwatch.mjs gathers before a write); and one whose
    // record holds a 200,000-character string, more than that room
    const sample = readSampleRecord('root-api-call-long-term-key.json');
    const records = Array.from({ length: 400 }, (_, index) => ({
      ...sample,
      eventID: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
      userAgent: `agent ${index} \u00e9\u20ac\u{1f680} ${'\u00fc'.repeat(index)}`,
      ...(index % 40 === 7 ? { requestParameters: { padding: '\u20ac'.repeat(40_000) } } : {}),
      ...(index === 200 ? { requestParameters: { padding: 'x\u00e9'.repeat(100_000) } } : {}),
    }));
    const dir = mkdtempSync(join(tmpdir(), 'rootwatch-cli-bundle-out-'));
    const file = join(dir, 'records.json');
    writeFileSync(file, JSON.stringify({ Records: records }));

    // Act
    const args = ['replay', '--no-fold', '--format', 'ndjson', file];
    const bundled = await runBin(args);
    const sources = await runCliCaptured(args);
    rmSync(dir, { recursive: true, force: true });

    // Assess
    expect(bundled.code).toBe(sources.code);
    expect(bundled.stdout.length).toBeGreaterThan(500_000);
    expect(bundled.stdout.split('\n').filter(Boolean)).toHaveLength(400);
    expect(bundled.stdout).toBe(sources.stdout);
    expect(bundled.stdout).toContain('\u00e9\u20ac\u{1f680} ');
  });

  it('reports a usage mistake of a command whose modules it loads on demand (deploy) as the sources do', async () => {
    // Act
    const bundled = await runBin(['deploy', '--no-such-option']);
    const sources = await runCliCaptured(['deploy', '--no-such-option']);

    // Assess
    expect(bundled.code).toBe(2);
    expect(bundled.stderr).toBe(sources.stderr);
  });
});

describe('bin/rootwatch.mjs when dist/ is older than the sources', () => {
  beforeAll(() => {
    linkNodeModules(true);
    // An edit after the build: the built dist/ no longer says what the sources do.
    appendFileSync(join(copy, 'functions', 'cli.ts'), "\nprocess.stderr.write('edited sources ran\\n');\n");
  });

  it('runs the sources, never the stale bundle', async () => {
    // Act
    const { code, stdout, stderr } = await runBin(['--help']);

    // Assess
    expect(stderr).toBe('edited sources ran\n');
    expect(code).toBe(0);
    expect(stdout).toBe((await runCliCaptured(['--help'])).stdout);
  });

  it('runs the sources when dist/ was never built', async () => {
    // Arrange
    rmSync(join(copy, 'dist'), { recursive: true, force: true });

    // Act
    const { code, stderr } = await runBin(['schema']);

    // Assess
    expect(stderr).toBe('edited sources ran\n');
    expect(code).toBe(0);
  });
});
