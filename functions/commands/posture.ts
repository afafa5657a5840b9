import { parseArgs } from 'node:util';
import {
  type AccountPosture,
  findingsOf,
  isEmailDomain,
  type OrganizationPosture,
  type PostureCheck,
  type PostureFinding,
  type PostureFindingKind,
} from '../core/posture.js';
import { cleanLine, clip } from '../core/render/text.js';
import { SEVERITIES } from '../core/severity.js';
import { UsageError } from '../errors.js';
import { undeclaredProfileMessage } from '../io/aws-profiles.js';
import { createPostureClients, MAX_POSTURE_CONCURRENCY, readOrganizationPosture } from '../io/posture-reader.js';
import { isRegionName } from './scope.js';

/*
 * `rootwatch posture`: every account's root posture (io/posture-reader.ts) with the caller's credentials, and what is
 * wrong with it (core/posture.ts findingsOf), for an auditor or a responder. Every account is printed, those that could
 * not be read included, with why. Names, e-mails and AWS's error messages are data: each table cell goes through
 * cleanLine (one line, no control or bidi characters), and the JSON escapes the characters that could reorder or
 * rewrite a terminal line.
 */

interface PostureIo {
  stdout(text: string): void;
  stderr: NodeJS.WritableStream;
}

/** `rootwatch posture`'s flags, checked. */
interface PostureCommand {
  format: 'table' | 'json';
  /** Lower case, as given: the domains the company owns. */
  rootEmailDomains: string[];
  profile?: string;
  region?: string;
  concurrency?: number;
  auditRoleName?: string;
}

/** An IAM role name: letters, digits and +=,.@_- up to 64 (https://docs.aws.amazon.com/IAM/latest/APIReference/API_Role.html). */
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;

/**
 * The flags of `rootwatch posture`, checked.
 *
 * @throws UsageError naming the flag and the bad value: an unknown format, a domain that is not one (with its
 *   position in the list), a concurrency out of 1–32, a role name IAM would refuse; parseArgs' TypeError for an
 *   unknown flag.
 * @example
 * parsePostureArgs(['--root-email-domains', 'example.com,Example.org', '--format', 'json']);
 * // { format: 'json', rootEmailDomains: ['example.com', 'example.org'] }
 */
const parsePostureArgs = (args: string[]): PostureCommand => {
  const { values } = parseArgs({
    args,
    options: {
      format: { type: 'string' },
      'root-email-domains': { type: 'string', multiple: true },
      profile: { type: 'string' },
      region: { type: 'string' },
      concurrency: { type: 'string' },
      'audit-role': { type: 'string' },
    },
  });
  const format = values.format ?? 'table';
  if (format !== 'table' && format !== 'json') throw new UsageError(`--format must be table or json (got "${format}")`);
  const rootEmailDomains = (values['root-email-domains'] ?? [])
    .flatMap((list) => list.split(','))
    .map((domain) => domain.trim().toLowerCase());
  rootEmailDomains.forEach((domain, index) => {
    if (!isEmailDomain(domain)) {
      throw new UsageError(
        `--root-email-domains: "${domain}" (domain ${index + 1}) is not a domain name like example.com`,
      );
    }
  });
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (
    concurrency !== undefined &&
    !(/^\d+$/.test(values.concurrency ?? '') && concurrency >= 1 && concurrency <= MAX_POSTURE_CONCURRENCY)
  ) {
    throw new UsageError(
      `--concurrency must be a whole number from 1 to ${MAX_POSTURE_CONCURRENCY} (got "${values.concurrency}")`,
    );
  }
  const role = values['audit-role'];
  if (role !== undefined && !ROLE_NAME.test(role)) {
    throw new UsageError(`--audit-role "${role}" is not an IAM role name (letters, digits and +=,.@_-, up to 64)`);
  }
  if (values.region !== undefined && !isRegionName(values.region)) {
    throw new UsageError(`--region "${values.region}" is not a region name (us-east-1)`);
  }
  return {
    format,
    rootEmailDomains: [...new Set(rootEmailDomains)],
    ...(values.profile ? { profile: values.profile } : {}),
    ...(values.region ? { region: values.region } : {}),
    ...(concurrency === undefined ? {} : { concurrency }),
    ...(role === undefined ? {} : { auditRoleName: role }),
  };
};

