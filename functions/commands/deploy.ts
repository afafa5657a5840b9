import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AccountClient } from '@aws-sdk/client-account';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { hubBusName } from '../core/forwarding.js';
import { cleanLine } from '../core/render/text.js';
import {
  type DeployIo,
  type DeployPlan,
  type DeployPorts,
  deployAllRegions,
  removeAllRegions,
  SERVERLESS_BIN,
} from '../deploy/all-regions.js';
import { parseRegionList, readAccountRegions, selectRegions } from '../deploy/regions.js';
import { TemplateTooLargeError } from '../deploy/stacks.js';
import { AlerterError, ConfigError, DetectionFileError, isUsageError, toError, UsageError } from '../errors.js';
import { type ClientBudget, clientOptionsFor } from '../io/aws-clients.js';
import { hubBusArnStage, requiredStage, STAGE_OPTIONS, splitParam } from './options.js';
import { DEPLOY_USAGE } from './usage.js';

/*
 * `rootwatch deploy` and `rootwatch remove`: one command for every region of an account. The command line is read
 * and the regions chosen here; functions/deploy/all-regions.ts does the rest over ports (the Serverless Framework as
 * a child process, CloudFormation and Account Management clients), which the tests replace with local servers.
 */

/** The region of the hub unless --region: us-east-1 of the security account (DESIGN.md). */
const DEFAULT_HOME_REGION = 'us-east-1';

/** The repository, where serverless.yml and node_modules/.bin/serverless are. */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The deploy command's AWS clients: a CloudFormation call answers in well under a second, but 17 regions polled at
 * once may be throttled, so five attempts with the SDK's backoff; 30 s for one request.
 */
const DEPLOY_BUDGET: ClientBudget = { connectionTimeoutMs: 5_000, requestTimeoutMs: 30_000, maxAttempts: 5 };

/** A forwarder stack is polled every 5 s, and given 30 minutes (it takes one or two). */
const DEFAULT_WAIT = { pollMs: 5_000, timeoutMs: 30 * 60_000 };

/** Everything the command reaches outside the process; each may be replaced (the tests use local servers). */
interface DeployCommandPorts extends DeployPorts {
  /** The Account Management client (ListRegions), for the hub's region: its partition is the one listed. */
  account(region: string): AccountClient;
  /** Releases the clients made. */
  close?(): void;
}

interface DeployCommandIo {
  stdout(text: string): void;
  stderr: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
}

/**
 * `node_modules/.bin/serverless ARGS…` from the repository, with the caller's environment, its standard output and
 * error streamed to `io`; resolves to its exit status (127 when it cannot be started, with the reason on stderr).
 */
