import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { settleEach } from '../core/concurrency.js';
import { forwarderStackName, hubBusName, hubStackName, stageOfHubBusArn } from '../core/forwarding.js';
import { AlerterError, toError } from '../errors.js';
import { buildForwarderTemplate, countRules, templateBodyBytes } from './forwarder-template.js';
import { partitionOf } from './regions.js';
import {
  deployStack,
  describeStack,
  readStackOutputs,
  removeStack,
  StackOperationError,
  type StackOutcome,
  templateBodyOf,
  type WaitOptions,
} from './stacks.js';
import { readStageParameters } from './stage-parameters.js';

/*
 * `rootwatch deploy` and `rootwatch remove` over every region of one account, once the command line is read and the
 * regions chosen (functions/commands/deploy.ts): the hub through the Serverless Framework, then a forwarder stack per
 * other region, at most FORWARDER_CONCURRENCY at a time, one region's failure never stopping the others; then a
 * summary. The framework and CloudFormation are ports, so the tests run all of it against local servers.
 */

/** Forwarder stacks deployed or deleted at once: CloudFormation's API throttles a burst of DescribeStacks. */
const FORWARDER_CONCURRENCY = 4;

/** The capability a template that names its IAM roles (`rootwatch-<stage>-forwarder-<region>`) needs. */
const FORWARDER_CAPABILITIES = ['CAPABILITY_NAMED_IAM'] as const;

/** The stack tag that marks what a stage deployed. */
const STAGE_TAG = 'rootwatch:stage';

/** The hub's stack outputs the forwarders are built from (resources/alerting.yml, the hub bus). */
const HUB_OUTPUTS = { busArn: 'HubEventBusArn', busName: 'HubEventBusName', keyArn: 'AlertTopicKeyArn' } as const;

/** The Serverless Framework's CLI, relative to the repository. */
const SERVERLESS_BIN = 'node_modules/.bin/serverless';

/** What to do, decided from the command line and the account's regions. */
interface DeployPlan {
  action: 'deploy' | 'remove';
  stage: string;
  /** The hub's region. */
  home: string;
  /** Every region covered, the home region included. */
  regions: readonly string[];
  /** Deploy (or remove) the hub with the Serverless Framework: false with --forwarders-only. */
  hub: boolean;
  /** Deploy (or remove) the forwarders: false with --hub-only. */
  forwarders: boolean;
  /** --hub-bus-arn, with --forwarders-only. */
  hubBusArn?: string;
  /** --hub-key-arn, with --forwarders-only: the hub's AlertTopicKeyArn, which alerter-tampering's key clauses name. */
  hubKeyArn?: string;
  /** `NAME=VALUE` of each --param, for the framework and the forwarders' parameter values. */
  params: readonly string[];
  /** --profile: the framework gets it as --aws-profile (the SDK clients are made with it by the caller). */
  profile?: string;
  dryRun: boolean;
}

/** What the run needs from the world. */
interface DeployPorts {
  /** A CloudFormation client of the region (the caller's credentials). */
  cloudFormation(region: string): CloudFormationClient;
  /**
   * Runs `serverless ARGS…` (node_modules/.bin/serverless) from the repository, its output streamed; resolves to the
   * exit status. In the tests it records the command line and plays the hub's deployment on the local CloudFormation.
   */
  runServerless(args: readonly string[]): Promise<number>;
  /** How long and how often to wait for a stack. */
  wait: WaitOptions;
  /** serverless.yml's folder (default: this repository). */
  serviceDir?: string;
}

interface DeployIo {
  stdout(text: string): void;
  stderr: NodeJS.WritableStream;
}

/** One line of the summary: what happened to one stack. */
interface RegionReport {
  region: string;
  role: 'hub' | 'forwarder';
  stackName: string;
  /** created, updated, unchanged, deployed, deleted, absent, removed; failed; skipped. */
  result: StackOutcome['result'] | 'deployed' | 'removed' | 'failed' | 'skipped';
  detail?: string;
}

/** Forwarder regions: every region but the hub's, or all of them without a hub here (--forwarders-only). */
const forwarderRegionsOf = (plan: DeployPlan): string[] =>
  plan.regions.filter((region) => !plan.hub || region !== plan.home);

