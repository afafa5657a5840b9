import type { Severity } from './severity.js';

/*
 * Root posture: for every account, the three practices behind rootwatch (the root e-mail is a group on a domain the
 * company owns, root has MFA, root has no access keys) and the facts around them (signing certificates, a password,
 * a security alternate contact, centralized root access for the organization). This module is the model and what is
 * wrong with it; io/posture-reader.ts reads it from AWS, the posture function compares runs (worsenedFindings), and
 * `rootwatch posture` prints it.
 */

/** The checks run per account; `account` is the account itself (root credentials could not be read at all). */
const POSTURE_CHECKS = [
  'account',
  'root-email',
  'mfa',
  'access-keys',
  'signing-certificates',
  'password',
  'security-contact',
] as const;
type PostureCheck = (typeof POSTURE_CHECKS)[number];

/** Where root's credentials were read from. */
type PostureVia = 'account-summary' | 'assume-root' | 'audit-role';

/** A check that could not run, and why (AWS's error code and message, as data). */
interface PostureError {
  check: PostureCheck;
  message: string;
}

/**
 * One account's root posture. An undefined field is not known: the check could not run, and `errors` says why
 * (never silently skipped).
 */
interface AccountPosture {
  /** 12 digits. */
  accountId: string;
  /** The Organizations account name. */
  name?: string;
  /**
   * The Organizations account state when it is not ACTIVE (SUSPENDED, PENDING_CLOSURE, CLOSED…): such an account is
   * listed and not checked (its root cannot sign in, and AssumeRoot cannot reach it).
   */
  state?: string;
  /** The root user's e-mail address: Organizations Account.Email. */
  rootEmail?: string;
  /** Root has an MFA device. */
  mfa?: boolean;
  /** Root's access keys, active or not. */
  accessKeys?: number;
  /** Root's X.509 signing certificates, active or not. */
  signingCertificates?: number;
  /** Root has a console password (a login profile). Undefined also where the source does not tell. */
  password?: boolean;
  /** A SECURITY alternate contact is set (Account GetAlternateContact). */
  securityContact?: boolean;
  /** How root credentials were read: the account's own GetAccountSummary, centralized root access, or a role. */
  via?: PostureVia;
  /** Each check that could not run, with why. */
  errors: PostureError[];
}

/** An organization-level read that failed: `accounts` (ListAccounts) or `centralized-root-access` (the features). */
interface OrganizationError {
  check: 'accounts' | 'centralized-root-access';
  message: string;
}

/** Centralized root access for member accounts (IAM ListOrganizationsFeatures). */
interface CentralizedRootAccess {
  /** RootCredentialsManagement: root credentials of members can be removed and audited centrally. */
  credentialsManagement: boolean;
  /** RootSessions: privileged root tasks on members through sts:AssumeRoot. */
  rootSessions: boolean;
}

/** Every account's root posture at one time. */
interface OrganizationPosture {
  /** ISO 8601 time of the check. */
  checkedAt: string;
  /** The organization's id (o-…); absent: a single account outside any organization. */
  organizationId?: string;
  /** The organization's management account (12 digits); absent for a single account. */
  managementAccountId?: string;
  /** Absent: a single account, or the feature list could not be read (see `errors`). */
  centralizedRootAccess?: CentralizedRootAccess;
  /** Organization-level reads that could not run (the account list, the feature list), with why. */
  errors?: OrganizationError[];
  /** Sorted by account id. */
  accounts: AccountPosture[];
}

/** The kinds of finding, in the order a table lists them (the worst first). */
const POSTURE_FINDING_KINDS = [
  'root-access-key',
  'root-mfa-missing',
  'unreachable',
  'root-signing-certificate',
  'root-email-personal',
  'root-email-domain',
  'security-contact-missing',
  'centralized-root-access-off',
] as const;
type PostureFindingKind = (typeof POSTURE_FINDING_KINDS)[number];

/** One thing wrong (or unknown) with an account's root: what drift compares run to run. */
interface PostureFinding {
  /** The account (for centralized-root-access-off: the management account, else the organization id). */
  accountId: string;
  kind: PostureFindingKind;
  /** Critical for root-access-key and root-mfa-missing. */
  severity: Severity;
  /** One line for humans; holds values read from AWS (names, e-mails, messages): renderers escape them. */
  detail: string;
}

/** The severity of each kind of finding: critical for a root key or missing MFA, else high (DESIGN.md, root-posture-drift). */
const FINDING_SEVERITY: Readonly<Record<PostureFindingKind, Severity>> = {
  'root-access-key': 'critical',
  'root-mfa-missing': 'critical',
  unreachable: 'high',
  'root-signing-certificate': 'high',
  'root-email-personal': 'high',
  'root-email-domain': 'high',
  'security-contact-missing': 'high',
  'centralized-root-access-off': 'high',
};

