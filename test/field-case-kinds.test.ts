/**
 * Each field case of ../shared/cases stands for a kind of fault: its own records are samples of the catalog.
 * These are further inputs of the same kinds, written for this test, with the outcome each kind must have.
 */
import { describe, expect, it } from 'vitest';
import { classify } from '../functions/core/classify.js';
import { recordToEvent } from '../functions/core/event.js';
import { loadDetections } from '../functions/io/detections.js';
import { readSample } from './helpers/samples.js';

const detections = loadDetections();
const outcomeOf = (record: Record<string, unknown>) => {
  const matches = classify(recordToEvent(record), detections);
  return { detections: matches.map((m) => m.detection.id), severity: matches[0]?.severity };
};
const withChanges = (fixture: string, changes: Record<string, unknown>) => ({ ...readSample(fixture), ...changes });

describe.each([
  // lambda-partial-arn: a watched resource in every identifier form its API accepts
  [
    'a function by full ARN with an alias',
    withChanges('role-delete-rootwatch-function-partial-arn.json', {
      requestParameters: { functionName: 'arn:aws:lambda:us-east-1:111122223333:function:rootwatch-prod-alert:live' },
    }),
    ['alerter-tampering'],
    'critical',
  ],
  [
    'a function by REGION:ACCOUNT:function:NAME:VERSION',
    withChanges('role-delete-rootwatch-function-partial-arn.json', {
      requestParameters: { functionName: 'us-east-1:111122223333:function:rootwatch-prod-notify-slack:7' },
    }),
    ['alerter-tampering'],
    'critical',
  ],
  // rule-tampering: any rootwatch rule deleted or rewritten
  [
    'a rootwatch rule deleted',
    withChanges('role-disable-tampering-rule.json', {
      eventName: 'DeleteRule',
      requestParameters: { name: 'rootwatch-prod-root-api-call', force: true },
    }),
    ['alerter-tampering'],
    'critical',
  ],
  [
    'a tampering rule rewritten',
    withChanges('role-disable-tampering-rule.json', {
      eventName: 'PutRule',
      requestParameters: { name: 'rootwatch-prod-alerter-tampering-3', eventPattern: '{"source":["x"]}' },
    }),
    ['alerter-tampering'],
    'critical',
  ],
  // root-billing-console-action: other console actions by root
  [
    'root renames the account in the Billing console',
    withChanges('root-console-action-set-security-questions.json', { eventName: 'UpdateAccountName' }),
    ['root-api-call'],
    'high',
  ],
  [
    'root sets a tax registration',
    withChanges('root-console-action-set-security-questions.json', { eventName: 'SetTaxRegistration' }),
    ['root-api-call'],
    'high',
  ],
  // root-console-action-invokedby-signin: root's own console calls
  [
    'root deletes a user from the IAM console',
    withChanges('root-console-attach-user-policy.json', {
      eventName: 'DeleteUser',
      requestParameters: { userName: 'a' },
    }),
    ['root-api-call'],
    'high',
  ],
  [
    'root replaces a bucket policy from the console',
    withChanges('root-console-attach-user-policy.json', {
      eventSource: 's3.amazonaws.com',
      eventName: 'PutBucketPolicy',
      requestParameters: { bucketName: 'b' },
    }),
    ['root-api-call'],
    'high',
  ],
  // root-federation-token-session: everything a session root issued does
  [
    'a session root issued creates a user',
    withChanges('federated-user-of-root-list-buckets.json', {
      eventSource: 'iam.amazonaws.com',
      eventName: 'CreateUser',
      requestParameters: { userName: 'backdoor' },
    }),
    ['root-api-call'],
    'critical',
  ],
  [
    'a session root issued stops the trail',
    withChanges('federated-user-of-root-list-buckets.json', {
      eventSource: 'cloudtrail.amazonaws.com',
      eventName: 'StopLogging',
      requestParameters: { name: 'org-trail' },
    }),
    ['audit-trail-tampering', 'root-api-call'],
    'critical',
  ],
  // root-failed-mfa-challenge: the MFA step, not the password, failed
  [
    'a failed MFA step with MFAUsed "YES"',
    (() => {
      const record = readSample('root-console-sign-in-failed-mfa.json');
      return { ...record, additionalEventData: { ...(record.additionalEventData as object), MFAUsed: 'YES' } };
    })(),
    ['root-console-sign-in-failure'],
    'high',
  ],
  [
    'a wrong password from another address',
    withChanges('root-console-sign-in-failure-wrong-password.json', { sourceIPAddress: '203.0.113.99' }),
    ['root-console-sign-in-failure'],
    'medium',
  ],
  // assumed-root-credential-cleanup: a centralized root session is medium for every detection
  [
    'a centralized root session creating a root access key',
    withChanges('assumed-root-delete-access-key.json', {
      eventName: 'CreateAccessKey',
      requestParameters: null,
      responseElements: null,
    }),
    ['root-access-key-created', 'root-api-call'],
    'medium',
  ],
  [
    'a centralized root session stopping a trail',
    withChanges('assumed-root-delete-access-key.json', {
      eventSource: 'cloudtrail.amazonaws.com',
      eventName: 'StopLogging',
      requestParameters: { name: 't' },
    }),
    ['audit-trail-tampering', 'root-api-call'],
    'medium',
  ],
] as const)('%s', (_, record, expected, severity) => {
  it(`raises ${expected.join(' + ')} at ${severity}`, () => {
    expect(outcomeOf(record as Record<string, unknown>)).toEqual({ detections: [...expected], severity });
  });
});

it('leaves a function of another application alone, whatever its identifier form', () => {
  const record = withChanges('role-delete-rootwatch-function-partial-arn.json', {
    requestParameters: { functionName: 'us-east-1:111122223333:function:payments-api' },
  });
  expect(outcomeOf(record).detections).toEqual([]);
});
