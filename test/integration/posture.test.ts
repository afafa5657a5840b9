/**
 * `rootwatch posture` and io/posture-reader.ts end to end: the real Organizations, IAM, STS and Account clients talk
 * to the local protocol servers of test/helpers/posture-servers.ts (AWS_ENDPOINT_URL_*), which answer for a plain-data
 * organization each test sets up: a clean one, each kind of finding, accounts the check cannot reach, pages of
 * accounts and of root's credentials, a single account, and hostile names and e-mails.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { OrganizationPosture, PostureFinding } from '../../functions/core/posture.js';
import {
  AUDIT_TASK_POLICY_ARN,
  createPostureClients,
  readOrganizationPosture,
} from '../../functions/io/posture-reader.js';
import { runCliCaptured } from '../helpers/cli.js';
import {
  type LocalAccount,
  type LocalOrganization,
  type PostureServers,
  startPostureServers,
} from '../helpers/posture-servers.js';

const MANAGEMENT = '111122223333';
const PAYMENTS = '210987654321';
const DATA = '210987654322';
const SANDBOX = '210987654323';

/** A root user as it should be: MFA, a password, nothing else. */
const goodRoot = { mfaDevices: 1, accessKeys: 0, signingCertificates: 0, password: true };

const account = (id: string, name: string, overrides: Partial<LocalAccount> = {}): LocalAccount => ({
  id,
  name,
  email: `aws-${name}@example.com`,
  root: { ...goodRoot },
  securityContact: true,
  ...overrides,
});

/** A clean organization of three accounts, centralized root access on, pages of two. */
const cleanOrganization = (): LocalOrganization => ({
  id: 'o-exampleorgid',
  managementAccountId: MANAGEMENT,
  callerAccountId: MANAGEMENT,
  features: ['RootCredentialsManagement', 'RootSessions'],
  auditRoleName: 'rootwatch-posture-audit',
  pageSize: 2,
  accounts: [account(MANAGEMENT, 'management'), account(PAYMENTS, 'payments'), account(DATA, 'data')],
});

let servers: PostureServers;

beforeAll(async () => {
  servers = await startPostureServers(cleanOrganization());
});
afterAll(async () => {
  await servers?.close();
});
beforeEach(() => {
  // A fresh organization for each test, in the object the servers answer from.
  for (const key of Object.keys(servers.organization))
    delete (servers.organization as Partial<LocalOrganization>)[key as keyof LocalOrganization];
  Object.assign(servers.organization, cleanOrganization());
  servers.requests.length = 0;
  for (const [name, value] of Object.entries(servers.env)) vi.stubEnv(name, value);
});
afterEach(() => {
  vi.unstubAllEnvs();
});

/** `rootwatch posture ARGS`: the exit status, stdout and stderr. */
const posture = (...args: string[]) => runCliCaptured(['posture', ...args]);

/** `rootwatch posture --format json ARGS`, its document parsed. */
const postureJson = async (...args: string[]) => {
  const { code, stdout, stderr } = await posture('--format', 'json', ...args);
  return {
    code,
    stderr,
    document: JSON.parse(stdout) as OrganizationPosture & { findings: PostureFinding[]; rootEmailDomains: string[] },
  };
};

const kindsOf = (findings: readonly PostureFinding[]) =>
  findings.map((finding) => `${finding.accountId} ${finding.kind} ${finding.severity}`);

/** The characters of `text` a terminal would act on or reorder: C0 (but line feed) and C1 controls, bidi controls. */
const terminalUnsafe = (text: string): string[] =>
  [...text].filter((char) => {
    const code = char.codePointAt(0) ?? 0;
    return (
      (code < 0x20 && code !== 0x0a) ||
      (code >= 0x7f && code <= 0x9f) ||
      (code >= 0x202a && code <= 0x202e) ||
      (code >= 0x2066 && code <= 0x2069)
    );
  });

const accountOf = (id: string) =>
  servers.organization.accounts.find((candidate) => candidate.id === id) as LocalAccount;

