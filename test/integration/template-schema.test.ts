import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMatch, runCfnLint } from '../helpers/cfn-lint.js';
import { type CfnSpec, checkTemplate, formatFinding, loadCfnSpec } from '../helpers/cfn-spec.js';
import { PACKAGE_TIMEOUT_MS, packageService, removeWorkDir } from '../helpers/package.js';

/**
 * The packaged CloudFormation template against CloudFormation's own resource specification
 * (@aws-cdk/aws-service-spec, offline): every resource type, property, enumeration value and `Fn::GetAtt`
 * attribute must exist there. Then cfn-lint, when it is installed. package.test.ts and
 * infrastructure.test.ts check what the template means; this file checks that CloudFormation can read it.
 */

/**
 * E-mail subscribers, a severity floor, and an organization and a member account admitted to the hub bus, so that the
 * template has every resource and policy it can have.
 */
const PARAMS = [
  'alertEmails=sec@example.com,oncall@example.com',
  'emailMinSeverity=high',
  'organizationId=o-a1b2c3d4e5',
  'memberAccounts=210987654321',
];
/**
 * cfn-lint rules not reported. W3005 (a DependsOn that a Ref or GetAtt already implies): osls itself writes
 * each function's DependsOn on its log group and role, so it is not ours to change.
 */
const CFN_LINT_IGNORED = ['W3005'];

let spec: CfnSpec;

beforeAll(async () => {
  spec = await loadCfnSpec();
});

describe('the packaged template', () => {
  let workDir: string | undefined;
  let templatePath: string;
  let template: { Resources: Record<string, { Type: string }> };
  let region: string;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'rootwatch-template-schema-'));
    const outputDir = await packageService(workDir, PARAMS);
    templatePath = join(outputDir, 'cloudformation-template-update-stack.json');
    template = JSON.parse(await readFile(templatePath, 'utf8'));
    const state = JSON.parse(await readFile(join(outputDir, 'serverless-state.json'), 'utf8'));
    region = state.service.provider.region;
  }, PACKAGE_TIMEOUT_MS);

  afterAll(async () => {
    if (workDir) await removeWorkDir(workDir);
  });

  it('has only resource types, properties, values and attributes that the CloudFormation specification has', () => {
    // Act
    const findings = checkTemplate(template, spec);

    // Assess
    expect(Object.keys(template.Resources).length).toBeGreaterThan(0);
    expect(findings.map(formatFinding)).toStrictEqual([]);
  });

  it('passes cfn-lint without errors, when cfn-lint is installed', async (context) => {
    // Act
    const matches = await runCfnLint(templatePath, [region], CFN_LINT_IGNORED);

    // Assess
    if (matches === undefined) {
      console.warn('cfn-lint is not installed (pip install cfn-lint): the cfn-lint check of the template was skipped');
      return context.skip('cfn-lint is not installed');
    }
    const warnings = matches.filter((match) => match.Level !== 'Error').map(formatMatch);
    if (warnings.length > 0) console.warn(`cfn-lint warns:\n${warnings.join('\n')}`);
    expect(matches.filter((match) => match.Level === 'Error').map(formatMatch)).toStrictEqual([]);
  });
});

