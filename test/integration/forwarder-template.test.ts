import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildForwarderTemplate,
  type CloudFormationTemplate,
  TEMPLATE_BODY_MAX_BYTES,
} from '../../functions/deploy/forwarder-template.js';
import { readStageParameters } from '../../functions/deploy/stage-parameters.js';
import { formatMatch, runCfnLint } from '../helpers/cfn-lint.js';
import { type CfnSpec, checkTemplate, formatFinding, loadCfnSpec } from '../helpers/cfn-spec.js';
import { runCliCaptured } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/corpus.js';

/*
 * `rootwatch forwarder-template` end to end: what it prints is buildForwarderTemplate's template for the repository's
 * serverless.yml, and CloudFormation can read it: every resource type, property, enumeration value and attribute
 * exists in CloudFormation's resource specification (@aws-cdk/aws-service-spec, offline), and cfn-lint finds no error
 * in the regions a StackSet would deploy it to, when cfn-lint is installed.
 */

const HUB_BUS_ARN = 'arn:aws:events:us-east-1:111122223333:event-bus/rootwatch-prod-hub';
const HUB_KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321';
/** Regions a StackSet spreads the forwarder over: the first ones, and opt-in ones (ap-east-1). */
const LINT_REGIONS = ['us-east-1', 'eu-west-1', 'ap-east-1', 'ap-southeast-2'];

const run = (args: string[]) => runCliCaptured(args);

describe('rootwatch forwarder-template', () => {
  let spec: CfnSpec;
  let workDir: string;
  let compact: { code: number; stdout: string; stderr: string };
  let template: CloudFormationTemplate;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'rootwatch-forwarder-template-'));
    [spec, compact] = await Promise.all([
      loadCfnSpec(),
      run(['forwarder-template', '--hub-bus-arn', HUB_BUS_ARN, '--hub-key-arn', HUB_KEY_ARN, '--compact']),
    ]);
    template = JSON.parse(compact.stdout) as CloudFormationTemplate;
  });

  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  it("prints buildForwarderTemplate's template for the bus's stage and serverless.yml's parameters, on one line", () => {
    // Prepare
    const expected = buildForwarderTemplate({
      stage: 'prod',
      hubBusArn: HUB_BUS_ARN,
      hubKeyArn: HUB_KEY_ARN,
      ...readStageParameters('prod', []),
    });

    // Assess
    expect(compact.code).toBe(0);
    expect(compact.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(template).toStrictEqual(expected);
    const bytes = Buffer.byteLength(compact.stdout.trimEnd());
    expect(bytes).toBeLessThan(TEMPLATE_BODY_MAX_BYTES);
    expect(compact.stderr).toContain(`${bytes.toLocaleString('en-US')} bytes as compact JSON`);
    expect(compact.stderr).toMatch(/^rootwatch: forwarder for stage prod: \d+ rules/);
  });

  it('prints the same template 2-space indented without --compact, and says --compact makes a TemplateBody', async () => {
    // Act
    const { code, stdout, stderr } = await run(['forwarder-template', '--hub-bus-arn', HUB_BUS_ARN, '--stage', 'prod']);

    // Assess
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\{\n {2}"AWSTemplateFormatVersion": "2010-09-09",\n/);
    const indented = JSON.parse(stdout) as CloudFormationTemplate;
    expect(Object.keys(indented.Resources)).toStrictEqual(Object.keys(template.Resources));
    expect(stderr).toContain('pass --compact');
  });

  it('takes --param over serverless.yml, into the rules', async () => {
    // Act
    const { code, stdout } = await run([
      'forwarder-template',
      '--hub-bus-arn',
      HUB_BUS_ARN,
      '--param',
      'trailBuckets=org-trail-bucket-111122223333',
      '--param',
      'heartbeatMinutes=30',
      '--compact',
    ]);

    // Assess
    expect(code).toBe(0);
    const withParams = JSON.parse(stdout) as CloudFormationTemplate;
    expect(JSON.stringify(withParams.Resources.RuleAuditTrailTampering1)).toContain('"org-trail-bucket-111122223333"');
    expect(withParams.Resources.ForwarderHeartbeatSchedule?.Properties?.ScheduleExpression).toBe('rate(30 minutes)');
  });

  it.each([
    { name: 'no --hub-bus-arn', args: [], message: 'forwarder-template needs --hub-bus-arn' },
    {
      name: 'a bus that is not a rootwatch hub bus',
      args: ['--hub-bus-arn', 'arn:aws:events:us-east-1:111122223333:event-bus/default'],
      message: '--hub-bus-arn "arn:aws:events:us-east-1:111122223333:event-bus/default" is not a rootwatch hub bus',
    },
    {
      name: "a --stage other than the bus's",
      args: ['--hub-bus-arn', HUB_BUS_ARN, '--stage', 'dev'],
      message: `--stage "dev" is not the stage of the hub bus "${HUB_BUS_ARN}" ("prod")`,
    },
  ])('is a usage error with $name, naming the value', async ({ args, message }) => {
    // Act
    const { code, stdout, stderr } = await run(['forwarder-template', ...args]);

    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`rootwatch: ${message}`);
    expect(stderr).toContain('Run "rootwatch --help"');
  });

  it('fails with exit status 2 and the reason on a bad --param', async () => {
    // Act
    const { code, stdout, stderr } = await run([
      'forwarder-template',
      '--hub-bus-arn',
      HUB_BUS_ARN,
      '--param',
      'trailBucket=x',
    ]);

    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('--param trailBucket: unknown parameter');
  });

  it('has only resource types, properties, values and attributes that the CloudFormation specification has', () => {
    // Act
    const findings = checkTemplate(template, spec);

    // Assess
    expect(Object.keys(template.Resources).length).toBeGreaterThan(20);
    expect(findings.map(formatFinding)).toStrictEqual([]);
  });

  it('passes cfn-lint without errors in the regions a StackSet deploys it to, when cfn-lint is installed', async (context) => {
    // Prepare
    const templatePath = join(workDir, 'forwarder.json');
    await writeFile(templatePath, compact.stdout);

    // Act
    const matches = await runCfnLint(templatePath, LINT_REGIONS);

    // Assess
    if (matches === undefined) {
      console.warn('cfn-lint is not installed (pip install cfn-lint): the cfn-lint check of the forwarder was skipped');
      return context.skip('cfn-lint is not installed');
    }
    const warnings = matches.filter((match) => match.Level !== 'Error').map(formatMatch);
    if (warnings.length > 0) console.warn(`cfn-lint warns about the forwarder:\n${warnings.join('\n')}`);
    expect(matches.filter((match) => match.Level === 'Error').map(formatMatch)).toStrictEqual([]);
  });

  it('runs as `npx rootwatch forwarder-template` (bin/rootwatch.mjs)', async () => {
    // Act
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        join(REPO_ROOT, 'bin/rootwatch.mjs'),
        'forwarder-template',
        '--hub-bus-arn',
        HUB_BUS_ARN,
        '--hub-key-arn',
        HUB_KEY_ARN,
        '--compact',
      ],
      { cwd: tmpdir(), maxBuffer: 16 * 1024 * 1024 },
    );

    // Assess
    expect(JSON.parse(stdout)).toStrictEqual(template);
  });
});
