import type { AccountClient } from '@aws-sdk/client-account';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { Account as OrganizationsAccount, OrganizationsClient } from '@aws-sdk/client-organizations';
import type { STSClient } from '@aws-sdk/client-sts';
import { mapLimit } from '../core/concurrency.js';
import type {
  AccountPosture,
  CentralizedRootAccess,
  OrganizationError,
  OrganizationPosture,
  PostureCheck,
  PostureError,
} from '../core/posture.js';
import { toError } from '../errors.js';
import { type ClientBudget, clientOptionsFor, lazyClient, sdk } from './aws-clients.js';

/*
 * Reads every account's root posture (core/posture.ts) with the caller's credentials: the management account of an
 * organization or its delegated administrator (Organizations ListAccounts), or a single account.
 *
 * Where each fact comes from:
 * - the accounts, their names and root e-mail addresses: Organizations ListAccounts (Account.Email: "The email
 *   address associated with the Amazon Web Services account", the root user's sign-in address), paged by NextToken;
 *   AWSOrganizationsNotInUseException from DescribeOrganization means a single account.
 *     https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAccounts.html
 *     https://docs.aws.amazon.com/organizations/latest/APIReference/API_DescribeOrganization.html
 * - centralized root access: IAM ListOrganizationsFeatures, EnabledFeatures ⊆ {RootCredentialsManagement,
 *   RootSessions}; it answers only the management account or the IAM delegated administrator.
 *     https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListOrganizationsFeatures.html
 * - root's credentials in a member: sts:AssumeRoot (TargetPrincipal: the account id; TaskPolicyArn:
 *   arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials; "You must use credentials from an Organizations
 *   management account or a delegated administrator account for IAM to call AssumeRoot"; "The STS global endpoint is
 *   not supported for AssumeRoot. You must send this request to a Regional STS endpoint"; at most 900 seconds), then,
 *   in that root session and without a UserName (the caller: root), IAM ListAccessKeys, ListMFADevices,
 *   ListSigningCertificates and GetLoginProfile (NoSuchEntity: no password).
 *     https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoot.html
 *     https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user-privileged-task.html
 * - when AssumeRoot is refused (centralized root access off, or not allowed) and an audit role name is given:
 *   sts:AssumeRole into arn:PARTITION:iam::ACCOUNT:role/NAME and IAM GetAccountSummary there;
 * - the caller's own account (AssumeRoot cannot target it): IAM GetAccountSummary, whose SummaryMap holds
 *   AccountMFAEnabled ("1 if the root user has MFA enabled"), AccountAccessKeysPresent and
 *   AccountSigningCertificatesPresent (1 when root has any); it says nothing of a password;
 *     https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountSummary.html
 * - the security contact: Account GetAlternateContact with AlternateContactType SECURITY (ResourceNotFoundException:
 *   none set); AccountId for a member, none for the caller's own account ("The management account can't specify its
 *   own AccountId"). Needs trusted access for AWS Account Management in the organization.
 *     https://docs.aws.amazon.com/accounts/latest/reference/API_GetAlternateContact.html
 *
 * Each failed call is an error of its check (PostureError), with the SDK's error name and message: never skipped.
 */

/** The managed policy that scopes an AssumeRoot session to reading root's credentials. */
const AUDIT_TASK_POLICY_ARN = 'arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials';
/** AssumeRoot's longest session; the four reads take seconds. */
const ROOT_SESSION_SECONDS = 900;
/** Accounts read at once by default. */
const DEFAULT_CONCURRENCY = 8;
/** The most accounts read at once: Organizations and STS throttle beyond a few requests a second. */
const MAX_POSTURE_CONCURRENCY = 32;
/** An error message kept in the posture: enough for an AWS message, bounded. */
const MAX_MESSAGE = 300;

/**
 * Organizations, IAM, STS and Account clients: a check makes some hundred calls, each worth a retry (throttling is
 * likely across an organization), 3 × 5 s + backoff at worst per call.
 */
