import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isDeepStrictEqual, promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { HEARTBEAT_PATTERN, HEARTBEAT_SOURCE } from '../../functions/core/heartbeat.js';
import { loadDetectionFiles } from '../../functions/io/detections.js';
import { createGeoLookup } from '../../functions/io/ip/geo-lookup.js';
import {
  getAtt,
  NOT_COPIED,
  PACKAGE_TIMEOUT_MS,
  packageService,
  packagingEnv,
  REPO_ROOT,
  readZip,
  removeWorkDir,
  STAGE,
} from '../helpers/package.js';

/**
 * Runs `serverless package` (osls + serverless-esbuild) the way CI does, offline, without AWS
 * credentials and with the default parameters, and checks the CloudFormation and the zips it produces
 * against the detection catalog (events/*.yml, read here with fs + yaml, independently of the code
 * under test). infrastructure.test.ts covers the rest of the stack, packaged with e-mail subscribers.
 */

const READ_ONLY_STATE = 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';
/** Every rule on the hub bus, whoever made it: rule/<bus>/<rule> in this account and region. */
const HUB_RULES_ARN = {
  'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/rootwatch-${STAGE}-hub/*`,
};
/**
 * The IP data the alert function reads at run time (resources/ip-data.cjs writes it at packaging): the country mmdb
 * as published, with the packages' licence files and package.json, each byte for byte as in node_modules.
 */
const IP_DATA_DIR = '.rootwatch/ip-data';
const IP_DATA_COPIES = [
  ['geo-whois-asn-country.mmdb', '@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb'],
  ...[
    '@ip-location-db/geo-whois-asn-country-mmdb/package.json',
    '@ip-location-db/geo-whois-asn-country-mmdb/NRO_LICENSE',
    '@ip-location-db/asn/package.json',
    '@ip-location-db/asn/DBIP-LICENSE',
    '@ip-location-db/asn/NRO_LICENSE',
    '@ip-location-db/asn/ROUTEVIEWS-LICENSE',
    '@ip-location-db/asn/MODIFICATIONS',
  ].map((file) => [`licenses/${file}`, file]),
] as const;
/** The ASN tables converted from the CSV files, the notice of that change, and what they were made from. */
const IP_DATA_WRITTEN = ['asn-ipv4.bin', 'asn-ipv6.bin', 'NOTICE.md', 'inputs.json'];

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}
interface Template {
  Resources: Record<string, Resource>;
  Outputs?: Record<string, { Value: unknown }>;
}
interface CatalogEntry {
  file: string;
  id: string;
  readOnlyEvents: boolean;
  patterns: Record<string, unknown>[];
}

/** resources/event-rules.cjs, the file variable source serverless.yml includes; it loads the catalog with loadDetectionFiles. */
interface EventRulesModule {
  loadEventRules: (stage: string, dir?: string, values?: Record<string, unknown>) => Template;
}
const { loadEventRules } = createRequire(import.meta.url)('../../resources/event-rules.cjs') as EventRulesModule;
/** resources/heartbeat.cjs: the heartbeat's schedule, rule and alarms for a stage and a period in minutes. */
const { buildHeartbeat } = createRequire(import.meta.url)('../../resources/heartbeat.cjs') as {
  buildHeartbeat: (stage: string, minutes: number) => Template;
};

/** The error `fn` throws (failing the test when it throws none). */
const errorOf = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
};

/** serverless.yml's default value of the one parameter a placeholder names by default (the others are empty). */
const DEFAULT_WEBHOOK_PARAMETER = `/rootwatch/${STAGE}/slack-webhook-url`;
/**
 * What packaging with the default parameters puts in place of each placeholder (`{ param: name }`): rootwatch's
 * key as the stack's own intrinsics, the webhook parameter's default name, and nothing for the trail's.
 */
const PACKAGED_VALUES: Record<string, unknown[]> = {
  alerterKeyArn: [getAtt('AlertTopicKey')],
  alerterKeyId: [{ Ref: 'AlertTopicKey' }],
  slackWebhookParameter: [DEFAULT_WEBHOOK_PARAMETER],
};

/** A pattern read from YAML with its placeholders as packaging resolves them; a list left empty matches nothing. */
const resolvePlaceholders = (value: unknown): unknown => {
  if (Array.isArray(value)) {
    const names = value.flatMap((item) =>
      typeof item === 'object' && item !== null && 'param' in item ? [String(item.param)] : [],
    );
    const resolved = value.flatMap((item) =>
      typeof item === 'object' && item !== null && 'param' in item
        ? (PACKAGED_VALUES[String(item.param)] ?? [])
        : [resolvePlaceholders(item)],
    );
    return resolved.length === 0 && names.length > 0 ? [`<no value: ${names.join(', ')}>`] : resolved;
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolvePlaceholders(item)]));
  }
  return value;
};

