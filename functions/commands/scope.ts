import { UsageError } from '../errors.js';

/*
 * What part of a trail's logs a command looks at: `--since`, `--until`, `--accounts` and `--regions`, as replay from S3
 * (commands/replay.ts: the listing is pruned by CloudTrail's key layout, then each record is checked) and `athena`
 * (partition predicates) take them. Checked here once, so that both say the same about the same mistake.
 */

/**
 * A slice of CloudTrail logs. Times are milliseconds since the epoch, half-open: an event is inside when
 * `sinceMs <= eventTime < untilMs`. A list that is undefined lets everything through; an empty one is never made.
 */
interface LogScope {
  readonly sinceMs?: number;
  readonly untilMs?: number;
  /** Account ids (12 digits), as in a trail's S3 keys (`AWSLogs/[o-ORG/]ACCOUNT/…`) and `recipientAccountId`. */
  readonly accounts?: readonly string[];
  /** Region names (`us-east-1`), as in the S3 keys and `awsRegion`. */
  readonly regions?: readonly string[];
}

/** The flags of LogScope, as node:util parseArgs options: `--accounts` and `--regions` may be repeated. */
const SCOPE_OPTIONS = {
  since: { type: 'string' },
  until: { type: 'string' },
  accounts: { type: 'string', multiple: true },
  regions: { type: 'string', multiple: true },
} as const;

const DAY_MS = 86_400_000;
const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS };
const RELATIVE = /^(\d{1,6})([mhdw])$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
/** An ISO 8601 date and time with its zone (`Z` or an offset): a time without one would depend on the machine. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;
const ACCOUNT_ID = /^\d{12}$/;
/** A region name as AWS writes them: `us-east-1`, `us-gov-west-1`, `cn-north-1`, `ap-southeast-5`, `eusc-de-east-1`. */
const REGION = /^[a-z]{2,4}(?:-[a-z]+)+-\d{1,2}$/;

/**
 * One time flag as milliseconds: `2026-10-01` (midnight UTC starting that day, or with `endOfDay` the midnight
 * ending it), `2026-10-01T09:30:00Z` or with an offset, or a span before `nowMs`: `90m`, `12h`, `30d`, `2w`.
 *
 * @throws UsageError naming the flag and the value when it is none of these, or not a real date (2026-02-30).
 * @example
 * parseTime('--since', '2026-10-01', 0); // Date.UTC(2026, 9, 1)
 * parseTime('--until', '2026-10-31', 0, true); // Date.UTC(2026, 10, 1): the whole of 31 October is inside
 * parseTime('--since', '2d', Date.UTC(2026, 9, 3)); // Date.UTC(2026, 9, 1)
 */
const parseTime = (flag: string, value: string, nowMs: number, endOfDay = false): number => {
  const relative = RELATIVE.exec(value);
  if (relative) return nowMs - Number(relative[1]) * (UNIT_MS[relative[2] as string] as number);
  const dateOnly = DATE_ONLY.test(value);
  const ms = dateOnly || DATE_TIME.test(value) ? Date.parse(dateOnly ? `${value}T00:00:00Z` : value) : Number.NaN;
  // Date.parse rolls 2026-02-30 over to March: a date that does not print back as given is not one.
  if (Number.isNaN(ms) || (dateOnly && new Date(ms).toISOString().slice(0, 10) !== value)) {
    throw new UsageError(
      `${flag} "${value}" is not a date (2026-10-01), a UTC time (2026-10-01T09:30:00Z) or a span back from now (30d, 12h, 90m, 2w)`,
    );
  }
  return dateOnly && endOfDay ? ms + DAY_MS : ms;
};