const POSTURE_BUDGET: ClientBudget = { connectionTimeoutMs: 2_000, requestTimeoutMs: 5_000, maxAttempts: 3 };

/** Temporary credentials (STS AssumeRoot, AssumeRole). */
interface SessionCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

/**
 * The clients the reader sends through, each made on first call: `iam()` with the caller's credentials, and
 * `iam(credentials)` a new client with a session's (the caller destroys it).
 */
interface PostureClients {
  organizations(): Promise<OrganizationsClient>;
  sts(): Promise<STSClient>;
  account(): Promise<AccountClient>;
  iam(credentials?: SessionCredentials): Promise<IAMClient>;
}

interface PostureClientOptions {
  /** The region of STS (AssumeRoot has no global endpoint); default: the SDK's chain, else us-east-1. */
  region?: string;
  /** A profile of the shared AWS config files, for the CLI. */
  profile?: string;
}

/**
 * The reader's clients, with the caller's credentials (the SDK's chain, or `profile`) and POSTURE_BUDGET's timeouts.
 * Endpoints follow the SDK's own settings (AWS_ENDPOINT_URL_ORGANIZATIONS, _IAM, _STS, _ACCOUNT). Call `destroy()`
 * when done: it closes the shared clients' connections.
 *
 * @example
 * const clients = createPostureClients({ region: 'eu-west-1' });
 * const posture = await readOrganizationPosture(clients, {});
 * clients.destroy();
 */
const createPostureClients = (options: PostureClientOptions = {}): PostureClients & { destroy(): void } => {
  const base = {
    ...clientOptionsFor(POSTURE_BUDGET),
    ...(options.profile ? { profile: options.profile } : {}),
  };
  const made: { destroy(): void }[] = [];
  const keep = <T extends { destroy(): void }>(client: T): T => {
    made.push(client);
    return client;
  };
  /** STS's region: the one given, the chain's, else us-east-1 (IAM, Organizations and Account are global). */
  const regionOf = async (): Promise<string> => {
    if (options.region) return options.region;
    const probe = new (await sdk.sts()).STSClient(base);
    const region = await probe.config.region().catch(() => undefined);
    probe.destroy();
    return region ?? 'us-east-1';
  };
  const region = lazyClient(regionOf);
  const iam = lazyClient(async () => keep(new (await sdk.iam()).IAMClient({ ...base, region: await region() })));
  return {
    // Organizations, IAM and Account answer from us-east-1 whatever the caller's region.
    organizations: lazyClient(async () =>
      keep(new (await sdk.organizations()).OrganizationsClient({ ...base, region: 'us-east-1' })),
    ),
    sts: lazyClient(async () => keep(new (await sdk.sts()).STSClient({ ...base, region: await region() }))),
    account: lazyClient(async () => keep(new (await sdk.account()).AccountClient({ ...base, region: 'us-east-1' }))),
    iam: async (credentials) => {
      if (!credentials) return iam();
      const { profile: _profile, ...withoutProfile } = base;
      return new (await sdk.iam()).IAMClient({ ...withoutProfile, region: await region(), credentials });
    },
    destroy: () => {
      for (const client of made) client.destroy();
    },
  };
};

/** `Name: message` of an SDK (or any) error, on one line and bounded: kept in the posture as data. */
const reasonOf = (error: unknown): string => {
  const err = toError(error);
  const name = err.name && err.name !== 'Error' ? err.name : ((err as { code?: string }).code ?? 'Error');
  const text = err.message && err.message !== name ? `${name}: ${err.message}` : name;
  return text.replace(/\s+/g, ' ').slice(0, MAX_MESSAGE);
};

/** The error's name (the AWS error code: AccessDenied, NoSuchEntity, ResourceNotFoundException…). */
const codeOf = (error: unknown): string => toError(error).name;

