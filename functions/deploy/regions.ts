import { type AccountClient, paginateListRegions, type RegionOptStatus } from '@aws-sdk/client-account';
import { partition } from '@aws-sdk/core/client';
import { REGION_NAME } from '../core/forwarding.js';
import { AlerterError, toError, UsageError } from '../errors.js';

/*
 * Which regions `rootwatch deploy` and `rootwatch remove` cover: the account's enabled regions (AWS Account Management
 * ListRegions) or the ones named with --regions, checked against every region the account knows. No list of regions
 * is kept here: the account's own list tells a typo from a region not enabled, and the AWS SDK's partition resolver
 * keeps every region in the hub's partition.
 */

/** A region named on the command line is one of the account's, but not enabled in it (exit status 1). */
class RegionNotEnabledError extends AlerterError {
  public constructor(
    /** Each region and its opt-in status as ListRegions reports it (DISABLED, ENABLING, DISABLING). */
    public readonly regions: readonly { region: string; status: string }[],
  ) {
    const one = regions.length === 1;
    super(
      `${regions.map(({ region, status }) => `${region} (${status})`).join(', ')} ${
        one ? 'is' : 'are'
      } not enabled in this account (AWS Account Management ListRegions): enable ${
        one ? 'it' : 'them'
      } (Account Management EnableRegion, or the console's AWS Regions page) and deploy once ListRegions reports ENABLED, or leave ${
        one ? 'it' : 'them'
      } out`,
    );
  }
}

/**
 * The opt-in statuses ListRegions reports for a region the account can use: `ENABLED` (an opt-in region turned on)
 * and `ENABLED_BY_DEFAULT` (a region every account has). The others are ENABLING, DISABLING and DISABLED.
 * https://docs.aws.amazon.com/accounts/latest/reference/API_Region.html
 */
const ENABLED_STATUSES: readonly string[] = ['ENABLED', 'ENABLED_BY_DEFAULT'] satisfies RegionOptStatus[];

/**
 * The partition of a region, as the AWS SDK's own endpoint resolver decides it (`partition` of @aws-sdk/core, which
 * matches the name against each partition's region list and pattern): `eu-west-1` → `aws`, `cn-north-1` → `aws-cn`,
 * `us-gov-west-1` → `aws-us-gov`, `eusc-de-east-1` → `aws-eusc`. A name no partition's pattern matches is given
 * `aws`, as the SDK does.
 *
 * @example
 * partitionOf('cn-northwest-1'); // 'aws-cn'
 */
const partitionOf = (region: string): string => partition(region).name;

/**
 * `eu-west-1, us-east-1,eu-west-1` → `['eu-west-1', 'us-east-1']`: trimmed, each once, in the order given.
 *
 * @throws UsageError naming `flag` when the list is empty or an item is not shaped like a region name (REGION_NAME).
 * @example
 * parseRegionList('eu-west-1,eu-central-1', '--regions'); // ['eu-west-1', 'eu-central-1']
 */
const parseRegionList = (text: string, flag: string): string[] => {
  const regions = [
    ...new Set(
      text
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== ''),
    ),
  ];
  if (regions.length === 0) throw new UsageError(`${flag} needs at least one region, like eu-west-1,eu-central-1`);
  const malformed = regions.filter((region) => !REGION_NAME.test(region));
  if (malformed.length > 0) {
    throw new UsageError(
      `${flag}: ${malformed.map((region) => `"${region}"`).join(', ')} ${malformed.length === 1 ? 'is' : 'are'} not a region name (like eu-west-1)`,
    );
  }
  return regions;
};

/** A region of the account and its opt-in status (ENABLED, ENABLED_BY_DEFAULT, ENABLING, DISABLING, DISABLED). */
interface AccountRegion {
  name: string;
  status: string;
}

/**
 * Every region of the caller's account, with its opt-in status: AWS Account Management ListRegions without
 * RegionOptStatusContains, every page read (NextToken), sorted by name. Unfiltered, ListRegions "Lists all the
 * Regions for a given account and their respective opt-in statuses" (DISABLED ones included: the filter exists to
 * narrow that list). Needs the permission `account:ListRegions`; the account is the caller's (no AccountId), and
 * the partition the client's region's.
 * https://docs.aws.amazon.com/accounts/latest/reference/API_ListRegions.html
 *
 * @throws the SDK's error (AccessDeniedException, …) as it is: the caller decides what it means.
 * @example
 * import { AccountClient } from '@aws-sdk/client-account';
 * await listAccountRegions(new AccountClient({ region: 'us-east-1' }));
 * // [{ name: 'af-south-1', status: 'DISABLED' }, …, { name: 'us-west-2', status: 'ENABLED_BY_DEFAULT' }]
 */
const listAccountRegions = async (client: AccountClient): Promise<AccountRegion[]> => {
  const regions = new Map<string, string>();
  for await (const page of paginateListRegions({ client }, {})) {
    for (const { RegionName, RegionOptStatus } of page.Regions ?? []) {
      if (RegionName) regions.set(RegionName, RegionOptStatus ?? 'unknown');
    }
  }
  return [...regions.keys()].sort().map((name) => ({ name, status: regions.get(name) ?? 'unknown' }));
};

