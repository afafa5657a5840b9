import { readFileSync } from 'node:fs';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { OrganizationsClient } from '@aws-sdk/client-organizations';
import type { AccountNameLookup, AccountNames } from '../app/ports.js';
import { ConfigError, toError } from '../errors.js';
import { sdk } from './aws-clients.js';
import { AlertConfigSchema } from './config.js';
import { logger } from './logger.js';

/** @aws-sdk/client-iam, imported on first use rather than at module load (io/aws-clients.ts, "Loading"). */

/** @aws-sdk/client-organizations, imported on first use rather than at module load (io/aws-clients.ts, "Loading"). */

interface AccountNamesOptions {
  /** Names from configuration, by account id: used first and without any API call. */
  names?: Record<string, string>;
  /** Organizations DescribeAccount: works from the management account or a delegated administrator. */
  organizations?: OrganizationsClient;
  /** IAM ListAccountAliases: only ever answers for the account the credentials belong to. */
  iam?: IAMClient;
  /** The account this code runs in; the IAM alias is looked up for it alone. */
  ownAccountId?: string;
  /** How long an answer (or a failure) is kept per account. Default one hour. */
  ttlMs?: number;
  /** Per request; a hung endpoint must not hold the alert. Default 2.5 s. */
  timeoutMs?: number;
  now?: () => number;
}

const HOUR = 3_600_000;
const DEFAULT_TIMEOUT_MS = 2_500;
/** Beyond this many cached accounts, expired entries are swept: bounded memory in a long-lived container. */
const SWEEP_AT = 1_000;
const ACCOUNT_ID = /^\d{12}$/;

/**
 * Logs a failed lookup once with what an operator needs (which account, which API, why) and nothing
 * more: an SDK error carries the request, its headers and endpoint, and does not belong in a log line.
 */
const warnLookupFailed = (accountId: string, api: string, error: unknown): void => {
  const details = error as {
    name?: unknown;
    code?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  // An SDK error names itself (AccessDeniedException); a network error says more in its code (ECONNREFUSED).
  const name = typeof details?.name === 'string' ? details.name : 'Error';
  logger.warn('account name lookup failed', {
    accountId,
    api,
    reason: name === 'Error' && typeof details?.code === 'string' ? details.code : name,
    ...(typeof details?.message === 'string' ? { errorMessage: details.message.slice(0, 300) } : {}),
    ...(typeof details?.$metadata?.httpStatusCode === 'number' ? { statusCode: details.$metadata.httpStatusCode } : {}),
  });
};

/** A configured name, read so that an id like "constructor" never finds Object.prototype's. */
const staticNameOf = (names: Record<string, string> | undefined, accountId: string): string | undefined => {
  if (!names || !Object.hasOwn(names, accountId)) return undefined;
  const name = names[accountId];
  return typeof name === 'string' && name.trim() !== '' ? name.trim() : undefined;
};

/**
 * Creates a lookup from an account id to its display names. A name from `names` wins without any
 * API call; otherwise the Organizations account name (when a client is given) and, for
 * `ownAccountId` only, the first IAM account alias. Each answer is cached per account for `ttlMs`,
 * failures included, so an AccessDenied costs one request and one warning per account per TTL;
 * concurrent lookups of one account share the request. Never rejects: a failed source leaves its
 * field out.
 *
 * @example
 * import { OrganizationsClient } from '@aws-sdk/client-organizations';
 *
 * const accountNames = createAccountNames({
 *   organizations: new OrganizationsClient({}),
 *   names: { '111122223333': 'prod' },
 * });
 * await accountNames('111122223333'); // { name: 'prod' }, without asking Organizations
 */
const createAccountNames = (options: AccountNamesOptions): AccountNameLookup => {
  const ttlMs = options.ttlMs ?? HOUR;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { expires: number; names: Promise<AccountNames> }>();

  const organizationsNameOf = async (accountId: string): Promise<string | undefined> => {
    if (!options.organizations) return undefined;
    try {
      const { Account } = await options.organizations.send(
        new (await sdk.organizations()).DescribeAccountCommand({ AccountId: accountId }),
        {
          abortSignal: AbortSignal.timeout(timeoutMs),
        },
      );
      return Account?.Name || undefined;
    } catch (error) {
      warnLookupFailed(accountId, 'organizations:DescribeAccount', error);
      return undefined;
    }
  };

  const aliasOf = async (accountId: string): Promise<string | undefined> => {
    // IAM answers for the caller's own account whatever id we mean: asking for another would mislabel it.
    if (!options.iam || accountId !== options.ownAccountId) return undefined;
    try {
      const { AccountAliases } = await options.iam.send(new (await sdk.iam()).ListAccountAliasesCommand({}), {
        abortSignal: AbortSignal.timeout(timeoutMs),
      });
      return AccountAliases?.[0] || undefined;
    } catch (error) {
      warnLookupFailed(accountId, 'iam:ListAccountAliases', error);
      return undefined;
    }
  };

  const lookUp = async (accountId: string): Promise<AccountNames> => {
    const [name, alias] = await Promise.all([organizationsNameOf(accountId), aliasOf(accountId)]);
    return { ...(name ? { name } : {}), ...(alias ? { alias } : {}) };
  };

  const sweep = (at: number): void => {
    for (const [accountId, entry] of cache) if (entry.expires <= at) cache.delete(accountId);
  };

  return (accountId) => {
    const name = staticNameOf(options.names, accountId);
    if (name) return Promise.resolve({ name });
    // Anything but an account id ("unknown" from a ragged record) has no name to find.
    if (!ACCOUNT_ID.test(accountId)) return Promise.resolve({});
    const at = now();
    const cached = cache.get(accountId);
    // A copy each time: one caller editing its answer must not change the cache.
    if (cached && cached.expires > at) return cached.names.then((names) => ({ ...names }));
    if (cache.size >= SWEEP_AT) sweep(at);
    // The promise is cached, not its result: a second event arriving mid-request shares the request.
    const names = lookUp(accountId);
    cache.set(accountId, { expires: at + ttlMs, names });
    return names.then((answer) => ({ ...answer }));
  };
};

/**
 * Reads a JSON file of account id → name (`{"111122223333": "prod-payments"}`), checked by the very
 * schema of the `accountNames` parameter (ACCOUNT_NAMES), so replay names accounts as the deployed
 * alerter does.
 *
 * @throws ConfigError naming the file: unreadable, not JSON, or a key that is no 12-digit account id.
 */
const readAccountNamesFile = (path: string): Record<string, string> => {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`--account-names ${path}: cannot read it: ${toError(error).message}`, { cause: error });
  }
  const result = AlertConfigSchema.shape.ACCOUNT_NAMES.def.innerType.safeParse(text);
  if (!result.success) {
    const problems = result.error.issues.map((issue) =>
      issue.path.length > 0 ? `${issue.message} (at ${issue.path.join('.')})` : issue.message,
    );
    throw new ConfigError(`--account-names ${path}: ${problems.join('; ')}`, { cause: result.error });
  }
  return result.data;
};

export { createAccountNames, readAccountNamesFile };
