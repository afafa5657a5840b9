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

  it('refuses to build an alert without a match', () => {
    const event = recordToEvent(readSample('iam-user-create-access-key.json'));
    expect(() => buildAlert(event, [], { runbookBaseUrl: '' })).toThrow(TypeError);
  });
});
