import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import type { ForwarderTemplateCommand } from './commands/forwarder-template.js';
import {
  ALERT_OUTPUT_OPTIONS,
  alertOutputOf,
  CATALOG_OPTIONS,
  catalogOf,
  hubBusArnStage,
  parseStage,
  requiredStage,
  runbookBaseUrlOf,
  STAGE_OPTIONS,
} from './commands/options.js';
import { formatSummary, replay } from './commands/replay.js';
import { isRegionName, parseScope, SCOPE_OPTIONS } from './commands/scope.js';
import { ATHENA_USAGE, DEPLOY_USAGE, EXPECT_USAGE, FORWARDERS_USAGE, POSTURE_USAGE } from './commands/usage.js';
import { alertJsonSchema } from './core/alert-document.js';
import { isS3Url, parseS3Url } from './core/cloudtrail-keys.js';
import { digestJsonSchema } from './core/digest-document.js';
import { cleanLine } from './core/render/text.js';
import { FOLD_MAX_EVENTS, FOLD_WINDOW_MS } from './core/session.js';
import { SEVERITIES } from './core/severity.js';
import { AlerterError, isUsageError, toError, UsageError } from './errors.js';
import { type InputLimits, parseLimit } from './io/input/limits.js';
import { MAX_CONCURRENCY } from './io/input/s3-input.js';

const BASE_USAGE = `Usage:
  rootwatch replay [--format table|ndjson|json|slack|email] [--min-severity S] [--no-fold | --sessions]
                   [--detections DIR] [--account-names FILE] [--config FILE] [--param NAME=VALUE]...
                   [--workers N] [--max-file-bytes B] [--max-depth N] [--max-string-bytes B] [--max-records N]
                   [--since D] [--until D] [--accounts A,B] [--regions R,S]
                   [--profile P] [--region R] [--concurrency N]
                   PATH...
      PATH: a CloudTrail log file (.json, .json.gz), a directory of them, a JSON or NDJSON file of
      CloudTrail records or EventBridge events, aws cloudtrail lookup-events output, CloudWatch Logs
      output (filter-log-events, get-log-events, a subscription payload), - for stdin (files one
      after another too: cat *.json.gz | rootwatch replay -), or s3://BUCKET[/PREFIX]: a trail's
      bucket, listed along CloudTrail's key layout (AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/
      YYYY/MM/DD/) so that the accounts, regions and days outside --accounts, --regions, --since and
      --until are never listed or fetched; the objects are read in key order, as the same files
      downloaded into a directory would be. Credentials and region from the AWS SDK's chain
      (AWS_PROFILE, --profile, AWS_REGION, --region); S3 needs s3:ListBucket, s3:GetObject and
      kms:Decrypt on the trail's key if it has one.
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
  rootwatch forwarder-template --hub-bus-arn ARN [--hub-key-arn ARN] [--posture-role-arn ARN] [--stage S]
                               [--param NAME=VALUE]... [--compact]
      Prints the forwarder (the catalog's rules on the default bus, forwarding to the hub bus, and a
      heartbeat) as plain CloudFormation JSON, for a StackSet across an organization or a stack per
      region. ARN: the hub bus, arn:aws:events:REGION:ACCOUNT:event-bus/rootwatch-STAGE-hub (the hub
      stack's output); --hub-key-arn: the hub's KMS key (output AlertTopicKeyArn), which
      alerter-tampering's key clauses then name as the hub's do. The stage is the bus's; the
      parameters are serverless.yml's for it, --param over them. --compact prints one line, the form
      to give as TemplateBody. --posture-role-arn: the hub's posture function role (PostureRole); the
      template then adds rootwatch-STAGE-posture-audit, a role only it may assume, allowed
      iam:GetAccountSummary (set the hub's postureAuditRole to that name).
      Exit status: 1 when even the compact form is over TemplateBody's 51,200 bytes.
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
  --since, --until the event times to look at: 2026-10-01 (a whole day, UTC), 2026-10-01T09:30:00Z,
                   or back from now: 90m, 12h, 30d, 2w; --until with a date includes that day
  --accounts, --regions  account ids and region names (comma-separated or repeated). A record
                   outside --since/--until/--accounts/--regions is counted, not alerted, whatever PATH
  --profile, --region  the AWS profile and starting region for s3:// paths
  --concurrency    S3 objects fetched at once (default 8, 1 to ${MAX_CONCURRENCY})
  -h, --help       this help

Exit status: 0 when all input was read, 1 when some could not be, 2 on bad usage.`;

/** The whole usage text, the deploy, remove and forwarders commands' own included (commands/usage.ts: no SDK). */
const usage = (): string =>
  BASE_USAGE.replace(
    'COMMANDS_OF_THEIR_OWN',
    `${DEPLOY_USAGE}\n${FORWARDERS_USAGE}\n${ATHENA_USAGE}\n${EXPECT_USAGE}\n${POSTURE_USAGE}`,
  );

interface CliIo {
  stdout: (text: string) => void;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdin?: NodeJS.ReadableStream;
  env: Record<string, string | undefined>;
}

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
      'posture-role-arn': { type: 'string' },
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
    ...(values['posture-role-arn'] === undefined ? {} : { postureRoleArn: values['posture-role-arn'] }),
  };
  return runForwarderTemplate(command, io);
};

