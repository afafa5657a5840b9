import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type ForwarderSightings,
  type ForwarderStatus,
  formatDuration,
  forwarderStatuses,
  parseForwarderKey,
  silenceLimitMs,
} from '../core/forwarder-silence.js';
import { cleanLine } from '../core/render/text.js';
import { isUsageError, toError, UsageError } from '../errors.js';
import { readAccountNamesFile } from '../io/accounts.js';
import { GuardConfigSchema } from '../io/config.js';
import { createDynamoForwarderLog } from '../io/forwarder-log.js';
import { requiredStage, STAGE_OPTIONS } from './options.js';

interface ForwardersIo {
  stdout(text: string): void;
  stderr: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
}

/** The forwarders' item as the command uses it (io/forwarder-log.ts). */
interface ForwardersPorts {
  read(): Promise<ForwarderSightings>;
  forget(key: string): Promise<boolean>;
}

interface ListOptions {
  heartbeatMinutes: number;
  accountNames?: Readonly<Record<string, string>>;
  format: 'table' | 'json';
  nowMs: number;
}

const iso = (ms: number | undefined): string | null =>
  ms === undefined ? null : new Date(ms).toISOString().replace('.000Z', 'Z');

/** A status in words: SILENT, ok, or waiting (expected, never heard from, not yet two periods). */
const stateOf = (status: ForwarderStatus): string => {
  if (status.silent) return 'SILENT';
  return status.lastSeenMs === undefined ? 'waiting' : 'ok';
};

/**
 * The forwarders as lines of text: a table (a header, one row per forwarder, a summary) or one JSON document
 * (`{ heartbeatMinutes, silentAfterMinutes, forwarders: [{ account, accountName?, region, lastHeartbeat,
 * expectedSince?, quietMinutes, silent }] }`). Account names are configuration, not event data, and printed as given.
 */
const formatForwarders = (statuses: readonly ForwarderStatus[], options: ListOptions): string[] => {
  const name = (account: string) => options.accountNames?.[account];
  if (options.format === 'json') {
    const forwarders = statuses.map((status) => ({
      account: status.account,
      ...(name(status.account) ? { accountName: name(status.account) } : {}),
      region: status.region,
      lastHeartbeat: iso(status.lastSeenMs),
      ...(status.expectedSinceMs === undefined ? {} : { expectedSince: iso(status.expectedSinceMs) }),
      quietMinutes: status.quietForMs === undefined ? null : Math.floor(status.quietForMs / 60_000),
      silent: status.silent,
    }));
    const silentAfterMinutes = silenceLimitMs(options.heartbeatMinutes) / 60_000;
    return [JSON.stringify({ heartbeatMinutes: options.heartbeatMinutes, silentAfterMinutes, forwarders }, null, 2)];
  }
  if (statuses.length === 0) return ['no forwarder has sent a heartbeat yet'];
  const rows = [
    ['ACCOUNT', 'NAME', 'REGION', 'LAST HEARTBEAT', 'QUIET FOR', 'STATUS'],
    ...statuses.map((status) => [
      status.account,
      name(status.account) ?? '',
      status.region,
      status.lastSeenMs === undefined
        ? `never (expected since ${iso(status.expectedSinceMs) ?? 'now'})`
        : (iso(status.lastSeenMs) ?? ''),
      status.quietForMs === undefined ? '' : formatDuration(status.quietForMs),
      stateOf(status),
    ]),
  ];
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  const silent = statuses.filter((status) => status.silent).length;
  return [
    ...rows.map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    ),
    '',
    `${statuses.length} ${statuses.length === 1 ? 'forwarder' : 'forwarders'}, ${silent} silent (no heartbeat for more than ${formatDuration(silenceLimitMs(options.heartbeatMinutes))})`,
  ];
};

/** Lists the forwarders (writing the lines), resolving to the exit status: 1 when one is silent, else 0. */
const listForwarders = async (
  ports: ForwardersPorts,
  options: ListOptions,
  write: (line: string) => void,
): Promise<number> => {
  const statuses = forwarderStatuses(await ports.read(), {
    nowMs: options.nowMs,
    heartbeatMinutes: options.heartbeatMinutes,
  });
  for (const line of formatForwarders(statuses, options)) write(line);
  return statuses.some((status) => status.silent) ? 1 : 0;
};

