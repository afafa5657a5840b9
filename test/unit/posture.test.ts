import { describe, expect, it } from 'vitest';
import { parsePostureArgs } from '../../functions/commands/posture.js';
import {
  type AccountPosture,
  emailDomain,
  findingsOf,
  type OrganizationPosture,
  PERSONAL_EMAIL_DOMAINS,
  type PostureFinding,
  worsenedFindings,
} from '../../functions/core/posture.js';
import { UsageError } from '../../functions/errors.js';

const MEMBER = '210987654321';
const MANAGEMENT = '111122223333';
const DOMAINS = { rootEmailDomains: ['example.com'] } as const;

/** A member whose root is as it should be. */
const clean = (overrides: Partial<AccountPosture> = {}): AccountPosture => ({
  accountId: MEMBER,
  name: 'payments',
  rootEmail: 'aws-payments@example.com',
  mfa: true,
  accessKeys: 0,
  signingCertificates: 0,
  password: true,
  securityContact: true,
  via: 'assume-root',
  errors: [],
  ...overrides,
});

const organization = (
  accounts: AccountPosture[],
  overrides: Partial<OrganizationPosture> = {},
): OrganizationPosture => ({
  checkedAt: '2026-03-01T00:00:00Z',
  organizationId: 'o-exampleorgid',
  managementAccountId: MANAGEMENT,
  centralizedRootAccess: { credentialsManagement: true, rootSessions: true },
  accounts,
  ...overrides,
});

const kinds = (findings: PostureFinding[]): string[] => findings.map((f) => `${f.accountId} ${f.kind} ${f.severity}`);

describe('findingsOf', () => {
  it('finds nothing in a clean organization', () => {
    // Act
    const findings = findingsOf(
      organization([clean(), clean({ accountId: MANAGEMENT, via: 'account-summary' })]),
      DOMAINS,
    );
    // Assess
    expect(findings).toStrictEqual([]);
  });

  it.each<[string, Partial<AccountPosture>, string, string]>([
    ['a root access key', { accessKeys: 2 }, 'root-access-key critical', 'root has 2 access keys'],
    ['no MFA with a password', { mfa: false }, 'root-mfa-missing critical', 'root has a password and no MFA device'],
    [
      'no MFA, password unknown',
      { mfa: false, password: undefined },
      'root-mfa-missing critical',
      'root has no MFA device',
    ],
    [
      'a signing certificate',
      { signingCertificates: 1 },
      'root-signing-certificate high',
      'root has 1 signing certificate',
    ],
    [
      'a personal mailbox',
      { rootEmail: 'Jane.Doe@GMail.com' },
      'root-email-personal high',
      'root e-mail Jane.Doe@GMail.com is a personal mailbox',
    ],
    [
      'a domain the company does not own',
      { rootEmail: 'root@example.net' },
      'root-email-domain high',
      'root e-mail root@example.net is not on example.com',
    ],
    [
      'an address without a domain',
      { rootEmail: 'root' },
      'root-email-domain high',
      'root e-mail root is not on example.com',
    ],
    [
      'no security contact',
      { securityContact: false },
      'security-contact-missing high',
      'no security alternate contact',
    ],
    [
      'a check that could not run',
      { mfa: undefined, errors: [{ check: 'mfa', message: 'AccessDenied: no' }] },
      'unreachable high',
      'could not check mfa: AccessDenied: no',
    ],
  ])('finds %s', (_name, overrides, expected, detail) => {
    // Act
    const findings = findingsOf(organization([clean(overrides)]), DOMAINS);
    // Assess
    expect(kinds(findings)).toStrictEqual([`${MEMBER} ${expected}`]);
    expect(findings[0]?.detail).toBe(detail);
  });

  it('takes subdomains of an owned domain, in any case', () => {
    // Act
    const findings = findingsOf(organization([clean({ rootEmail: 'root@AWS.Example.com' })]), {
      rootEmailDomains: ['EXAMPLE.com'],
    });
    // Assess
    expect(findings).toStrictEqual([]);
  });

  it('does not take a domain that only ends with an owned one', () => {
    // Act
    const findings = findingsOf(organization([clean({ rootEmail: 'root@badexample.com' })]), DOMAINS);
    // Assess
    expect(kinds(findings)).toStrictEqual([`${MEMBER} root-email-domain high`]);
  });

  it('calls a personal mailbox out even when no company domain is configured, and nothing else', () => {
    // Act
    const personal = findingsOf(organization([clean({ rootEmail: 'me@proton.me' })]), { rootEmailDomains: [] });
    const other = findingsOf(organization([clean({ rootEmail: 'root@example.net' })]), { rootEmailDomains: [] });
    // Assess
    expect(kinds(personal)).toStrictEqual([`${MEMBER} root-email-personal high`]);
    expect(other).toStrictEqual([]);
  });

  it.each(PERSONAL_EMAIL_DOMAINS)('calls an address on %s personal', (domain) => {
    // Act
    const findings = findingsOf(organization([clean({ rootEmail: `someone@${domain.toUpperCase()}` })]), DOMAINS);
    // Assess
    expect(kinds(findings)).toStrictEqual([`${MEMBER} root-email-personal high`]);
  });

  it('accepts a webmail domain the company lists as its own', () => {
    // Act
    const findings = findingsOf(organization([clean({ rootEmail: 'root@gmail.com' })]), {
      rootEmailDomains: ['gmail.com'],
    });
    // Assess
    expect(findings).toStrictEqual([]);
  });

  it('finds no missing MFA for a root user without a password (credentials removed centrally)', () => {
    // Act
    const findings = findingsOf(organization([clean({ mfa: false, password: false })]), DOMAINS);
    // Assess
    expect(findings).toStrictEqual([]);
  });

  it('reports centralized root access that is off against the management account', () => {
    // Act
    const findings = findingsOf(
      organization([clean()], { centralizedRootAccess: { credentialsManagement: true, rootSessions: false } }),
      DOMAINS,
    );
    // Assess
    expect(findings).toStrictEqual([
      {
        accountId: MANAGEMENT,
        kind: 'centralized-root-access-off',
        severity: 'high',
        detail: 'centralized root access: root sessions off',
      },
    ]);
  });

  it('reports an unreadable organization feature list as unreachable', () => {
    // Act
    const findings = findingsOf(
      organization([clean()], {
        centralizedRootAccess: undefined,
        errors: [{ check: 'centralized-root-access', message: 'AccessDenied' }],
      }),
      DOMAINS,
    );
    // Assess
    expect(kinds(findings)).toStrictEqual([`${MANAGEMENT} unreachable high`]);
  });

  it('does not look for centralized root access in a single account', () => {
    // Act
    const findings = findingsOf(
      { checkedAt: '2026-03-01T00:00:00Z', accounts: [clean({ accountId: MANAGEMENT, via: 'account-summary' })] },
      DOMAINS,
    );
    // Assess
    expect(findings).toStrictEqual([]);
  });

  it('sorts by account then severity, one finding per account and kind', () => {
    // Act
    const findings = findingsOf(
      organization([
        clean({ securityContact: false, accessKeys: 1, mfa: false }),
        clean({ accountId: MANAGEMENT, signingCertificates: 3 }),
      ]),
      DOMAINS,
    );
    // Assess
    expect(kinds(findings)).toStrictEqual([
      `${MANAGEMENT} root-signing-certificate high`,
      `${MEMBER} root-access-key critical`,
      `${MEMBER} root-mfa-missing critical`,
      `${MEMBER} security-contact-missing high`,
    ]);
  });
});