/**
 * Public webmail domains: a root e-mail on one of them is one person's mailbox, not a company distribution group.
 * Not exhaustive; the `rootEmailDomains` list is the real check.
 */
const PERSONAL_EMAIL_DOMAINS: readonly string[] = [
  'gmail.com',
  'googlemail.com',
  'outlook.com',
  'hotmail.com',
  'live.com',
  'msn.com',
  'yahoo.com',
  'ymail.com',
  'aol.com',
  'icloud.com',
  'me.com',
  'mac.com',
  'proton.me',
  'protonmail.com',
  'pm.me',
  'gmx.com',
  'gmx.de',
  'gmx.net',
  'web.de',
  'mail.com',
  'yandex.com',
  'yandex.ru',
  'mail.ru',
  'zoho.com',
  'fastmail.com',
  'tutanota.com',
  'hey.com',
  'qq.com',
  '163.com',
];

/**
 * The domain of an e-mail address, lower-cased, without a trailing dot; undefined when there is no `@` or nothing
 * after the last one.
 *
 * @example
 * emailDomain('Root+Prod@Example.COM'); // 'example.com'
 * emailDomain('no-at-sign'); // undefined
 */
const emailDomain = (email: string): string | undefined => {
  const at = email.lastIndexOf('@');
  const domain =
    at < 0
      ? ''
      : email
          .slice(at + 1)
          .trim()
          .toLowerCase()
          .replace(/\.$/, '');
  return domain === '' ? undefined : domain;
};

/** A DNS name of two labels or more (letters, digits, hyphens; an IDN in its xn-- form). */
const DOMAIN_NAME = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/i;

/**
 * Whether `domain` can be one of `rootEmailDomains`: a DNS name of two labels or more, no `@`, no trailing dot.
 *
 * @example
 * isEmailDomain('example.com'); // true
 * isEmailDomain('@example.com'); // false
 */
const isEmailDomain = (domain: string): boolean => DOMAIN_NAME.test(domain);

/** Whether `domain` is `owned` or a subdomain of it (both lower case). */
const isWithin = (domain: string, owned: string): boolean => domain === owned || domain.endsWith(`.${owned}`);