const spawnServerless = (args: readonly string[], io: DeployCommandIo): Promise<number> =>
  new Promise((resolvePromise) => {
    const child = spawn(join(REPO_ROOT, SERVERLESS_BIN), [...args], {
      cwd: REPO_ROOT,
      env: io.env as NodeJS.ProcessEnv,
      stdio: ['inherit', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => io.stdout(chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => io.stderr.write(chunk));
    child.on('error', (error) => {
      io.stderr.write(`rootwatch: cannot run ${SERVERLESS_BIN} (${error.message}): run npm ci in ${REPO_ROOT}\n`);
      resolvePromise(127);
    });
    child.on('close', (code, signal) => resolvePromise(code ?? (signal ? 128 : 1)));
  });

/**
 * The production ports: SDK clients with the default credential chain (`profile` when given), one per region, and
 * the framework as a child process.
 */
const defaultPorts = (io: DeployCommandIo, profile: string | undefined): DeployCommandPorts => {
  const clients = new Map<string, { destroy(): void }>();
  /** The client of this key, made once. */
  const cached = <T extends { destroy(): void }>(key: string, make: () => T): T => {
    const client = (clients.get(key) as T | undefined) ?? make();
    clients.set(key, client);
    return client;
  };
  const config = (region: string) => ({ region, ...(profile ? { profile } : {}), ...clientOptionsFor(DEPLOY_BUDGET) });
  return {
    cloudFormation: (region) => cached(`cloudformation:${region}`, () => new CloudFormationClient(config(region))),
    account: (region) => cached(`account:${region}`, () => new AccountClient(config(region))),
    runServerless: (args) => spawnServerless(args, io),
    wait: DEFAULT_WAIT,
    close() {
      for (const client of clients.values()) client.destroy();
    },
  };
};

/** `NAME=VALUE` of each --param, checked for shape; forwarderRegions is the command's to set. */
const checkParams = (params: readonly string[]): string[] =>
  params.map((param) => {
    const [name] = splitParam(param);
    if (name.trim() === 'forwarderRegions') {
      throw new UsageError('--param forwarderRegions is set by the command from the regions covered: leave it out');
    }
    return param;
  });

/**
 * The command line of `rootwatch deploy|remove`, checked: the plan but for its regions, which are still to be chosen
 * (`all`, or the --regions list), and whether --help was asked for.
 */
type DeployArgs = Omit<DeployPlan, 'regions'> & { regions: 'all' | string[]; help: boolean };

/**
 * Reads `rootwatch deploy|remove` arguments (after the command name).
 *
 * @throws UsageError (or parseArgs' TypeError, code ERR_PARSE_ARGS_*) naming the flag that is missing, wrong or
 *   contradicts another.
 * @example
 * parseDeployArgs('deploy', ['--stage', 'prod', '--all-regions']);
 * // { action: 'deploy', stage: 'prod', home: 'us-east-1', regions: 'all', hub: true, forwarders: true, … }
 */
const parseDeployArgs = (action: 'deploy' | 'remove', args: readonly string[]): DeployArgs => {
  const common = {
    ...STAGE_OPTIONS,
    'all-regions': { type: 'boolean' },
    regions: { type: 'string' },
    'forwarders-only': { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  } as const;
  const { values } =
    action === 'deploy'
      ? parseArgs({
          args: [...args],
          options: {
            ...common,
            param: { type: 'string', multiple: true },
            'hub-only': { type: 'boolean' },
            'hub-bus-arn': { type: 'string' },
            'hub-key-arn': { type: 'string' },
          },
        })
      : parseArgs({ args: [...args], options: common });
  const deployOnly = values as {
    param?: string[];
    'hub-only'?: boolean;
    'hub-bus-arn'?: string;
    'hub-key-arn'?: string;
  };
  const base = {
    action,
    home: values.region ?? DEFAULT_HOME_REGION,
    params: [] as string[],
    dryRun: values['dry-run'] === true,
    ...(values.profile ? { profile: values.profile } : {}),
  };
  if (values.help) return { ...base, stage: '', regions: [], hub: true, forwarders: true, help: true };

  const stage = requiredStage(values.stage, action, 'the stage, as in serverless deploy --stage');
  if (values['all-regions'] && values.regions !== undefined) {
    throw new UsageError('give --all-regions or --regions, not both');
  }
  if (!values['all-regions'] && values.regions === undefined) {
    throw new UsageError(`${action} needs --all-regions (every enabled region) or --regions R,R…`);
  }
  const regions = values['all-regions'] ? ('all' as const) : parseRegionList(values.regions ?? '', '--regions');
  const forwardersOnly = values['forwarders-only'] === true;
  const hubOnly = deployOnly['hub-only'] === true;
  if (hubOnly && forwardersOnly) throw new UsageError('give --hub-only or --forwarders-only, not both');
  const hubBusArn = deployOnly['hub-bus-arn'];
  if (action === 'deploy' && forwardersOnly && !hubBusArn) {
    throw new UsageError(
      `--forwarders-only needs --hub-bus-arn (the hub stack's output HubEventBusArn, like arn:aws:events:us-east-1:111122223333:event-bus/${hubBusName(stage)})`,
    );
  }
  const hubKeyArn = deployOnly['hub-key-arn'];
  if (hubKeyArn !== undefined && !forwardersOnly) {
    throw new UsageError('--hub-key-arn goes with --forwarders-only (else the hub stack gives it)');
  }
  if (hubBusArn !== undefined) {
    if (!forwardersOnly)
      throw new UsageError('--hub-bus-arn goes with --forwarders-only (else the hub is deployed here)');
    const arnStage = hubBusArnStage(hubBusArn);
    if (arnStage !== stage) {
      throw new UsageError(`--hub-bus-arn names the bus of stage "${arnStage}", not of --stage ${stage}`);
    }
  }
  return {
    ...base,
    stage,
    regions,
    hub: !forwardersOnly,
    forwarders: !hubOnly,
    ...(hubBusArn ? { hubBusArn } : {}),
    ...(hubKeyArn ? { hubKeyArn } : {}),
    params: checkParams(deployOnly.param ?? []),
    help: false,
  };
};

/**
 * `rootwatch deploy …` and `rootwatch remove …` (`args` after the command name): reads the command line, reads the
 * account's enabled regions (ListRegions) and checks the regions against them, then deploys or removes (see
 * functions/deploy/all-regions.ts). `ports` replaces any of the production ports (tests).
 *
 * @returns the exit status: 0 when every stack is done (or --dry-run, --help), 1 when a stack failed, a region is not
 *   enabled or the account's regions could not be read for --all-regions, 2 on bad usage or parameters (printed with
 *   the usage on stderr).
 * @example
 * const status = await runDeploy('deploy', ['--stage', 'prod', '--all-regions'], {
 *   stdout: (text) => process.stdout.write(text),
 *   stderr: process.stderr,
 *   env: process.env,
 * });
 */
const runDeploy = async (
  action: 'deploy' | 'remove',
  args: string[],
  io: DeployCommandIo,
  ports: Partial<DeployCommandPorts> = {},
): Promise<number> => {
  let parsed: DeployArgs;
  try {
    parsed = parseDeployArgs(action, args);
  } catch (error) {
    if (!isUsageError(error)) throw error;
    io.stderr.write(
      `rootwatch ${action}: ${cleanLine(toError(error).message)}\nRun "rootwatch --help" for the commands and their options.\n`,
    );
    return 2;
  }
  const { help, ...request } = parsed;
  if (help) {
    io.stdout(`Usage:\n${DEPLOY_USAGE}\n`);
    return 0;
  }
  const production = defaultPorts(io, request.profile);
  const all: DeployCommandPorts = { ...production, ...ports };
  const out: DeployIo = { stdout: io.stdout, stderr: io.stderr };
  try {
    const account = await readAccountRegions(all.account(request.home));
    const selection = selectRegions({ home: request.home, regions: request.regions, account });
    if (selection.unchecked) {
      io.stderr.write(
        `rootwatch ${action}: could not read the account's regions (${selection.unchecked.name}: ${selection.unchecked.message}); ${selection.regions.join(', ')} were not checked against them (allow account:ListRegions to check)\n`,
      );
    }
    const plan: DeployPlan = { ...request, regions: selection.regions };
    return action === 'deploy' ? await deployAllRegions(plan, all, out) : await removeAllRegions(plan, all, out);
  } catch (error) {
    const err = toError(error);
    if (!(err instanceof AlerterError)) throw err;
    io.stderr.write(`rootwatch ${action}: ${cleanLine(err.message)}\n`);
    if (err instanceof UsageError) {
      io.stderr.write(`Usage:\n${DEPLOY_USAGE}\n`);
      return 2;
    }
    // Bad parameters or a catalog that does not fit: nothing was deployed, the fix is in the configuration.
    return err instanceof ConfigError || err instanceof TemplateTooLargeError || err instanceof DetectionFileError
      ? 2
      : 1;
  } finally {
    production.close?.();
  }
};

export { parseDeployArgs, runDeploy, spawnServerless };