/** The flags, checked; throws UsageError naming the bad one. */
const optionsOf = (args: string[]) => {
  const { values } = parseArgs({
    args,
    options: {
      ...STAGE_OPTIONS,
      forget: { type: 'string' },
      'heartbeat-minutes': { type: 'string' },
      'account-names': { type: 'string' },
      format: { type: 'string' },
    },
  });
  const stage = requiredStage(values.stage, 'forwarders', "the hub's stage");
  const minutes = GuardConfigSchema.shape.HEARTBEAT_MINUTES.safeParse(values['heartbeat-minutes']);
  if (!minutes.success) {
    throw new UsageError(
      `--heartbeat-minutes must be a whole number from 5 to 720 (got "${values['heartbeat-minutes']}")`,
    );
  }
  const format = values.format ?? 'table';
  if (format !== 'table' && format !== 'json') {
    throw new UsageError(`--format must be table or json (got "${format}")`);
  }
  if (values.forget !== undefined && !parseForwarderKey(values.forget)) {
    throw new UsageError(
      `--forget takes ACCOUNT:REGION, a 12-digit account and a region, like 210987654321:eu-west-1 (got "${values.forget}")`,
    );
  }
  return {
    stage,
    heartbeatMinutes: minutes.data,
    format: format as 'table' | 'json',
    ...(values.region ? { region: values.region } : {}),
    ...(values.profile ? { profile: values.profile } : {}),
    ...(values.forget ? { forget: values.forget } : {}),
    ...(values['account-names'] ? { accountNames: readAccountNamesFile(values['account-names']) } : {}),
  };
};

/**
 * `rootwatch forwarders --stage S [--region R] [--profile P] [--heartbeat-minutes N] [--account-names FILE]
 * [--format table|json]` lists the forwarders the hub watches, from the item `forwarders` of `rootwatch-<stage>-state`
 * (credentials and region from the AWS SDK's chain, or `--profile` and `--region`: the hub's region);
 * `--forget ACCOUNT:REGION` removes one, so a forwarder removed on purpose is no longer reported silent. Resolves to
 * the exit status (see FORWARDERS_USAGE in usage.ts); never rejects: every error is written to stderr.
 *
 * @example
 * const status = await runForwarders(['--stage', 'prod', '--region', 'us-east-1'], {
 *   stdout: (text) => process.stdout.write(text), stderr: process.stderr, env: process.env,
 * });
 */
const runForwarders = async (args: string[], io: ForwardersIo): Promise<number> => {
  let options: ReturnType<typeof optionsOf>;
  try {
    options = optionsOf(args);
  } catch (error) {
    const err = toError(error);
    io.stderr.write(`rootwatch forwarders: ${cleanLine(err.message)}\n`);
    // A bad --account-names file is a ConfigError: its message says what to fix, the usage would not.
    if (isUsageError(err)) io.stderr.write(`Run "rootwatch --help" for the commands and their options.\n`);
    return 2;
  }
  const dynamodb = new DynamoDBClient({
    ...(options.region ? { region: options.region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
  });
  const table = `rootwatch-${options.stage}-state`;
  const log = createDynamoForwarderLog(dynamodb, table);
  const write = (line: string) => io.stdout(`${line}\n`);
  let region: string | undefined;
  try {
    region = await dynamodb.config.region().catch(() => undefined);
    if (!region) {
      io.stderr.write(
        "rootwatch forwarders: needs the hub's region: --region, AWS_REGION, or a profile with a region\n",
      );
      return 2;
    }
    if (options.forget) {
      const removed = await log.forget(options.forget);
      write(
        removed
          ? `forgot the forwarder ${options.forget}: it is no longer watched (a heartbeat from it would watch it again)`
          : `no forwarder ${options.forget} in ${table}: nothing to forget`,
      );
      return removed ? 0 : 1;
    }
    return await listForwarders(
      log,
      {
        heartbeatMinutes: options.heartbeatMinutes,
        format: options.format,
        nowMs: Date.now(),
        ...(options.accountNames ? { accountNames: options.accountNames } : {}),
      },
      write,
    );
  } catch (error) {
    const err = toError(error);
    io.stderr.write(
      `rootwatch forwarders: could not ${options.forget ? 'write' : 'read'} the state table ${table} in ${region}: ${err.name}: ${err.message}. Its policy admits rootwatch's roles and rootwatch-${options.stage}-operator only: use credentials of the operator role (--profile)\n`,
    );
    return 1;
  } finally {
    dynamodb.destroy();
  }
};

export { runForwarders };