/** The SECURITY alternate contact is set: true, false (ResourceNotFoundException), or the failure. */
const readSecurityContact = async (
  clients: PostureClients,
  accountId: string | undefined,
): Promise<{ securityContact?: boolean; error?: PostureError }> => {
  const { GetAlternateContactCommand } = await sdk.account();
  try {
    const answer = await (await clients.account()).send(
      new GetAlternateContactCommand({
        AlternateContactType: 'SECURITY',
        ...(accountId ? { AccountId: accountId } : {}),
      }),
    );
    return { securityContact: answer.AlternateContact !== undefined };
  } catch (error) {
    if (codeOf(error) === 'ResourceNotFoundException') return { securityContact: false };
    return { error: { check: 'security-contact', message: `GetAlternateContact: ${reasonOf(error)}` } };
  }
};

/** Root's credentials as GetAccountSummary tells them (the caller's own account, or through an audit role). */
const readAccountSummary = async (iam: IAMClient): Promise<Partial<AccountPosture> & { errors: PostureError[] }> => {
  const { GetAccountSummaryCommand } = await sdk.iam();
  const summary = (await iam.send(new GetAccountSummaryCommand({}))).SummaryMap ?? {};
  const errors: PostureError[] = [];
  const flag = (key: string, check: PostureCheck): number | undefined => {
    const value = summary[key as keyof typeof summary];
    if (typeof value === 'number') return value;
    errors.push({ check, message: `GetAccountSummary answered without ${key}` });
    return undefined;
  };
  const mfa = flag('AccountMFAEnabled', 'mfa');
  const accessKeys = flag('AccountAccessKeysPresent', 'access-keys');
  const signingCertificates = flag('AccountSigningCertificatesPresent', 'signing-certificates');
  return {
    ...(mfa === undefined ? {} : { mfa: mfa > 0 }),
    ...(accessKeys === undefined ? {} : { accessKeys }),
    ...(signingCertificates === undefined ? {} : { signingCertificates }),
    errors,
  };
};

/** Every page's items of an IAM list call paged by Marker/IsTruncated. */
const allPages = async <T>(
  fetchPage: (marker: string | undefined) => Promise<{ items?: T[]; IsTruncated?: boolean; Marker?: string }>,
): Promise<T[]> => {
  const items: T[] = [];
  let marker: string | undefined;
  do {
    const page = await fetchPage(marker);
    items.push(...(page.items ?? []));
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  return items;
};

/** Root's credentials read in a root session (AssumeRoot): each of the four calls on its own. */
const readRootSession = async (iam: IAMClient): Promise<Partial<AccountPosture> & { errors: PostureError[] }> => {
  const { GetLoginProfileCommand, ListAccessKeysCommand, ListMFADevicesCommand, ListSigningCertificatesCommand } =
    await sdk.iam();
  const errors: PostureError[] = [];
  const attempt = async <T>(check: PostureCheck, api: string, read: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await read();
    } catch (error) {
      errors.push({ check, message: `${api}: ${reasonOf(error)}` });
      return undefined;
    }
  };
  const [accessKeys, mfaDevices, certificates, password] = await Promise.all([
    attempt('access-keys', 'ListAccessKeys', () =>
      allPages(async (Marker) => {
        const page = await iam.send(new ListAccessKeysCommand({ ...(Marker ? { Marker } : {}) }));
        return { ...page, items: page.AccessKeyMetadata };
      }),
    ),
    attempt('mfa', 'ListMFADevices', () =>
      allPages(async (Marker) => {
        const page = await iam.send(new ListMFADevicesCommand({ ...(Marker ? { Marker } : {}) }));
        return { ...page, items: page.MFADevices };
      }),
    ),
    attempt('signing-certificates', 'ListSigningCertificates', () =>
      allPages(async (Marker) => {
        const page = await iam.send(new ListSigningCertificatesCommand({ ...(Marker ? { Marker } : {}) }));
        return { ...page, items: page.Certificates };
      }),
    ),
    attempt('password', 'GetLoginProfile', async () => {
      try {
        await iam.send(new GetLoginProfileCommand({}));
        return true;
      } catch (error) {
        if (codeOf(error) === 'NoSuchEntity' || codeOf(error) === 'NoSuchEntityException') return false;
        throw error;
      }
    }),
  ]);
  return {
    ...(accessKeys ? { accessKeys: accessKeys.length } : {}),
    ...(mfaDevices ? { mfa: mfaDevices.length > 0 } : {}),
    ...(certificates ? { signingCertificates: certificates.length } : {}),
    ...(password === undefined ? {} : { password }),
    errors,
  };
};

