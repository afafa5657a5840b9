/**
 * `rootwatch deploy` and `rootwatch remove` over every region of an account, through the real
 * @aws-sdk/client-cloudformation and @aws-sdk/client-account talking to local servers that speak their wire
 * protocols (functions/local/cloudformation-server.ts: AWS Query and XML; functions/local/account-server.ts: REST-JSON).
 *
 * The real `serverless deploy` is NOT run here: it would need an AWS account. The runner the tests inject records the
 * command line the hub would be deployed with, and plays the hub's deployment on the local CloudFormation: it creates
 * (or deletes) the stack rootwatch-<stage> with the outputs the hub has (HubEventBusArn, HubEventBusName,
 * AlertTopicKeyArn), through the same SDK. What the hub stack itself holds is tested on the packaged template
 * (test/integration/package.test.ts and the hub tests).
 */
import { Writable } from 'node:stream';
import { AccountClient } from '@aws-sdk/client-account';
import {
  CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runDeploy } from '../../functions/commands/deploy.js';
import { forwarderStackName, hubBusName, hubStackName } from '../../functions/core/forwarding.js';
import { buildForwarderTemplate } from '../../functions/deploy/forwarder-template.js';
import { readStageParameters } from '../../functions/deploy/stage-parameters.js';
import { type AccountServer, startAccountServer } from '../../functions/local/account-server.js';
import { type CloudFormationServer, startCloudFormationServer } from '../../functions/local/cloudformation-server.js';