const readCatalog = async (eventsDir: string): Promise<CatalogEntry[]> => {
  const files = (await readdir(eventsDir)).filter((name) => /\.ya?ml$/.test(name)).sort();
  return Promise.all(
    files.map(async (file) => {
      const detection = parseYaml(await readFile(join(eventsDir, file), 'utf8')) as Partial<CatalogEntry>;
      return {
        file,
        id: String(detection.id),
        readOnlyEvents: detection.readOnlyEvents === true,
        patterns: (detection.patterns ?? []).map((pattern) => resolvePlaceholders(pattern) as Record<string, unknown>),
      };
    }),
  );
};

/**
 * Run by Node in a child process on an unzipped function: loads the bundle as Lambda does (an ES module
 * import, so a bad banner or import shows) and resolves the given packages from the bundle's place, as the
 * code does at run time with createRequire.
 */
const LOAD_BUNDLE = `
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
const [bundle, ...packages] = process.argv.slice(1);
const loaded = await import(pathToFileURL(bundle).href);
const require = createRequire(pathToFileURL(bundle).href);
const resolve = (name) => { try { return require.resolve(name + '/package.json'); } catch { return null; } };
console.log(JSON.stringify({ handler: typeof loaded.handler, resolved: packages.map(resolve) }));
`;