/** Who calls: the account and the ARN's partition (aws, aws-cn, aws-us-gov). */
interface Caller {
  accountId: string;
  partition: string;
}

interface MemberOptions {
  caller: Caller;
  auditRoleName?: string;
  /** Set: why AssumeRoot is not tried (root sessions are off for the organization). */
  rootSessionsOff?: string;
}

/** A member's root credentials: AssumeRoot, else the audit role, else one `account` error naming both refusals. */
const readMemberCredentials = async (
  clients: PostureClients,
  accountId: string,
  options: MemberOptions,
): Promise<Partial<AccountPosture> & { errors: PostureError[] }> => {
  const { AssumeRoleCommand, AssumeRootCommand } = await sdk.sts();
  const refusals: string[] = [];
  const sessionOf = (credentials: { AccessKeyId?: string; SecretAccessKey?: string; SessionToken?: string }) => {
    if (!credentials.AccessKeyId || !credentials.SecretAccessKey || !credentials.SessionToken) {
      throw new Error('STS answered without credentials');
    }
    return {
      accessKeyId: credentials.AccessKeyId,
      secretAccessKey: credentials.SecretAccessKey,
      sessionToken: credentials.SessionToken,
    };
  };
  if (options.rootSessionsOff) {
    refusals.push(`AssumeRoot not tried: ${options.rootSessionsOff}`);
  } else {
    let session: SessionCredentials | undefined;
    try {
      const answer = await (await clients.sts()).send(
        new AssumeRootCommand({
          TargetPrincipal: accountId,
          TaskPolicyArn: { arn: AUDIT_TASK_POLICY_ARN },
          DurationSeconds: ROOT_SESSION_SECONDS,
        }),
      );
      session = sessionOf(answer.Credentials ?? {});
    } catch (error) {
      refusals.push(`AssumeRoot: ${reasonOf(error)}`);
    }
    if (session) {
      const iam = await clients.iam(session);
      try {
        return { ...(await readRootSession(iam)), via: 'assume-root' };
      } finally {
        iam.destroy();
      }
    }
  }
  if (options.auditRoleName) {
    const roleArn = `arn:${options.caller.partition}:iam::${accountId}:role/${options.auditRoleName}`;
    let iam: IAMClient | undefined;
    try {
      const answer = await (await clients.sts()).send(
        new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'rootwatch-posture', DurationSeconds: 900 }),
      );
      iam = await clients.iam(sessionOf(answer.Credentials ?? {}));
      return { ...(await readAccountSummary(iam)), via: 'audit-role' };
    } catch (error) {
      refusals.push(`${iam ? 'GetAccountSummary through' : 'AssumeRole into'} ${roleArn}: ${reasonOf(error)}`);
    } finally {
      iam?.destroy();
    }
  } else {
    refusals.push('no audit role to fall back on');
  }
  return { errors: [{ check: 'account', message: refusals.join('; ') }] };
};

/** The caller's own account: GetAccountSummary with the caller's credentials. */
const readOwnCredentials = async (
  clients: PostureClients,
): Promise<Partial<AccountPosture> & { errors: PostureError[] }> => {
  try {
    return { ...(await readAccountSummary(await clients.iam())), via: 'account-summary' };
  } catch (error) {
    return { errors: [{ check: 'account', message: `GetAccountSummary: ${reasonOf(error)}` }] };
  }
};