/** The values of a repeatable, comma-separated flag, each checked by `valid`; undefined when the flag was not given. */
const parseList = (
  flag: string,
  values: readonly string[] | undefined,
  valid: RegExp,
  what: string,
): readonly string[] | undefined => {
  if (values === undefined) return undefined;
  const items = values.flatMap((value) => value.split(',')).map((item) => item.trim());
  for (const item of items) {
    if (!valid.test(item)) throw new UsageError(`${flag}: "${item}" is not ${what}`);
  }
  return [...new Set(items)];
};

/**
 * The LogScope of the flags (SCOPE_OPTIONS' values, as parseArgs gives them). `--until` with a date alone includes
 * that whole day (UTC); with a time, it is the first instant left out.
 *
 * @throws UsageError naming the flag and the value: a time parseTime does not take, an account that is not 12 digits,
 *   a region that is not a region name, an empty item (`--accounts 1,,2`), or `--since` not before `--until`.
 * @example
 * parseScope({ since: '2026-10-01', until: '2026-10-31', accounts: ['111122223333'], regions: ['us-east-1,eu-west-1'] });
 * // { sinceMs: Date.UTC(2026, 9, 1), untilMs: Date.UTC(2026, 10, 1), accounts: ['111122223333'],
 * //   regions: ['us-east-1', 'eu-west-1'] }
 */
const parseScope = (
  values: { since?: string; until?: string; accounts?: string[]; regions?: string[] },
  nowMs: number = Date.now(),
): LogScope => {
  const sinceMs = values.since === undefined ? undefined : parseTime('--since', values.since, nowMs);
  const untilMs = values.until === undefined ? undefined : parseTime('--until', values.until, nowMs, true);
  if (sinceMs !== undefined && untilMs !== undefined && sinceMs >= untilMs) {
    throw new UsageError(`--since "${values.since}" is not before --until "${values.until}": nothing is in between`);
  }
  const accounts = parseList('--accounts', values.accounts, ACCOUNT_ID, 'an account id (12 digits)');
  const regions = parseList('--regions', values.regions, REGION, 'a region name (us-east-1)');
  return {
    ...(sinceMs === undefined ? {} : { sinceMs }),
    ...(untilMs === undefined ? {} : { untilMs }),
    ...(accounts === undefined ? {} : { accounts }),
    ...(regions === undefined ? {} : { regions }),
  };
};

/**
 * Whether an event is inside the scope: its time (an ISO string, as CloudTrail's eventTime), account and region.
 * An event whose time does not parse is inside when the scope has no times, outside otherwise.
 *
 * @example
 * inScope({ regions: ['us-east-1'] }, { time: '2026-10-01T09:30:00Z', account: '111122223333', region: 'eu-west-1' });
 * // false
 */
const inScope = (scope: LogScope, event: { time: string; account: string; region: string }): boolean => {
  if (scope.accounts !== undefined && !scope.accounts.includes(event.account)) return false;
  if (scope.regions !== undefined && !scope.regions.includes(event.region)) return false;
  if (scope.sinceMs === undefined && scope.untilMs === undefined) return true;
  const ms = Date.parse(event.time);
  if (Number.isNaN(ms)) return false;
  return (scope.sinceMs === undefined || ms >= scope.sinceMs) && (scope.untilMs === undefined || ms < scope.untilMs);
};

/**
 * Whether a value is shaped as a region name (`us-east-1`, `us-gov-west-1`, `eusc-de-east-1`): what `--regions` takes
 * per item, and `--region` (replay's S3 client) whole. Shape only: a region not yet launched passes.
 *
 * @example
 * isRegionName('eu-west-1'); // true
 * isRegionName('us-east-1;rm'); // false
 */
const isRegionName = (value: string): boolean => REGION.test(value);

/** Whether the scope narrows anything: false for `{}`. */
const isScoped = (scope: LogScope): boolean =>
  scope.sinceMs !== undefined ||
  scope.untilMs !== undefined ||
  scope.accounts !== undefined ||
  scope.regions !== undefined;

export type { LogScope };
export { DAY_MS, inScope, isRegionName, isScoped, parseScope, parseTime, SCOPE_OPTIONS };