describe('rootwatch posture', () => {
  it('prints every account of a clean organization, with no finding, and exits 0', async () => {
    // Act
    const { code, stdout, stderr } = await posture('--root-email-domains', 'example.com');

    // Assess
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines.slice(0, 3)).toStrictEqual([
      `Organization o-exampleorgid, management account ${MANAGEMENT}`,
      'Centralized root access: root credentials management on, root sessions on',
      expect.stringMatching(/^Checked \d{4}-\d\d-\d\dT[\d:.]+Z; root e-mail domains: example\.com$/),
    ]);
    expect(lines.slice(4, 8).map((line) => line.split(/\s{2,}/))).toStrictEqual([
      [
        'ACCOUNT',
        'NAME',
        'ROOT E-MAIL',
        'MFA',
        'ACCESS KEYS',
        'SIGNING CERTS',
        'PASSWORD',
        'SECURITY CONTACT',
        'READ VIA',
      ],
      [MANAGEMENT, 'management', 'aws-management@example.com', 'yes', 'no', 'no', '-', 'yes', 'account-summary'],
      [PAYMENTS, 'payments', 'aws-payments@example.com', 'yes', '0', '0', 'yes', 'yes', 'assume-root'],
      [DATA, 'data', 'aws-data@example.com', 'yes', '0', '0', 'yes', 'yes', 'assume-root'],
    ]);
    expect(stdout).toContain('No findings.');
    expect(stdout).toContain('3 accounts, 0 findings (0 critical, 0 high), 0 unreachable');
  });

  it('reads members through AssumeRoot with the audit task policy, and root session calls name no user', async () => {
    // Act
    await posture();

    // Assess
    const assumeRoot = servers.requests.filter((request) => request.action === 'AssumeRoot');
    expect(assumeRoot.map((request) => request.params)).toStrictEqual(
      [PAYMENTS, DATA].map((id) =>
        expect.objectContaining({
          TargetPrincipal: id,
          'TaskPolicyArn.arn': AUDIT_TASK_POLICY_ARN,
          DurationSeconds: '900',
        }),
      ),
    );
    const rootCalls = servers.requests.filter((request) => request.accessKeyId.startsWith('ASIAROOT'));
    expect(new Set(rootCalls.map((request) => request.action))).toStrictEqual(
      new Set(['ListAccessKeys', 'ListMFADevices', 'ListSigningCertificates', 'GetLoginProfile']),
    );
    expect(rootCalls.filter((request) => 'UserName' in request.params)).toStrictEqual([]);
    // The management account reads its own contact without AccountId (it may not name itself), members with theirs.
    const contacts = servers.requests.filter((request) => request.action === 'GetAlternateContact');
    expect(contacts.map((request) => request.params.AccountId).sort()).toStrictEqual([PAYMENTS, DATA, undefined]);
  });

  it.each<[string, (organization: LocalOrganization) => void, string[]]>([
    [
      'a root access key',
      () => Object.assign(accountOf(PAYMENTS).root, { accessKeys: 1 }),
      [`${PAYMENTS} root-access-key critical`],
    ],
    [
      'root MFA removed',
      () => Object.assign(accountOf(PAYMENTS).root, { mfaDevices: 0 }),
      [`${PAYMENTS} root-mfa-missing critical`],
    ],
    [
      'a signing certificate',
      () => Object.assign(accountOf(DATA).root, { signingCertificates: 2 }),
      [`${DATA} root-signing-certificate high`],
    ],
    [
      'a personal root e-mail',
      () => Object.assign(accountOf(DATA), { email: 'jane.doe@gmail.com' }),
      [`${DATA} root-email-personal high`],
    ],
    [
      'a root e-mail off the company domains',
      () => Object.assign(accountOf(PAYMENTS), { email: 'aws@payments-vendor.net' }),
      [`${PAYMENTS} root-email-domain high`],
    ],
    [
      'no security contact',
      () => Object.assign(accountOf(DATA), { securityContact: false }),
      [`${DATA} security-contact-missing high`],
    ],
    [
      'a root access key in the management account',
      () => Object.assign(accountOf(MANAGEMENT).root, { accessKeys: 1 }),
      [`${MANAGEMENT} root-access-key critical`],
    ],
    [
      'centralized root access off',
      (organization) => Object.assign(organization, { features: ['RootCredentialsManagement'] }),
      [`${MANAGEMENT} centralized-root-access-off high`, `${DATA} unreachable high`, `${PAYMENTS} unreachable high`],
    ],
  ])('finds %s and exits 1', async (_name, change, expected) => {
    // Prepare
    change(servers.organization);

    // Act
    const { code, document } = await postureJson('--root-email-domains', 'example.com');

    // Assess
    expect(code).toBe(1);
    expect(kindsOf(document.findings).sort()).toStrictEqual([...expected].sort());
  });

  it('counts root keys and MFA devices over several pages of IAM Marker', async () => {
    // Prepare
    Object.assign(accountOf(PAYMENTS).root, { accessKeys: 5, mfaDevices: 3 });

    // Act
    const { document } = await postureJson();

    // Assess
    const payments = document.accounts.find((candidate) => candidate.accountId === PAYMENTS);
    expect(payments).toMatchObject({ accessKeys: 5, mfa: true, via: 'assume-root' });
    const markers = servers.requests
      .filter((request) => request.action === 'ListAccessKeys' && request.accessKeyId === `ASIAROOT${PAYMENTS}`)
      .map((request) => request.params.Marker);
    expect(markers).toStrictEqual([undefined, '2', '4']);
    expect(kindsOf(document.findings)).toStrictEqual([`${PAYMENTS} root-access-key critical`]);
    expect(document.findings[0]?.detail).toBe('root has 5 access keys');
  });

  it('lists every account over pages of ListAccounts', async () => {
    // Prepare: seven accounts, two a page.
    servers.organization.accounts.push(...[4, 5, 6, 7].map((index) => account(`21098765432${index}`, `team-${index}`)));

    // Act
    const { code, document } = await postureJson('--concurrency', '3');

    // Assess
    expect(code).toBe(0);
    expect(document.accounts.map((candidate) => candidate.accountId)).toStrictEqual(
      [...servers.organization.accounts.map((candidate) => candidate.id)].sort(),
    );
    const tokens = servers.requests
      .filter((request) => request.action === 'ListAccounts')
      .map((request) => request.params.NextToken);
    expect(tokens).toStrictEqual([undefined, '2', '4', '6']);
  });

  it('reports an account AssumeRoot cannot reach and that has no audit role, with both refusals, never skipping it', async () => {
    // Prepare
    servers.organization.accounts.push(account(SANDBOX, 'sandbox', { assumeRootDenied: true }));

    // Act
    const table = await posture('--audit-role', 'rootwatch-posture-audit');
    const { document } = await postureJson('--audit-role', 'rootwatch-posture-audit');

    // Assess
    expect(table.code).toBe(1);
    const row = table.stdout.split('\n').find((line) => line.startsWith(SANDBOX));
    expect(row?.split(/\s{2,}/)).toStrictEqual([
      SANDBOX,
      'sandbox',
      'aws-sandbox@example.com',
      '?',
      '?',
      '?',
      '?',
      'yes',
      'UNREACHABLE',
    ]);
    const sandbox = document.findings.find((finding) => finding.accountId === SANDBOX);
    expect(sandbox).toMatchObject({ kind: 'unreachable', severity: 'high' });
    expect(sandbox?.detail).toContain('AssumeRoot: AccessDenied');
    expect(sandbox?.detail).toContain(
      `AssumeRole into arn:aws:iam::${SANDBOX}:role/rootwatch-posture-audit: AccessDenied`,
    );
    expect(table.stdout).toContain('1 unreachable');
  });

  it('falls back on the audit role where AssumeRoot is refused', async () => {
    // Prepare
    servers.organization.accounts.push(account(SANDBOX, 'sandbox', { assumeRootDenied: true, auditRole: true }));
    Object.assign(accountOf(SANDBOX).root, { mfaDevices: 0 });

    // Act
    const { code, document } = await postureJson('--audit-role', 'rootwatch-posture-audit');

    // Assess
    expect(code).toBe(1);
    expect(document.accounts.find((candidate) => candidate.accountId === SANDBOX)).toMatchObject({
      via: 'audit-role',
      mfa: false,
      accessKeys: 0,
      errors: [],
    });
    expect(kindsOf(document.findings)).toStrictEqual([`${SANDBOX} root-mfa-missing critical`]);
    expect(
      servers.requests.filter((request) => request.accessKeyId === `ASIAROLE${SANDBOX}`).map((r) => r.action),
    ).toStrictEqual(['GetAccountSummary']);
  });

  it('does not try AssumeRoot when root sessions are off, and reads through the audit role', async () => {
    // Prepare
    servers.organization.features = ['RootCredentialsManagement'];
    for (const member of servers.organization.accounts) member.auditRole = true;

    // Act
    const { code, document } = await postureJson('--audit-role', 'rootwatch-posture-audit');

    // Assess
    expect(servers.requests.filter((request) => request.action === 'AssumeRoot')).toStrictEqual([]);
    expect(document.accounts.map((candidate) => candidate.via)).toStrictEqual([
      'account-summary',
      'audit-role',
      'audit-role',
    ]);
    expect(document.centralizedRootAccess).toStrictEqual({ credentialsManagement: true, rootSessions: false });
    expect(kindsOf(document.findings)).toStrictEqual([`${MANAGEMENT} centralized-root-access-off high`]);
    expect(code).toBe(1);
  });

  it('shows whether root has keys, not a count, where GetAccountSummary (an audit role) is all it has', async () => {
    // Prepare: root sessions off; a member whose root holds two keys, read through the audit role.
    servers.organization.features = ['RootCredentialsManagement'];
    for (const member of servers.organization.accounts) member.auditRole = true;
    const member = servers.organization.accounts.find((candidate) => candidate.id !== MANAGEMENT) as LocalAccount;
    member.root.accessKeys = 2;

    // Act
    const { stdout } = await posture('--audit-role', 'rootwatch-posture-audit');

    // Assess
    const row =
      stdout
        .split('\n')
        .find((line) => line.startsWith(member.id))
        ?.split(/\s{2,}/) ?? [];
    expect(row.slice(4, 6)).toStrictEqual(['!yes', 'no']);
    expect(row.at(-1)).toBe('audit-role');
    expect(stdout).not.toMatch(/!2\b/);
  });

  it('reports a security contact it may not read as unreachable, the rest of the account read', async () => {
    // Prepare
    accountOf(DATA).contactDenied = true;

    // Act
    const { code, document } = await postureJson();

    // Assess
    expect(code).toBe(1);
    const data = document.accounts.find((candidate) => candidate.accountId === DATA);
    expect(data).toMatchObject({ mfa: true, accessKeys: 0, password: true, via: 'assume-root' });
    expect(data?.securityContact).toBeUndefined();
    expect(data?.errors).toStrictEqual([
      { check: 'security-contact', message: expect.stringMatching(/^GetAlternateContact: AccessDeniedException/) },
    ]);
  });

  it('reads a caller that may not list the accounts (no delegated administrator): its own account, and says why', async () => {
    // Prepare
    Object.assign(servers.organization, { listAccountsDenied: true, callerAccountId: DATA, features: 'denied' });

    // Act
    const { code, document } = await postureJson();

    // Assess
    expect(code).toBe(1);
    expect(document.accounts.map((candidate) => [candidate.accountId, candidate.via])).toStrictEqual([
      [DATA, 'account-summary'],
    ]);
    expect(document.errors?.map((error) => error.check)).toStrictEqual(['accounts', 'centralized-root-access']);
    expect(kindsOf(document.findings)).toStrictEqual([`${MANAGEMENT} unreachable high`]);
  });

  it('reads a single account outside any organization through GetAccountSummary', async () => {
    // Prepare
    Object.assign(servers.organization, { id: undefined, callerAccountId: MANAGEMENT });
    Object.assign(accountOf(MANAGEMENT).root, { mfaDevices: 0 });

    // Act
    const table = await posture('--root-email-domains', 'example.com');
    const { document } = await postureJson('--root-email-domains', 'example.com');

    // Assess
    expect(document.organizationId).toBeUndefined();
    expect(document.accounts).toStrictEqual([
      {
        accountId: MANAGEMENT,
        mfa: false,
        accessKeys: 0,
        signingCertificates: 0,
        via: 'account-summary',
        securityContact: true,
        errors: [],
      },
    ]);
    expect(kindsOf(document.findings)).toStrictEqual([`${MANAGEMENT} root-mfa-missing critical`]);
    expect(table.code).toBe(1);
    expect(table.stdout.split('\n')[0]).toBe('A single account (no organization)');
    expect(
      table.stdout
        .split('\n')
        .find((line) => line.startsWith(MANAGEMENT))
        ?.split(/\s{2,}/),
    ).toStrictEqual([MANAGEMENT, '-', '!no', 'no', 'no', '-', 'yes', 'account-summary']);
    expect(servers.requests.filter((request) => request.action === 'AssumeRoot')).toStrictEqual([]);
  });

  it('prints hostile names and e-mails as data: one line each, no escape or bidi characters', async () => {
    // Prepare
    Object.assign(accountOf(PAYMENTS), {
      name: 'pay\u001b[2J\u001b[31mments\nFAKE 999999999999 all good\u202Eevil',
      email: 'root\r\n@gmail.com\u2066',
    });

    // Act
    const table = await posture('--root-email-domains', 'example.com');
    const json = await posture('--format', 'json');

    // Assess
    expect(terminalUnsafe(table.stdout)).toStrictEqual([]);
    expect(table.stdout.split('\n').filter((line) => line.includes('FAKE'))).toHaveLength(1);
    expect(table.stdout.split('\n').some((line) => line.startsWith('FAKE'))).toBe(false);
    expect(terminalUnsafe(json.stdout)).toStrictEqual([]);
    expect(json.stdout).toContain('\\u202e');
    const document = JSON.parse(json.stdout) as OrganizationPosture;
    expect(document.accounts.find((candidate) => candidate.accountId === PAYMENTS)?.name).toBe(
      accountOf(PAYMENTS).name,
    );
  });

  it('exits 1 naming the reason when the caller’s identity cannot be read', async () => {
    // Prepare: nothing listens on port 9.
    vi.stubEnv('AWS_ENDPOINT_URL_STS', 'http://127.0.0.1:9');

    // Act
    const { code, stdout, stderr } = await posture();

    // Assess
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^rootwatch posture: cannot tell which account the credentials belong to: .*ECONNREFUSED/);
  });

  it("names a --profile no shared file declares, exit 2, rather than the SDK's missing-credentials words", async () => {
    // Prepare: shared files that declare another profile.
    const dir = mkdtempSync(join(tmpdir(), 'rootwatch-profiles-'));
    writeFileSync(join(dir, 'config'), '[profile audit]\nregion = us-east-1\n');
    writeFileSync(join(dir, 'credentials'), '[audit]\n');
    vi.stubEnv('AWS_CONFIG_FILE', join(dir, 'config'));
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(dir, 'credentials'));

    // Act
    const { code, stderr } = await posture('--profile', 'nosuch');

    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain('the profile "nosuch" was not found in the shared config and credentials files');
  });

  it.each([
    [['--format', 'yaml'], '--format must be table or json (got "yaml")'],
    [['--root-email-domains', 'example.com,@corp.example'], '"@corp.example" (domain 2) is not a domain name'],
    [['--concurrency', '0'], '--concurrency must be a whole number from 1 to 32 (got "0")'],
    [['--audit-role', 'a/b'], '--audit-role "a/b" is not an IAM role name'],
    [['--region', 'us-east-1;rm'], '--region "us-east-1;rm" is not a region name'],
    [['--stage', 'prod'], "Unknown option '--stage'"],
  ])('exits 2 on %j, naming the mistake', async (args, message) => {
    // Act
    const { code, stderr } = await posture(...args);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(servers.requests).toStrictEqual([]);
  });
});

