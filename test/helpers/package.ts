import { execFile } from 'node:child_process';
import { cp, mkdir, readdir, rm, symlink, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';
import { REPO_ROOT } from './corpus.js';

/**
 * Runs `serverless package` (osls + serverless-esbuild) the way CI does, offline and without AWS
 * credentials, on a copy of the service. Shared by package.test.ts and infrastructure.test.ts.
 */

const STAGE = 'ci';
const PACKAGE_TIMEOUT_MS = 180_000;
/** Not copied into the temporary service directory (node_modules is linked; .rootwatch is written by packaging). */
const NOT_COPIED = new Set(['node_modules', '.git', '.serverless', '.esbuild', '.rootwatch', 'coverage', 'test']);

const getAtt = (logicalId: string, attribute = 'Arn') => ({ 'Fn::GetAtt': [logicalId, attribute] });

/** The environment of a CI runner with no AWS credentials of any kind. */
const packagingEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('AWS_')) delete env[name];
  }
  return {
    ...env,
    AWS_SHARED_CREDENTIALS_FILE: join(tmpdir(), 'rootwatch-no-aws-credentials'),
    AWS_CONFIG_FILE: join(tmpdir(), 'rootwatch-no-aws-config'),
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
  };
};

/**
 * Packages a copy of the service into `workDir`, with `params` as `--param=…`, so that the test files
 * (vitest runs them in parallel) do not share the .esbuild and .serverless directories the framework
 * writes next to serverless.yml. Returns the directory holding the template and the zips.
 */
const packageService = async (workDir: string, params: readonly string[] = []): Promise<string> => {
  const serviceDir = join(workDir, 'service');
  const outputDir = join(workDir, 'package');
  await mkdir(serviceDir);
  for (const entry of await readdir(REPO_ROOT)) {
    if (!NOT_COPIED.has(entry)) await cp(join(REPO_ROOT, entry), join(serviceDir, entry), { recursive: true });
  }
  await symlink(join(REPO_ROOT, 'node_modules'), join(serviceDir, 'node_modules'), 'dir');
  const started = performance.now();
  await promisify(execFile)(
    join(REPO_ROOT, 'node_modules/.bin/serverless'),
    ['package', '--stage', STAGE, '--package', outputDir, ...params.map((param) => `--param=${param}`)],
    { cwd: serviceDir, env: packagingEnv(), timeout: PACKAGE_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
  ).catch((error: Error & { stdout?: string; stderr?: string }) => {
    throw new Error(`serverless package failed:\n${error.stdout ?? ''}\n${error.stderr ?? ''}`, { cause: error });
  });
  // Logged so a slow-down shows in CI output long before it reaches the timeout.
  const command = ['serverless package --stage', STAGE, ...params].join(' ');
  console.info(`${command} took ${Math.round(performance.now() - started)} ms`);
  return outputDir;
};

/** Removes a directory packageService worked in. */
const removeWorkDir = async (workDir: string) => {
  // Unlink node_modules first, so that nothing can follow it into the repository's.
  await unlink(join(workDir, 'service', 'node_modules')).catch(() => undefined);
  await rm(workDir, { recursive: true, force: true });
};

/** The entries of a zip file (name -> uncompressed content), read from its central directory. */
const readZip = (zip: Buffer): Map<string, Buffer> => {
  const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== END_OF_CENTRAL_DIRECTORY) end -= 1;
  if (end < 0) throw new Error('not a zip file: no end-of-central-directory record');
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  const entries = new Map<string, Buffer>();
  for (let index = 0; index < count; index += 1) {
    const method = zip.readUInt16LE(offset + 10);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const localHeader = zip.readUInt32LE(offset + 42);
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    const dataStart = localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    entries.set(name, method === 0 ? Buffer.from(data) : inflateRawSync(data));
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
};

export {
  getAtt,
  NOT_COPIED,
  PACKAGE_TIMEOUT_MS,
  packageService,
  packagingEnv,
  REPO_ROOT,
  readZip,
  removeWorkDir,
  STAGE,
};