/** What the account's ListRegions answered: its regions with their statuses, or why they could not be read. */
type AccountRegions = { readable: true; regions: readonly AccountRegion[] } | { readable: false; error: Error };

/**
 * listAccountRegions, with a failure kept as a value: `--regions` can go on without it (the names then checked for
 * shape and partition only), `--all-regions` cannot.
 *
 * @example
 * import { AccountClient } from '@aws-sdk/client-account';
 *
 * const account = await readAccountRegions(new AccountClient({ region: 'us-east-1' }));
 * if (!account.readable) console.error(account.error.message);
 */
const readAccountRegions = async (client: AccountClient): Promise<AccountRegions> => {
  try {
    return { readable: true, regions: await listAccountRegions(client) };
  } catch (error) {
    return { readable: false, error: toError(error) };
  }
};

/** What to cover: the home region (the hub's, or, with forwardersOnly, one region among the others). */
interface RegionRequest {
  /** The hub's region (`--region`, default us-east-1). */
  home: string;
  /** `all` for --all-regions, else the --regions list (parsed by parseRegionList). */
  regions: 'all' | readonly string[];
  account: AccountRegions;
}

/** The regions a deploy or remove covers. */
interface RegionSelection {
  home: string;
  /** Every region covered, the home region included, sorted. */
  regions: string[];
  /** Set when the regions could not be checked against the account's: why (ListRegions' error). */
  unchecked?: Error;
}

/**
 * Checks the home region and the regions asked for, and returns them with the home region among them.
 *
 * - A region not shaped like one (REGION_NAME): UsageError.
 * - A region of another partition than the home region's (partitionOf): UsageError (a hub bus cannot be a target
 *   across partitions).
 * - A region ListRegions does not list at all: UsageError (a typo).
 * - A region ListRegions lists with a status other than ENABLED or ENABLED_BY_DEFAULT: RegionNotEnabledError, naming
 *   the status.
 * - `all` when ListRegions could not be read: AlerterError explaining the permission it needs.
 * - `regions` when ListRegions could not be read: accepted when shaped like region names, with `unchecked` set.
 *
 * @example
 * selectRegions({
 *   home: 'us-east-1',
 *   regions: ['eu-west-1'],
 *   account: {
 *     readable: true,
 *     regions: [
 *       { name: 'eu-west-1', status: 'ENABLED_BY_DEFAULT' },
 *       { name: 'us-east-1', status: 'ENABLED_BY_DEFAULT' },
 *     ],
 *   },
 * });
 * // { home: 'us-east-1', regions: ['eu-west-1', 'us-east-1'] }
 */
const selectRegions = ({ home, regions, account }: RegionRequest): RegionSelection => {
  if (!REGION_NAME.test(home)) throw new UsageError(`--region: "${home}" is not a region name (like us-east-1)`);
  if (regions === 'all' && !account.readable) {
    throw new AlerterError(
      account.error.name === 'CredentialsProviderError'
        ? `--all-regions reads the account's enabled regions with AWS Account Management ListRegions, but no AWS credentials were found (${account.error.message}): sign in (aws sso login, or AWS_PROFILE / --profile with a profile that exists)`
        : `--all-regions reads the account's enabled regions with AWS Account Management ListRegions, which failed (${account.error.name}: ${account.error.message}): allow account:ListRegions to the deploying identity, or name the regions with --regions`,
    );
  }
  const statuses = new Map<string, string>(
    account.readable ? account.regions.map(({ name, status }) => [name, status] as const) : [],
  );
  const isEnabled = (region: string) => ENABLED_STATUSES.includes(statuses.get(region) ?? '');
  const asked = regions === 'all' ? [] : [...regions];
  const candidates = [...new Set([home, ...(regions === 'all' ? [...statuses.keys()].filter(isEnabled) : asked)])];
  const flagOf = (region: string) => (region === home && !asked.includes(region) ? '--region' : '--regions');

  // First, as the account's list holds its own partition's regions only: a region of another is no typo.
  const homePartition = partitionOf(home);
  const foreign = candidates.filter((region) => partitionOf(region) !== homePartition);
  if (foreign.length > 0) {
    throw new UsageError(
      `${foreign.join(', ')} ${foreign.length === 1 ? 'is' : 'are'} not in the partition of the home region ${home} (${homePartition}): forwarders can only reach a hub bus of their own partition`,
    );
  }
  if (!account.readable) return { home, regions: candidates.sort(), unchecked: account.error };

  const unknown = candidates.filter((region) => !statuses.has(region));
  if (unknown.length > 0) {
    throw new UsageError(
      unknown
        .map((region) => `${flagOf(region)}: "${region}" is not an AWS region of this account (a typo?)`)
        .join('\n'),
    );
  }
  const disabled = candidates.filter((region) => !isEnabled(region));
  if (disabled.length > 0) {
    throw new RegionNotEnabledError(disabled.map((region) => ({ region, status: statuses.get(region) ?? 'unknown' })));
  }
  return { home, regions: candidates.sort() };
};

export type { AccountRegions };
export { listAccountRegions, parseRegionList, partitionOf, RegionNotEnabledError, readAccountRegions, selectRegions };