/**
 * The Serverless Framework's command line for the hub, without the binary: `deploy --stage S --region HOME
 * [--aws-profile P] [--param=forwarderRegions=…] [--param=NAME=VALUE]…`, or `remove --stage S --region HOME
 * [--aws-profile P]`. forwarderRegions (this account's other regions, each given a heartbeat alarm) is left out when
 * there are none: the framework refuses an empty --param.
 *
 * @example
 * serverlessArgsOf({ action: 'deploy', stage: 'prod', home: 'us-east-1', regions: ['eu-west-1', 'us-east-1'], hub: true,
 *   forwarders: true, params: [], dryRun: false });
 * // ['deploy', '--stage', 'prod', '--region', 'us-east-1', '--param=forwarderRegions=eu-west-1']
 */
const serverlessArgsOf = (plan: DeployPlan): string[] => {
  const args = [plan.action, '--stage', plan.stage, '--region', plan.home];
  if (plan.profile) args.push('--aws-profile', plan.profile);
  if (plan.action === 'remove') return args;
  const others = plan.regions.filter((region) => region !== plan.home);
  if (others.length > 0) args.push(`--param=forwarderRegions=${others.join(',')}`);
  for (const param of plan.params) args.push(`--param=${param}`);
  return args;
};

/** A command line as a shell would take it back: arguments with spaces or quotes single-quoted. */
const shellLine = (words: readonly string[]): string =>
  words.map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`)).join(' ');

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

/** The plan in words, printed before anything is done (and all that --dry-run does). */
const describePlan = (plan: DeployPlan, forwarderBytes?: number, ruleCount?: number): string[] => {
  const forwarderRegions = forwarderRegionsOf(plan);
  const lines = [
    `rootwatch ${plan.action}${plan.dryRun ? ' --dry-run' : ''}: stage ${plan.stage}, ${plural(plan.regions.length, 'region')} (${plan.regions.join(', ')})`,
  ];
  if (plan.hub) {
    lines.push(`  hub        ${hubStackName(plan.stage)} in ${plan.home}, with the Serverless Framework:`);
    lines.push(`               ${shellLine([SERVERLESS_BIN, ...serverlessArgsOf(plan)])}`);
  } else {
    lines.push(`  hub        not ${plan.action === 'deploy' ? 'deployed' : 'removed'} here (--forwarders-only)`);
  }
  if (plan.forwarders && forwarderRegions.length > 0) {
    const bus = plan.hubBusArn ?? `the hub's HubEventBusArn output (bus ${hubBusName(plan.stage)})`;
    lines.push(
      `  forwarder  ${forwarderStackName(plan.stage)} in ${plural(forwarderRegions.length, 'region')}: ${forwarderRegions.join(', ')}`,
    );
    if (plan.action === 'deploy') {
      lines.push(
        `               target ${bus}; ${FORWARDER_CAPABILITIES.join(', ')}, tag ${STAGE_TAG}=${plan.stage}${
          forwarderBytes === undefined ? '' : `; template ${forwarderBytes} bytes, ${plural(ruleCount ?? 0, 'rule')}`
        }`,
      );
    }
  } else if (plan.forwarders) {
    lines.push('  forwarder  none (no region besides the hub’s)');
  } else {
    lines.push('  forwarder  none (--hub-only)');
  }
  return lines;
};

