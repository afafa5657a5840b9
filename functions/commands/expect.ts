import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import {
  type ExpectedWindow,
  MAX_REASON_CHARS,
  MAX_WINDOW_MS,
  MFA_DEACTIVATED,
  MIN_WINDOW_MS,
  NEVER_PLANNED,
  shortUtc,
  WINDOW_ID,
  windowEndMs,
} from '../core/expected-window.js';
import { type ExpectedWindowNotice, noticeOf } from '../core/expected-window-notice.js';
import { cleanLine, clip } from '../core/render/text.js';
import { isUsageError, toError, UsageError } from '../errors.js';
import { sdk } from '../io/aws-clients.js';
import { loadDetections } from '../io/detections.js';
import type { NoticeFailure } from '../io/expected-window-notices.js';
import type { EndResult } from '../io/expected-windows.js';
import { requiredStage, STAGE_OPTIONS } from './options.js';

interface ExpectIo {
  stdout(text: string): void;
  stderr: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
}

/** What `rootwatch expect` was asked to do, checked. */
type ExpectCommand =
  | {
      mode: 'declare';
      account: string;
      durationMs: number;
      reason: string;
      /** Absent: every detection (but the never-planned). */
      detections?: string[];
    }
  | { mode: 'list'; account?: string; format: 'table' | 'json' }
  | { mode: 'end'; id: string };

/** What the command needs from the world: the caller, the windows' store, the announcements, a clock and ids. */
interface ExpectPorts {
  stage: string;
  /** The caller's ARN (STS GetCallerIdentity): who declares or ends. */
  caller(): Promise<string>;
  store: {
    read(): Promise<{ windows: ExpectedWindow[]; unreadable: { id: string; problem: string }[] }>;
    declare(window: ExpectedWindow, nowMs: number): Promise<void>;
    end(id: string, endedBy: string, nowMs: number): Promise<EndResult>;
  };
  /** Announces to the topic and the Slack queue; resolves to the destinations that failed. */
  announce(notice: ExpectedWindowNotice): Promise<NoticeFailure[]>;
  now(): number;
  newId(): string;
  write(line: string): void;
  warn(line: string): void;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * A window's length from `--for`: hours and minutes, `90m`, `2h`, `1h30m`; from 1 minute to 24 hours (MAX_WINDOW_MS:
 * a break-glass window is short, see core/expected-window.ts).
 *
 * @throws UsageError naming the value when it is not such a length, or out of range.
 * @example
 * parseWindowDuration('1h30m'); // 5_400_000
 * parseWindowDuration('3d'); // throws UsageError: --for takes hours and minutes, like 90m, 2h or 1h30m (got "3d")
 */
const parseWindowDuration = (text: string): number => {
  const match = /^(?:(\d{1,4})h)?(?:(\d{1,5})m)?$/.exec(text);
  if (!match || (match[1] === undefined && match[2] === undefined)) {
    throw new UsageError(`--for takes hours and minutes, like 90m, 2h or 1h30m (got "${text}")`);
  }
  const ms = Number(match[1] ?? 0) * HOUR + Number(match[2] ?? 0) * MINUTE;
  if (ms < MIN_WINDOW_MS || ms > MAX_WINDOW_MS) {
    throw new UsageError(
      `--for must be from 1m to ${MAX_WINDOW_MS / HOUR}h: a break-glass window is short; a standing exception belongs in the catalog (got "${text}")`,
    );
  }
  return ms;
};

/** "2h", "1h30m", "45m": a length as `--for` writes it. */
const durationText = (ms: number): string => {
  const hours = Math.floor(ms / HOUR);
  const minutes = Math.round((ms % HOUR) / MINUTE);
  return `${hours > 0 ? `${hours}h` : ''}${minutes > 0 || hours === 0 ? `${minutes}m` : ''}`;
};

/**
 * What `--reason` may not hold: control characters (C0, DEL, C1: line breaks and tabs among them), the Unicode line and
 * paragraph separators, and bidi controls (as cleanLine drops them). The reason is one line that e-mail, Slack and
 * `--list` show as given: a line break would be changed, not shown, so it is refused.
 */
