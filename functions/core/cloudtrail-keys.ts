import { DAY_MS, type LogScope } from '../commands/scope.js';
import { UsageError } from '../errors.js';

/*
 * CloudTrail's key layout in a trail's S3 bucket, and which parts of it a LogScope can skip before anything is listed
 * or fetched. A trail writes each log file to
 *
 *   [PREFIX/]AWSLogs/[o-ORGID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_XXXX.json.gz
 *
 * (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/get-and-view-cloudtrail-log-files.html; an organization
 * trail adds the o-ORGID level: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/creating-trail-organization.html).
 * YYYY/MM/DD and the time in the name are when the file was delivered, in UTC, and "a log file delivered at a specific
 * time can contain records written at any point before that time"
 * (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-examples.html). Beside CloudTrail/,
 * an account's folder holds CloudTrail-Digest/ (log file integrity digests) and CloudTrail-Insight/ (Insights events),
 * neither of them event logs, and other services' folders (Config/, …): only CloudTrail/ is walked.
 * Pure: no I/O; io/input/s3-input.ts lists the bucket by these rules.
 */

/**
 * Where a folder sits in the layout: `outside` (not in the layout: above AWSLogs/, or a folder the layout does not
 * name, read whole and unpruned), then each level of the layout, named after what its children are: `logs` is
 * AWSLogs/ (children: o-ORGID or ACCOUNT), `org` is o-ORGID/ (ACCOUNT), `account` (CloudTrail/ …), `trail` is
 * CloudTrail/ (REGION), `region` (YYYY), `year` (MM), `month` (DD), `day` (the log files).
 */
type KeyLevel = 'outside' | 'logs' | 'org' | 'account' | 'trail' | 'region' | 'year' | 'month' | 'day';

/** A folder's level, with the year and month above it once known (for the date window of the levels below). */
interface KeyPosition {
  readonly level: KeyLevel;
  readonly year?: string;
  readonly month?: string;
}

/**
 * What of the layout a scope keeps: account ids and regions (undefined: all), and the delivery days to list, as
 * `YYYY-MM-DD` strings (UTC), both ends included (undefined: unbounded).
 */
interface ListingWindow {
  readonly accounts?: readonly string[];
  readonly regions?: readonly string[];
  readonly firstDay?: string;
  readonly lastDay?: string;
}

/**
 * Days after an event that its log file may still be delivered: the day folders listed run from the `--since` day
 * to this many days after the `--until` day. CloudTrail "typically delivers log files within an average of about 5
 * minutes of an API call. This time is not guaranteed"
 * (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/how-cloudtrail-works.html): one day covers an event
 * just before midnight whose file lands after it, and delays of hours. A record delivered later than that is missed;
 * records are filtered by eventTime afterwards, so a wider window only costs listings.
 */
const DELIVERY_LAG_DAYS = 1;

/** The child folder names of each level that lead on, and to where. */
const ORG_ID = /^o-[a-z0-9]{10,32}$/;
const ACCOUNT_ID = /^\d{12}$/;
const REGION = /^[a-z]{2,4}(?:-[a-z]+)+-\d{1,2}$/;
const YEAR = /^\d{4}$/;
const TWO_DIGITS = /^\d{2}$/;

/** The latest day a window is computed for: later times are clamped to it, so that days stay `YYYY-MM-DD`. */
const LAST_MS = Date.UTC(9999, 11, 31);
const isoDay = (ms: number): string => new Date(Math.min(Math.max(ms, 0), LAST_MS)).toISOString().slice(0, 10);

/**
 * The listing window of a scope: its accounts and regions, and the delivery days from the day of `sinceMs` to
 * DELIVERY_LAG_DAYS after the day of the last instant before `untilMs` (UTC).
 *
 * @example
 * listingWindow({ sinceMs: Date.UTC(2026, 9, 1), untilMs: Date.UTC(2026, 9, 3), regions: ['us-east-1'] });
 * // { regions: ['us-east-1'], firstDay: '2026-10-01', lastDay: '2026-10-03' }
 */
const listingWindow = (scope: LogScope): ListingWindow => ({
  ...(scope.accounts === undefined ? {} : { accounts: scope.accounts }),
  ...(scope.regions === undefined ? {} : { regions: scope.regions }),
  ...(scope.sinceMs === undefined ? {} : { firstDay: isoDay(scope.sinceMs) }),
  ...(scope.untilMs === undefined ? {} : { lastDay: isoDay(scope.untilMs - 1 + DELIVERY_LAG_DAYS * DAY_MS) }),
});

/** Whether a date prefix (`2026`, `2026-10`, `2026-10-01`) can hold a day inside the window's days. */
const dateInWindow = (date: string, window: ListingWindow): boolean =>
  (window.firstDay === undefined || date >= window.firstDay.slice(0, date.length)) &&
  (window.lastDay === undefined || date <= window.lastDay.slice(0, date.length));