/** A summary line per stack, then a total; failures also on stderr. */
const writeSummary = (plan: DeployPlan, reports: readonly RegionReport[], io: DeployIo): number => {
  const width = Math.max(...reports.map((report) => report.region.length), 6);
  const stackWidth = Math.max(...reports.map((report) => report.stackName.length), 5);
  io.stdout(`\nSummary (stage ${plan.stage}):\n`);
  for (const report of reports) {
    const result = report.result === 'failed' ? 'FAILED' : report.result;
    io.stdout(
      `  ${report.region.padEnd(width)}  ${report.role.padEnd(9)}  ${report.stackName.padEnd(stackWidth)}  ${result}${
        report.detail ? `: ${report.detail}` : ''
      }\n`,
    );
  }
  const failed = reports.filter((report) => report.result === 'failed');
  const skipped = reports.filter((report) => report.result === 'skipped');
  const done = reports.length - failed.length - skipped.length;
  const verb = plan.action === 'deploy' ? 'deployed' : 'removed';
  io.stdout(
    `${plural(reports.length, 'stack')}: ${done} ${verb}${failed.length ? `, ${failed.length} failed (${failed.map((r) => r.region).join(', ')})` : ''}${
      skipped.length ? `, ${skipped.length} skipped` : ''
    }\n`,
  );
  for (const report of failed) {
    io.stderr.write(`rootwatch ${plan.action}: ${report.region}: ${report.stackName}: ${report.detail ?? 'failed'}\n`);
  }
  return failed.length > 0 || skipped.length > 0 ? 1 : 0;
};

/** An outcome's summary line; a failure's detail is its error's message without the region and stack it repeats. */
const reportOf = (region: string, stackName: string, outcome: PromiseSettledResult<StackOutcome>): RegionReport => {
  if (outcome.status === 'fulfilled') {
    const { result, status } = outcome.value;
    return { region, role: 'forwarder', stackName, result, ...(status ? { detail: status } : {}) };
  }
  const error = toError(outcome.reason);
  const detail =
    error instanceof StackOperationError ? `${error.status}: ${error.reason}` : `${error.name}: ${error.message}`;
  return { region, role: 'forwarder', stackName, result: 'failed', detail };
};

/**
 * `operate` on the forwarder stack of every region, FORWARDER_CONCURRENCY at a time, each region printed as it
 * finishes (a long run shows progress) and none stopping the others; the reports in the order of `regions`.
 */
const forEachForwarder = async (
  regions: readonly string[],
  stackName: string,
  io: DeployIo,
  operate: (region: string) => Promise<StackOutcome>,
): Promise<RegionReport[]> => {
  const outcomes = await settleEach(regions, FORWARDER_CONCURRENCY, async (region) => {
    const [outcome] = await Promise.allSettled([operate(region)]);
    const report = reportOf(region, stackName, outcome as PromiseSettledResult<StackOutcome>);
    io.stdout(
      `  ${region}: ${stackName} ${report.result === 'failed' ? 'FAILED' : report.result}${report.detail ? ` (${report.detail})` : ''}\n`,
    );
    return report;
  });
  // The worker above never throws.
  return outcomes.map((outcome) => (outcome as PromiseFulfilledResult<RegionReport>).value);
};

/** Every forwarder region reported as skipped, with why. */
const skippedForwarders = (plan: DeployPlan, why: string): RegionReport[] =>
  forwarderRegionsOf(plan).map((region) => ({
    region,
    role: 'forwarder',
    stackName: forwarderStackName(plan.stage),
    result: 'skipped',
    detail: why,
  }));

/**
 * The hub bus (and key) the forwarders target: --hub-bus-arn (and --hub-key-arn), or the hub stack's outputs HubEventBusArn and
 * AlertTopicKeyArn, read with DescribeStacks in the home region.
 *
 * @throws AlerterError naming the stack and region when the stack or its HubEventBusArn output is missing, or the ARN
 *   is not the hub bus of this stage.
 */
const hubTargetOf = async (plan: DeployPlan, ports: DeployPorts): Promise<{ busArn: string; keyArn?: string }> => {
  if (plan.hubBusArn) return { busArn: plan.hubBusArn, ...(plan.hubKeyArn ? { keyArn: plan.hubKeyArn } : {}) };
  const stackName = hubStackName(plan.stage);
  const outputs = await readStackOutputs(ports.cloudFormation(plan.home), plan.home, stackName);
  const busArn = outputs[HUB_OUTPUTS.busArn];
  if (!busArn) {
    throw new AlerterError(
      `${plan.home}: stack ${stackName} has no output ${HUB_OUTPUTS.busArn}: deploy a rootwatch version with the hub bus`,
    );
  }
  if (stageOfHubBusArn(busArn) !== plan.stage) {
    throw new AlerterError(
      `${plan.home}: stack ${stackName} output ${HUB_OUTPUTS.busArn} is ${busArn}, not the bus ${hubBusName(plan.stage)}`,
    );
  }
  const keyArn = outputs[HUB_OUTPUTS.keyArn];
  return { busArn, ...(keyArn ? { keyArn } : {}) };
};

