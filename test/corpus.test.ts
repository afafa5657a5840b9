/**
 * The catalog against CloudTrail records nobody on the team wrote (../shared/corpus, see its README):
 * Panther's labelled rule tests, a narrated root compromise, AWS's documentation examples, Stratus Red
 * Team detonations and other vendors' test logs.
 */
import { describe, expect, it } from 'vitest';
import { classify, type Match } from '../functions/core/classify.js';
import { recordToEvent } from '../functions/core/event.js';
import { EventParseError } from '../functions/errors.js';
import { loadDetections } from '../functions/io/detections.js';
import { CLOUDTRAIL_RECORD_FILES, corpusAvailable, readCorpus } from './helpers/corpus.js';

interface Facts {
  identity_type?: string;
  invoked_by?: string;
  event_source?: string;
  event_name?: string;
  event_type?: string;
  read_only?: boolean;
  console_login_result?: string;
  mfa_used?: string;
  request_user_name?: string;
  error_code?: string;
}
interface CorpusRow {
  record: Record<string, unknown>;
  facts: Facts;
  derived_verdicts?: Record<string, boolean>;
  rule_id?: string;
  test_name?: string;
  expected_alert?: boolean;
  tier?: string;
}

const detections = loadDetections();
const verdictOf = (record: unknown): Match[] => classify(recordToEvent(record), detections);
const ids = (matches: Match[]) => matches.map((m) => m.detection.id).sort();

/** Detections that only root itself can raise. */
const ROOT_ONLY = new Set([
  'root-console-sign-in',
  'root-console-sign-in-failure',
  'root-api-call',
  'root-access-key-created',
  'root-credentials-changed',
]);
const TRAIL_TAMPERING = new Set(['StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors']);
const MFA_DEACTIVATION = new Set(['DeactivateMFADevice', 'DeleteVirtualMFADevice']);
/** Calls that take guardrails over root away in an Organization, by event source (DisableAWSServiceAccess: IAM's only). */
const GUARDRAIL_CHANGES: Record<string, ReadonlySet<string>> = {
  'organizations.amazonaws.com': new Set([
    'LeaveOrganization',
    'RemoveAccountFromOrganization',
    'DetachPolicy',
    'DeletePolicy',
    'DisablePolicyType',
  ]),
  'iam.amazonaws.com': new Set(['DisableOrganizationsRootCredentialsManagement', 'DisableOrganizationsRootSessions']),
};
/** Calls that add a region or an account rootwatch must reach, by event source; only API calls that succeeded. */
const COVERAGE_CHANGES: Record<string, ReadonlySet<string>> = {
  'account.amazonaws.com': new Set(['EnableRegion']),
  'organizations.amazonaws.com': new Set([
    'CreateAccount',
    'CreateGovCloudAccount',
    'InviteAccountToOrganization',
    'AcceptHandshake',
    'MoveAccount',
  ]),
};

/** What the DESIGN.md catalog calls for, read from a record's facts alone (an oracle apart from the patterns). */
const expectedFromFacts = (facts: Facts, record: Record<string, unknown>): string[] => {
  const expected = new Set<string>();
  const name = facts.event_name ?? '';
  const signInService = facts.event_source === 'signin.amazonaws.com';
  if (TRAIL_TAMPERING.has(name) && facts.event_source === 'cloudtrail.amazonaws.com')
    expected.add('audit-trail-tampering');
  if (MFA_DEACTIVATION.has(name) && facts.event_source === 'iam.amazonaws.com') expected.add('mfa-device-deactivated');
  const params = record.requestParameters as Record<string, unknown> | null | undefined;
  const iamTrustedAccessOff =
    name === 'DisableAWSServiceAccess' &&
    facts.event_source === 'organizations.amazonaws.com' &&
    params?.servicePrincipal === 'iam.amazonaws.com';
  if (GUARDRAIL_CHANGES[facts.event_source ?? '']?.has(name) || iamTrustedAccessOff)
    expected.add('organization-guardrails-changed');
  const apiCall = (facts.event_type ?? 'AwsApiCall') === 'AwsApiCall';
  if (COVERAGE_CHANGES[facts.event_source ?? '']?.has(name) && apiCall && facts.error_code === undefined)
    expected.add('coverage-changed');
  if (facts.identity_type !== 'Root') return [...expected].sort();
  if (name === 'ConsoleLogin' && facts.console_login_result === 'Success') expected.add('root-console-sign-in');
  if (name === 'ConsoleLogin' && facts.console_login_result === 'Failure') expected.add('root-console-sign-in-failure');
  // Root's own console calls carry invokedBy signin.amazonaws.com; any other invokedBy is a service acting for root.
  const ownCall = !facts.invoked_by || facts.invoked_by === 'signin.amazonaws.com';
  if (ownCall && facts.event_type !== 'AwsServiceEvent' && !signInService) expected.add('root-api-call');
  if (name === 'CreateAccessKey' && !facts.request_user_name) expected.add('root-access-key-created');
  const ownUser = !facts.request_user_name || facts.request_user_name === 'AWS ROOT USER';
  if (name === 'EnableMFADevice' && ownUser) expected.add('root-credentials-changed');
  const response = record.responseElements as Record<string, unknown> | null | undefined;
  if (name === 'PasswordUpdated' && response?.PasswordUpdated === 'Success') expected.add('root-credentials-changed');
  return [...expected].sort();
};