/** One table cell of a value read from AWS: one clean line, at most `max` characters. */
const cell = (value: string, max = 60): string => clip(cleanLine(value).trim(), max);

/** Which column each finding marks. */
const COLUMN_OF: Partial<Record<PostureFindingKind, string>> = {
  'root-email-personal': 'email',
  'root-email-domain': 'email',
  'root-mfa-missing': 'mfa',
  'root-access-key': 'keys',
  'root-signing-certificate': 'certs',
  'security-contact-missing': 'contact',
};

/**
 * A fact's cell: the value, `!`-marked when a finding is about it; `?` when its check failed, `-` when the source does
 * not tell it (GetAccountSummary has no password; no root e-mail outside an organization).
 */
const factCell = (account: AccountPosture, value: string | undefined, check: PostureCheck, marked: boolean): string => {
  if (value === undefined) {
    const failed = account.errors.some((error) => error.check === check || error.check === 'account');
    return failed ? '?' : '-';
  }
  return marked ? `!${value}` : value;
};

const yesNo = (value: boolean | undefined): string | undefined =>
  value === undefined ? undefined : value ? 'yes' : 'no';

const accountRow = (account: AccountPosture, findings: readonly PostureFinding[]): string[] => {
  const marked = new Set(
    findings.filter((finding) => finding.accountId === account.accountId).map((finding) => COLUMN_OF[finding.kind]),
  );
  const fact = (value: string | undefined, check: PostureCheck, column: string) =>
    account.state ? '' : factCell(account, value, check, marked.has(column));
  // GetAccountSummary (the caller's own account, or through an audit role) tells whether root has one, not how many.
  const count = (value: number | undefined) =>
    value === undefined ? undefined : account.via === 'assume-root' ? String(value) : value > 0 ? 'yes' : 'no';
  const unreachable = account.errors.some((error) => error.check === 'account');
  return [
    account.accountId,
    cell(account.name ?? '', 40),
    account.rootEmail === undefined
      ? factCell(account, undefined, 'root-email', false)
      : `${marked.has('email') ? '!' : ''}${cell(account.rootEmail, 60)}`,
    fact(yesNo(account.mfa), 'mfa', 'mfa'),
    fact(count(account.accessKeys), 'access-keys', 'keys'),
    fact(count(account.signingCertificates), 'signing-certificates', 'certs'),
    fact(yesNo(account.password), 'password', 'password'),
    fact(yesNo(account.securityContact), 'security-contact', 'contact'),
    account.state ? `${cell(account.state, 20)} (not checked)` : unreachable ? 'UNREACHABLE' : (account.via ?? ''),
  ];
};

