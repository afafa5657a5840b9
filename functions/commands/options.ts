import type { Detection } from '../core/detection.js';
import { stageOfHubBusArn } from '../core/forwarding.js';
import { SEVERITIES, type Severity } from '../core/severity.js';
import { UsageError } from '../errors.js';
import { readAccountNamesFile } from '../io/accounts.js';
import {
  AlertConfigSchema,
  type DetectionParameterValues,
  detectionParametersOf,
  MetricsConfigSchema,
  parseDetectionParameterValues,
  readDetectionParameterFile,
} from '../io/config.js';
import { DEFAULT_DETECTIONS_DIR, loadDetections } from '../io/detections.js';
import { FORMATS, type Format, SESSION_FORMATS } from '../io/stdout-sink.js';

/*
 * The command-line values several commands take alike, checked in one place so that each says the same thing about
 * the same mistake: --stage (with --region and --profile), the stage a hub bus ARN names, --hub-bus-arn,
 * `--param NAME=VALUE`, the catalog with its parameters (--detections, --config, --param), a flag's choices, and the
 * runbook links of ROOTWATCH_RUNBOOK_BASE_URL.
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

/** node:util parseArgs options of the commands that load the catalog: `--detections DIR`, `--config FILE`, `--param`. */
const CATALOG_OPTIONS = {
  detections: { type: 'string' },
  config: { type: 'string' },
  param: { type: 'string', multiple: true },
} as const;

/**
 * The deploy parameters the detections name: `--config FILE` (YAML or JSON), then each `--param NAME=VALUE` over it,
 * validated by the schemas the alert function reads the same values with.
 *
 * @throws ConfigError naming a bad parameter or an unreadable file; UsageError for a `--param` without `=`.
 */
const parameterValuesOf = (configFile: string | undefined, params: readonly string[]): DetectionParameterValues => {
  const fromFile = configFile ? readDetectionParameterFile(configFile) : {};
  const fromFlags = Object.fromEntries(params.map(splitParam));
  return params.length === 0 ? fromFile : { ...fromFile, ...parseDetectionParameterValues(fromFlags, '--param') };
};

/**
 * The catalog a command runs: `--detections DIR` (default: the bundled events/) with the parameters of `--config` and
 * `--param` filled in. Never the samples' values: what a command finds is what a deployment with these parameters
 * would alert on.
 *
 * @throws DetectionFileError for a bad detection file; ConfigError or UsageError as parameterValuesOf.
 * @example
 * catalogOf({ param: ['trailBuckets=org-trail-bucket'] }); // Detection[]: the catalog, its trail clauses naming that bucket
 */
const catalogOf = (values: { detections?: string; config?: string; param?: string[] }): Detection[] =>
  loadDetections(
    values.detections ?? DEFAULT_DETECTIONS_DIR,
    detectionParametersOf(parameterValuesOf(values.config, values.param ?? [])),
  );

/**
 * `value` when it is one of `allowed`, `fallback` when it is undefined.
 *
 * @throws UsageError `<flag> must be one of a, b (got "x")` otherwise.
 */
const oneOf = <T extends string>(value: string | undefined, allowed: readonly T[], flag: string, fallback: T): T => {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${flag} must be one of ${allowed.join(', ')} (got "${value}")`);
};

/**
 * Runbook links as the deployed alerter makes them (ROOTWATCH_RUNBOOK_BASE_URL: your `runbookBaseUrl`), so that what
 * a command prints is what the deployment sends; undefined (no runbook link) when unset or empty.
 *
 * @throws UsageError naming ROOTWATCH_RUNBOOK_BASE_URL when it is not an https URL ending in "/".
 * @example
 * runbookBaseUrlOf({ ROOTWATCH_RUNBOOK_BASE_URL: 'https://wiki.example.com/runbooks/' }); // 'https://wiki.example.com/runbooks/'
 */
const runbookBaseUrlOf = (env: Readonly<Record<string, string | undefined>> | undefined): string | undefined => {
  const result = AlertConfigSchema.shape.RUNBOOK_BASE_URL.safeParse(env?.ROOTWATCH_RUNBOOK_BASE_URL || undefined);
  if (!result.success) {
    throw new UsageError(`ROOTWATCH_RUNBOOK_BASE_URL ${result.error.issues.map((i) => i.message).join('; ')}`);
  }
  return result.data;
};

/** parseArgs options of the commands that print alerts as replay does (replay, athena --run). */
const ALERT_OUTPUT_OPTIONS = {
  format: { type: 'string' },
  'min-severity': { type: 'string' },
  'no-fold': { type: 'boolean' },
  sessions: { type: 'boolean' },
  'account-names': { type: 'string' },
} as const;

/** How a command prints alerts: replay's options of the same names (commands/replay.ts). */
interface AlertOutput {
  format: Format;
  minSeverity: Severity;
  fold: boolean;
  sessions: boolean;
  /** Account id → name, from `--account-names FILE`; empty without it. */
  accountNames: Record<string, string>;
}

/**
 * ALERT_OUTPUT_OPTIONS' values, checked: `--format` (table by default), `--min-severity` (info), `--no-fold`,
 * `--sessions` (with a format that lists sessions), `--account-names FILE`.
 *
 * @throws UsageError for a value out of its choices, or --sessions with --no-fold; ConfigError for an unreadable or
 *   invalid account names file.
 * @example
 * alertOutputOf({ format: 'ndjson' }); // { format: 'ndjson', minSeverity: 'info', fold: true, sessions: false, accountNames: {} }
 */
const alertOutputOf = (values: {
  format?: string;
  'min-severity'?: string;
  'no-fold'?: boolean;
  sessions?: boolean;
  'account-names'?: string;
}): AlertOutput => {
  const format: Format = oneOf(values.format, FORMATS, '--format', 'table');
  const sessions = values.sessions === true;
  if (sessions && values['no-fold']) {
    throw new UsageError('--sessions lists the sessions that folding finds: it does not go with --no-fold');
  }
  if (sessions) oneOf(format, SESSION_FORMATS, '--format with --sessions', 'table');
  return {
    format,
    minSeverity: oneOf(values['min-severity'], SEVERITIES, '--min-severity', 'info'),
    fold: values['no-fold'] !== true,
    sessions,
    accountNames: values['account-names'] ? readAccountNamesFile(values['account-names']) : {},
  };
};

export {
  ALERT_OUTPUT_OPTIONS,
  alertOutputOf,
  CATALOG_OPTIONS,
  catalogOf,
  hubBusArnStage,
  parseStage,
  requiredStage,
  runbookBaseUrlOf,
  STAGE_OPTIONS,
  splitParam,
};