/**
 * `rootwatch deploy`: prints the plan; unless dry, runs `serverless deploy` for the hub (unless --forwarders-only),
 * reads the hub's outputs, deploys the forwarder stack (buildForwarderTemplate for those outputs, the stage's
 * parameters) to every forwarder region at most 4 at a time, and prints a summary. The forwarder template is built,
 * and its size checked, before anything is deployed, with a stand-in hub ARN.
 *
 * @returns the exit status: 0 when every stack was deployed (or left unchanged), 1 when any failed or was skipped.
 * @throws ConfigError for bad parameters (serverless.yml, --param), TemplateTooLargeError, before anything is deployed.
 * @example
 * import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
 *
 * declare const runServerless: (args: readonly string[]) => Promise<number>;
 * const status = await deployAllRegions(
 *   { action: 'deploy', stage: 'prod', home: 'us-east-1', regions: ['eu-west-1', 'us-east-1'], hub: true,
 *     forwarders: true, params: [], dryRun: false },
 *   { cloudFormation: (region) => new CloudFormationClient({ region }), runServerless,
 *     wait: { pollMs: 5000, timeoutMs: 1_800_000 } },
 *   { stdout: (text) => process.stdout.write(text), stderr: process.stderr },
 * );
 */
const deployAllRegions = async (plan: DeployPlan, ports: DeployPorts, io: DeployIo): Promise<number> => {
  const parameters = readStageParameters(plan.stage, plan.params, ports.serviceDir);
  const stackName = forwarderStackName(plan.stage);
  const templateOf = (busArn: string, keyArn?: string) =>
    buildForwarderTemplate({
      stage: plan.stage,
      hubBusArn: busArn,
      ...(keyArn ? { hubKeyArn: keyArn } : {}),
      values: parameters.values,
      heartbeatMinutes: parameters.heartbeatMinutes,
    });
  // Before anything is deployed: the catalog compiles with these parameters and the template fits a TemplateBody.
  const standInArn =
    plan.hubBusArn ??
    `arn:${partitionOf(plan.home)}:events:${plan.home}:000000000000:event-bus/${hubBusName(plan.stage)}`;
  const trial = templateOf(standInArn, plan.hubBusArn ? plan.hubKeyArn : undefined);
  templateBodyOf(trial, stackName);
  const trialBytes = templateBodyBytes(trial);
  for (const line of describePlan(plan, trialBytes, countRules(trial))) io.stdout(`${line}\n`);
  if (plan.dryRun) {
    io.stdout('Nothing was deployed (--dry-run).\n');
    return 0;
  }

  const reports: RegionReport[] = [];
  if (plan.hub) {
    io.stdout(`\nhub: ${shellLine([SERVERLESS_BIN, ...serverlessArgsOf(plan)])}\n`);
    const status = await ports.runServerless(serverlessArgsOf(plan));
    if (status !== 0) {
      reports.push({
        region: plan.home,
        role: 'hub',
        stackName: hubStackName(plan.stage),
        result: 'failed',
        detail: `serverless deploy exited with status ${status} (its output is above)`,
      });
      if (plan.forwarders) reports.push(...skippedForwarders(plan, 'the hub was not deployed'));
      return writeSummary(plan, reports, io);
    }
    reports.push({ region: plan.home, role: 'hub', stackName: hubStackName(plan.stage), result: 'deployed' });
  }
  if (!plan.forwarders || forwarderRegionsOf(plan).length === 0) return writeSummary(plan, reports, io);

  let target: { busArn: string; keyArn?: string };
  try {
    target = await hubTargetOf(plan, ports);
  } catch (error) {
    const err = toError(error);
    const hub = reports.find((report) => report.role === 'hub');
    if (hub) {
      hub.result = 'failed';
      hub.detail = `deployed, but its outputs could not be read: ${err.message}`;
    } else {
      io.stderr.write(`rootwatch deploy: ${err.message}\n`);
    }
    reports.push(...skippedForwarders(plan, 'the hub bus is unknown'));
    return writeSummary(plan, reports, io);
  }
  const template = templateOf(target.busArn, target.keyArn);
  const templateBody = templateBodyOf(template, stackName);
  const regions = forwarderRegionsOf(plan);
  io.stdout(
    `\nforwarders: ${stackName} → ${target.busArn} (${templateBodyBytes(template)} bytes, ${plural(countRules(template), 'rule')}) in ${plural(regions.length, 'region')}, ${FORWARDER_CONCURRENCY} at a time\n`,
  );
  reports.push(
    ...(await forEachForwarder(regions, stackName, io, (region) =>
      deployStack(
        ports.cloudFormation(region),
        region,
        { stackName, templateBody, tags: { [STAGE_TAG]: plan.stage }, capabilities: FORWARDER_CAPABILITIES },
        ports.wait,
        (message) => io.stdout(`  ${message}\n`),
      ),
    )),
  );
  return writeSummary(plan, reports, io);
};