/** Rows as aligned columns, two spaces apart. */
const aligned = (rows: readonly string[][]): string[] => {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows.map((row) =>
    row
      .map((value, column) => value.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd(),
  );
};

/** Severity first (critical on top), then the order findingsOf gives. */
const bySeverity = (findings: readonly PostureFinding[]): PostureFinding[] =>
  findings
    .map((finding, index) => ({ finding, index }))
    .sort(
      (a, b) => SEVERITIES.indexOf(b.finding.severity) - SEVERITIES.indexOf(a.finding.severity) || a.index - b.index,
    )
    .map(({ finding }) => finding);

const onOff = (value: boolean): string => (value ? 'on' : 'OFF');

/** The table: what was checked, one row per account, the findings (the worst first), and a summary line. */
const formatPostureTable = (
  posture: OrganizationPosture,
  findings: readonly PostureFinding[],
  rootEmailDomains: readonly string[],
): string[] => {
  const central = posture.centralizedRootAccess;
  const header = [
    posture.organizationId
      ? `Organization ${cell(posture.organizationId, 40)}, management account ${cell(posture.managementAccountId ?? '?', 20)}`
      : `A single account (no organization)`,
    ...(posture.organizationId
      ? [
          central
            ? `Centralized root access: root credentials management ${onOff(central.credentialsManagement)}, root sessions ${onOff(central.rootSessions)}`
            : 'Centralized root access: could not be read',
        ]
      : []),
    `Checked ${posture.checkedAt}; root e-mail domains: ${rootEmailDomains.length > 0 ? rootEmailDomains.join(', ') : 'none given (--root-email-domains)'}`,
    '',
  ];
  const rows = aligned([
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
    ...posture.accounts.map((account) => accountRow(account, findings)),
  ]);
  const listed = bySeverity(findings);
  const findingLines =
    listed.length === 0
      ? ['No findings.']
      : [
          'FINDINGS',
          ...aligned(
            listed.map((finding) => [finding.severity, finding.accountId, finding.kind, cell(finding.detail, 600)]),
          ),
        ];
  const count = (severity: string) => findings.filter((finding) => finding.severity === severity).length;
  const unreachable = findings.filter((finding) => finding.kind === 'unreachable').length;
  const accounts = posture.accounts.length;
  return [
    ...header,
    ...rows,
    '',
    ...findingLines,
    '',
    `${accounts} ${accounts === 1 ? 'account' : 'accounts'}, ${findings.length} ${findings.length === 1 ? 'finding' : 'findings'} (${count('critical')} critical, ${count('high')} high), ${unreachable} unreachable`,
    '! marks a finding; ? could not be read (see FINDINGS); - not told by that source (GetAccountSummary has no password; no root e-mail outside an organization)',
  ];
};

/** Characters JSON leaves raw that a terminal would act on or reorder: C1 controls, bidi controls, line separators. */
const TERMINAL_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** JSON with those characters as \u escapes: the same document, safe to print. */
const safeJson = (value: unknown): string =>
  JSON.stringify(value, null, 2).replace(
    TERMINAL_UNSAFE,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );

/**
 * `rootwatch posture [--format table|json] [--root-email-domains A,B] [--audit-role NAME] [--profile P] [--region R]
 * [--concurrency N]`: reads every account's root posture with the caller's credentials (the SDK's chain, or
 * `--profile`) and prints it, the findings highlighted (table) or as one JSON document `{ …OrganizationPosture,
 * rootEmailDomains, findings }`. Resolves to the exit status: 0 when nothing is wrong, 1 when a finding exists (an
 * account that could not be read is one) or the caller's identity could not be read.
 *
 * @throws UsageError (parsePostureArgs) for bad flags: the CLI prints it and exits 2.
 * @example
 * const status = await runPosture(['--root-email-domains', 'example.com'], {
 *   stdout: (text) => process.stdout.write(text), stderr: process.stderr,
 * });
 */
const runPosture = async (args: string[], io: PostureIo): Promise<number> => {
  const command = parsePostureArgs(args);
  const clients = createPostureClients({
    ...(command.profile ? { profile: command.profile } : {}),
    ...(command.region ? { region: command.region } : {}),
  });
  let posture: OrganizationPosture;
  try {
    posture = await readOrganizationPosture(clients, {
      ...(command.concurrency ? { concurrency: command.concurrency } : {}),
      ...(command.auditRoleName ? { auditRoleName: command.auditRoleName } : {}),
    });
  } catch (error) {
    // A --profile (or AWS_PROFILE) no shared file declares: say so, a usage mistake, rather than the SDK's words.
    const undeclared = undeclaredProfileMessage(
      error instanceof Error ? (error.cause ?? error) : error,
      command.profile,
    );
    if (undeclared) throw new UsageError(undeclared, { cause: error });
    io.stderr.write(`rootwatch posture: ${cleanLine(error instanceof Error ? error.message : String(error))}\n`);
    return 1;
  } finally {
    clients.destroy();
  }
  const findings = findingsOf(posture, { rootEmailDomains: command.rootEmailDomains });
  if (command.format === 'json') {
    io.stdout(`${safeJson({ ...posture, rootEmailDomains: command.rootEmailDomains, findings })}\n`);
  } else {
    for (const line of formatPostureTable(posture, findings, command.rootEmailDomains)) io.stdout(`${line}\n`);
  }
  return findings.length > 0 ? 1 : 0;
};

export { parsePostureArgs, runPosture };
