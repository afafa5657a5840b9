import { describe, expect, it } from 'vitest';
import { AlertSchema, buildAlert } from '../../functions/core/alert-document.js';
import { classify } from '../../functions/core/classify.js';
import { recordToEvent } from '../../functions/core/event.js';
import { loadDetections } from '../../functions/io/detections.js';
import { readSample } from '../helpers/samples.js';

const detections = loadDetections();
const alertFor = (fixture: string, record?: Record<string, unknown>) => {
  const event = recordToEvent(record ?? readSample(fixture));
  return buildAlert(event, classify(event, detections), { runbookBaseUrl: 'https://runbooks.example/' });
};

describe('buildAlert', () => {
  it('builds the documented alert for a root sign-in without MFA', () => {
    const record = readSample('root-console-sign-in-no-mfa.json');
    const alert = alertFor('root-console-sign-in-no-mfa.json');
    expect(alert).toEqual({
      schema: 'rootwatch.alert/v1',
      eventID: record.eventID,
      detections: ['root-console-sign-in'],
      severity: 'critical',
      title: 'Root console sign-in without MFA — 111122223333',
      eventTime: '2022-11-10T16:24:34Z',
      eventName: 'ConsoleLogin',
      eventSource: 'signin.amazonaws.com',
      region: 'us-east-1',
      account: { id: '111122223333' },
      actor: { type: 'Root', arn: 'arn:aws:iam::111122223333:root', credential: 'console', mfa: false },
      source: { ip: record.sourceIPAddress, userAgent: record.userAgent, client: 'Firefox 62 on macOS' },
      outcome: { result: 'success' },
      tags: ['attack.t1078.004'],
      links: {
        cloudtrail: `https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events/${record.eventID}`,
        runbook: 'https://runbooks.example/root-console-sign-in.yml',
      },
      record,
    });
    expect(Object.keys(alert).slice(0, 5)).toEqual(['schema', 'eventID', 'detections', 'severity', 'title']);
  });

  it('reads MFA "YES" in upper case as MFA used', () => {
    const alert = alertFor('root-console-sign-in-mfa-upper-case.json');
    expect(alert.actor.mfa).toBe(true);
    expect(alert.severity).toBe('high');
    expect(alert.title).toBe('Root console sign-in with MFA — 111122223333');
    expect(alert.reasons).toEqual({ 'root-console-sign-in': 'signed in with MFA' });
  });

  it('lists every matching detection, most severe first, with the highest severity', () => {
    const alert = alertFor('root-enable-mfa-device.json');
    expect(alert.detections).toEqual(['root-api-call', 'root-credentials-changed']);
    const key = alertFor('root-create-access-key.json');
    expect(key.detections).toEqual(['root-access-key-created', 'root-api-call']);
    expect(key.severity).toBe('critical');
  });

  it('names a long-term key, a session and a centralized root session as credentials', () => {
    expect(alertFor('root-api-call-long-term-key.json').actor.credential).toBe('long-term key');
    expect(alertFor('root-api-call-assumed-root.json').actor.credential).toBe('assumed root');
    expect(alertFor('role-disable-rootwatch-rule.json').actor.credential).toBe('session');
    expect(alertFor('root-create-access-key-console.json').actor.credential).toBe('console');
  });

  it('names the credentials derived from root, and console actions, as what they are', () => {
    expect(alertFor('federated-user-of-root-list-buckets.json').actor.credential).toBe('session issued by root');
    expect(alertFor('root-console-action-set-account-preferences.json').actor.credential).toBe('console');
    expect(alertFor('root-console-attach-user-policy.json').actor.credential).toBe('console');
    // The AssumeRoot caller's record may carry assumedRoot, but the caller is a role session, not root.
    expect(alertFor('role-assume-root-delete-root-credentials.json').actor.credential).toBe('session');
  });

  it('titles and labels credentials that are root without showing as plain root', () => {
    const federated = alertFor('federated-user-of-root-list-buckets.json');
    expect(federated.title).toBe('Root user API call: ListBuckets (session issued by root) — 111122223333');
    expect(federated.reasons).toEqual({
      'root-api-call': 'in a session root issued (GetFederationToken), which only a long-term root access key can open',
    });
    const cleanup = alertFor('assumed-root-deactivate-mfa-device.json');
    expect(cleanup).toMatchObject({
      severity: 'medium',
      detections: ['mfa-device-deactivated', 'root-api-call'],
      title: 'MFA device deactivated: DeactivateMFADevice (centralized root session) — 444455556666',
      actor: { credential: 'assumed root' },
      reasons: {
        'mfa-device-deactivated': 'inside a centralized root session (sts:AssumeRoot)',
        'root-api-call': 'inside a centralized root session (sts:AssumeRoot)',
      },
    });
  });

  it('names the task policy a centralized root session is opened with', () => {
    const alert = alertFor('role-assume-root-delete-root-credentials.json');
    expect(alert.actor.taskPolicy).toBe('arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials');
    expect(alert.title).toBe(
      'Centralized root session started: AssumeRoot (task policy IAMDeleteRootUserCredentials) — 111122223333',
    );
    // The calls inside the session do not name it: nothing is made up.
    expect(alertFor('assumed-root-delete-access-key.json').actor.taskPolicy).toBeUndefined();
  });

  it('says which step a failed root sign-in stopped at, and claims no MFA for it', () => {
    const mfaFailed = alertFor('root-console-sign-in-failed-mfa.json');
    expect(mfaFailed).toMatchObject({
      severity: 'high',
      title: 'Root console sign-in failed: password accepted, MFA failed — 111122223333',
      outcome: { result: 'failure', errorMessage: 'Failed authentication', failedAt: 'mfa' },
      reasons: { 'root-console-sign-in-failure': 'password accepted, MFA failed' },
    });
    expect(mfaFailed.actor.mfa).toBeUndefined();
    const wrongPassword = alertFor('root-console-sign-in-failure-wrong-password.json');
    expect(wrongPassword).toMatchObject({
      severity: 'medium',
      title: 'Root console sign-in failed: wrong password — 111122223333',
      outcome: { result: 'failure', failedAt: 'password' },
    });
    expect(wrongPassword.actor.mfa).toBeUndefined();
  });

  it('keeps the session MFA of a failed API call, which is no sign-in', () => {
    // Prepare
    const record = structuredClone(readSample('root-stop-logging-failed.json'));
    Object.assign(record.userIdentity as object, {
      sessionContext: { attributes: { creationDate: '2020-11-01T00:00:00Z', mfaAuthenticated: 'true' } },
    });
    // Act
    const alert = alertFor('', record);
    // Assess
    expect(alert.outcome).toMatchObject({ result: 'failure' });
    expect(alert.outcome.failedAt).toBeUndefined();
    expect(alert.actor.mfa).toBe(true);
  });

  it('keeps a service hostname or "AWS Internal" out of source.ip', () => {
    expect(alertFor('root-api-call-long-term-key.json').source).toMatchObject({
      host: 'AWS Internal',
      kind: 'aws-internal',
    });
    expect(alertFor('root-api-call-long-term-key.json').source.ip).toBeUndefined();
    expect(alertFor('cloudformation-update-rootwatch-function.json').source).toMatchObject({
      host: 'cloudformation.amazonaws.com',
      kind: 'aws-service',
    });
  });

  it('reports a failed call with its error code and message', () => {
    const alert = alertFor('root-stop-logging-failed.json');
    expect(alert.outcome).toEqual({
      result: 'failure',
      errorCode: 'NotOrganizationMasterAccountException',
      errorMessage: 'Cannot stop trail, not master trail.',
    });
    expect(alert.title).toBe('CloudTrail logging tampered with: StopLogging (failed) — 111122223333');
  });

  it('reports a failed sign-in from its response, which carries no errorCode', () => {
    expect(alertFor('root-console-sign-in-failure.json').outcome.result).toBe('failure');
  });

  it('merges enrichment into account and source', () => {
    const event = recordToEvent(readSample('root-console-sign-in-no-mfa.json'));
    const alert = buildAlert(event, classify(event, detections), {
      runbookBaseUrl: 'https://runbooks.example/',
      enrichment: {
        account: { name: 'prod-payments' },
        source: { country: 'DE', asn: 3320, org: 'Deutsche Telekom AG' },
      },
    });
    expect(alert.account).toEqual({ id: '111122223333', name: 'prod-payments' });
    expect(alert.source).toMatchObject({ country: 'DE', asn: 3320, org: 'Deutsche Telekom AG' });
    // The client label needs no data: the builder derives it from the user agent, everywhere alike.
    expect(alert.source.client).toBe('Firefox 62 on macOS');
    expect(alert.title).toBe('Root console sign-in without MFA — prod-payments (111122223333)');
  });

  it("links to the console's global host when the record's region is not shaped like one", () => {
    const record = { ...readSample('root-api-call-long-term-key.json'), awsRegion: 'us-east-1\u001b[31m\r\nx' };
    expect(alertFor('', record).links.cloudtrail).toMatch(
      /^https:\/\/console\.aws\.amazon\.com\/cloudtrailv2\/home#\/events\//,
    );
  });

  it('links GovCloud events to the GovCloud console', () => {
    const record = readSample('root-api-call-long-term-key.json');
    const gov = {
      ...record,
      awsRegion: 'us-gov-west-1',
      userIdentity: { ...(record.userIdentity as object), arn: 'arn:aws-us-gov:iam::111122223333:root' },
    };
    expect(alertFor('', gov).links.cloudtrail).toMatch(/^https:\/\/us-gov-west-1\.console\.amazonaws-us-gov\.com\//);
  });

  it.each([
    ['AWS Internal', 'aws-internal', 'AWS Management Console'],
    ['cloudformation.amazonaws.com', 'aws-service', 'AWS CloudFormation'],
  ] as const)('marks %s as AWS itself (%s) and labels its client', (source, kind, client) => {
    const record = {
      ...readSample('root-api-call-put-bucket-versioning.json'),
      sourceIPAddress: source,
      userAgent: source,
    };
    expect(alertFor('', record).source).toStrictEqual({ host: source, kind, userAgent: source, client });
  });

  it('carries the ATT&CK tags of every matching detection, the most severe first', () => {
    expect(alertFor('root-create-access-key.json').tags).toEqual(['attack.t1098.001', 'attack.t1078.004']);
  });

  it('builds documents that AlertSchema accepts for every catalog sample', () => {
    for (const detection of detections) {
      for (const sample of detection.samples.filter((s) => s.expect === 'match')) {
        const result = AlertSchema.safeParse(alertFor(sample.fixture));
        expect(result.success, `${sample.fixture}: ${result.error?.message}`).toBe(true);
      }
    }
  });

  it('still alerts on a crafted record nested 5,000 levels deep, cutting what no encoder could take', () => {
    // Prepare: JSON.parse reads this; JSON.stringify overflows the stack on it.
    let deep: unknown = 'bottom';
    for (let i = 0; i < 5_000; i += 1) deep = { a: deep };
    const record = { ...readSample('root-create-user.json'), requestParameters: deep };
    // Act
    const alert = alertFor('', record);
    const text = JSON.stringify(alert);
    // Assess
    expect(alert.detections).toEqual(['root-api-call']);
    expect(text).toContain('[nested deeper than 200 levels: left out of the alert]');
    expect(text).not.toContain('bottom');
    // An ordinary record is carried unchanged: the very object, not a copy.
    const plain = readSample('root-create-user.json');
    expect(alertFor('', plain).record).toBe(plain);
  });

  it('refuses to build an alert without a match', () => {
    const event = recordToEvent(readSample('iam-user-create-access-key.json'));
    expect(() => buildAlert(event, [], { runbookBaseUrl: '' })).toThrow(TypeError);
  });
});