/** One account's posture: its root credentials and its security contact, read side by side. */
const readAccount = async (
  clients: PostureClients,
  account: { accountId: string; name?: string; rootEmail?: string; state?: string },
  options: MemberOptions,
): Promise<AccountPosture> => {
  const { accountId } = account;
  const described = {
    accountId,
    ...(account.name === undefined ? {} : { name: account.name }),
    ...(account.rootEmail === undefined ? {} : { rootEmail: account.rootEmail }),
  };
  if (account.state !== undefined && account.state !== 'ACTIVE')
    return { ...described, state: account.state, errors: [] };
  const own = accountId === options.caller.accountId;
  const [credentials, contact] = await Promise.all([
    own ? readOwnCredentials(clients) : readMemberCredentials(clients, accountId, options),
    readSecurityContact(clients, own ? undefined : accountId),
  ]);
  const { errors, ...facts } = credentials;
  return {
    ...described,
    ...facts,
    ...(contact.securityContact === undefined ? {} : { securityContact: contact.securityContact }),
    errors: [...errors, ...(contact.error ? [contact.error] : [])],
  };
};

/** The organization's accounts, every page of ListAccounts, sorted by id. */
const listAccounts = async (organizations: OrganizationsClient): Promise<OrganizationsAccount[]> => {
  const { paginateListAccounts } = await sdk.organizations();
  const accounts: OrganizationsAccount[] = [];
  for await (const page of paginateListAccounts({ client: organizations }, {})) accounts.push(...(page.Accounts ?? []));
  return accounts.sort((a, b) => ((a.Id ?? '') < (b.Id ?? '') ? -1 : 1));
};

/** Centralized root access as ListOrganizationsFeatures tells it. */
const readCentralizedRootAccess = async (clients: PostureClients): Promise<CentralizedRootAccess> => {
  const { ListOrganizationsFeaturesCommand } = await sdk.iam();
  const answer = await (await clients.iam()).send(new ListOrganizationsFeaturesCommand({}));
  const features = new Set<string>(answer.EnabledFeatures ?? []);
  return {
    credentialsManagement: features.has('RootCredentialsManagement'),
    rootSessions: features.has('RootSessions'),
  };
};

/** The caller's account and partition (STS GetCallerIdentity needs no permission). */
const readCaller = async (clients: PostureClients): Promise<Caller> => {
  const { GetCallerIdentityCommand } = await sdk.sts();
  try {
    const answer = await (await clients.sts()).send(new GetCallerIdentityCommand({}));
    if (!answer.Account) throw new Error('STS GetCallerIdentity answered without an account');
    return { accountId: answer.Account, partition: answer.Arn?.split(':')[1] || 'aws' };
  } catch (error) {
    throw new Error(`cannot tell which account the credentials belong to: ${reasonOf(error)}`, { cause: error });
  }
};

interface PostureReadOptions {
  /** Accounts read at once: 1 to 32, default 8. */
  concurrency?: number;
  /** A read-only role in each member (arn:…:iam::ACCOUNT:role/NAME) used when AssumeRoot is refused. */
  auditRoleName?: string;
  /**
   * Only these accounts are read (the posture function on a Config compliance change); the organization's list and
   * centralized root access are still read, so each account keeps its name and root e-mail. Default: every account.
   */
  accountIds?: readonly string[];
  /** The time of the check; default now. */
  now?: () => Date;
}

