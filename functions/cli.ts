import { parseArgs } from 'node:util';
import type { ForwarderTemplateCommand } from './commands/forwarder-template.js';
import { hubBusArnStage, parseStage, requiredStage, STAGE_OPTIONS, splitParam } from './commands/options.js';
import { formatSummary, replay } from './commands/replay.js';
import { DEPLOY_USAGE, FORWARDERS_USAGE } from './commands/usage.js';
import { alertJsonSchema } from './core/alert-document.js';
import { digestJsonSchema } from './core/digest-document.js';
import { cleanLine } from './core/render/text.js';
import { FOLD_MAX_EVENTS, FOLD_WINDOW_MS } from './core/session.js';
import { SEVERITIES, type Severity } from './core/severity.js';
import { AlerterError, isUsageError, toError, UsageError } from './errors.js';
import { readAccountNamesFile } from './io/accounts.js';
import {
  AlertConfigSchema,
  type DetectionParameterValues,
  detectionParametersOf,
  parseDetectionParameterValues,
  readDetectionParameterFile,
} from './io/config.js';
import { DEFAULT_DETECTIONS_DIR, loadDetections } from './io/detections.js';
import { type InputLimits, parseLimit } from './io/input/limits.js';
import { FORMATS, type Format, SESSION_FORMATS } from './io/stdout-sink.js';

const BASE_USAGE = `Usage:
  rootwatch replay [--format table|ndjson|json|slack|email] [--min-severity S] [--no-fold | --sessions]
                   [--detections DIR] [--account-names FILE] [--config FILE] [--param NAME=VALUE]...
                   [--workers N] [--max-file-bytes B] [--max-depth N] [--max-string-bytes B] [--max-records N]
                   PATH...
      PATH: a CloudTrail log file (.json, .json.gz), a directory of them, a JSON or NDJSON file of
      CloudTrail records or EventBridge events, aws cloudtrail lookup-events output, CloudWatch Logs
      output (filter-log-events, get-log-events, a subscription payload), or - for stdin (files one
      after another too: cat *.json.gz | rootwatch replay -).
      Root sessions are folded as the deployed alerter folds them, with each event arriving at its
      event time: a session's first alert and its escalations print as alerts, the rest of it as
      digests (a fold closes ${FOLD_WINDOW_MS / 60_000} minutes after its first event, at ${FOLD_MAX_EVENTS} events,
      or at the end of the input).
  rootwatch schema [--digest]
      Prints the JSON Schema of the alert document (rootwatch.alert/v1), or with --digest of the digest
      document (rootwatch.digest/v1), for SIEM subscribers.
  rootwatch demo [--all]
      The catalog's sample events through the full alert pipeline, with local stand-ins for SNS, SQS,
      DynamoDB and Slack: prints what Slack and e-mail receive. SLACK_WEBHOOK_URL=... posts to a real channel.
  rootwatch test-alert --stage S [--region R] [--profile P] [--timeout SECONDS]
      Puts a test heartbeat on the deployed stage's event bus and reports, hop by hop, how far it got
      (rule → alert function → SNS topic and Slack queue → notifier), read back from rootwatch-S-state.
      Credentials and region from the AWS SDK's chain (AWS_PROFILE, --profile, AWS_REGION, --region).
      Exit status: 0 when it reached the notifier, 1 when it did not within the timeout (default 60 s).
  rootwatch forwarder-template --hub-bus-arn ARN [--hub-key-arn ARN] [--stage S] [--param NAME=VALUE]...
                               [--compact]
      Prints the forwarder (the catalog's rules on the default bus, forwarding to the hub bus, and a
      heartbeat) as plain CloudFormation JSON, for a StackSet across an organization or a stack per
      region. ARN: the hub bus, arn:aws:events:REGION:ACCOUNT:event-bus/rootwatch-STAGE-hub (the hub
      stack's output); --hub-key-arn: the hub's KMS key (output AlertTopicKeyArn), which
      alerter-tampering's key clauses then name as the hub's do. The stage is the bus's; the
      parameters are serverless.yml's for it, --param over them. --compact prints one line, the form
      to give as TemplateBody. Exit status: 1 when the template is over TemplateBody's 51,200 bytes.
COMMANDS_OF_THEIR_OWN

Options:
  --format         table (default), ndjson (one alert or digest document a line: see "schema"),
                   json (an array), slack (each alert's or digest's Slack payload, one JSON object a
                   line), email (each e-mail: Subject: …, a blank line, the body, then ---)
  --min-severity   ${SEVERITIES.join(' | ')} (default info: every alert)
  --no-fold        every alerting event as an alert of its own, no digests: for a responder who
                   wants each event of a burst (the deployed alerter folds them)
  --sessions       one line (table) or JSON object (ndjson, json) per root session instead: account,
                   actor, credential, first and last event time, highest severity, detections, and
                   the top 5 event names and sources with counts
  --detections     folder of detection files (default: the bundled events/)
  --account-names  JSON file of account id to name, as the accountNames parameter:
                   {"111122223333": "prod-payments"}
  --config         YAML or JSON file of the deploy parameters the detections name, by their
                   serverless.yml names: trailBuckets, trailKeyArns, trailLogGroups (comma-separated
                   or lists), alerterKeyArn, slackWebhookParameter (see events/samples/parameters.yml)
  --param          NAME=VALUE, one of those parameters (repeatable; wins over --config). Without them,
                   the clauses on the trails' buckets, keys and log groups and on rootwatch's key match nothing
  --workers        threads reading small files (default: one per CPU; 0: none)
  --max-file-bytes a file's size once gunzipped (default 1G; K, M, G suffixes): past it the rest of
                   the file is reported and not read
  --max-depth      nesting of a record (default 64): a deeper record is reported and skipped
  --max-string-bytes  a string's length in a record (default 16M): a record holding a longer one is
                   reported and skipped
  --max-records    records per file (default 10000000): past it the rest of the file is not read
  -h, --help       this help

Exit status: 0 when all input was read, 1 when some could not be, 2 on bad usage.`;