describe.skipIf(!corpusAvailable)('the corpus', () => {
  const rows = corpusAvailable
    ? CLOUDTRAIL_RECORD_FILES.flatMap((file) =>
        readCorpus<CorpusRow>(file).map((row, i) => ({ ...row, where: `${file}:${i + 1}` })),
      )
    : [];

  describe("Panther's labelled rule tests", () => {
    const tests = rows.filter((row) => row.rule_id !== undefined);
    const has = (id: string) => (matches: Match[]) => matches.some((m) => m.detection.id === id);
    /** Panther rules that mean the same as one of ours: our verdict for that rule's question. */
    const SAME_MEANING: Record<string, (matches: Match[]) => boolean> = {
      'AWS.Console.RootLogin': has('root-console-sign-in'),
      'AWS.Console.RootLoginFailed': has('root-console-sign-in-failure'),
      'AWS.Root.Activity': (matches) => matches.some((m) => ROOT_ONLY.has(m.detection.id)),
      'AWS.CloudTrail.RootAccessKeyCreated': has('root-access-key-created'),
      'AWS.CloudTrail.RootPasswordChanged': has('root-credentials-changed'),
    };
    /** Where we decide otherwise on purpose, and why. */
    const DELIBERATE: Record<string, string> = {
      'AWS.Root.Activity|Root Read-Only Enumeration':
        'DESIGN.md: root-api-call includes read-only calls; listing keys is how an intruder maps the account',
      'AWS.Root.Activity|Root Activity - CreateServiceLinkedRole':
        'Panther allow-lists CreateServiceLinkedRole; any direct root call is worth a look, so we alert (high)',
    };

    it('holds the 50 tests the corpus README describes', () => {
      expect(tests).toHaveLength(50);
    });

    it.each(tests.filter((t) => t.rule_id && SAME_MEANING[t.rule_id]))(
      '$rule_id: $test_name',
      ({ rule_id, test_name, expected_alert, record }) => {
        const key = `${rule_id}|${test_name}`;
        const ours = (SAME_MEANING[rule_id as string] as (m: Match[]) => boolean)(verdictOf(record));
        expect(ours).toBe(key in DELIBERATE ? !expected_alert : expected_alert);
      },
    );

    it('names only deliberate differences that the corpus holds', () => {
      const present = new Set(tests.map((t) => `${t.rule_id}|${t.test_name}`));
      for (const key of Object.keys(DELIBERATE)) expect(present, key).toContain(key);
    });

    it.each(tests.filter((t) => t.tier === 'related' && t.facts.identity_type === 'Root'))(
      'related rule on a root record raises the root detection: $rule_id: $test_name',
      ({ rule_id, record, expected_alert }) => {
        const matches = verdictOf(record);
        expect(expected_alert).toBe(true);
        if (rule_id === 'AWS.Console.LoginWithoutMFA') {
          expect(matches.find((m) => m.detection.id === 'root-console-sign-in')?.severity).toBe('critical');
        } else {
          expect(ids(matches)).toEqual(['root-console-sign-in-failure']);
        }
      },
    );

    it.each(tests.filter((t) => t.tier === 'related' && t.facts.identity_type !== 'Root'))(
      'related rule on a non-root record raises no root detection: $rule_id: $test_name',
      ({ record, facts }) => {
        expect(ids(verdictOf(record))).toEqual(expectedFromFacts(facts, record));
      },
    );
  });

  describe('every record that is not root', () => {
    const nonRoot = rows.filter((row) => row.facts.identity_type !== 'Root');

    it('raises no root detection; MFA deactivations and trail tampering raise exactly those', () => {
      const wrong: string[] = [];
      let checked = 0;
      for (const row of nonRoot) {
        if (row.facts.event_source === undefined) continue; // not a CloudTrail record: see the next test
        checked += 1;
        const got = ids(verdictOf(row.record));
        const want = expectedFromFacts(row.facts, row.record);
        if (JSON.stringify(got) !== JSON.stringify(want))
          wrong.push(`${row.where} ${row.facts.event_name}: ${got} ≠ ${want}`);
      }
      expect(wrong).toEqual([]);
      expect(checked).toBeGreaterThan(700);
    });

    it('includes the trail tampering and MFA deactivation records (so the check above is not vacuous)', () => {
      const raised = nonRoot
        .filter((row) => row.facts.event_source !== undefined)
        .flatMap((row) => ids(verdictOf(row.record)));
      expect(raised.filter((id) => id === 'audit-trail-tampering').length).toBeGreaterThanOrEqual(10);
      expect(raised).toContain('mfa-device-deactivated');
    });

    it('rejects the records without eventSource as not CloudTrail, naming the field', () => {
      const bad = nonRoot.filter((row) => row.facts.event_source === undefined);
      expect(bad.length).toBeGreaterThan(0);
      for (const row of bad) expect(() => recordToEvent(row.record)).toThrow(EventParseError);
      for (const row of bad) expect(() => recordToEvent(row.record)).toThrow(/eventSource/);
    });
  });

  describe('every root record', () => {
    const root = rows.filter((row) => row.facts.identity_type === 'Root');

    it.each(root.map((row) => ({ ...row, label: `${row.where} ${row.facts.event_name}` })))(
      '$label raises the detections its facts call for',
      ({ record, facts }) => {
        const matches = verdictOf(record);
        expect(ids(matches)).toEqual(expectedFromFacts(facts, record));
        const signIn = matches.find((m) => m.detection.id === 'root-console-sign-in');
        if (signIn) expect(signIn.severity).toBe(facts.mfa_used?.toLowerCase() === 'yes' ? 'high' : 'critical');
      },
    );
  });

  describe("the corpus builder's derived verdicts (a cross-check, not ground truth)", () => {
    const withVerdicts = rows.filter((row) => row.derived_verdicts !== undefined);
    const CROSS_CHECK: Record<string, (matches: Match[], row: CorpusRow) => boolean> = {
      'panther:AWS.Console.RootLogin': (m) => m.some((x) => x.detection.id === 'root-console-sign-in'),
      'panther:AWS.Console.RootLoginFailed': (m) => m.some((x) => x.detection.id === 'root-console-sign-in-failure'),
      'panther:AWS.CloudTrail.RootAccessKeyCreated': (m) => m.some((x) => x.detection.id === 'root-access-key-created'),
      'panther:AWS.CloudTrail.RootPasswordChanged': (m, row) =>
        row.facts.event_name === 'PasswordUpdated' && m.some((x) => x.detection.id === 'root-credentials-changed'),
      'falco:Console Root Login Without MFA': (m) =>
        m.some((x) => x.detection.id === 'root-console-sign-in' && x.severity === 'critical'),
      'falco:Deactivate MFA for Root User': (m) =>
        m.some((x) => x.detection.id === 'mfa-device-deactivated' && x.severity === 'critical'),
      'sigma:8ad1600d (AWS Root Credentials)': (m) => m.some((x) => ROOT_ONLY.has(x.detection.id)),
    };

    it.each(Object.keys(CROSS_CHECK))('%s agrees on every record', (verdict) => {
      const check = CROSS_CHECK[verdict] as (m: Match[], row: CorpusRow) => boolean;
      const disagreements = withVerdicts
        .filter((row) => row.facts.event_source !== undefined && row.derived_verdicts?.[verdict] !== undefined)
        .filter((row) => check(verdictOf(row.record), row) !== row.derived_verdicts?.[verdict])
        .map((row) => `${row.where} ${row.facts.identity_type} ${row.facts.event_name}`);
      expect(disagreements).toEqual([]);
    });
  });
});