const NOT_ONE_LINE = /[\p{Cc}\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/** Throws UsageError naming `--reason`, the character (as U+XXXX) and its position when the reason is not one line. */
const checkOneLine = (reason: string): void => {
  const match = NOT_ONE_LINE.exec(reason);
  if (!match) return;
  const code = match[0].codePointAt(0) ?? 0;
  const what = [0x0a, 0x0d, 0x85, 0x2028, 0x2029].includes(code) ? 'a line break' : 'a control character';
  const position = [...reason.slice(0, match.index)].length + 1;
  throw new UsageError(
    `--reason must be one line without control characters: it has ${what} (U+${code.toString(16).toUpperCase().padStart(4, '0')}) at character ${position}`,
  );
};

/**
 * `--detections` a window will not lower (NEVER_PLANNED, and mfa-device-deactivated when it is root's device), as
 * one warning line; undefined when there is none. The window is declared all the same: it marks their alerts.
 */
const neverLoweredWarning = (detections: readonly string[] | undefined): string | undefined => {
  const named = (detections ?? []).flatMap((id) =>
    NEVER_PLANNED.includes(id) ? [id] : id === MFA_DEACTIVATED ? [`${id} (on root's own device)`] : [],
  );
  if (named.length === 0) return undefined;
  return `--detections: the window will not lower ${named.join(', ')}: never planned, their alerts keep their severity (marked expected); declaring it all the same`;
};

/** The flags, checked; throws UsageError naming the bad one. */
const commandOf = (args: string[]): { stage: string; region?: string; profile?: string; command: ExpectCommand } => {
  const { values } = parseArgs({
    args,
    options: {
      ...STAGE_OPTIONS,
      account: { type: 'string' },
      for: { type: 'string' },
      reason: { type: 'string' },
      detections: { type: 'string' },
      list: { type: 'boolean' },
      end: { type: 'string' },
      format: { type: 'string' },
    },
  });
  const stage = requiredStage(values.stage, 'expect', 'the stage deployed, as in serverless deploy --stage');
  const where = {
    stage,
    ...(values.region ? { region: values.region } : {}),
    ...(values.profile ? { profile: values.profile } : {}),
  };
  const modes = [values.list === true, values.end !== undefined, values.for !== undefined].filter(Boolean).length;
  if (modes > 1) throw new UsageError('expect takes one of --for (declare), --list and --end ID');
  if (values.account !== undefined && !/^\d{12}$/.test(values.account)) {
    throw new UsageError(`--account takes a 12-digit account id (got "${values.account}")`);
  }
  if (values.format !== undefined && !values.list) throw new UsageError('--format goes with --list');
  if (values.list || values.end !== undefined) {
    for (const flag of ['reason', 'detections'] as const) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} goes with --for (declaring a window)`);
    }
  }
  if (values.list) {
    const format = values.format ?? 'table';
    if (format !== 'table' && format !== 'json') {
      throw new UsageError(`--format must be table or json (got "${format}")`);
    }
    return { ...where, command: { mode: 'list', format, ...(values.account ? { account: values.account } : {}) } };
  }
  if (values.end !== undefined) {
    if (!WINDOW_ID.test(values.end)) {
      throw new UsageError(`--end takes a window id, "w-" and 8 hex digits as --list shows (got "${values.end}")`);
    }
    if (values.account !== undefined) throw new UsageError('--account does not go with --end: the id names the window');
    return { ...where, command: { mode: 'end', id: values.end } };
  }
  if (values.account === undefined) throw new UsageError('expect needs --account (the 12-digit account root will use)');
  if (values.for === undefined) throw new UsageError('expect needs --for (how long: 90m, 2h; at most 24h)');
  const durationMs = parseWindowDuration(values.for);
  // One line, as the README says: a line break or control character is refused (naming --reason), runs of spaces
  // become one, and cleanLine replaces what SQS and SNS would refuse (U+FFFF, lone surrogates).
  checkOneLine(values.reason ?? '');
  const reason = cleanLine((values.reason ?? '').replace(/\s+/gu, ' ')).trim();
  if (reason === '')
    throw new UsageError('expect needs --reason (a change ticket and a few words: "CHG-123 close sandbox")');
  if ([...reason].length > MAX_REASON_CHARS) {
    throw new UsageError(
      `--reason is ${[...reason].length} characters; at most ${MAX_REASON_CHARS} (a ticket and a few words)`,
    );
  }
  const detections = values.detections === undefined ? undefined : detectionsOf(values.detections);
  return {
    ...where,
    command: {
      mode: 'declare',
      account: values.account,
      durationMs,
      reason,
      ...(detections ? { detections } : {}),
    },
  };
};

/** `--detections a,b`: ids of the bundled catalog, each once. Throws UsageError naming the ids it does not hold. */
const detectionsOf = (text: string): string[] => {
  const ids = [...new Set(text.split(',').map((id) => id.trim()))].filter((id) => id !== '');
  if (ids.length === 0) throw new UsageError('--detections takes detection ids, comma-separated (got none)');
  const known = new Set(loadDetections().map((detection) => detection.id));
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new UsageError(
      `--detections names ${unknown.map((id) => `"${clip(id, 60)}"`).join(', ')}, not in the catalog (${[...known].join(', ')})`,
    );
  }
  return ids;
};

/** Where a window is: active now, ended early, or over (past its until). */
const statusOf = (window: ExpectedWindow, nowMs: number): 'active' | 'ended early' | 'over' | 'upcoming' => {
  if (Date.parse(window.declaredAt) > nowMs) return 'upcoming';
  if (windowEndMs(window) > nowMs) return 'active';
  return window.endedAt !== undefined && Date.parse(window.endedAt) < Date.parse(window.until) ? 'ended early' : 'over';
};

/** A stored value for the terminal: one line, no control or bidi characters, at most `max` characters. */
const cell = (value: string, max = 200): string => clip(cleanLine(value).trim(), max);

/** Lists the windows (table or JSON), the active ones first. Resolves to the exit status: 0. */
const listWindows = async (ports: ExpectPorts, command: Extract<ExpectCommand, { mode: 'list' }>) => {
  const nowMs = ports.now();
  const { windows, unreadable } = await ports.store.read();
  const shown = windows
    .filter((window) => command.account === undefined || window.account === command.account)
    .map((window) => ({ ...window, status: statusOf(window, nowMs) }))
    .sort((a, b) => Number(b.status === 'active') - Number(a.status === 'active'));
  for (const entry of unreadable) ports.warn(`window ${cell(entry.id, 40)} left out: ${cell(entry.problem)}`);
  if (command.format === 'json') {
    ports.write(JSON.stringify({ windows: shown }, null, 2));
    return 0;
  }
  if (shown.length === 0) {
    ports.write('no expected window (active, or ended in the last 7 days)');
    return 0;
  }
  const rows = [
    ['ID', 'ACCOUNT', 'STATUS', 'FROM', 'UNTIL', 'DECLARED BY', 'DETECTIONS', 'REASON'],
    ...shown.map((window) => [
      window.id,
      window.account,
      window.status === 'ended early'
        ? `ended ${shortUtc(window.endedAt ?? '')} by ${cell(window.endedBy ?? '?', 120)}`
        : window.status,
      shortUtc(window.declaredAt),
      shortUtc(window.until),
      cell(window.declaredBy, 120),
      window.detections === undefined ? 'all' : cell(window.detections.join(','), 120),
      cell(window.reason, 80),
    ]),
  ];
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  for (const row of rows) {
    ports.write(
      row
        .map((value, column) => value.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    );
  }
  const active = shown.filter((window) => window.status === 'active').length;
  ports.write('');
  ports.write(`${shown.length} ${shown.length === 1 ? 'window' : 'windows'}, ${active} active`);
  return 0;
};

/** "sns (AccessDenied: …), slack-queue (…)": what failed, for one line of stderr. */
const failuresText = (failures: readonly NoticeFailure[]): string =>
  failures
    .map((failure) => `${failure.sink} (${cell(`${failure.error.name}: ${failure.error.message}`, 300)})`)
    .join(', ');

/**
 * Declares a window: who (the caller), recorded, then announced. A window that could not be announced is ended at
 * once, so no alert is ever lowered without people having been told. Resolves to the exit status.
 */
const declareWindow = async (ports: ExpectPorts, command: Extract<ExpectCommand, { mode: 'declare' }>) => {
  const declaredBy = await ports.caller();
  const nowMs = ports.now();
  const window: ExpectedWindow = {
    id: ports.newId(),
    account: command.account,
    reason: command.reason,
    declaredBy,
    declaredAt: new Date(nowMs).toISOString(),
    until: new Date(nowMs + command.durationMs).toISOString(),
    ...(command.detections ? { detections: command.detections } : {}),
  };
  await ports.store.declare(window, nowMs);
  const failures = await ports.announce(noticeOf('declared', window));
  if (failures.length > 0) {
    const why = `could not announce window ${window.id} to ${failuresText(failures)}`;
    try {
      await ports.store.end(window.id, declaredBy, ports.now());
      ports.warn(
        `${why}: it was ended at once, so that no alert is lowered unannounced. Fix the access and declare again.`,
      );
    } catch (error) {
      const err = toError(error);
      ports.warn(
        `${why}, and could not end it (${cell(`${err.name}: ${err.message}`)}): end it now with rootwatch expect --stage ${ports.stage} --end ${window.id}`,
      );
    }
    return 1;
  }
  ports.write(
    `declared window ${window.id}: root use expected in ${window.account} from ${shortUtc(window.declaredAt)} until ${shortUtc(window.until)} (${durationText(command.durationMs)})`,
  );
  ports.write(`  reason: ${cell(window.reason)}`);
  ports.write(`  declared by: ${cell(declaredBy)}`);
  ports.write(`  detections: ${window.detections ? window.detections.join(', ') : 'all (but the never-planned)'}`);
  ports.write(`  announced to rootwatch-${ports.stage}-alerts (e-mail) and rootwatch-${ports.stage}-slack (Slack)`);
  ports.write(
    `Alerts of this account inside it are delivered marked expected, one severity step lower; ${NEVER_PLANNED.join(', ')} and root's MFA deactivated keep their severity.`,
  );
  ports.write(`End it early: rootwatch expect --stage ${ports.stage} --end ${window.id}`);
  return 0;
};