/**
 * Where a child folder `name` (without its `/`) of a folder at `from` leads: its position, `pruned` when the window
 * leaves it out (an account, region or date outside it), or `skipped` when it holds no event logs (CloudTrail-Digest/,
 * CloudTrail-Insight/, another service's folder under an account). A folder the layout does not name at its level is
 * `outside`: read whole, unpruned.
 *
 * @example
 * childPosition({ level: 'trail' }, 'eu-west-1', { regions: ['us-east-1'] }); // 'pruned'
 * childPosition({ level: 'account' }, 'CloudTrail-Digest', {}); // 'skipped'
 * childPosition({ level: 'region' }, '2026', {}); // { level: 'year', year: '2026' }
 */
const childPosition = (from: KeyPosition, name: string, window: ListingWindow): KeyPosition | 'pruned' | 'skipped' => {
  const outside: KeyPosition = { level: 'outside' };
  const account = (): KeyPosition | 'pruned' =>
    window.accounts === undefined || window.accounts.includes(name) ? { level: 'account' } : 'pruned';
  switch (from.level) {
    case 'outside':
      return name === 'AWSLogs' ? { level: 'logs' } : outside;
    case 'logs':
      if (ORG_ID.test(name)) return { level: 'org' };
      return ACCOUNT_ID.test(name) ? account() : outside;
    case 'org':
      return ACCOUNT_ID.test(name) ? account() : outside;
    case 'account':
      return name === 'CloudTrail' ? { level: 'trail' } : 'skipped';
    case 'trail':
      if (!REGION.test(name)) return outside;
      return window.regions === undefined || window.regions.includes(name) ? { level: 'region' } : 'pruned';
    case 'region':
      if (!YEAR.test(name)) return outside;
      return dateInWindow(name, window) ? { level: 'year', year: name } : 'pruned';
    case 'year':
      if (!TWO_DIGITS.test(name)) return outside;
      return dateInWindow(`${from.year}-${name}`, window) ? { level: 'month', year: from.year, month: name } : 'pruned';
    case 'month':
      if (!TWO_DIGITS.test(name)) return outside;
      return dateInWindow(`${from.year}-${from.month}-${name}`, window) ? { level: 'day' } : 'pruned';
    case 'day':
      return outside;
  }
};

/**
 * Where listing starts for a user's prefix: the position of its last complete folder (`folder`, `''` or ending in
 * `/`) and the rest (`partial`, a name's beginning, listed as a prefix at that level). `pruned` when a folder the
 * prefix names is outside the window (`AWSLogs/111122223333/` with `--accounts 444455556666`). A folder the prefix
 * names explicitly is walked even when it holds no event logs (`…/CloudTrail-Digest/`): as `outside`, unpruned.
 *
 * @example
 * startOfPrefix('logs/AWSLogs/o-aa11bb22cc/1111', {});
 * // { position: { level: 'org' }, folder: 'logs/AWSLogs/o-aa11bb22cc/', partial: '1111' }
 */
const startOfPrefix = (
  prefix: string,
  window: ListingWindow,
): { position: KeyPosition; folder: string; partial: string } | 'pruned' => {
  const names = prefix.split('/');
  const partial = names.pop() as string;
  let position: KeyPosition = { level: 'outside' };
  for (const name of names) {
    const next = childPosition(position, name, window);
    if (next === 'pruned') return 'pruned';
    position = next === 'skipped' ? { level: 'outside' } : next;
  }
  return { position, folder: prefix.slice(0, prefix.length - partial.length), partial };
};

/** A bucket name as S3 allows them: 3 to 63 lowercase letters, digits, dots and hyphens. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * The bucket and key prefix of an `s3://BUCKET[/PREFIX]` argument (the scheme in any case, `S3://`; the prefix may be
 * empty, end anywhere, and hold any character S3 keys do).
 *
 * @throws UsageError when the argument starts `s3:` without `//` (`s3:/b`, `s3:b`), or when the bucket is missing or
 *   not a valid bucket name (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
 * @example
 * parseS3Url('s3://trail-bucket/AWSLogs/'); // { bucket: 'trail-bucket', prefix: 'AWSLogs/' }
 */
const parseS3Url = (url: string): { bucket: string; prefix: string } => {
  if (!/^s3:\/\//i.test(url)) throw new UsageError(`"${url}" is not an s3:// URL: s3://BUCKET[/PREFIX]`);
  const rest = url.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  if (!BUCKET.test(bucket)) {
    throw new UsageError(`"${url}" does not name a bucket: s3://BUCKET[/PREFIX], BUCKET 3 to 63 of a-z 0-9 . -`);
  }
  return { bucket, prefix: slash < 0 ? '' : rest.slice(slash + 1) };
};

/**
 * Whether a command-line path is meant for S3 rather than the disk: it starts with `s3:` in any case (`s3://b`,
 * `S3://b`, and the mistyped `s3:/b` and `s3:b`, which parseS3Url then refuses as usage).
 */
const isS3Url = (path: string): boolean => /^s3:/i.test(path);

export type { KeyPosition, ListingWindow };
export { childPosition, DELIVERY_LAG_DAYS, isS3Url, listingWindow, parseS3Url, startOfPrefix };