/**
 * `rootwatch remove`: prints the plan; unless dry, deletes the forwarder stack in every forwarder region (at most 4 at
 * a time; a region without it is reported absent), then, unless --forwarders-only, runs `serverless remove` for the
 * hub, which is skipped when a forwarder could not be deleted (remove again once it is fixed) or reported absent when
 * its stack does not exist.
 *
 * @returns the exit status: 0 when everything is gone, 1 when any deletion failed or was skipped.
 * @example
 * declare const plan: DeployPlan;
 * declare const ports: DeployPorts;
 * const status = await removeAllRegions({ ...plan, action: 'remove' }, ports, {
 *   stdout: (text) => process.stdout.write(text),
 *   stderr: process.stderr,
 * });
 */
const removeAllRegions = async (plan: DeployPlan, ports: DeployPorts, io: DeployIo): Promise<number> => {
  for (const line of describePlan(plan)) io.stdout(`${line}\n`);
  if (plan.dryRun) {
    io.stdout('Nothing was removed (--dry-run).\n');
    return 0;
  }
  const stackName = forwarderStackName(plan.stage);
  const regions = plan.forwarders ? forwarderRegionsOf(plan) : [];
  const reports: RegionReport[] = [];
  if (regions.length > 0) {
    io.stdout(
      `\nforwarders: deleting ${stackName} in ${plural(regions.length, 'region')}, ${FORWARDER_CONCURRENCY} at a time\n`,
    );
    reports.push(
      ...(await forEachForwarder(regions, stackName, io, (region) =>
        removeStack(ports.cloudFormation(region), region, stackName, ports.wait),
      )),
    );
  }
  if (plan.hub) {
    const hubStack = hubStackName(plan.stage);
    const report: RegionReport = { region: plan.home, role: 'hub', stackName: hubStack, result: 'removed' };
    if (reports.some((other) => other.result === 'failed')) {
      report.result = 'skipped';
      report.detail = 'not removed while a forwarder is left: fix the failure above and run remove again';
    } else {
      let exists: boolean | undefined;
      try {
        exists = (await describeStack(ports.cloudFormation(plan.home), hubStack)) !== undefined;
      } catch (error) {
        // Unknown: let the framework try, and say what it finds.
        io.stderr.write(
          `rootwatch remove: ${plan.home}: could not read stack ${hubStack}: ${toError(error).message}\n`,
        );
      }
      if (exists === false) {
        report.result = 'absent';
      } else {
        io.stdout(`\nhub: ${shellLine([SERVERLESS_BIN, ...serverlessArgsOf(plan)])}\n`);
        const status = await ports.runServerless(serverlessArgsOf(plan));
        if (status !== 0) {
          report.result = 'failed';
          report.detail = `serverless remove exited with status ${status} (its output is above)`;
        }
      }
    }
    reports.push(report);
  }
  return writeSummary(plan, reports, io);
};

export type { DeployIo, DeployPlan, DeployPorts };
export { deployAllRegions, forwarderRegionsOf, removeAllRegions, SERVERLESS_BIN, serverlessArgsOf };
