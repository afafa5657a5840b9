import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseDeployArgs, runDeploy, spawnServerless } from '../../functions/commands/deploy.js';
import { DEPLOY_USAGE } from '../../functions/commands/usage.js';
import { type DeployPlan, forwarderRegionsOf, serverlessArgsOf } from '../../functions/deploy/all-regions.js';
import { UsageError } from '../../functions/errors.js';
import { packagingEnv } from '../helpers/package.js';

const HUB_BUS_ARN = 'arn:aws:events:us-east-1:111122223333:event-bus/rootwatch-prod-hub';

/** An io that keeps what was written. */
const capture = () => {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: {
      stdout: (text: string) => {
        out.stdout += text;
      },
      stderr: new Writable({
        write(chunk, _encoding, callback) {
          out.stderr += String(chunk);
          callback();
        },
      }),
      env: packagingEnv(),
    },
  };
};

describe('parseDeployArgs', () => {
  it('defaults the home region to us-east-1 and covers hub and forwarders', () => {
    expect(parseDeployArgs('deploy', ['--stage', 'prod', '--all-regions'])).toStrictEqual({
      action: 'deploy',
      stage: 'prod',
      home: 'us-east-1',
      regions: 'all',
      hub: true,
      forwarders: true,
      params: [],
      dryRun: false,
      help: false,
    });
  });

  it('reads every flag of deploy', () => {
    expect(
      parseDeployArgs('deploy', [
        '--stage',
        'prod',
        '--region',
        'eu-central-1',
        '--regions',
        'eu-west-1,eu-west-1,eu-north-1',
        '--param',
        'trailBuckets=a,b',
        '--param',
        'minSeverity=high',
        '--profile',
        'security',
        '--hub-only',
        '--dry-run',
      ]),
    ).toStrictEqual({
      action: 'deploy',
      stage: 'prod',
      home: 'eu-central-1',
      regions: ['eu-west-1', 'eu-north-1'],
      hub: true,
      forwarders: false,
      params: ['trailBuckets=a,b', 'minSeverity=high'],
      profile: 'security',
      dryRun: true,
      help: false,
    });
  });

  it('reads --forwarders-only with the hub bus of the same stage', () => {
    expect(
      parseDeployArgs('deploy', [
        '--stage',
        'prod',
        '--regions',
        'eu-west-1',
        '--forwarders-only',
        '--hub-bus-arn',
        HUB_BUS_ARN,
      ]),
    ).toMatchObject({ hub: false, forwarders: true, hubBusArn: HUB_BUS_ARN });
  });

  it.each([
    [[], 'deploy needs --stage'],
    [['--stage', 'prod us'], '--stage "prod us" is not a stage name'],
    [['--stage', 'prod'], 'deploy needs --all-regions (every enabled region) or --regions'],
    [['--stage', 'prod', '--all-regions', '--regions', 'eu-west-1'], 'give --all-regions or --regions, not both'],
    [['--stage', 'prod', '--all-regions', '--hub-only', '--forwarders-only'], 'give --hub-only or --forwarders-only'],
    [['--stage', 'prod', '--all-regions', '--forwarders-only'], '--forwarders-only needs --hub-bus-arn'],
    [['--stage', 'prod', '--all-regions', '--hub-bus-arn', HUB_BUS_ARN], '--hub-bus-arn goes with --forwarders-only'],
    [
      ['--stage', 'dev', '--all-regions', '--forwarders-only', '--hub-bus-arn', HUB_BUS_ARN],
      '--hub-bus-arn names the bus of stage "prod", not of --stage dev',
    ],
    [
      [
        '--stage',
        'prod',
        '--all-regions',
        '--forwarders-only',
        '--hub-bus-arn',
        'arn:aws:events:us-east-1:111122223333:event-bus/default',
      ],
      'is not a rootwatch hub bus ARN',
    ],
    [
      ['--stage', 'prod', '--all-regions', '--hub-key-arn', 'arn:aws:kms:us-east-1:111122223333:key/k'],
      '--hub-key-arn goes with --forwarders-only',
    ],
    [['--stage', 'prod', '--all-regions', '--param', 'trailBuckets'], '--param takes NAME=VALUE (got "trailBuckets")'],
    [
      ['--stage', 'prod', '--all-regions', '--param', 'forwarderRegions=eu-west-1'],
      '--param forwarderRegions is set by the command',
    ],
    [['--stage', 'prod', '--regions', 'eu-west-1,nowhere'], '"nowhere" is not a region name'],
  ])('refuses %j', (args, message) => {
    expect(() => parseDeployArgs('deploy', args)).toThrow(UsageError);
    expect(() => parseDeployArgs('deploy', args)).toThrow(message);
  });

  it('refuses the flags remove does not take', () => {
    expect(() => parseDeployArgs('remove', ['--stage', 'prod', '--all-regions', '--param', 'a=b'])).toThrow(
      expect.objectContaining({ code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' }),
    );
  });
});

describe('serverlessArgsOf', () => {
  const plan: DeployPlan = {
    action: 'deploy',
    stage: 'prod',
    home: 'us-east-1',
    regions: ['eu-west-1', 'us-east-1', 'ap-south-1'],
    hub: true,
    forwarders: true,
    params: ['minSeverity=high'],
    profile: 'security',
    dryRun: false,
  };

  it('deploys the hub in the home region with the other regions as forwarderRegions and each --param', () => {
    expect(serverlessArgsOf(plan)).toStrictEqual([
      'deploy',
      '--stage',
      'prod',
      '--region',
      'us-east-1',
      '--aws-profile',
      'security',
      '--param=forwarderRegions=eu-west-1,ap-south-1',
      '--param=minSeverity=high',
    ]);
  });

  it('leaves forwarderRegions out when the home region is the only one (the framework refuses an empty --param)', () => {
    expect(serverlessArgsOf({ ...plan, regions: ['us-east-1'], params: [] })).not.toContainEqual(
      expect.stringContaining('forwarderRegions'),
    );
  });

  it('removes with the stage, region and profile only', () => {
    expect(serverlessArgsOf({ ...plan, action: 'remove' })).toStrictEqual([
      'remove',
      '--stage',
      'prod',
      '--region',
      'us-east-1',
      '--aws-profile',
      'security',
    ]);
  });

  it('puts forwarders in every region but the hub’s, or in all of them without a hub', () => {
    expect(forwarderRegionsOf(plan)).toStrictEqual(['eu-west-1', 'ap-south-1']);
    expect(forwarderRegionsOf({ ...plan, hub: false })).toStrictEqual(['eu-west-1', 'us-east-1', 'ap-south-1']);
  });
});

describe('runDeploy', () => {
  it('prints its usage for --help, and exits 0', async () => {
    const { out, io } = capture();
    expect(await runDeploy('deploy', ['--help'], io)).toBe(0);
    expect(out.stdout).toBe(`Usage:\n${DEPLOY_USAGE}\n`);
  });

  it('exits 2 on bad usage, naming the problem, with a pointer to the help on stderr', async () => {
    const { out, io } = capture();
    expect(await runDeploy('remove', ['--stage', 'prod', '--all-regions', '--hub-only'], io)).toBe(2);
    expect(out.stderr).toContain("rootwatch remove: Unknown option '--hub-only'");
    expect(out.stderr).toContain('Run "rootwatch --help"');
    expect(out.stdout).toBe('');
  });

  it('exits 2 with the pointer to the help for a flag it refuses itself, as for one parseArgs refuses', async () => {
    const { out, io } = capture();
    expect(await runDeploy('deploy', ['--all-regions'], io)).toBe(2);
    expect(out.stderr).toBe(
      'rootwatch deploy: deploy needs --stage (the stage, as in serverless deploy --stage)\nRun "rootwatch --help" for the commands and their options.\n',
    );
  });
});

describe('spawnServerless', () => {
  it('streams the framework’s output and resolves to its exit status', async () => {
    const ok = capture();
    const failing = capture();

    expect(await spawnServerless(['--version'], ok.io)).toBe(0);
    expect(ok.out.stdout).toMatch(/osls version: \d+\.\d+\.\d+/);
    expect(await spawnServerless(['no-such-command'], failing.io)).not.toBe(0);
    expect(failing.out.stdout + failing.out.stderr).toContain('no-such-command');
  });
});