describe('serverless package', () => {
  let workDir: string;
  let packageDir: string;
  /** The catalog as packaged: the copy's, in case events/ changes while the tests run. */
  let eventsDir: string;
  let template: Template;
  let catalog: CatalogEntry[];
  let zips: Map<string, Map<string, Buffer>>;

  const resourcesOfType = (type: string): [string, Resource][] =>
    Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
  /**
   * The catalog's rules, `Rule<Id><n>` (resources/event-rules.cjs); the heartbeat's rule (resources/heartbeat.cjs) and
   * any schedule are checked on their own.
   */
  const rules = () => resourcesOfType('AWS::Events::Rule').filter(([ruleId]) => /^Rule[A-Z]/.test(ruleId));
  const lambdaFunction = (name: string): [string, Resource] => {
    const found = resourcesOfType('AWS::Lambda::Function').filter(
      ([, fn]) => fn.Properties.FunctionName === `rootwatch-${STAGE}-${name}`,
    );
    expect(found).toHaveLength(1);
    return found[0] as [string, Resource];
  };
  const alertFunction = () => lambdaFunction('alert');
  /** The entries of a function's zip, found through its S3Key. */
  const zipOf = (name: string): Map<string, Buffer> => {
    const [, fn] = lambdaFunction(name);
    const s3Key = (fn.Properties.Code as { S3Key: string }).S3Key;
    const zip = zips.get(s3Key.split('/').pop() as string);
    expect(zip, `zip for ${s3Key}`).toBeDefined();
    return zip as Map<string, Buffer>;
  };
  const deadLetterQueue = (): [string, Resource] => {
    const found = resourcesOfType('AWS::SQS::Queue').filter(
      ([, queue]) => queue.Properties.QueueName === `rootwatch-${STAGE}-rules-dlq`,
    );
    expect(found).toHaveLength(1);
    return found[0] as [string, Resource];
  };

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'rootwatch-package-'));
    packageDir = await packageService(workDir);
    eventsDir = join(workDir, 'service', 'events');

    template = JSON.parse(await readFile(join(packageDir, 'cloudformation-template-update-stack.json'), 'utf8'));
    catalog = await readCatalog(eventsDir);
    zips = new Map();
    for (const name of (await readdir(packageDir)).filter((file) => file.endsWith('.zip'))) {
      zips.set(name, readZip(await readFile(join(packageDir, name))));
    }
  }, PACKAGE_TIMEOUT_MS);

  afterAll(async () => {
    if (workDir) await removeWorkDir(workDir);
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

  it('packages exactly the rules resources/event-rules.cjs builds from the loaded catalog', () => {
    // Act
    const generated = loadEventRules(STAGE, eventsDir, { slackWebhookParameter: DEFAULT_WEBHOOK_PARAMETER });

    // Assess
    for (const [logicalId, resource] of Object.entries(generated.Resources)) {
      expect(template.Resources[logicalId], logicalId).toStrictEqual(resource);
    }
    expect(Object.keys(generated.Resources)).toEqual(expect.arrayContaining(rules().map(([ruleId]) => ruleId)));
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
    // The Allows, for the default bus's rules and the hub bus's; the Denys (everyone else, and requests without TLS)
    // are infrastructure.test.ts's.
    const allows = statements.filter((statement) => statement.Effect === 'Allow');
    expect(allows).toHaveLength(2);
    const statement = allows[0] as { Condition: { ArnEquals: { 'aws:SourceArn': unknown[] } } };
    expect(statement).toMatchObject({
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: getAtt(queueId),
    });
    // Exactly the rules that dead-letter here (the heartbeat's rule has no dead-letter queue).
    const deadLettering = rules().filter(([, rule]) =>
      (rule.Properties.Targets as { DeadLetterConfig?: { Arn: unknown } }[]).some((target) =>
        isDeepStrictEqual(target.DeadLetterConfig?.Arn, getAtt(queueId)),
      ),
    );
    expect(deadLettering.length).toBeGreaterThan(0);
    expect(statement.Condition.ArnEquals['aws:SourceArn']).toStrictEqual(
      deadLettering.map(([ruleId]) => getAtt(ruleId)),
    );
    // Every rule of the hub bus (the twins, and the heartbeat's if it dead-letters), by the ARN a rule of that bus has.
    expect(allows[1]).toStrictEqual({
      Sid: 'RootwatchHubRulesDeadLetters',
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: getAtt(queueId),
      Condition: { ArnLike: { 'aws:SourceArn': HUB_RULES_ARN } },
    });
  });

  describe('the hub bus (resources/event-rules.cjs)', () => {
    /** The twins on the hub bus: `HubRule<Id><n>`. */
    const hubRules = () => resourcesOfType('AWS::Events::Rule').filter(([ruleId]) => /^HubRule[A-Z]/.test(ruleId));

    it('is rootwatch-<stage>-hub, open to no other account by default', () => {
      // Assess
      expect(resourcesOfType('AWS::Events::EventBus')).toStrictEqual([
        [
          'HubEventBus',
          {
            Type: 'AWS::Events::EventBus',
            Properties: { Name: `rootwatch-${STAGE}-hub`, Description: expect.stringContaining('forwarders') },
          },
        ],
      ]);
    });

    it('holds a twin of every catalog rule, identical in name, pattern and state, with the same target', () => {
      // Prepare
      const [functionId] = alertFunction();
      const [queueId] = deadLetterQueue();

      // Assess
      expect(hubRules().length).toBe(rules().length);
      for (const [ruleId, rule] of rules()) {
        const twin = template.Resources[`Hub${ruleId}`];
        expect(twin?.Type, ruleId).toBe('AWS::Events::Rule');
        const { Description: _, EventBusName, ...same } = twin?.Properties ?? {};
        const { Description: __, ...original } = rule.Properties;
        expect(EventBusName, ruleId).toStrictEqual({ Ref: 'HubEventBus' });
        expect(same, ruleId).toStrictEqual(original);
        expect(same.Targets, ruleId).toStrictEqual([
          {
            Id: 'alert',
            Arn: getAtt(functionId),
            RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
            DeadLetterConfig: { Arn: getAtt(queueId) },
          },
        ]);
      }
    });

    it('lets every rule of the hub bus, and only of it, invoke the alert function with one permission', () => {
      // Prepare
      const [functionId] = alertFunction();
      const hubPermissions = resourcesOfType('AWS::Lambda::Permission').filter(([, permission]) =>
        JSON.stringify(permission.Properties.SourceArn).includes(`rule/rootwatch-${STAGE}-hub/`),
      );

      // Assess
      expect(hubPermissions).toStrictEqual([
        [
          'HubRulesPermission',
          {
            Type: 'AWS::Lambda::Permission',
            Properties: {
              Action: 'lambda:InvokeFunction',
              FunctionName: getAtt(functionId),
              Principal: 'events.amazonaws.com',
              SourceArn: HUB_RULES_ARN,
            },
          },
        ],
      ]);
      for (const [ruleId] of hubRules()) {
        const own = resourcesOfType('AWS::Lambda::Permission').filter(([, permission]) =>
          isDeepStrictEqual(permission.Properties.SourceArn, getAtt(ruleId)),
        );
        expect(own, `${ruleId} needs no permission of its own`).toStrictEqual([]);
      }
    });

    it('outputs the hub bus ARN and name, and the key a forwarder resolves the key placeholders with', () => {
      // Assess
      expect(template.Outputs?.HubEventBusArn?.Value).toStrictEqual(getAtt('HubEventBus'));
      expect(template.Outputs?.HubEventBusName?.Value).toStrictEqual({ Ref: 'HubEventBus' });
      expect(template.Outputs?.AlertTopicKeyArn?.Value).toStrictEqual(getAtt('AlertTopicKey'));
    });
  });

  it('deploys the function on nodejs22.x or newer, arm64, with its IP data folder set and no catalog folder', () => {
    // Prepare
    const [, fn] = alertFunction();
    const runtime = String(fn.Properties.Runtime);

    // Assess
    expect(runtime).toMatch(/^nodejs\d+\.x$/);
    expect(Number(runtime.match(/\d+/)?.[0])).toBeGreaterThanOrEqual(22);
    expect(fn.Properties.Architectures).toStrictEqual(['arm64']);
    expect(fn.Properties).toMatchObject({
      MemorySize: 512,
      Timeout: 30,
      Environment: { Variables: { IP_DATA_DIR } },
    });
    // The catalog is inlined into the bundles (build/catalog-plugin.mjs); source maps are not read at run time.
    for (const [, lambda] of resourcesOfType('AWS::Lambda::Function')) {
      const variables = (lambda.Properties.Environment as { Variables?: Record<string, unknown> }).Variables ?? {};
      expect(variables).not.toHaveProperty('DETECTIONS_DIR');
      expect(String(variables.NODE_OPTIONS ?? '')).not.toContain('--enable-source-maps');
    }
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

  it.each(['alert', 'notify-slack', 'digest', 'guard', 'posture'])(
    'ships the %s handler as a minified bundle and chunks with their source maps, the catalog inlined, no SDK or YAML',
    async (name) => {
      // Prepare
      const [, fn] = lambdaFunction(name);
      const zip = zipOf(name);
      const handlerBase = String(fn.Properties.Handler).replace(/\.[^.]+$/, '');
      const ids = (await readdir(eventsDir)).filter((file) => /\.ya?ml$/.test(file)).map((file) => file.split('.')[0]);

      // Assess
      const names = [...zip.keys()];
      expect(names.filter((entry) => entry.startsWith('events/'))).toStrictEqual([]);
      // The handler and the chunks its first invocation imports (build/lambda-esbuild-plugins.cjs), each with its map.
      const code = names.filter((entry) => /\.(mjs|cjs|js)$/.test(entry) && entry.startsWith(`${handlerBase}.`));
      expect(code).toContain(`${handlerBase}.mjs`);
      for (const entry of code) {
        expect(entry).toMatch(new RegExp(`^${handlerBase}\\.(?:[\\w-]+-[A-Z0-9]{8}\\.)?mjs$`));
        expect(names).toContain(`${entry}.map`);
      }
      const entryText = zip.get(`${handlerBase}.mjs`)?.toString('utf8') ?? '';
      expect(entryText).toMatch(/\bhandler\b/);
      expect(entryText).toContain(`//# sourceMappingURL=${handlerBase.split('/').pop()}.mjs.map`);
      const bundle = code.map((entry) => zip.get(entry)?.toString('utf8') ?? '').join('\n');
      // Minified: long lines (the few line breaks left are inside template literals, and between the files here).
      expect(bundle.length / bundle.split('\n').length).toBeGreaterThan(200);
      // The catalog as JSON, every detection of events/ (build/catalog-plugin.mjs), and no YAML parser.
      for (const id of ids) expect(bundle, id).toMatch(new RegExp(`\\\\?"id\\\\?":\\\\?"${id}\\\\?"`));
      expect(bundle).not.toContain('YAMLParseError');
      // The AWS SDK only as the runtime's, imported on first use: never bundled, never imported at module load.
      expect(bundle).not.toMatch(/(?:from\s*|import\s*)['"]@aws-sdk\//);
      if (name !== 'notify-slack') expect(bundle).toMatch(/import\(['"]@aws-sdk\/client-dynamodb['"]\)/);
      // Bundled: a relative import names one of the function's own files in the zip (a chunk), nothing else.
      const relative = [...bundle.matchAll(/(?:from\s*|import\s*\(\s*|require\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)];
      for (const [, specifier] of relative) {
        expect(code, String(specifier)).toContain(join(dirname(handlerBase), String(specifier)));
      }
      expect(names.some((entry) => entry.endsWith('.ts'))).toBe(false);
      expect(names.filter((entry) => entry.startsWith('node_modules/'))).toStrictEqual([]);
      // Each zip holds its own handler only.
      expect(
        names.filter((entry) => entry.startsWith('functions/') && !entry.startsWith(`${handlerBase}.`)),
      ).toStrictEqual([]);
    },
  );

  it('ships the IP data in the alert zip only: the mmdb and licences as published, the ASN tables converted', async () => {
    // Prepare
    const alertZip = zipOf('alert');

    // Assess
    for (const [entry, source] of IP_DATA_COPIES) {
      const content = alertZip.get(`${IP_DATA_DIR}/${entry}`);
      expect(content, entry).toBeDefined();
      expect(content?.equals(await readFile(join(REPO_ROOT, 'node_modules', source))), entry).toBe(true);
    }
    expect(String(alertZip.get(`${IP_DATA_DIR}/NOTICE.md`))).toMatch(/CC BY 4\.0[\s\S]*Changes made by rootwatch/);
    expect([...alertZip.keys()].filter((entry) => entry.startsWith(`${IP_DATA_DIR}/`)).sort()).toStrictEqual(
      [...IP_DATA_COPIES.map(([entry]) => entry), ...IP_DATA_WRITTEN].map((entry) => `${IP_DATA_DIR}/${entry}`).sort(),
    );
    for (const name of ['notify-slack', 'digest', 'guard']) {
      expect([...zipOf(name).keys()].filter((entry) => entry.startsWith('.rootwatch/ip-data'))).toStrictEqual([]);
    }
  });

  it('answers every IP lookup from the packaged IP data as from the @ip-location-db packages', async () => {
    // Prepare: the alert zip's IP data, unzipped; addresses at and around range bounds of both families.
    const dataDir = join(workDir, 'ip-data');
    for (const [entry, content] of zipOf('alert')) {
      if (!entry.startsWith(`${IP_DATA_DIR}/`)) continue;
      await mkdir(dirname(join(dataDir, entry.slice(IP_DATA_DIR.length))), { recursive: true });
      await writeFile(join(dataDir, entry.slice(IP_DATA_DIR.length)), content);
    }
    const packaged = createGeoLookup({ dataDir });
    const published = createGeoLookup();
    const addresses = [
      '8.8.8.8',
      '1.1.1.1',
      '52.94.76.10',
      '3.5.140.2',
      '185.199.108.153',
      '81.2.69.142',
      '100.64.0.1',
      '223.255.255.255',
      '2001:4860:4860::8888',
      '2606:4700:4700::1111',
      '2a05:d018::1',
      '2001:db8::1',
      '::ffff:8.8.4.4',
    ];
    for (let a = 1; a < 224; a += 7)
      for (const b of [0, 63, 128, 255]) addresses.push(`${a}.${b}.${(a * b) % 256}.${b}`);
    for (const prefix of ['2001:', '2400:', '2600:', '2800:', '2a00:', '2c0f:']) {
      for (let n = 0; n < 64; n += 5) addresses.push(`${prefix}${(n * 997).toString(16)}::${n}`);
    }

    // Act
    const answers = await Promise.all(addresses.map(async (ip) => [ip, await packaged(ip), await published(ip)]));

    // Assess
    for (const [ip, fromPackage, fromNodeModules] of answers)
      expect(fromPackage, String(ip)).toStrictEqual(fromNodeModules);
    expect(answers.filter(([, answer]) => (answer as { asn?: number } | undefined)?.asn).length).toBeGreaterThan(100);
  });

  it.each(['alert', 'notify-slack', 'digest', 'guard', 'posture'])(
    'loads the unzipped %s bundle in Node without the AWS SDK resolvable: module load imports none of it',
    async (name) => {
      // Prepare
      const [, fn] = lambdaFunction(name);
      const taskRoot = join(workDir, 'unzipped', name);
      for (const [entry, content] of zipOf(name)) {
        await mkdir(dirname(join(taskRoot, entry)), { recursive: true });
        await writeFile(join(taskRoot, entry), content);
      }
      const handlerBase = String(fn.Properties.Handler).replace(/\.[^.]+$/, '');
      const packages = ['@aws-sdk/client-dynamodb', 'yaml', 'zod'];

      // Act
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--input-type=module', '-e', LOAD_BUNDLE, join(taskRoot, `${handlerBase}.mjs`), ...packages],
        { cwd: taskRoot, env: { ...packagingEnv(), NODE_PATH: '' }, timeout: 30_000 },
      );
      const { handler, resolved } = JSON.parse(stdout.trim().split('\n').pop() as string) as {
        handler: string;
        resolved: (string | null)[];
      };

      // Assess: the handler loaded where none of the packages the bundle must not need at load could be found.
      expect(handler).toBe('function');
      expect(resolved).toStrictEqual([null, null, null]);
    },
  );

  it("puts the stack's own KMS key into alerter-tampering's rule, and its ARN into the alert function", () => {
    // Prepare
    const keyRules = rules().filter(([, rule]) =>
      JSON.stringify(rule.Properties.EventPattern).includes('AlertTopicKey'),
    );
    const [, fn] = alertFunction();

    // Assess
    expect(keyRules.map(([, rule]) => rule.Properties.Name)).toStrictEqual([`rootwatch-${STAGE}-alerter-tampering-4`]);
    expect(JSON.stringify(keyRules[0]?.[1].Properties.EventPattern)).toContain(
      JSON.stringify({ keyId: [getAtt('AlertTopicKey'), { Ref: 'AlertTopicKey' }] }),
    );
    expect((fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
      ALERTER_KEY_ARN: getAtt('AlertTopicKey'),
      TRAIL_BUCKETS: '',
      TRAIL_KEY_ARNS: '',
      TRAIL_LOG_GROUPS: '',
      SLACK_WEBHOOK_PARAMETER: DEFAULT_WEBHOOK_PARAMETER,
    });
  });

  it('keeps every rule within EventBridge’s 2048-character pattern quota', () => {
    // Both buses' rules, the heartbeat's included; a scheduled rule (the guard's) has no pattern.
    const patterned = resourcesOfType('AWS::Events::Rule').filter(([, rule]) => rule.Properties.EventPattern);
    expect(patterned.length).toBeGreaterThan(2 * rules().length);
    for (const [ruleId, rule] of patterned) {
      expect(JSON.stringify(rule.Properties.EventPattern).length, ruleId).toBeLessThanOrEqual(2048);
    }
  });

  it('subscribes no e-mail address and filters nothing by default', () => {
    // Assess
    expect(resourcesOfType('AWS::SNS::Subscription')).toStrictEqual([]);
    expect(JSON.stringify(template)).not.toContain('FilterPolicy');
  });

  describe('the heartbeat (resources/heartbeat.cjs)', () => {
    const defaultBus = {
      'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:event-bus/default`,
    };
    const resource = (logicalId: string): Resource => {
      expect(template.Resources[logicalId], logicalId).toBeDefined();
      return template.Resources[logicalId] as Resource;
    };

    it('packages exactly what the generator builds for the default 10 minutes', () => {
      // Act
      const generated = buildHeartbeat(STAGE, 10);

      // Assess
      for (const [logicalId, built] of Object.entries(generated.Resources)) {
        expect(template.Resources[logicalId], logicalId).toStrictEqual(built);
      }
    });

    it('puts rootwatch.heartbeat on the default bus every 10 minutes with EventBridge Scheduler, and only that', () => {
      // Prepare
      const schedule = resource('HeartbeatSchedule');
      const role = resource('HeartbeatScheduleRole');

      // Assess
      expect(schedule.Type).toBe('AWS::Scheduler::Schedule');
      expect(schedule.Properties).toMatchObject({
        Name: `rootwatch-${STAGE}-heartbeat`,
        ScheduleExpression: 'rate(10 minutes)',
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: 'ENABLED',
        Target: {
          Arn: defaultBus,
          RoleArn: getAtt('HeartbeatScheduleRole'),
          EventBridgeParameters: { Source: HEARTBEAT_SOURCE, DetailType: 'rootwatch heartbeat' },
          RetryPolicy: { MaximumEventAgeInSeconds: 600, MaximumRetryAttempts: 185 },
        },
      });
      const input = JSON.parse((schedule.Properties.Target as { Input: string }).Input);
      expect(input).toStrictEqual({
        id: '<aws.scheduler.execution-id>',
        scheduledTime: '<aws.scheduler.scheduled-time>',
      });
      expect(role.Properties.AssumeRolePolicyDocument).toMatchObject({
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'scheduler.amazonaws.com' },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          },
        ],
      });
      const statements = (role.Properties.Policies as { PolicyDocument: { Statement: unknown[] } }[]).flatMap(
        (policy) => policy.PolicyDocument.Statement,
      );
      expect(statements).toStrictEqual([
        {
          Sid: 'PutHeartbeat',
          Effect: 'Allow',
          Action: 'events:PutEvents',
          Resource: defaultBus,
          Condition: { StringEquals: { 'events:source': HEARTBEAT_SOURCE } },
        },
      ]);
    });

    it('routes it with its own rule to the alert function, which that rule alone may invoke for it', () => {
      // Prepare
      const rule = resource('HeartbeatRule');
      const [functionId] = alertFunction();
      const permissions = resourcesOfType('AWS::Lambda::Permission').filter(([, permission]) =>
        isDeepStrictEqual(permission.Properties.SourceArn, getAtt('HeartbeatRule')),
      );

      // Assess
      expect(rule.Properties).toStrictEqual({
        Name: `rootwatch-${STAGE}-heartbeat`,
        Description: expect.any(String),
        EventPattern: HEARTBEAT_PATTERN,
        State: 'ENABLED',
        Targets: [
          {
            Id: 'alert',
            Arn: getAtt(functionId),
            RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 600 },
          },
        ],
      });
      expect(permissions.map(([, permission]) => permission.Properties)).toStrictEqual([
        {
          Action: 'lambda:InvokeFunction',
          FunctionName: getAtt(functionId),
          Principal: 'events.amazonaws.com',
          SourceArn: getAtt('HeartbeatRule'),
        },
      ]);
      // No catalog rule takes it: every one of them requires an aws. source.
      for (const [ruleId, catalogRule] of rules()) {
        expect(JSON.stringify(catalogRule.Properties.EventPattern), ruleId).not.toContain(HEARTBEAT_SOURCE);
      }
    });

    it('alarms when the alert function published, or the notifier received, no heartbeat in two periods', () => {
      // Prepare
      const alarms = resourcesOfType('AWS::CloudWatch::Alarm').filter(([, alarm]) =>
        String(alarm.Properties.AlarmName).startsWith(`rootwatch-${STAGE}-heartbeat-`),
      );

      // Assess
      expect(alarms.map(([, alarm]) => alarm.Properties.AlarmName).sort()).toStrictEqual([
        `rootwatch-${STAGE}-heartbeat-notifier`,
        `rootwatch-${STAGE}-heartbeat-sns`,
      ]);
      for (const [alarmId, alarm] of alarms) {
        const hop = String(alarm.Properties.AlarmName).split('-').at(-1);
        expect(alarm.Properties, alarmId).toMatchObject({
          Namespace: 'rootwatch',
          MetricName: 'HeartbeatHop',
          Dimensions: [
            { Name: 'service', Value: 'rootwatch' },
            { Name: 'stage', Value: STAGE },
            { Name: 'hop', Value: hop },
          ],
          Statistic: 'Sum',
          Period: 600,
          EvaluationPeriods: 2,
          DatapointsToAlarm: 2,
          Threshold: 1,
          ComparisonOperator: 'LessThanThreshold',
          TreatMissingData: 'breaching',
          AlarmActions: [{ Ref: 'AlertTopic' }, { Ref: 'AlarmTopic' }],
          OKActions: [{ Ref: 'AlertTopic' }, { Ref: 'AlarmTopic' }],
        });
      }
    });

    it('gives both functions the stage the metrics are emitted with', () => {
      for (const name of ['alert', 'notify-slack']) {
        const [, fn] = lambdaFunction(name);
        expect((fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables.ROOTWATCH_STAGE).toBe(
          STAGE,
        );
      }
    });
  });
});

/** events/root-api-call.yml as a YAML document, for the tests to break one field at a time. */
const rootApiCall = (): Record<string, unknown> =>
  parseYaml(readFileSync(join(REPO_ROOT, 'events', 'root-api-call.yml'), 'utf8')) as Record<string, unknown>;

describe('the rules generator (resources/event-rules.cjs)', () => {
  /** A catalog folder holding only `root-api-call.yml`, with `document` as its content. */
  const withCatalog = async <T>(document: Record<string, unknown>, use: (dir: string) => T): Promise<T> => {
    const dir = await mkdtemp(join(tmpdir(), 'rootwatch-events-'));
    try {
      await writeFile(join(dir, 'root-api-call.yml'), stringifyYaml(document));
      return use(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  it.each([
    ['an unknown key', (d: Record<string, unknown>) => ({ ...d, colour: 'red' }), /colour/],
    [
      'a pattern EventBridge rejects',
      (d: Record<string, unknown>) => ({ ...d, patterns: [{ detail: { eventName: [{ prefix: 1 }] } }] }),
      /patterns\[0\]/,
    ],
    [
      'no no-match sample',
      (d: Record<string, unknown>) => ({
        ...d,
        samples: (d.samples as { expect: string }[]).filter((sample) => sample.expect === 'match'),
      }),
      /samples/,
    ],
    ['an id other than the file name', (d: Record<string, unknown>) => ({ ...d, id: 'root-api-calls' }), /id/],
  ])("fails on a file with %s, with the loader's DetectionFileError", async (_, breakIt, field) => {
    await withCatalog(breakIt(rootApiCall()), (dir) => {
      // Act
      const expected = errorOf(() => loadDetectionFiles(dir));
      const error = errorOf(() => loadEventRules(STAGE, dir));

      // Assess
      expect(error.name).toBe('DetectionFileError');
      expect(error.message).toBe(expected.message);
      expect(error.message).toMatch(/^root-api-call\.yml: /);
      expect(error.message.replace(/^root-api-call\.yml: /, '')).toMatch(field);
    });
  });

  it('refuses "${" in a pattern, which the framework would resolve as a variable', async () => {
    // Prepare
    const document = { ...rootApiCall(), patterns: [{ detail: { eventName: [`\${self:service}`] } }] };

    // Act
    const error = await withCatalog(document, (dir) => errorOf(() => loadEventRules(STAGE, dir)));

    // Assess
    expect(error.name).toBe('DetectionFileError');
    expect(error.message).toBe(
      'root-api-call.yml: patterns[0].detail.eventName[0] contains "${", which serverless.yml would resolve as a variable',
    );
  });

  it("puts the parameters' values in place of the placeholders", () => {
    // Act
    const generated = loadEventRules(STAGE, join(REPO_ROOT, 'events'), {
      trailBuckets: ['trail-bucket-a', 'trail-bucket-b'],
    });

    // Assess
    const patterns = Object.entries(generated.Resources)
      .filter(([ruleId, resource]) => resource.Type === 'AWS::Events::Rule' && ruleId.startsWith('Rule'))
      .map(([, resource]) => JSON.stringify(resource.Properties.EventPattern));
    expect(
      patterns.filter((pattern) => pattern.includes('"bucketName":["trail-bucket-a","trail-bucket-b"]')),
    ).toHaveLength(1);
    expect(generated.Resources.HubRuleAuditTrailTampering1?.Properties.EventPattern).toStrictEqual(
      generated.Resources.RuleAuditTrailTampering1?.Properties.EventPattern,
    );
    expect(patterns.join('\n')).toContain('<no value: trailKeyArns, trailKeyIds>');
  });

  it('refuses a pattern over EventBridge’s size quota once deployed, naming the file', async () => {
    // Prepare
    const long = Array.from({ length: 120 }, (_, i) => `AnEventNameLongEnoughToCount${i}`);
    const document = { ...rootApiCall(), patterns: [{ source: ['aws.iam'], detail: { eventName: long } }] };

    // Act
    const error = await withCatalog(document, (dir) => errorOf(() => loadEventRules(STAGE, dir)));

    // Assess
    expect(error.name).toBe('DetectionFileError');
    expect(error.message).toMatch(
      /^root-api-call\.yml: patterns\[0\]: \d+ characters once deployed, EventBridge allows 2048/,
    );
  });

  it('refuses a rule name EventBridge would refuse, naming the file, the id and the stage', async () => {
    // Prepare
    const stage = 'a-stage-name-long-enough-to-push-the-rule-names-past-64';

    // Act
    const error = await withCatalog(rootApiCall(), (dir) => errorOf(() => loadEventRules(stage, dir)));

    // Assess
    expect(error.name).toBe('DetectionFileError');
    expect(error.message).toMatch(
      /^root-api-call\.yml: id: rule name "rootwatch-a-stage-name-[^"]+" is \d+ characters/,
    );
    expect(error.message).toContain(`shorten the detection id "root-api-call" or the stage "${stage}"`);
  });
});

describe('serverless package with a detection file the loader rejects', () => {
  it(
    "fails with the loader's message, naming the file and the field",
    async () => {
      // Prepare: a copy of the service, as packageService makes, with an unknown key in one detection.
      const workDir = await mkdtemp(join(tmpdir(), 'rootwatch-package-'));
      const serviceDir = join(workDir, 'service');
      try {
        await mkdir(serviceDir);
        for (const entry of await readdir(REPO_ROOT)) {
          if (!NOT_COPIED.has(entry)) await cp(join(REPO_ROOT, entry), join(serviceDir, entry), { recursive: true });
        }
        await symlink(join(REPO_ROOT, 'node_modules'), join(serviceDir, 'node_modules'), 'dir');
        const file = join(serviceDir, 'events', 'root-api-call.yml');
        await writeFile(file, `${await readFile(file, 'utf8')}colour: red\n`);
        const expected = errorOf(() => loadDetectionFiles(join(serviceDir, 'events'))).message;

        // Act
        const packaging = promisify(execFile)(
          join(REPO_ROOT, 'node_modules/.bin/serverless'),
          ['package', '--stage', STAGE, '--package', join(workDir, 'package')],
          { cwd: serviceDir, env: packagingEnv(), timeout: PACKAGE_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
        );
        const output = await packaging.then(
          () => 'packaging succeeded',
          (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ''}\n${error.stderr ?? ''}`,
        );

        // Assess
        expect(expected).toMatch(/^root-api-call\.yml: .*"colour"/);
        expect(output).toContain(`DetectionFileError: ${expected}`);
      } finally {
        await removeWorkDir(workDir);
      }
    },
    PACKAGE_TIMEOUT_MS,
  );
});