describe('readOrganizationPosture', () => {
  it('reads the same posture the command prints, at the time given', async () => {
    // Prepare
    const clients = createPostureClients({ region: 'eu-west-1' });

    // Act
    const read = await readOrganizationPosture(clients, {
      concurrency: 1,
      now: () => new Date('2026-03-01T00:00:00Z'),
    });
    clients.destroy();

    // Assess
    expect(read).toStrictEqual({
      checkedAt: '2026-03-01T00:00:00.000Z',
      organizationId: 'o-exampleorgid',
      managementAccountId: MANAGEMENT,
      centralizedRootAccess: { credentialsManagement: true, rootSessions: true },
      accounts: [
        {
          accountId: MANAGEMENT,
          name: 'management',
          rootEmail: 'aws-management@example.com',
          mfa: true,
          accessKeys: 0,
          signingCertificates: 0,
          via: 'account-summary',
          securityContact: true,
          errors: [],
        },
        ...[
          [PAYMENTS, 'payments'],
          [DATA, 'data'],
        ].map(([id, name]) => ({
          accountId: id,
          name,
          rootEmail: `aws-${name}@example.com`,
          accessKeys: 0,
          mfa: true,
          signingCertificates: 0,
          password: true,
          via: 'assume-root',
          securityContact: true,
          errors: [],
        })),
      ],
    });
  });

  it('lists an account that is not ACTIVE without checking it', async () => {
    // Prepare
    servers.organization.accounts.push(account(SANDBOX, 'sandbox', { state: 'SUSPENDED', assumeRootDenied: true }));
    const clients = createPostureClients();

    // Act
    const read = await readOrganizationPosture(clients);
    clients.destroy();

    // Assess
    expect(read.accounts.find((candidate) => candidate.accountId === SANDBOX)).toStrictEqual({
      accountId: SANDBOX,
      name: 'sandbox',
      rootEmail: 'aws-sandbox@example.com',
      state: 'SUSPENDED',
      errors: [],
    });
    expect(servers.requests.some((request) => request.params.TargetPrincipal === SANDBOX)).toBe(false);
  });
});