/**
 * Reads every account's root posture with the caller's credentials. In an organization (the caller is its management
 * account or a delegated administrator): every account of ListAccounts (paged; accounts not ACTIVE are listed, not
 * checked), centralized root access (IAM ListOrganizationsFeatures), each member's root credentials through AssumeRoot
 * with IAMAuditRootUserCredentials (or `auditRoleName` when refused), the caller's own account through
 * GetAccountSummary, and each security contact. Without an organization (AWSOrganizationsNotInUseException): the
 * caller's account alone, without a root e-mail (no API gives it outside an organization). Accounts are read
 * `concurrency` at a time and sorted by id.
 *
 * Never skips: each call that fails is an error of its check in that account, or of the organization (`accounts`:
 * ListAccounts refused, then the caller's account alone is read; `centralized-root-access`).
 *
 * @throws Error when STS GetCallerIdentity fails (no credentials, no network): nothing can be read.
 * @example
 * const clients = createPostureClients();
 * const posture = await readOrganizationPosture(clients, { concurrency: 4, auditRoleName: 'rootwatch-posture-audit' });
 * posture.accounts.length; // every account of the organization
 * clients.destroy();
 */
const readOrganizationPosture = async (
  clients: PostureClients,
  options: PostureReadOptions = {},
): Promise<OrganizationPosture> => {
  const checkedAt = (options.now?.() ?? new Date()).toISOString();
  const concurrency = Math.min(Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY), MAX_POSTURE_CONCURRENCY);
  const caller = await readCaller(clients);
  const { DescribeOrganizationCommand } = await sdk.organizations();
  const organizations = await clients.organizations();
  const errors: OrganizationError[] = [];
  let organization: { Id?: string; MasterAccountId?: string } | undefined;
  try {
    organization = (await organizations.send(new DescribeOrganizationCommand({}))).Organization;
  } catch (error) {
    if (codeOf(error) !== 'AWSOrganizationsNotInUseException') {
      errors.push({ check: 'accounts', message: `DescribeOrganization: ${reasonOf(error)}` });
    }
  }
  const memberOptions: MemberOptions = {
    caller,
    ...(options.auditRoleName ? { auditRoleName: options.auditRoleName } : {}),
  };
  const wanted = (accountId: string | undefined): boolean =>
    options.accountIds === undefined || (accountId !== undefined && options.accountIds.includes(accountId));
  if (!organization?.Id) {
    if (!wanted(caller.accountId)) return { checkedAt, accounts: [], ...(errors.length > 0 ? { errors } : {}) };
    const account = await readAccount(clients, { accountId: caller.accountId }, memberOptions);
    return { checkedAt, accounts: [account], ...(errors.length > 0 ? { errors } : {}) };
  }
  const [listed, central] = await Promise.all([
    listAccounts(organizations).catch((error: unknown) => {
      errors.push({ check: 'accounts', message: `ListAccounts: ${reasonOf(error)}` });
      return [{ Id: caller.accountId }] as OrganizationsAccount[];
    }),
    readCentralizedRootAccess(clients).catch((error: unknown) => {
      errors.push({ check: 'centralized-root-access', message: `ListOrganizationsFeatures: ${reasonOf(error)}` });
      return undefined;
    }),
  ]);
  if (central && !central.rootSessions) memberOptions.rootSessionsOff = 'root sessions are off for the organization';
  const accounts = await mapLimit(
    listed.filter((account) => account.Id && wanted(account.Id)),
    concurrency,
    (account) =>
      readAccount(
        clients,
        {
          accountId: account.Id ?? '',
          ...(account.Name === undefined ? {} : { name: account.Name }),
          ...(account.Email === undefined ? {} : { rootEmail: account.Email }),
          ...((account.State ?? account.Status) === undefined ? {} : { state: account.State ?? account.Status }),
        },
        memberOptions,
      ),
  );
  errors.sort((a, b) => (a.check < b.check ? -1 : a.check > b.check ? 1 : 0));
  return {
    checkedAt,
    organizationId: organization.Id,
    ...(organization.MasterAccountId ? { managementAccountId: organization.MasterAccountId } : {}),
    ...(central ? { centralizedRootAccess: central } : {}),
    ...(errors.length > 0 ? { errors } : {}),
    accounts,
  };
};

export { AUDIT_TASK_POLICY_ARN, createPostureClients, MAX_POSTURE_CONCURRENCY, readOrganizationPosture };