describe('worsenedFindings', () => {
  const mfa: PostureFinding = { accountId: MEMBER, kind: 'root-mfa-missing', severity: 'critical', detail: 'x' };
  const key: PostureFinding = { accountId: MEMBER, kind: 'root-access-key', severity: 'critical', detail: 'y' };
  const otherKey: PostureFinding = { ...key, accountId: MANAGEMENT };

  it('returns what is new, by account and kind, ignoring the detail', () => {
    // Act
    const worse = worsenedFindings([mfa, key], [{ ...mfa, detail: 'changed' }, key, otherKey]);
    // Assess
    expect(worse).toStrictEqual([otherKey]);
  });

  it('returns nothing when nothing got worse, and everything on a first run', () => {
    // Assess
    expect(worsenedFindings([mfa, key], [key])).toStrictEqual([]);
    expect(worsenedFindings([], [mfa, key])).toStrictEqual([mfa, key]);
  });
});

describe('emailDomain', () => {
  it.each([
    ['root@Example.COM', 'example.com'],
    ['"a@b"@example.org.', 'example.org'],
    ['root@', undefined],
    ['root', undefined],
  ])('reads %s as %s', (email, domain) => {
    expect(emailDomain(email)).toBe(domain);
  });
});

describe('parsePostureArgs', () => {
  it('takes the domains comma-separated or repeated, lower-cased, once each', () => {
    // Act
    const command = parsePostureArgs([
      '--root-email-domains',
      'Example.com, corp.example.org',
      '--root-email-domains',
      'example.com',
      '--concurrency',
      '4',
    ]);
    // Assess
    expect(command).toStrictEqual({
      format: 'table',
      rootEmailDomains: ['example.com', 'corp.example.org'],
      concurrency: 4,
    });
  });

  it.each([
    [['--root-email-domains', 'example.com,'], '"" (domain 2) is not a domain name'],
    [['--root-email-domains', 'root@example.com'], '"root@example.com" (domain 1) is not a domain name'],
    [['--concurrency', '33'], '--concurrency must be a whole number from 1 to 32'],
    [['--concurrency', '1.5'], '--concurrency must be a whole number from 1 to 32'],
  ])('refuses %j', (args, message) => {
    expect(() => parsePostureArgs(args)).toThrow(UsageError);
    expect(() => parsePostureArgs(args)).toThrow(message);
  });
});