const runReplay = async (args: string[], io: CliIo): Promise<number> => {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...ALERT_OUTPUT_OPTIONS,
      ...CATALOG_OPTIONS,
      workers: { type: 'string' },
      'max-file-bytes': { type: 'string' },
      'max-depth': { type: 'string' },
      'max-string-bytes': { type: 'string' },
      'max-records': { type: 'string' },
      ...SCOPE_OPTIONS,
      profile: { type: 'string' },
      region: { type: 'string' },
      concurrency: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout(`${usage()}\n`);
    return 0;
  }
  const output = alertOutputOf(values);
  if (values.region !== undefined && !isRegionName(values.region)) {
    throw new UsageError(`--region "${values.region}" is not a region name (us-east-1)`);
  }
  const scope = parseScope(values);
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (
    concurrency !== undefined &&
    !(/^\d+$/.test(values.concurrency ?? '') && concurrency >= 1 && concurrency <= MAX_CONCURRENCY)
  ) {
    throw new UsageError(
      `--concurrency must be a whole number from 1 to ${MAX_CONCURRENCY} (got "${values.concurrency}")`,
    );
  }
  const detections = catalogOf(values);
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
  // The paths last: a flag's bad value (`--max-depth a.json`, the path taken as the value) is named, not the paths.
  if (positionals.length === 0) {
    throw new UsageError('replay needs at least one PATH (a file, a directory, - for stdin, or s3://BUCKET/PREFIX)');
  }
  if (positionals.filter((path) => path === '-').length > 1) {
    throw new UsageError('- (stdin) is given more than once: stdin can be read only once');
  }
  // Each s3: path checked before anything is read (UsageError for `s3:/b`, `s3:b`, a bad bucket name), its scheme
  // written `s3://` whatever its case (`S3://b`).
  const paths = positionals.map((path) => {
    if (!isS3Url(path)) return path;
    parseS3Url(path);
    return `s3://${path.slice('s3://'.length)}`;
  });
  const { exitCode, summary } = await replay({
    limits,
    ...(workers === undefined ? {} : { workers }),
    paths,
    scope,
    s3: {
      ...(values.profile ? { profile: values.profile } : {}),
      ...(values.region ? { region: values.region } : {}),
    },
    ...(concurrency === undefined ? {} : { concurrency }),
    ...output,
    detections,
    runbookBaseUrl: runbookBaseUrlOf(io.env),
    stdout: io.stdout,
    stderr: io.stderr,
    ...(io.stdin ? { stdin: io.stdin } : {}),
  });
  io.stderr.write(`rootwatch: ${formatSummary(summary)}\n`);
  return exitCode;
};

const isHelpFlag = (arg: string): boolean => arg === '--help' || arg === '-h';
/** The commands whose `--help` prints the usage here (replay, deploy and remove print their own). */
const HELP_HERE = new Set([
  'schema',
  'test-alert',
  'forwarder-template',
  'athena',
  'forwarders',
  'expect',
  'posture',
  'demo',
]);

/** The version in package.json (beside functions/ in the source tree, and beside dist/ once built). */
const packageVersion = (): string => {
  try {
    const manifest = createRequire(import.meta.url)('../package.json') as { version?: unknown };
    return typeof manifest.version === 'string' ? manifest.version : 'unknown';
  } catch {
    return 'unknown';
  }
};

/**
 * The usage of one command: "Usage:" and the paragraphs of usage() that begin `  rootwatch COMMAND` (with the lines
 * indented under them), so that `rootwatch posture --help` says what posture takes and exits with, not replay's.
 */
const commandUsage = (command: string): string => {
  const kept: string[] = [];
  let keeping = false;
  for (const line of usage().split('\n')) {
    if (line.startsWith('  rootwatch '))
      keeping = line.startsWith(`  rootwatch ${command} `) || line === `  rootwatch ${command}`;
    else if (!line.startsWith('   ')) keeping = false;
    if (keeping) kept.push(line);
  }
  return ['Usage:', ...kept].join('\n');
};

/** Runs the command line; returns the exit status instead of exiting, so tests can call it. */
const runCli = async (argv: string[], io: CliIo): Promise<number> => {
  const [command, ...rest] = argv;
  try {
    // `rootwatch COMMAND --help`: the usage, for every command (replay, deploy and remove print their own).
    if (command !== undefined && HELP_HERE.has(command) && rest.some(isHelpFlag)) {
      io.stdout(`${commandUsage(command)}\n`);
      return 0;
    }
    switch (command) {
      case '--version':
      case 'version':
        io.stdout(`rootwatch ${packageVersion()}\n`);
        return 0;
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
      case 'athena': {
        const { runAthenaCommand } = await import('./commands/athena.js');
        return await runAthenaCommand(rest, io);
      }
      case 'forwarders': {
        const { runForwarders } = await import('./commands/forwarders.js');
        return await runForwarders(rest, io);
      }
      case 'expect': {
        const { runExpect } = await import('./commands/expect.js');
        return await runExpect(rest, io);
      }
      case 'posture': {
        const { runPosture } = await import('./commands/posture.js');
        return await runPosture(rest, io);
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
    const message = isUsage ? usageWords(err.message) : err.message;
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

/**
 * A usage message on one line, and parseArgs' message for a flag followed by an argument starting with "-"
 * (`--max-depth -1`), which asks about "ambiguous" arguments, in our words.
 */
const usageWords = (message: string): string => {
  const line = message.replace(/\s*\n\s*/g, ' ');
  const flag = /^Option '(--[a-z-]+)' argument is ambiguous\b/.exec(line)?.[1];
  return flag === undefined
    ? line
    : `${flag} takes a value, and the argument after it starts with "-": give a value that starts with "-" as ${flag}=VALUE`;
};

export { runCli };