/** Ends a window early, recorded (who, when) and announced. Resolves to the exit status. */
const endWindow = async (ports: ExpectPorts, command: Extract<ExpectCommand, { mode: 'end' }>) => {
  const endedBy = await ports.caller();
  const result = await ports.store.end(command.id, endedBy, ports.now());
  if (result.status === 'unknown') {
    ports.warn(`no window ${command.id} in rootwatch-${ports.stage}-state (rootwatch expect --list shows them)`);
    return 1;
  }
  if (result.status === 'already-over') {
    const { window } = result;
    ports.warn(
      `window ${command.id} is over already: ${window.endedAt ? `ended ${shortUtc(window.endedAt)} by ${cell(window.endedBy ?? '?')}` : `until ${shortUtc(window.until)}`}`,
    );
    return 1;
  }
  const failures = await ports.announce(noticeOf('ended', result.window));
  ports.write(
    `ended window ${command.id} (${cell(result.window.reason)}) of ${result.window.account}: alerts are no longer lowered`,
  );
  if (failures.length > 0) {
    ports.warn(`window ${command.id} is ended, but the announcement failed: ${failuresText(failures)}`);
    return 1;
  }
  ports.write(`  announced to rootwatch-${ports.stage}-alerts (e-mail) and rootwatch-${ports.stage}-slack (Slack)`);
  return 0;
};