/** The whole usage text, the deploy, remove and forwarders commands' own included (commands/usage.ts: no SDK). */
const usage = (): string => BASE_USAGE.replace('COMMANDS_OF_THEIR_OWN', `${DEPLOY_USAGE}\n${FORWARDERS_USAGE}`);

interface CliIo {
  stdout: (text: string) => void;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdin?: NodeJS.ReadableStream;
  env: Record<string, string | undefined>;
}

const oneOf = <T extends string>(value: string | undefined, allowed: readonly T[], flag: string, fallback: T): T => {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${flag} must be one of ${allowed.join(', ')} (got "${value}")`);
};

/**
 * Runbook links as the deployed alerter makes them (ROOTWATCH_RUNBOOK_BASE_URL: your `runbookBaseUrl`),
 * so that replay's documents and messages are the ones it sends; checked by the parameter's own schema.
 */
const runbookBaseUrlOf = (env: CliIo['env']): string => {
  const result = AlertConfigSchema.shape.RUNBOOK_BASE_URL.safeParse(env.ROOTWATCH_RUNBOOK_BASE_URL || undefined);
  if (!result.success) {
    throw new UsageError(`ROOTWATCH_RUNBOOK_BASE_URL ${result.error.issues.map((i) => i.message).join('; ')}`);
  }
  return result.data;
};

/**
 * The detection parameters replay runs with: `--config FILE`, then each `--param NAME=VALUE` over it, validated
 * by the schemas the alert function reads the same values with. Throws ConfigError naming a bad parameter.
 */
const parameterValuesOf = (configFile: string | undefined, params: readonly string[]): DetectionParameterValues => {
  const fromFile = configFile ? readDetectionParameterFile(configFile) : {};
  const fromFlags = Object.fromEntries(params.map(splitParam));
  return params.length === 0 ? fromFile : { ...fromFile, ...parseDetectionParameterValues(fromFlags, '--param') };
};

/** The longest `--timeout` of test-alert: an hour. */
const MAX_TEST_ALERT_SECONDS = 3600;

const runTestAlertCommand = async (args: string[], io: CliIo): Promise<number> => {
  const { values } = parseArgs({
    args,
    options: { ...STAGE_OPTIONS, timeout: { type: 'string' } },
  });
  const stage = requiredStage(values.stage, 'test-alert', 'the stage deployed, as in serverless deploy --stage');
  const timeoutSeconds = values.timeout === undefined ? 60 : Number(values.timeout);
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > MAX_TEST_ALERT_SECONDS) {
    throw new UsageError(
      `--timeout must be a whole number of seconds from 1 to ${MAX_TEST_ALERT_SECONDS} (got "${values.timeout}")`,
    );
  }
  const { runTestAlert } = await import('./commands/test-alert.js');
  return runTestAlert(
    {
      stage,
      timeoutSeconds,
      ...(values.region ? { region: values.region } : {}),
      ...(values.profile ? { profile: values.profile } : {}),
    },
    io,
  );
};

const runForwarderTemplateCommand = async (args: string[], io: CliIo): Promise<number> => {
  const { values } = parseArgs({
    args,
    options: {
      'hub-bus-arn': { type: 'string' },
      'hub-key-arn': { type: 'string' },
      stage: { type: 'string' },
      param: { type: 'string', multiple: true },
      compact: { type: 'boolean' },
    },
  });
  const hubBusArn = values['hub-bus-arn'];
  if (!hubBusArn) {
    throw new UsageError("forwarder-template needs --hub-bus-arn (the hub stack's event bus rootwatch-STAGE-hub)");
  }
  const busStage = hubBusArnStage(hubBusArn);
  if (values.stage !== undefined && values.stage !== busStage) {
    throw new UsageError(`--stage "${values.stage}" is not the stage of the hub bus "${hubBusArn}" ("${busStage}")`);
  }
  const stage = parseStage(busStage, 'the stage');
  const { runForwarderTemplate } = await import('./commands/forwarder-template.js');
  const command: ForwarderTemplateCommand = {
    stage,
    hubBusArn,
    params: values.param ?? [],
    compact: values.compact === true,
    ...(values['hub-key-arn'] ? { hubKeyArn: values['hub-key-arn'] } : {}),
  };
  return runForwarderTemplate(command, io);
};

const runReplay = async (args: string[], io: CliIo): Promise<number> => {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      format: { type: 'string' },
      'min-severity': { type: 'string' },
      detections: { type: 'string' },
      'account-names': { type: 'string' },
      config: { type: 'string' },
      param: { type: 'string', multiple: true },
      'no-fold': { type: 'boolean' },
      sessions: { type: 'boolean' },
      workers: { type: 'string' },
      'max-file-bytes': { type: 'string' },
      'max-depth': { type: 'string' },
      'max-string-bytes': { type: 'string' },
      'max-records': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout(`${usage()}\n`);
    return 0;
  }
  const format: Format = oneOf(values.format, FORMATS, '--format', 'table');
  const sessions = values.sessions === true;
  if (sessions && values['no-fold']) {
    throw new UsageError('--sessions lists the sessions that folding finds: it does not go with --no-fold');
  }
  if (sessions) oneOf(format, SESSION_FORMATS, '--format with --sessions', 'table');
  const minSeverity: Severity = oneOf(values['min-severity'], SEVERITIES, '--min-severity', 'info');
  const dir = values.detections ?? DEFAULT_DETECTIONS_DIR;
  const paths = positionals;
  if (paths.length === 0) throw new UsageError('replay needs at least one PATH (a file, a directory, or - for stdin)');
  // Never the samples' values: what replay finds is what the deployment with these parameters would alert on.
  const detections = loadDetections(dir, detectionParametersOf(parameterValuesOf(values.config, values.param ?? [])));
  const accountNames = values['account-names'] ? readAccountNamesFile(values['account-names']) : {};
  // Each input limit its flag raises (or lowers), checked: io/input/limits.ts.
  const limitValues = {
    maxFileBytes: values['max-file-bytes'],
    maxDepth: values['max-depth'],
    maxStringBytes: values['max-string-bytes'],
    maxRecords: values['max-records'],
  };
  const limits = Object.fromEntries(
    Object.entries(limitValues)
      .filter((entry): entry is [keyof InputLimits, string] => entry[1] !== undefined)
      .map(([limit, text]) => [limit, parseLimit(limit, text)]),
  ) as Partial<InputLimits>;
  const workers = values.workers === undefined ? undefined : Number(values.workers);
  if (workers !== undefined && !(/^\d+$/.test(values.workers ?? '') && workers <= 256)) {
    throw new UsageError(`--workers must be a whole number from 0 to 256 (got "${values.workers}")`);
  }
  const { exitCode, summary } = await replay({
    limits,
    ...(workers === undefined ? {} : { workers }),
    paths,
    format,
    minSeverity,
    detections,
    runbookBaseUrl: runbookBaseUrlOf(io.env),
    accountNames,
    fold: values['no-fold'] !== true,
    sessions,
    stdout: io.stdout,
    stderr: io.stderr,
    ...(io.stdin ? { stdin: io.stdin } : {}),
  });
  io.stderr.write(`rootwatch: ${formatSummary(summary)}\n`);
  return exitCode;
};

/** Runs the command line; returns the exit status instead of exiting, so tests can call it. */
const runCli = async (argv: string[], io: CliIo): Promise<number> => {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'replay':
        return await runReplay(rest, io);
      case 'schema': {
        // The documents' JSON Schemas; `npm run schema` keeps schema/alert.schema.json and digest.schema.json in step.
        const { values } = parseArgs({ args: rest, options: { digest: { type: 'boolean' } } });
        io.stdout(`${JSON.stringify(values.digest ? digestJsonSchema() : alertJsonSchema(), null, 2)}\n`);
        return 0;
      }
      case 'test-alert':
        return await runTestAlertCommand(rest, io);
      case 'forwarder-template':
        return await runForwarderTemplateCommand(rest, io);
      case 'deploy':
      case 'remove': {
        const { runDeploy } = await import('./commands/deploy.js');
        return await runDeploy(command, rest, io);
      }
      case 'forwarders': {
        const { runForwarders } = await import('./commands/forwarders.js');
        return await runForwarders(rest, io);
      }
      case 'demo': {
        const { values } = parseArgs({ args: rest, options: { all: { type: 'boolean' } } });
        const { runDemo } = await import('./commands/demo.js');
        return await runDemo(io, { all: values.all === true });
      }
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.stdout(`${usage()}\n`);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    const err = toError(error);
    // parseArgs throws TypeErrors with codes like ERR_PARSE_ARGS_UNKNOWN_OPTION: usage mistakes too.
    const isUsage = isUsageError(err);
    // One line without control or bidi characters: the message may quote a hostile command-line value.
    // Node's own usage messages (parseArgs) come on several lines: one line of words, not ⏎ marks.
    const message = isUsage ? err.message.replace(/\s*\n\s*/g, ' ') : err.message;
    io.stderr.write(`rootwatch: ${cleanLine(message)}\n`);
    if (isUsage) {
      // The mistake and where to read more; the whole help would bury the one line that matters.
      io.stderr.write(`Run "rootwatch --help" for the commands and their options.\n`);
      return 2;
    }
    if (err instanceof AlerterError) return 2;
    throw err;
  }
};

export { runCli };