const finding = (accountId: string, kind: PostureFindingKind, detail: string): PostureFinding => ({
  accountId,
  kind,
  severity: FINDING_SEVERITY[kind],
  detail,
});

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`;

const accountFindings = (account: AccountPosture, rootEmailDomains: readonly string[]): PostureFinding[] => {
  const id = account.accountId;
  const found: PostureFinding[] = [];
  if (account.errors.length > 0) {
    const reasons = account.errors.map((error) => `${error.check}: ${error.message}`).join('; ');
    found.push(finding(id, 'unreachable', `could not check ${reasons}`));
  }
  // GetAccountSummary tells whether root has keys (AccountAccessKeysPresent: 1), not how many.
  const counted = account.via === 'assume-root';
  if (account.accessKeys !== undefined && account.accessKeys > 0) {
    const keys = counted ? plural(account.accessKeys, 'access key') : 'an access key';
    found.push(finding(id, 'root-access-key', `root has ${keys}`));
  }
  // A root user without a password and without MFA has no way to sign in: the state centralized root access
  // recommends for members (credentials deleted), not a missing MFA.
  if (account.mfa === false && account.password !== false) {
    const password = account.password === true ? 'root has a password and no MFA device' : 'root has no MFA device';
    found.push(finding(id, 'root-mfa-missing', password));
  }
  if (account.signingCertificates !== undefined && account.signingCertificates > 0) {
    const certificates = counted ? plural(account.signingCertificates, 'signing certificate') : 'a signing certificate';
    found.push(finding(id, 'root-signing-certificate', `root has ${certificates}`));
  }
  if (account.rootEmail !== undefined) {
    const domain = emailDomain(account.rootEmail);
    const owned = domain !== undefined && rootEmailDomains.some((owned) => isWithin(domain, owned.toLowerCase()));
    if (!owned && domain !== undefined && PERSONAL_EMAIL_DOMAINS.includes(domain)) {
      found.push(finding(id, 'root-email-personal', `root e-mail ${account.rootEmail} is a personal mailbox`));
    } else if (!owned && (rootEmailDomains.length > 0 || domain === undefined)) {
      const expected = rootEmailDomains.length > 0 ? `not on ${rootEmailDomains.join(', ')}` : 'has no domain';
      found.push(finding(id, 'root-email-domain', `root e-mail ${account.rootEmail} is ${expected}`));
    }
  }
  if (account.securityContact === false) {
    found.push(finding(id, 'security-contact-missing', 'no security alternate contact'));
  }
  return found;
};

/** Orders findings by account, then by kind (the worst first). */
const compareFindings = (a: PostureFinding, b: PostureFinding): number =>
  a.accountId === b.accountId
    ? POSTURE_FINDING_KINDS.indexOf(a.kind) - POSTURE_FINDING_KINDS.indexOf(b.kind)
    : a.accountId < b.accountId
      ? -1
      : 1;

/**
 * Everything wrong or unknown in a posture, sorted by account then kind, at most one finding per account and kind:
 * - `root-access-key` (critical): root has an access key, active or not;
 * - `root-mfa-missing` (critical): root has no MFA device while it has (or may have) a password; a root user with
 *   neither a password nor MFA cannot sign in, which is what centralized root access recommends, and is no finding;
 * - `unreachable` (high): a check of the account could not run (each listed with why): unknown, never skipped;
 * - `root-signing-certificate` (high): root has an X.509 signing certificate;
 * - `root-email-personal` (high): the root e-mail's domain is a public webmail domain (PERSONAL_EMAIL_DOMAINS) not
 *   listed in `rootEmailDomains`;
 * - `root-email-domain` (high): the root e-mail is not on one of `rootEmailDomains` or their subdomains (only
 *   checked when the list is not empty), or has no domain at all;
 * - `security-contact-missing` (high): no SECURITY alternate contact;
 * - `centralized-root-access-off` (high): an organization where root credentials management or root sessions is
 *   not enabled (accountId: the management account);
 * - `unreachable` (high) of the management account (else the organization id): the account list or the feature list
 *   could not be read (`posture.errors`).
 *
 * `rootEmailDomains`: the domains the company owns, any case (`example.com` also covers `aws.example.com`).
 *
 * @example
 * const findings = findingsOf(
 *   { checkedAt: '2026-03-01T00:00:00Z', accounts: [{ accountId: '111122223333', mfa: false, password: true, errors: [] }] },
 *   { rootEmailDomains: ['example.com'] },
 * );
 * findings[0]?.kind; // 'root-mfa-missing'
 */
const findingsOf = (
  posture: OrganizationPosture,
  options: { rootEmailDomains: readonly string[] },
): PostureFinding[] => {
  const found = posture.accounts.flatMap((account) => accountFindings(account, options.rootEmailDomains));
  const central = posture.centralizedRootAccess;
  if (posture.organizationId !== undefined && central && !(central.credentialsManagement && central.rootSessions)) {
    const off = [
      central.credentialsManagement ? [] : ['root credentials management'],
      central.rootSessions ? [] : ['root sessions'],
    ].flat();
    const where = posture.managementAccountId ?? posture.organizationId;
    found.push(finding(where, 'centralized-root-access-off', `centralized root access: ${off.join(' and ')} off`));
  }
  if ((posture.errors?.length ?? 0) > 0) {
    const where = posture.managementAccountId ?? posture.organizationId ?? posture.accounts[0]?.accountId ?? 'unknown';
    const reasons = (posture.errors ?? []).map((error) => `${error.check}: ${error.message}`).join('; ');
    found.push(finding(where, 'unreachable', `could not check ${reasons}`));
  }
  return found.sort(compareFindings);
};

const findingKey = (finding: PostureFinding): string => `${finding.accountId}\u0000${finding.kind}`;

/**
 * The findings of `current` that `previous` did not have (same accountId and kind), in `current`'s order: what got
 * worse since the last run. A finding that stays is not repeated; one that went away and comes back is new again.
 *
 * @example
 * const before = [{ accountId: '111122223333', kind: 'root-mfa-missing', severity: 'critical', detail: 'no MFA' }] as const;
 * const now = [...before, { accountId: '111122223333', kind: 'root-access-key', severity: 'critical', detail: '1 key' }] as const;
 * worsenedFindings(before, now); // [the root-access-key finding]
 */
const worsenedFindings = (
  previous: readonly PostureFinding[],
  current: readonly PostureFinding[],
): PostureFinding[] => {
  const known = new Set(previous.map(findingKey));
  return current.filter((finding) => !known.has(findingKey(finding)));
};

export type {
  AccountPosture,
  CentralizedRootAccess,
  OrganizationError,
  OrganizationPosture,
  PostureCheck,
  PostureError,
  PostureFinding,
  PostureFindingKind,
};
export { emailDomain, findingsOf, isEmailDomain, PERSONAL_EMAIL_DOMAINS, POSTURE_FINDING_KINDS, worsenedFindings };
