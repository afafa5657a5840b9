import { stageOfHubBusArn } from '../core/forwarding.js';
import { UsageError } from '../errors.js';
import { MetricsConfigSchema } from '../io/config.js';

/*
 * The command-line values several commands take alike, checked in one place so that each says the same thing about
 * the same mistake: --stage (with --region and --profile), the stage a hub bus ARN names, --hub-bus-arn and
 * `--param NAME=VALUE`.
 */

/**
 * node:util parseArgs options of every command that works on a deployed stage: `--stage S`, `--region R` and
 * `--profile P` (the AWS SDK's region and shared-config profile).
 */
const STAGE_OPTIONS = {
  stage: { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
} as const;

/**
 * `value` as a stage, checked with the schema the deployed functions read ROOTWATCH_STAGE with (letters, digits and
 * -, at most 40). `label` names where it came from in the error: `--stage` by default, `the stage` for one read
 * from a hub bus ARN.
 *
 * @throws UsageError `<label> "<value>" is not a stage name (…)` when it is not one.
 * @example
 * parseStage('prod'); // 'prod'
 * parseStage('prod us'); // throws UsageError: --stage "prod us" is not a stage name (letters, digits and -)
 */
const parseStage = (value: string, label = '--stage'): string => {
  const stage = MetricsConfigSchema.shape.ROOTWATCH_STAGE.safeParse(value);
  if (!stage.success) throw new UsageError(`${label} "${value}" is not ${stage.error.issues[0]?.message}`);
  return stage.data;
};

/**
 * The `--stage` a command needs, checked (parseStage).
 *
 * @throws UsageError `<command> needs --stage (<what>)` when it is missing or empty, or parseStage's.
 * @example
 * requiredStage('prod', 'forwarders', "the hub's stage"); // 'prod'
 * requiredStage(undefined, 'forwarders', "the hub's stage"); // throws UsageError: forwarders needs --stage (the hub's stage)
 */
const requiredStage = (value: string | undefined, command: string, what: string): string => {
  if (!value) throw new UsageError(`${command} needs --stage (${what})`);
  return parseStage(value);
};

/**
 * The stage of the hub bus `--hub-bus-arn` names (stageOfHubBusArn), as it stands in the ARN: check it with parseStage.
 *
 * @throws UsageError naming the value when it is not a rootwatch hub bus ARN
 *   (`arn:aws:events:REGION:ACCOUNT:event-bus/rootwatch-STAGE-hub`).
 * @example
 * hubBusArnStage('arn:aws:events:us-east-1:111122223333:event-bus/rootwatch-prod-hub'); // 'prod'
 */
const hubBusArnStage = (hubBusArn: string): string => {
  const stage = stageOfHubBusArn(hubBusArn);
  if (stage === undefined) {
    throw new UsageError(
      `--hub-bus-arn "${hubBusArn}" is not a rootwatch hub bus ARN (arn:aws:events:REGION:ACCOUNT:event-bus/rootwatch-STAGE-hub)`,
    );
  }
  return stage;
};

/**
 * One `--param NAME=VALUE`, split at its first `=`: `[NAME, VALUE]`, both as given (VALUE may hold `=` and be empty).
 *
 * @throws UsageError `--param takes NAME=VALUE (got "…")` when there is no `=` or nothing before it.
 * @example
 * splitParam('trailBuckets=a,b'); // ['trailBuckets', 'a,b']
 */
const splitParam = (param: string): [string, string] => {
  const equals = param.indexOf('=');
  if (equals < 1) throw new UsageError(`--param takes NAME=VALUE (got "${param}")`);
  return [param.slice(0, equals), param.slice(equals + 1)];
};

export { hubBusArnStage, parseStage, requiredStage, STAGE_OPTIONS, splitParam };