/**
 * Node's codes for an endpoint that could not be reached: DNS failed, the connection was refused, reset, timed out or
 * had no route (https://nodejs.org/api/errors.html#common-system-errors).
 */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** How long a connection to an AWS endpoint may take before the SDK gives up on it with a TimeoutError. */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Why an error means the endpoint was not reached: its Node code (ECONNREFUSED, ENOTFOUND…) or `TimeoutError` (the
 * SDK's connection timeout), looked for in its causes and an AggregateError's errors (Node tries each address of a
 * name); undefined for an answer from AWS.
 */
const unreachableCode = (error: unknown, depth = 0): string | undefined => {
  if (depth > 5 || typeof error !== 'object' || error === null) return undefined;
  const { name, code, cause, errors } = error as { name?: unknown; code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return code;
  if (name === 'TimeoutError') return 'TimeoutError';
  for (const inner of Array.isArray(errors) ? errors : []) {
    const found = unreachableCode(inner, depth + 1);
    if (found) return found;
  }
  return unreachableCode(cause, depth + 1);
};

/**
 * Whether AWS refused the request for its policies or the caller's credentials: AccessDenied(Exception), SNS's
 * AuthorizationError, or any other answer with HTTP status 403 (an unknown or expired key among them).
 */
const isAccessDenied = (error: Error): boolean =>
  /^(?:AccessDenied(?:Exception)?|AuthorizationError(?:Exception)?|UnauthorizedOperation)$/.test(error.name) ||
  (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata?.httpStatusCode === 403;

/** The endpoint (`https://dynamodb.eu-west-1.amazonaws.com`) of each request that failed, by its error. */
const endpointOfError = new WeakMap<object, string>();

/**
 * A middleware of the SDK's build step (around the retries, the request built): records in endpointOfError where a
 * request that failed went. Added to each client with `{ step: 'build' }`.
 */
const recordEndpointOfErrors =
  <A extends { request: unknown }, R>(next: (args: A) => Promise<R>) =>
  async (args: A): Promise<R> => {
    try {
      return await next(args);
    } catch (error) {
      const { protocol, hostname, port } = (args.request ?? {}) as {
        protocol?: string;
        hostname?: string;
        port?: number;
      };
      if (typeof error === 'object' && error !== null && hostname) {
        endpointOfError.set(error, `${protocol ?? 'https:'}//${hostname}${port ? `:${port}` : ''}`);
      }
      throw error;
    }
  };

/**
 * The line for an error of the table or STS: an endpoint not reached is said so (naming it), not blamed on access;
 * AccessDenied gets the hint of the resource policies and the operator role; a missing table the stage and region.
 */
const failureLine = (error: unknown, where: { stage: string; region: string; table: string }): string => {
  const err = toError(error);
  const what = cell(`${err.name}: ${err.message}`, 500);
  const code = unreachableCode(error);
  if (code !== undefined) {
    const endpoint = endpointOfError.get(err) ?? `AWS's endpoints in ${where.region}`;
    return `could not reach AWS at ${cell(endpoint, 200)} (${code}; ${what}): check the network (proxy, VPN), --region and any AWS_ENDPOINT_URL variable; AWS did not answer, so this says nothing of access`;
  }
  const resources = `table ${where.table}, topic rootwatch-${where.stage}-alerts and queue rootwatch-${where.stage}-slack in ${cell(where.region, 40)}`;
  if (isAccessDenied(err)) {
    return `${what} (${resources}: their policies admit rootwatch's roles and rootwatch-${where.stage}-operator only; use credentials of the operator role, --profile)`;
  }
  if (err.name === 'ResourceNotFoundException') {
    return `${what} (${resources}: is stage ${where.stage} deployed in that region? --region names the hub's)`;
  }
  return `${what} (${resources})`;
};

/**
 * `rootwatch expect --stage S --account A --for DURATION --reason TEXT [--detections id,id] [--region R] [--profile P]`
 * declares a break-glass window; `--list [--account A] [--format table|json]` lists the windows (active, and ended in
 * the last 7 days); `--end ID` ends one early. Windows are kept in `rootwatch-<stage>-state` (the hub's region: --region
 * or the SDK's), declared and ended by the caller's ARN (STS GetCallerIdentity), and announced to the topic
 * `rootwatch-<stage>-alerts` and the queue `rootwatch-<stage>-slack`. Credentials from the AWS SDK's chain (the operator
 * role rootwatch-<stage>-operator: the table, topic and queue admit no one else). Resolves to the exit status: 0 done;
 * 1 when the table, STS, the announcement or the window failed; 2 on bad usage. Never rejects: errors go to stderr.
 *
 * @example
 * const status = await runExpect(
 *   ['--stage', 'prod', '--account', '111122223333', '--for', '2h', '--reason', 'CHG-123 close the sandbox account'],
 *   { stdout: (text) => process.stdout.write(text), stderr: process.stderr, env: process.env },
 * );
 */
const runExpect = async (args: string[], io: ExpectIo): Promise<number> => {
  let parsed: ReturnType<typeof commandOf>;
  try {
    parsed = commandOf(args);
  } catch (error) {
    const err = toError(error);
    io.stderr.write(`rootwatch expect: ${cleanLine(err.message.replace(/\s*\n\s*/g, ' '))}\n`);
    if (isUsageError(err)) io.stderr.write(`Run "rootwatch --help" for the commands and their options.\n`);
    return 2;
  }
  const { stage, command } = parsed;
  const warn = (line: string) => io.stderr.write(`rootwatch expect: ${line}\n`);
  const neverLowered = command.mode === 'declare' ? neverLoweredWarning(command.detections) : undefined;
  if (neverLowered) warn(neverLowered);
  const config = {
    ...(parsed.region ? { region: parsed.region } : {}),
    ...(parsed.profile ? { profile: parsed.profile } : {}),
    requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS },
  };
  const [dynamodbSdk, snsSdk, sqsSdk, stsSdk] = await Promise.all([sdk.dynamodb(), sdk.sns(), sdk.sqs(), sdk.sts()]);
  const { createDynamoExpectedWindows } = await import('../io/expected-windows.js');
  const { createNoticeAnnouncer } = await import('../io/expected-window-notices.js');
  const dynamodb = new dynamodbSdk.DynamoDBClient(config);
  const sns = new snsSdk.SNSClient(config);
  // To the regional endpoint rather than the queue URL's host (the same in AWS), so AWS_ENDPOINT_URL_SQS holds.
  const sqs = new sqsSdk.SQSClient({ ...config, useQueueUrlAsEndpoint: false });
  const sts = new stsSdk.STSClient(config);
  const recorder = { step: 'build', name: 'rootwatchEndpointOfErrors' } as const;
  dynamodb.middlewareStack.add(recordEndpointOfErrors, recorder);
  sns.middlewareStack.add(recordEndpointOfErrors, recorder);
  sqs.middlewareStack.add(recordEndpointOfErrors, recorder);
  sts.middlewareStack.add(recordEndpointOfErrors, recorder);
  const table = `rootwatch-${stage}-state`;
  try {
    const region = await dynamodb.config.region().catch(() => undefined);
    if (!region) {
      warn("needs the hub's region: --region, AWS_REGION, or a profile with a region");
      return 2;
    }
    let identity: { arn: string; account: string } | undefined;
    const caller = async () => {
      if (identity) return identity;
      // https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html: no permission needed.
      const answer = await sts.send(new stsSdk.GetCallerIdentityCommand({}));
      if (!answer.Arn || !answer.Account) throw new Error('STS GetCallerIdentity answered without an ARN');
      identity = { arn: answer.Arn, account: answer.Account };
      return identity;
    };
    const store = createDynamoExpectedWindows(dynamodb, table);
    const ports: ExpectPorts = {
      stage,
      caller: async () => (await caller()).arn,
      store,
      async announce(notice) {
        // The stage's topic and queue, in the caller's account and partition (the hub's: the operator role's).
        const { arn, account } = await caller();
        const partition = arn.split(':')[1] || 'aws';
        const topicArn = `arn:${partition}:sns:${region}:${account}:rootwatch-${stage}-alerts`;
        let slackQueueUrl: string;
        try {
          const queue = await sqs.send(new sqsSdk.GetQueueUrlCommand({ QueueName: `rootwatch-${stage}-slack` }));
          slackQueueUrl = queue.QueueUrl ?? '';
        } catch (error) {
          // No queue to send to: the e-mail still goes, and the declaration is rolled back for the Slack failure.
          const failures = await createNoticeAnnouncer({ sns, topicArn, sqs, slackQueueUrl: '' })(notice);
          return [
            ...failures.filter((failure) => failure.sink === 'sns'),
            { sink: 'slack-queue', error: toError(error) },
          ];
        }
        return createNoticeAnnouncer({ sns, topicArn, sqs, slackQueueUrl })(notice);
      },
      now: Date.now,
      newId: () => `w-${randomBytes(4).toString('hex')}`,
      write: (line) => io.stdout(`${line}\n`),
      warn,
    };
    try {
      if (command.mode === 'list') return await listWindows(ports, command);
      if (command.mode === 'end') return await endWindow(ports, command);
      return await declareWindow(ports, command);
    } catch (error) {
      warn(failureLine(error, { stage, region, table }));
      return 1;
    }
  } finally {
    for (const client of [dynamodb, sns, sqs, sts]) client.destroy();
  }
};

export { parseWindowDuration, runExpect };