describe('checkTemplate', () => {
  type Template = Record<string, Record<string, Record<string, unknown>>>;
  /** A small template the specification accepts, changed by each case below. */
  const VALID: Template = {
    Resources: {
      Queue: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 60, MessageRetentionPeriod: '1209600' } },
      Logs: { Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 }, DeletionPolicy: 'Retain' },
      Rule: {
        Type: 'AWS::Events::Rule',
        DependsOn: ['Logs'],
        Properties: {
          State: 'ENABLED',
          EventPattern: { source: ['aws.signin'] },
          Targets: [{ Id: 'queue', Arn: { 'Fn::GetAtt': ['Queue', 'Arn'] } }],
        },
      },
    },
    Outputs: {
      QueueUrl: { Value: { 'Fn::GetAtt': ['Queue', 'QueueUrl'] } },
      Summary: { Value: { 'Fn::Sub': `\${Queue.QueueName} in \${AWS::Region}, logs \${Logs}` } },
    },
  };
  const resource = (template: Template, logicalId: string) =>
    template.Resources?.[logicalId] as Record<string, unknown>;
  const properties = (template: Template, logicalId: string) =>
    resource(template, logicalId).Properties as Record<string, unknown>;
  const target = (template: Template) => (properties(template, 'Rule').Targets as Record<string, unknown>[])[0] ?? {};

  it('finds nothing wrong with a valid template', () => {
    expect(checkTemplate(VALID, spec)).toStrictEqual([]);
  });

  it.each([
    {
      name: 'a misspelt resource type',
      change: (t: Template) => {
        resource(t, 'Queue').Type = 'AWS::SQS::Queu';
      },
      findings: [
        {
          logicalId: 'Queue',
          path: 'Resources.Queue.Type',
          message: 'AWS::SQS::Queu is not a CloudFormation resource type',
        },
      ],
    },
    {
      name: 'an unknown property',
      change: (t: Template) => {
        properties(t, 'Queue').VisibilityTimeot = 60;
      },
      findings: [
        {
          logicalId: 'Queue',
          path: 'Resources.Queue.Properties.VisibilityTimeot',
          message: 'AWS::SQS::Queue has no property VisibilityTimeot',
        },
      ],
    },
    {
      name: 'an unknown property of a property type',
      change: (t: Template) => {
        target(t).RoleArnn = 'arn:aws:iam::123456789012:role/events';
      },
      findings: [
        {
          logicalId: 'Rule',
          path: 'Resources.Rule.Properties.Targets[0].RoleArnn',
          message: 'Target has no property RoleArnn',
        },
      ],
    },
    {
      name: 'a missing required property',
      change: (t: Template) => {
        delete target(t).Id;
      },
      findings: [
        { logicalId: 'Rule', path: 'Resources.Rule.Properties.Targets[0]', message: 'Target requires property Id' },
      ],
    },
    {
      name: 'an unknown Fn::GetAtt attribute',
      change: (t: Template) => {
        (t.Outputs as Template[string]).QueueUrl = { Value: { 'Fn::GetAtt': ['Queue', 'Url'] } };
      },
      findings: [
        {
          logicalId: 'QueueUrl',
          path: 'Outputs.QueueUrl.Value.Fn::GetAtt',
          message: expect.stringMatching(/^AWS::SQS::Queue has no attribute Url \(it has .*QueueUrl/),
        },
      ],
    },
    {
      name: 'an unknown attribute in Fn::Sub',
      change: (t: Template) => {
        (t.Outputs as Template[string]).Summary = { Value: { 'Fn::Sub': `\${Queue.Name}` } };
      },
      findings: [
        {
          logicalId: 'Summary',
          path: 'Outputs.Summary.Value.Fn::Sub',
          message: expect.stringContaining('AWS::SQS::Queue has no attribute Name'),
        },
      ],
    },
    {
      name: 'an Fn::GetAtt of a resource that is not there',
      change: (t: Template) => {
        target(t).Arn = { 'Fn::GetAtt': 'Queues.Arn' };
      },
      findings: [
        {
          logicalId: 'Rule',
          path: 'Resources.Rule.Properties.Targets[0].Arn.Fn::GetAtt',
          message: 'Fn::GetAtt of Queues, which is not a resource',
        },
      ],
    },
    {
      name: 'a Ref to nothing',
      change: (t: Template) => {
        target(t).Arn = { Ref: 'Topic' };
      },
      findings: [
        {
          logicalId: 'Rule',
          path: 'Resources.Rule.Properties.Targets[0].Arn.Ref',
          message: 'Ref to Topic, which is neither a resource nor a parameter',
        },
      ],
    },
    {
      name: 'a value outside an enumeration',
      change: (t: Template) => {
        properties(t, 'Rule').State = 'enabled';
      },
      findings: [
        {
          logicalId: 'Rule',
          path: 'Resources.Rule.Properties.State',
          message: expect.stringMatching(/^"enabled" is not one of DISABLED, ENABLED/),
        },
      ],
    },
    {
      name: 'a number outside an enumeration',
      change: (t: Template) => {
        properties(t, 'Logs').RetentionInDays = 10;
      },
      findings: [
        {
          logicalId: 'Logs',
          path: 'Resources.Logs.Properties.RetentionInDays',
          message: expect.stringMatching(/^10 is not one of 1, 3, 5, 7, 14/),
        },
      ],
    },
    {
      name: 'text where an integer belongs',
      change: (t: Template) => {
        properties(t, 'Queue').VisibilityTimeout = 'a minute';
      },
      findings: [
        {
          logicalId: 'Queue',
          path: 'Resources.Queue.Properties.VisibilityTimeout',
          message: '"a minute" is not an integer',
        },
      ],
    },
    {
      name: 'an object where a list belongs',
      change: (t: Template) => {
        properties(t, 'Rule').Targets = target(t);
      },
      findings: [
        {
          logicalId: 'Rule',
          path: 'Resources.Rule.Properties.Targets',
          message: expect.stringContaining('is not a list (of a Target object)'),
        },
      ],
    },
    {
      name: 'an Fn::Join where a list belongs',
      change: (t: Template) => {
        properties(t, 'Rule').Targets = { 'Fn::Join': [',', ['a', 'b']] };
      },
      findings: [
        {
          logicalId: 'Rule',
          path: 'Resources.Rule.Properties.Targets',
          message: 'Fn::Join gives text where the specification has a list (of a Target object)',
        },
      ],
    },
    {
      name: 'a bad value in one branch of an Fn::If',
      change: (t: Template) => {
        properties(t, 'Queue').VisibilityTimeout = { 'Fn::If': ['Long', 'a minute', { Ref: 'AWS::NoValue' }] };
      },
      findings: [
        {
          logicalId: 'Queue',
          path: 'Resources.Queue.Properties.VisibilityTimeout.Fn::If[1]',
          message: '"a minute" is not an integer',
        },
      ],
    },
    {
      name: 'a misspelt intrinsic function',
      change: (t: Template) => {
        target(t).Arn = { 'Fn::GetAttr': ['Queue', 'Arn'] };
      },
      findings: [
        {
          logicalId: 'Rule',
          path: 'Resources.Rule.Properties.Targets[0].Arn.Fn::GetAttr',
          message: 'Fn::GetAttr is not an intrinsic function',
        },
      ],
    },
    {
      name: 'a DependsOn on nothing and a bad DeletionPolicy',
      change: (t: Template) => {
        resource(t, 'Rule').DependsOn = 'Log';
        resource(t, 'Logs').DeletionPolicy = 'Keep';
      },
      findings: [
        {
          logicalId: 'Logs',
          path: 'Resources.Logs.DeletionPolicy',
          message: '"Keep" is not one of Delete, Retain, RetainExceptOnCreate, Snapshot',
        },
        { logicalId: 'Rule', path: 'Resources.Rule.DependsOn[0]', message: '"Log" is not a resource' },
      ],
    },
  ])('reports $name', ({ change, findings }) => {
    // Prepare
    const template = structuredClone(VALID);
    change(template);

    // Act
    const found = checkTemplate(template, spec);

    // Assess
    expect(found).toStrictEqual(findings);
  });
});