const STAGE = 'prod';
const ACCOUNT = '111122223333';
const HOME = 'us-east-1';
const HUB_BUS_ARN = `arn:aws:events:${HOME}:${ACCOUNT}:event-bus/${hubBusName(STAGE)}`;
const HUB_KEY_ARN = `arn:aws:kms:${HOME}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const FORWARDER = forwarderStackName(STAGE);
const CREDENTIALS = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-secret-never-printed' };

/** The account's regions: five enabled (two opt-in), two not. */
const ACCOUNT_REGIONS = [
  { RegionName: 'af-south-1', RegionOptStatus: 'DISABLED' },
  { RegionName: 'ap-east-1', RegionOptStatus: 'ENABLED' },
  { RegionName: 'ap-south-1', RegionOptStatus: 'ENABLED_BY_DEFAULT' },
  { RegionName: 'eu-central-1', RegionOptStatus: 'ENABLED_BY_DEFAULT' },
  { RegionName: 'eu-west-1', RegionOptStatus: 'ENABLED_BY_DEFAULT' },
  { RegionName: 'me-south-1', RegionOptStatus: 'DISABLING' },
  { RegionName: 'us-east-1', RegionOptStatus: 'ENABLED_BY_DEFAULT' },
] as const;
const ENABLED_OTHERS = ['ap-east-1', 'ap-south-1', 'eu-central-1', 'eu-west-1'];

let cloudformation: CloudFormationServer;
let account: AccountServer;
let clients: { destroy(): void }[];
/** The command lines the framework was run with. */
let serverlessRuns: string[][];
/** The exit status the framework's stand-in returns. */
let serverlessStatus: number;

const cfnClient = (region: string) => {
  const client = new CloudFormationClient({
    region,
    endpoint: cloudformation.endpoint,
    credentials: CREDENTIALS,
    maxAttempts: 1,
  });
  clients.push(client);
  return client;
};

/** Waits, as the framework does, for the hub stack to settle on the local CloudFormation. */
const settle = async (client: CloudFormationClient, stackId: string) => {
  for (let i = 0; i < 20; i++) {
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: stackId }));
    if (!Stacks?.[0]?.StackStatus?.endsWith('_IN_PROGRESS')) return;
  }
  throw new Error(`hub stack ${stackId} did not settle`);
};

/**
 * The stand-in for `node_modules/.bin/serverless`: NOT the real framework (that needs AWS). It records the command
 * line and plays the hub's deployment (or removal) on the local CloudFormation, with the hub's outputs.
 */
const fakeServerless = async (args: readonly string[]): Promise<number> => {
  serverlessRuns.push([...args]);
  if (serverlessStatus !== 0) return serverlessStatus;
  const [action] = args;
  const stage = args[args.indexOf('--stage') + 1] ?? '';
  const region = args[args.indexOf('--region') + 1] ?? '';
  const client = cfnClient(region);
  if (action === 'deploy' && !cloudformation.stack(region, hubStackName(stage))) {
    const { StackId } = await client.send(
      new CreateStackCommand({
        StackName: hubStackName(stage),
        TemplateBody: JSON.stringify({
          Resources: { HubEventBus: { Type: 'AWS::Events::EventBus', Properties: { Name: hubBusName(stage) } } },
          Outputs: {
            HubEventBusArn: { Value: HUB_BUS_ARN },
            HubEventBusName: { Value: hubBusName(stage) },
            AlertTopicKeyArn: { Value: HUB_KEY_ARN },
          },
        }),
      }),
    );
    await settle(client, StackId ?? '');
  }
  if (action === 'remove') {
    const stack = cloudformation.stack(region, hubStackName(stage));
    if (stack) {
      await client.send(new DeleteStackCommand({ StackName: stack.StackId }));
      await settle(client, stack.StackId);
    }
  }
  return 0;
};

const run = async (action: 'deploy' | 'remove', args: string[]) => {
  let stdout = '';
  let stderr = '';
  const status = await runDeploy(
    action,
    args,
    {
      stdout: (text) => {
        stdout += text;
      },
      stderr: new Writable({
        write(chunk, _encoding, callback) {
          stderr += String(chunk);
          callback();
        },
      }),
      env: {},
    },
    {
      cloudFormation: cfnClient,
      account: (region) => {
        const client = new AccountClient({
          region,
          endpoint: account.endpoint,
          credentials: CREDENTIALS,
          maxAttempts: 1,
        });
        clients.push(client);
        return client;
      },
      runServerless: fakeServerless,
      wait: { pollMs: 1, timeoutMs: 10_000 },
    },
  );
  return { status, stdout, stderr };
};

/** The CloudFormation actions made, as `Action region`. */
const actions = () => cloudformation.requests.map((request) => `${request.action} ${request.region}`);

/** The forwarder template the hub's real outputs give, with the stage's parameters and `overrides`. */
const expectedTemplate = (overrides: string[] = []) => {
  const { values, heartbeatMinutes } = readStageParameters(STAGE, overrides);
  return JSON.stringify(
    buildForwarderTemplate({ stage: STAGE, hubBusArn: HUB_BUS_ARN, hubKeyArn: HUB_KEY_ARN, values, heartbeatMinutes }),
  );
};

beforeEach(async () => {
  cloudformation = await startCloudFormationServer({ accountId: ACCOUNT });
  account = await startAccountServer(ACCOUNT_REGIONS.map((region) => ({ ...region })));
  // Two regions a page: --all-regions must read every page.
  account.pageSize = 2;
  clients = [];
  serverlessRuns = [];
  serverlessStatus = 0;
});

afterEach(async () => {
  for (const client of clients) client.destroy();
  await cloudformation.close();
  await account.close();
});

describe('rootwatch deploy --all-regions', () => {
  it('deploys the hub with the other regions as forwarderRegions, then a forwarder in each enabled region', async () => {
    // Act
    const { status, stdout, stderr } = await run('deploy', ['--stage', STAGE, '--all-regions']);

    // Assess
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(serverlessRuns).toStrictEqual([
      ['deploy', '--stage', STAGE, '--region', HOME, `--param=forwarderRegions=${ENABLED_OTHERS.join(',')}`],
    ]);
    // Every page of ListRegions (two regions a page), unfiltered: the disabled regions are read too.
    expect(account.requests).toHaveLength(Math.ceil(ACCOUNT_REGIONS.length / 2));
    for (const request of account.requests) expect(request.RegionOptStatusContains).toBeUndefined();
    for (const region of ENABLED_OTHERS) {
      const stack = cloudformation.stack(region, FORWARDER);
      expect(stack?.StackStatus, region).toBe('CREATE_COMPLETE');
      expect(stack?.Capabilities).toStrictEqual(['CAPABILITY_NAMED_IAM']);
      expect(stack?.Tags).toStrictEqual([{ Key: 'rootwatch:stage', Value: STAGE }]);
      // The forwarder template built for the hub's outputs, compact.
      expect(stack?.TemplateBody).toBe(expectedTemplate());
    }
    expect(cloudformation.stack(HOME, FORWARDER)).toBeUndefined();
    for (const region of ['af-south-1', 'me-south-1']) expect(cloudformation.stacks(region)).toStrictEqual([]);
    expect(stdout).toContain(`hub: node_modules/.bin/serverless deploy --stage ${STAGE} --region ${HOME}`);
    expect(stdout).toMatch(/us-east-1 +hub +rootwatch-prod +deployed/);
    for (const region of ENABLED_OTHERS) {
      expect(stdout).toMatch(new RegExp(`${region} +forwarder +${FORWARDER} +created: CREATE_COMPLETE`));
    }
    expect(stdout).toContain('5 stacks: 5 deployed');
    expect(stdout + stderr).not.toContain(CREDENTIALS.secretAccessKey);
  });

  it('passes each --param to the framework and builds the forwarders with it', async () => {
    // Act
    const { status } = await run('deploy', [
      '--stage',
      STAGE,
      '--regions',
      'eu-west-1',
      '--param',
      'trailBuckets=org-trail-bucket',
    ]);

    // Assess
    expect(status).toBe(0);
    expect(serverlessRuns[0]).toStrictEqual([
      'deploy',
      '--stage',
      STAGE,
      '--region',
      HOME,
      '--param=forwarderRegions=eu-west-1',
      '--param=trailBuckets=org-trail-bucket',
    ]);
    expect(cloudformation.stack('eu-west-1', FORWARDER)?.TemplateBody).toBe(
      expectedTemplate(['trailBuckets=org-trail-bucket']),
    );
    expect(cloudformation.stack('eu-west-1', FORWARDER)?.TemplateBody).toContain('org-trail-bucket');
  });

  it('reports a forwarder with no changes as unchanged, and an update as updated', async () => {
    // Prepare
    expect((await run('deploy', ['--stage', STAGE, '--regions', 'eu-west-1,eu-central-1'])).status).toBe(0);

    // Act
    const again = await run('deploy', ['--stage', STAGE, '--regions', 'eu-west-1,eu-central-1']);
    const changed = await run('deploy', [
      '--stage',
      STAGE,
      '--regions',
      'eu-west-1,eu-central-1',
      '--param',
      'trailBuckets=org-trail-bucket',
    ]);

    // Assess
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/eu-west-1 +forwarder +rootwatch-prod-forwarder +unchanged/);
    expect(again.stdout).toMatch(/eu-central-1 +forwarder +rootwatch-prod-forwarder +unchanged/);
    expect(changed.status).toBe(0);
    expect(changed.stdout).toMatch(/eu-west-1 +forwarder +rootwatch-prod-forwarder +updated: UPDATE_COMPLETE/);
    expect(cloudformation.stack('eu-central-1', FORWARDER)?.StackStatus).toBe('UPDATE_COMPLETE');
  });
});

describe('rootwatch deploy: a region that fails', () => {
  it('deploys every other region, names the failed one with its first failed resource, and exits 1', async () => {
    // Prepare
    cloudformation.setFailure('ap-south-1', FORWARDER, {
      logicalId: 'ForwarderRole',
      reason: 'Resource handler returned message: "User is not authorized to perform: iam:CreateRole"',
    });

    // Act
    const { status, stdout, stderr } = await run('deploy', ['--stage', STAGE, '--all-regions']);

    // Assess
    expect(status).toBe(1);
    expect(cloudformation.stack('ap-south-1', FORWARDER)?.StackStatus).toBe('ROLLBACK_COMPLETE');
    for (const region of ['ap-east-1', 'eu-central-1', 'eu-west-1']) {
      expect(cloudformation.stack(region, FORWARDER)?.StackStatus, region).toBe('CREATE_COMPLETE');
    }
    const reason =
      'ROLLBACK_COMPLETE: ForwarderRole (AWS::IAM::Role): Resource handler returned message: "User is not authorized to perform: iam:CreateRole"';
    expect(stdout).toMatch(/ap-south-1 +forwarder +rootwatch-prod-forwarder +FAILED: /);
    expect(stdout).toContain(reason);
    expect(stdout).toContain('5 stacks: 4 deployed, 1 failed (ap-south-1)');
    expect(stderr).toContain(`rootwatch deploy: ap-south-1: ${FORWARDER}: ${reason}`);
  });

  it('names the update that rolled back, and recreates a stack whose creation had failed', async () => {
    // Prepare: eu-west-1 deployed, eu-central-1's creation rolled back.
    cloudformation.setFailure('eu-central-1', FORWARDER, { reason: 'Internal failure', operations: ['create'] });
    expect((await run('deploy', ['--stage', STAGE, '--regions', 'eu-west-1,eu-central-1'])).status).toBe(1);
    cloudformation.setFailure('eu-central-1', FORWARDER, undefined);
    cloudformation.setFailure('eu-west-1', FORWARDER, {
      logicalId: 'ForwarderDeadLetterQueue',
      reason: 'Resource handler returned message: "Rate exceeded"',
      operations: ['update'],
    });

    // Act
    const { status, stdout } = await run('deploy', [
      '--stage',
      STAGE,
      '--regions',
      'eu-west-1,eu-central-1',
      '--param',
      'trailBuckets=org-trail-bucket',
    ]);

    // Assess
    expect(status).toBe(1);
    expect(stdout).toContain(
      'eu-west-1: rootwatch-prod-forwarder FAILED (UPDATE_ROLLBACK_COMPLETE: ForwarderDeadLetterQueue (AWS::SQS::Queue): Resource handler returned message: "Rate exceeded")',
    );
    expect(stdout).toContain('ROLLBACK_COMPLETE (never created), deleting it to create it again');
    expect(cloudformation.stack('eu-central-1', FORWARDER)?.StackStatus).toBe('CREATE_COMPLETE');
    // The rolled-back stack keeps its previous template.
    expect(cloudformation.stack('eu-west-1', FORWARDER)?.TemplateBody).toBe(expectedTemplate());
  });

  it('deploys no forwarder when the hub failed to deploy', async () => {
    // Prepare
    serverlessStatus = 1;

    // Act
    const { status, stdout, stderr } = await run('deploy', ['--stage', STAGE, '--regions', 'eu-west-1']);

    // Assess
    expect(status).toBe(1);
    expect(actions()).toStrictEqual([]);
    expect(stdout).toMatch(/us-east-1 +hub +rootwatch-prod +FAILED: serverless deploy exited with status 1/);
    expect(stdout).toMatch(/eu-west-1 +forwarder +rootwatch-prod-forwarder +skipped: the hub was not deployed/);
    expect(stderr).toContain('rootwatch deploy: us-east-1: rootwatch-prod: serverless deploy exited with status 1');
  });
});

describe('rootwatch deploy: regions', () => {
  it('refuses a mistyped region as bad usage, naming it, before touching anything', async () => {
    // Act
    const { status, stderr } = await run('deploy', ['--stage', STAGE, '--regions', 'eu-west-1,eu-wset-1']);

    // Assess
    expect(status).toBe(2);
    expect(stderr).toContain('--regions: "eu-wset-1" is not an AWS region of this account (a typo?)');
    expect(stderr).toContain('Usage:');
    expect(serverlessRuns).toStrictEqual([]);
    expect(actions()).toStrictEqual([]);
  });

  it('refuses a region that is not enabled in the account, naming it and its status', async () => {
    // Act
    const { status, stderr } = await run('deploy', ['--stage', STAGE, '--regions', 'eu-west-1,af-south-1']);

    // Assess
    expect(status).toBe(1);
    expect(stderr).toContain('af-south-1 (DISABLED) is not enabled in this account');
    expect(stderr).not.toContain('Usage:');
    expect(serverlessRuns).toStrictEqual([]);
    expect(actions()).toStrictEqual([]);
  });

  it('needs account:ListRegions for --all-regions, and goes on unchecked with --regions', async () => {
    // Prepare
    account.denied = true;

    // Act
    const all = await run('deploy', ['--stage', STAGE, '--all-regions']);
    // A region the SDK's partition data may not list yet: its shape is all that can be checked.
    const named = await run('deploy', ['--stage', STAGE, '--regions', 'eu-west-1,xx-future-1']);

    // Assess
    expect(all.status).toBe(1);
    expect(all.stderr).toContain('AccessDeniedException');
    expect(all.stderr).toContain('allow account:ListRegions');
    expect(named.status).toBe(0);
    expect(named.stderr).toContain('eu-west-1, us-east-1, xx-future-1 were not checked against them');
    expect(cloudformation.stack('eu-west-1', FORWARDER)?.StackStatus).toBe('CREATE_COMPLETE');
    expect(cloudformation.stack('xx-future-1', FORWARDER)?.StackStatus).toBe('CREATE_COMPLETE');
  });

  it('--dry-run prints the plan and touches nothing but ListRegions', async () => {
    // Act
    const { status, stdout } = await run('deploy', ['--stage', STAGE, '--all-regions', '--dry-run']);

    // Assess
    expect(status).toBe(0);
    expect(account.requests.length).toBeGreaterThan(0);
    expect(actions()).toStrictEqual([]);
    expect(serverlessRuns).toStrictEqual([]);
    expect(stdout).toContain('rootwatch deploy --dry-run: stage prod, 5 regions');
    expect(stdout).toContain(
      `node_modules/.bin/serverless deploy --stage prod --region us-east-1 --param=forwarderRegions=${ENABLED_OTHERS.join(',')}`,
    );
    expect(stdout).toContain(`forwarder  ${FORWARDER} in 4 regions: ${ENABLED_OTHERS.join(', ')}`);
    expect(stdout).toContain('Nothing was deployed (--dry-run).');
  });
});

describe('rootwatch deploy --forwarders-only', () => {
  it.each([
    ['without the hub key', [], undefined],
    ['with --hub-key-arn', ['--hub-key-arn', HUB_KEY_ARN], HUB_KEY_ARN],
  ])(
    'deploys forwarders to every region named, the home region included, to the hub bus given, %s',
    async (_, extra, hubKeyArn) => {
      // Act
      const { status } = await run('deploy', [
        '--stage',
        STAGE,
        '--regions',
        'us-east-1,eu-west-1',
        '--forwarders-only',
        '--hub-bus-arn',
        HUB_BUS_ARN,
        ...extra,
      ]);

      // Assess
      expect(status).toBe(0);
      expect(serverlessRuns).toStrictEqual([]);
      const { values, heartbeatMinutes } = readStageParameters(STAGE, []);
      const template = JSON.stringify(
        buildForwarderTemplate({
          stage: STAGE,
          hubBusArn: HUB_BUS_ARN,
          ...(hubKeyArn ? { hubKeyArn } : {}),
          values,
          heartbeatMinutes,
        }),
      );
      for (const region of ['us-east-1', 'eu-west-1']) {
        expect(cloudformation.stack(region, FORWARDER)?.TemplateBody, region).toBe(template);
      }
      expect(template.includes(HUB_KEY_ARN)).toBe(hubKeyArn !== undefined);
      // No hub stack was read: the bus was given.
      expect(cloudformation.requests.some((request) => request.stackName === hubStackName(STAGE))).toBe(false);
    },
  );

  it('refuses a hub key outside the hub bus’s account and region before deploying anything', async () => {
    // Act
    const { status, stderr } = await run('deploy', [
      '--stage',
      STAGE,
      '--regions',
      'eu-west-1',
      '--forwarders-only',
      '--hub-bus-arn',
      HUB_BUS_ARN,
      '--hub-key-arn',
      HUB_KEY_ARN.replace(HOME, 'eu-west-1'),
    ]);

    // Assess
    expect(status).toBe(2);
    expect(stderr).toContain("is not in the hub's account 111122223333 and region us-east-1");
    expect(actions()).toStrictEqual([]);
  });
});

describe('rootwatch remove', () => {
  it('deletes the forwarders, reports a region without one as absent, then removes the hub', async () => {
    // Prepare
    expect((await run('deploy', ['--stage', STAGE, '--regions', 'eu-west-1,eu-central-1'])).status).toBe(0);
    serverlessRuns = [];

    // Act
    const { status, stdout } = await run('remove', [
      '--stage',
      STAGE,
      '--regions',
      'eu-west-1,eu-central-1,ap-south-1',
    ]);

    // Assess
    expect(status).toBe(0);
    expect(cloudformation.stack('eu-west-1', FORWARDER)).toBeUndefined();
    expect(cloudformation.stack('eu-central-1', FORWARDER)).toBeUndefined();
    expect(cloudformation.stacks('eu-west-1')[0]?.StackStatus).toBe('DELETE_COMPLETE');
    expect(stdout).toMatch(/ap-south-1 +forwarder +rootwatch-prod-forwarder +absent/);
    expect(stdout).toMatch(/eu-west-1 +forwarder +rootwatch-prod-forwarder +deleted: DELETE_COMPLETE/);
    expect(serverlessRuns).toStrictEqual([['remove', '--stage', STAGE, '--region', HOME]]);
    expect(cloudformation.stack(HOME, hubStackName(STAGE))).toBeUndefined();
    expect(stdout).toMatch(/us-east-1 +hub +rootwatch-prod +removed/);
  });

  it('keeps the hub when a forwarder could not be deleted, and exits 1', async () => {
    // Prepare
    expect((await run('deploy', ['--stage', STAGE, '--regions', 'eu-west-1,eu-central-1'])).status).toBe(0);
    cloudformation.setFailure('eu-west-1', FORWARDER, {
      logicalId: 'ForwarderDeadLetterQueue',
      reason: 'Resource handler returned message: "Access Denied"',
      operations: ['delete'],
    });
    serverlessRuns = [];

    // Act
    const { status, stdout, stderr } = await run('remove', ['--stage', STAGE, '--regions', 'eu-west-1,eu-central-1']);

    // Assess
    expect(status).toBe(1);
    expect(cloudformation.stack('eu-west-1', FORWARDER)?.StackStatus).toBe('DELETE_FAILED');
    expect(cloudformation.stack('eu-central-1', FORWARDER)).toBeUndefined();
    expect(serverlessRuns).toStrictEqual([]);
    expect(cloudformation.stack(HOME, hubStackName(STAGE))?.StackStatus).toBe('CREATE_COMPLETE');
    expect(stdout).toMatch(/us-east-1 +hub +rootwatch-prod +skipped: not removed while a forwarder is left/);
    expect(stderr).toContain(
      'eu-west-1: rootwatch-prod-forwarder: DELETE_FAILED: ForwarderDeadLetterQueue (AWS::SQS::Queue): Resource handler returned message: "Access Denied"',
    );
  });

  it('--forwarders-only leaves the hub alone, and --dry-run removes nothing', async () => {
    // Prepare
    expect((await run('deploy', ['--stage', STAGE, '--regions', 'eu-west-1'])).status).toBe(0);
    serverlessRuns = [];
    const before = cloudformation.requests.length;

    // Act
    const dry = await run('remove', ['--stage', STAGE, '--regions', 'eu-west-1', '--dry-run']);
    const dryRequests = cloudformation.requests.length - before;
    const forwardersOnly = await run('remove', ['--stage', STAGE, '--regions', 'eu-west-1', '--forwarders-only']);

    // Assess
    expect(dry.status).toBe(0);
    expect(dryRequests).toBe(0);
    expect(dry.stdout).toContain('Nothing was removed (--dry-run).');
    expect(forwardersOnly.status).toBe(0);
    expect(cloudformation.stack('eu-west-1', FORWARDER)).toBeUndefined();
    // HOME is in the regions with --forwarders-only: it has no forwarder here, so it is absent.
    expect(forwardersOnly.stdout).toMatch(/us-east-1 +forwarder +rootwatch-prod-forwarder +absent/);
    expect(serverlessRuns).toStrictEqual([]);
    expect(cloudformation.stack(HOME, hubStackName(STAGE))?.StackStatus).toBe('CREATE_COMPLETE');
  });
});
