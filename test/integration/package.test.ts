import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual, promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

/**
 * Runs `serverless package` (osls + serverless-esbuild) the way CI does, offline and without AWS
 * credentials, and checks the CloudFormation and the zip it produces against the detection catalog
 * (events/*.yml, read here with fs + yaml, independently of the code under test).
 */

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const EVENTS_DIR = join(REPO_ROOT, 'events');
const STAGE = 'ci';
const PACKAGE_TIMEOUT_MS = 180_000;
const READ_ONLY_STATE = 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}
interface Template {
  Resources: Record<string, Resource>;
}
interface CatalogEntry {
  file: string;
  id: string;
  readOnlyEvents: boolean;
  patterns: Record<string, unknown>[];
}

const getAtt = (logicalId: string, attribute = 'Arn') => ({ 'Fn::GetAtt': [logicalId, attribute] });

const readCatalog = async (): Promise<CatalogEntry[]> => {
  const files = (await readdir(EVENTS_DIR)).filter((name) => /\.ya?ml$/.test(name)).sort();
  return Promise.all(
    files.map(async (file) => {
      const detection = parseYaml(await readFile(join(EVENTS_DIR, file), 'utf8')) as Partial<CatalogEntry>;
      return {
        file,
        id: String(detection.id),
        readOnlyEvents: detection.readOnlyEvents === true,
        patterns: detection.patterns ?? [],
      };
    }),
  );
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

describe('serverless package', () => {
  let packageDir: string;
  let template: Template;
  let catalog: CatalogEntry[];
  let zips: Map<string, Map<string, Buffer>>;

  const resourcesOfType = (type: string): [string, Resource][] =>
    Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
  const rules = () => resourcesOfType('AWS::Events::Rule');
  const alertFunction = (): [string, Resource] => {
    const found = resourcesOfType('AWS::Lambda::Function').filter(
      ([, fn]) => fn.Properties.FunctionName === `rootwatch-${STAGE}-alert`,
    );
    expect(found).toHaveLength(1);
    return found[0] as [string, Resource];
  };
  const deadLetterQueue = (): [string, Resource] => {
    const found = resourcesOfType('AWS::SQS::Queue').filter(
      ([, queue]) => queue.Properties.QueueName === `rootwatch-${STAGE}-rules-dlq`,
    );
    expect(found).toHaveLength(1);
    return found[0] as [string, Resource];
  };

  beforeAll(async () => {
    packageDir = await mkdtemp(join(tmpdir(), 'rootwatch-package-'));
    const started = performance.now();
    await promisify(execFile)(
      join(REPO_ROOT, 'node_modules/.bin/serverless'),
      ['package', '--stage', STAGE, '--package', packageDir],
      { cwd: REPO_ROOT, env: packagingEnv(), timeout: PACKAGE_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
    ).catch((error: Error & { stdout?: string; stderr?: string }) => {
      throw new Error(`serverless package failed:\n${error.stdout ?? ''}\n${error.stderr ?? ''}`, { cause: error });
    });
    // Logged so a slow-down shows in CI output long before it reaches the timeout.
    console.info(`serverless package --stage ${STAGE} took ${Math.round(performance.now() - started)} ms`);

    template = JSON.parse(await readFile(join(packageDir, 'cloudformation-template-update-stack.json'), 'utf8'));
    catalog = await readCatalog();
    zips = new Map();
    for (const name of (await readdir(packageDir)).filter((file) => file.endsWith('.zip'))) {
      zips.set(name, readZip(await readFile(join(packageDir, name))));
    }
  }, PACKAGE_TIMEOUT_MS);

  afterAll(async () => {
    if (packageDir) await rm(packageDir, { recursive: true, force: true });
  });

  it('reads a non-empty catalog', () => {
    // Assess
    expect(catalog.length).toBeGreaterThan(0);
    for (const detection of catalog) {
      expect(detection.file, 'the file name is the id').toBe(`${detection.id}.yml`);
      expect(detection.patterns.length, `${detection.file} has patterns`).toBeGreaterThan(0);
    }
  });

  it('creates exactly one rule per pattern, with the pattern deep-equal to the YAML', () => {
    // Prepare
    const patternCount = catalog.reduce((sum, detection) => sum + detection.patterns.length, 0);

    // Assess
    expect(rules()).toHaveLength(patternCount);
    for (const detection of catalog) {
      for (const [index, pattern] of detection.patterns.entries()) {
        const matching = rules().filter(([, rule]) => isDeepStrictEqual(rule.Properties.EventPattern, pattern));
        expect(matching, `${detection.file} patterns[${index}]`).toHaveLength(1);
        const [, rule] = matching[0] as [string, Resource];
        expect(rule.Properties.EventPattern).toStrictEqual(pattern);
        expect(rule.Properties.Name).toMatch(new RegExp(`^rootwatch-${STAGE}-${detection.id}(-\\d+)?$`));
      }
    }
  });

  it('enables read-only management events only for detections that ask for them', () => {
    // Assess
    for (const detection of catalog) {
      const expected = detection.readOnlyEvents ? READ_ONLY_STATE : 'ENABLED';
      for (const pattern of detection.patterns) {
        const [, rule] = rules().find(([, r]) => isDeepStrictEqual(r.Properties.EventPattern, pattern)) ?? [];
        expect(rule?.Properties.State, detection.file).toBe(expected);
      }
    }
  });

  it('names every rule rootwatch-ci-… within 64 characters, uniquely', () => {
    // Prepare
    const names = rules().map(([, rule]) => rule.Properties.Name as string);

    // Assess
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) {
      expect(name.startsWith(`rootwatch-${STAGE}-`), name).toBe(true);
      expect(name.length, name).toBeLessThanOrEqual(64);
      expect(name).toMatch(/^[.\-_A-Za-z0-9]+$/);
    }
  });

  it('targets the alert function from every rule, with a retry policy and the dead-letter queue', () => {
    // Prepare
    const [functionId] = alertFunction();
    const [queueId] = deadLetterQueue();

    // Assess
    for (const [ruleId, rule] of rules()) {
      expect(rule.Properties.Targets, ruleId).toStrictEqual([
        {
          Id: expect.any(String),
          Arn: getAtt(functionId),
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
          DeadLetterConfig: { Arn: getAtt(queueId) },
        },
      ]);
    }
  });

  it('lets EventBridge invoke the function from each rule, and only from that rule', () => {
    // Prepare
    const [functionId] = alertFunction();
    const permissions = resourcesOfType('AWS::Lambda::Permission').map(([, permission]) => permission.Properties);

    // Assess
    for (const [ruleId] of rules()) {
      const forRule = permissions.filter((permission) => isDeepStrictEqual(permission.SourceArn, getAtt(ruleId)));
      expect(forRule, ruleId).toHaveLength(1);
      expect(forRule[0]).toMatchObject({ Action: 'lambda:InvokeFunction', Principal: 'events.amazonaws.com' });
      expect([getAtt(functionId), { Ref: functionId }]).toContainEqual(forRule[0]?.FunctionName);
    }
    for (const permission of permissions.filter((p) => p.Principal === 'events.amazonaws.com')) {
      expect(permission.SourceArn, 'no EventBridge permission without a source rule').toBeDefined();
    }
  });

  it('lets only the rules send to the dead-letter queue', () => {
    // Prepare
    const [queueId] = deadLetterQueue();
    const policies = resourcesOfType('AWS::SQS::QueuePolicy').filter(([, policy]) =>
      (policy.Properties.Queues as unknown[]).some((queue) => isDeepStrictEqual(queue, { Ref: queueId })),
    );

    // Assess
    expect(policies).toHaveLength(1);
    const [, policy] = policies[0] as [string, Resource];
    const statements = (policy.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
    expect(statements).toHaveLength(1);
    const statement = statements[0] as { Condition: { ArnEquals: { 'aws:SourceArn': unknown[] } } };
    expect(statement).toMatchObject({
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: getAtt(queueId),
    });
    expect(statement.Condition.ArnEquals['aws:SourceArn']).toStrictEqual(rules().map(([ruleId]) => getAtt(ruleId)));
  });

  it('deploys the function on nodejs22.x or newer, arm64, with the catalog directory set', () => {
    // Prepare
    const [, fn] = alertFunction();
    const runtime = String(fn.Properties.Runtime);

    // Assess
    expect(runtime).toMatch(/^nodejs\d+\.x$/);
    expect(Number(runtime.match(/\d+/)?.[0])).toBeGreaterThanOrEqual(22);
    expect(fn.Properties.Architectures).toStrictEqual(['arm64']);
    expect(fn.Properties).toMatchObject({
      MemorySize: 256,
      Timeout: 30,
      Environment: { Variables: { DETECTIONS_DIR: 'events' } },
    });
  });

  it('names the function, queue and rules with the rootwatch- prefix alerter-tampering keys on', () => {
    // Prepare
    const names = [
      ...resourcesOfType('AWS::Lambda::Function').map(([, r]) => r.Properties.FunctionName),
      ...resourcesOfType('AWS::SQS::Queue').map(([, r]) => r.Properties.QueueName),
      ...rules().map(([, r]) => r.Properties.Name),
    ];

    // Assess
    for (const name of names) expect(name).toMatch(new RegExp(`^rootwatch-${STAGE}-`));
  });

  it('leaves no Serverless variable unresolved', () => {
    // Assess: Serverless variables are `${source:…}` / `${file(…)}`; Fn::Sub's `${AWS::Region}` are not.
    expect(JSON.stringify(template)).not.toMatch(/\$\{[a-z][A-Za-z]*[:(]/);
  });

  it('ships the catalog and the bundled handler in the function zip, without the samples', async () => {
    // Prepare
    const [, fn] = alertFunction();
    const s3Key = (fn.Properties.Code as { S3Key: string }).S3Key;
    const zip = zips.get(s3Key.split('/').pop() as string);
    const handlerBase = String(fn.Properties.Handler).replace(/\.[^.]+$/, '');
    const eventFiles = (await readdir(EVENTS_DIR)).filter((name) => /\.ya?ml$/.test(name));

    // Assess
    expect(zip, `zip for ${s3Key}`).toBeDefined();
    const names = [...(zip?.keys() ?? [])];
    for (const file of eventFiles) {
      expect(zip?.get(`events/${file}`)?.toString('utf8'), `events/${file}`).toBe(
        await readFile(join(EVENTS_DIR, file), 'utf8'),
      );
    }
    expect(names.filter((name) => name.startsWith('events/samples/'))).toStrictEqual([]);
    const handlerFiles = names.filter((name) => /\.(mjs|cjs|js)$/.test(name) && name.startsWith(`${handlerBase}.`));
    expect(handlerFiles).toHaveLength(1);
    const bundle = zip?.get(handlerFiles[0] as string)?.toString('utf8') ?? '';
    expect(bundle).toMatch(/\bhandler\b/);
    // Bundled: no import of a project file that would be missing from the zip.
    expect(bundle).not.toMatch(/(?:from\s*|import\s*\(\s*|require\s*\(\s*)['"]\.{1,2}\//);
    expect(names.some((name) => name.endsWith('.ts'))).toBe(false);
  });
});
