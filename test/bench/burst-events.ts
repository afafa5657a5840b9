/**
 * The burst of the burst benchmark (burst.bench.ts): one root session making `total` API calls within 60 s, a script
 * run in CloudShell after a console sign-in, and in the middle of it a CreateAccessKey for root itself. Every record is
 * built here as CloudTrail writes a management event (whole-second eventTime, eventID a UUID, readOnly, tlsDetails,
 * sessionCredentialFromConsole), from the call kinds below, so the burst holds a few dozen read and write calls across
 * S3, EC2, IAM, STS, CloudTrail, Lambda, DynamoDB, KMS, RDS, CloudWatch and Organizations.
 */
import { createHash } from 'node:crypto';
import { classify } from '../../functions/core/classify.js';
import type { Detection } from '../../functions/core/detection.js';
import { type CloudTrailEvent, recordToEvent } from '../../functions/core/event.js';

/** The member account the session is in (the documentation account STYLE.md asks for). */
const ACCOUNT = '111122223333';
/** Where the session's calls come from (TEST-NET-3, RFC 5737). */
const SOURCE_IP = '203.0.113.50';
/** When the burst starts (UTC); the console sign-in was 4 minutes before. */
const START_MS = Date.UTC(2025, 5, 2, 14, 0, 0);
/** The burst's length: every event's time is within [START_MS, START_MS + SPAN_MS). */
const SPAN_MS = 60_000;

/**
 * Which credential the session uses:
 * - `console`: the temporary key of a console session (ASIA…), as CloudShell uses it: root-api-call is high;
 * - `long-term`: a root access key (AKIA…) in a script on a laptop: root-api-call is critical for every call
 *   (events/root-api-call.yml, "made with a long-term root access key").
 */
type BurstCredential = 'console' | 'long-term';

/** One kind of call: its service, name, whether it only reads, and its request parameters. */
interface CallKind {
  service: string;
  eventName: string;
  readOnly: boolean;
  requestParameters: Record<string, unknown> | null;
}

const bucket = { bucketName: 'prod-payments-reports', Host: 'prod-payments-reports.s3.eu-west-1.amazonaws.com' };
const instances = { instancesSet: { items: [{ instanceId: 'i-0abc1234def567890' }] } };

/** The routine calls: each matches root-api-call only (checked by routineKindsProblems before a run). */
const CALL_KINDS: readonly CallKind[] = [
  { service: 's3', eventName: 'ListBuckets', readOnly: true, requestParameters: { Host: 's3.amazonaws.com' } },
  { service: 's3', eventName: 'GetBucketAcl', readOnly: true, requestParameters: { ...bucket, acl: '' } },
  { service: 's3', eventName: 'GetBucketPolicy', readOnly: true, requestParameters: { ...bucket, policy: '' } },
  { service: 's3', eventName: 'GetBucketLocation', readOnly: true, requestParameters: { ...bucket, location: '' } },
  { service: 's3', eventName: 'GetBucketEncryption', readOnly: true, requestParameters: { ...bucket, encryption: '' } },
  { service: 's3', eventName: 'GetBucketVersioning', readOnly: true, requestParameters: { ...bucket, versioning: '' } },
  {
    service: 's3',
    eventName: 'PutBucketVersioning',
    readOnly: false,
    requestParameters: { ...bucket, VersioningConfiguration: { Status: 'Enabled' } },
  },
  {
    service: 's3',
    eventName: 'PutBucketTagging',
    readOnly: false,
    requestParameters: { ...bucket, Tagging: { TagSet: { Tag: { Key: 'owner', Value: 'payments' } } } },
  },
  { service: 'ec2', eventName: 'DescribeInstances', readOnly: true, requestParameters: { instancesSet: {} } },
  { service: 'ec2', eventName: 'DescribeSecurityGroups', readOnly: true, requestParameters: { securityGroupSet: {} } },
  { service: 'ec2', eventName: 'DescribeVpcs', readOnly: true, requestParameters: { vpcSet: {} } },
  { service: 'ec2', eventName: 'DescribeSubnets', readOnly: true, requestParameters: { subnetSet: {} } },
  { service: 'ec2', eventName: 'DescribeVolumes', readOnly: true, requestParameters: { volumeSet: {} } },
  { service: 'ec2', eventName: 'DescribeRegions', readOnly: true, requestParameters: { regionSet: {} } },
  {
    service: 'ec2',
    eventName: 'CreateTags',
    readOnly: false,
    requestParameters: {
      resourcesSet: { items: [{ resourceId: 'i-0abc1234def567890' }] },
      tagSet: { items: [{ key: 'reviewed', value: 'yes' }] },
    },
  },
  { service: 'ec2', eventName: 'StopInstances', readOnly: false, requestParameters: { ...instances, force: false } },
  { service: 'ec2', eventName: 'StartInstances', readOnly: false, requestParameters: instances },
  { service: 'iam', eventName: 'ListUsers', readOnly: true, requestParameters: null },
  { service: 'iam', eventName: 'ListRoles', readOnly: true, requestParameters: null },
  { service: 'iam', eventName: 'ListPolicies', readOnly: true, requestParameters: { scope: 'Local' } },
  { service: 'iam', eventName: 'GetAccountSummary', readOnly: true, requestParameters: null },
  { service: 'iam', eventName: 'GetAccountPasswordPolicy', readOnly: true, requestParameters: null },
  { service: 'iam', eventName: 'ListAccessKeys', readOnly: true, requestParameters: null },
  { service: 'iam', eventName: 'ListMFADevices', readOnly: true, requestParameters: null },
  { service: 'iam', eventName: 'CreateUser', readOnly: false, requestParameters: { userName: 'payments-ci' } },
  {
    service: 'iam',
    eventName: 'TagRole',
    readOnly: false,
    requestParameters: { roleName: 'payments-app', tags: [{ key: 'team', value: 'payments' }] },
  },
  { service: 'sts', eventName: 'GetCallerIdentity', readOnly: true, requestParameters: null },
  { service: 'cloudtrail', eventName: 'DescribeTrails', readOnly: true, requestParameters: { trailNameList: [] } },
  { service: 'cloudtrail', eventName: 'LookupEvents', readOnly: true, requestParameters: { maxResults: 50 } },
  { service: 'lambda', eventName: 'ListFunctions20150331', readOnly: true, requestParameters: null },
  { service: 'lambda', eventName: 'GetAccountSettings20160819', readOnly: true, requestParameters: null },
  { service: 'dynamodb', eventName: 'ListTables', readOnly: true, requestParameters: null },
  { service: 'dynamodb', eventName: 'DescribeTable', readOnly: true, requestParameters: { tableName: 'ledger' } },
  { service: 'kms', eventName: 'ListKeys', readOnly: true, requestParameters: null },
  { service: 'kms', eventName: 'ListAliases', readOnly: true, requestParameters: null },
  { service: 'rds', eventName: 'DescribeDBInstances', readOnly: true, requestParameters: null },
  { service: 'monitoring', eventName: 'DescribeAlarms', readOnly: true, requestParameters: null },
  { service: 'organizations', eventName: 'DescribeOrganization', readOnly: true, requestParameters: null },
];

/** The CreateAccessKey of root for itself: no userName in the request (events/root-access-key-created.yml). */
const CREATE_ACCESS_KEY: CallKind = {
  service: 'iam',
  eventName: 'CreateAccessKey',
  readOnly: false,
  requestParameters: null,
};

/** Global services log in us-east-1; the rest of the script works in eu-west-1. */
const GLOBAL_SERVICES = new Set(['iam', 'sts', 'organizations']);

/** One event of the burst, with when it arrives on the benchmark's clock. */
interface BurstEvent {
  /** The CloudTrail record. */
  record: Record<string, unknown> & { eventID: string; eventName: string };
  /** ms after the burst's start: arrival order is this order (event time order, compressed by the benchmark). */
  arrivalMs: number;
}

/** A UUID-shaped id from `seed`, stable from run to run (CloudTrail's eventIDs and requestIDs are UUIDs). */
const uuidOf = (seed: string): string => {
  const hex = createHash('sha256').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
};

/** `2025-06-02T14:00:07Z`: whole seconds, as CloudTrail writes eventTime. */
const cloudTrailTime = (ms: number): string =>
  new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** The session's access key id: a console session's temporary key, or root's long-term key. */
const accessKeyOf = (credential: BurstCredential): string =>
  credential === 'console' ? 'ASIA4BURSTEXAMPLE7QZ' : 'AKIA4BURSTEXAMPLE7QZ';

/** The user agent of the AWS CLI running `command` (CloudShell's for a console session). */
const userAgentOf = (credential: BurstCredential, kind: CallKind): string =>
  `aws-cli/2.27.41 md/awscrt#0.26.1 ua/2.1 os/linux#6.1.141 md/arch#x86_64 lang/python#3.13.4 md/pyimpl#CPython${
    credential === 'console' ? ' exec-env/CloudShell' : ''
  } cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#${kind.service}.${kind.eventName}`;

/** The record CloudTrail writes for call `kind` at `timeMs`, `index`-th of the burst. */
const recordOf = (credential: BurstCredential, kind: CallKind, timeMs: number, index: number) => {
  const region = GLOBAL_SERVICES.has(kind.service) ? 'us-east-1' : 'eu-west-1';
  const host = `${kind.service}${GLOBAL_SERVICES.has(kind.service) ? '' : `.${region}`}.amazonaws.com`;
  const fromConsole = credential === 'console';
  return {
    eventVersion: '1.11',
    userIdentity: {
      type: 'Root',
      principalId: ACCOUNT,
      arn: `arn:aws:iam::${ACCOUNT}:root`,
      accountId: ACCOUNT,
      accessKeyId: accessKeyOf(credential),
      ...(fromConsole
        ? {
            sessionContext: {
              attributes: { creationDate: cloudTrailTime(START_MS - 4 * 60_000), mfaAuthenticated: 'true' },
            },
          }
        : {}),
    },
    eventTime: cloudTrailTime(timeMs),
    eventSource: `${kind.service}.amazonaws.com`,
    eventName: kind.eventName,
    awsRegion: region,
    sourceIPAddress: SOURCE_IP,
    userAgent: userAgentOf(credential, kind),
    requestParameters: kind.requestParameters,
    responseElements:
      kind === CREATE_ACCESS_KEY
        ? { accessKey: { accessKeyId: 'AKIA4NEWROOTKEY00001', status: 'Active', createDate: cloudTrailTime(timeMs) } }
        : null,
    requestID: uuidOf(`request-${index}`),
    eventID: uuidOf(`burst-${credential}-${index}`),
    readOnly: kind.readOnly,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: 'Management',
    tlsDetails: { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256', clientProvidedHostHeader: host },
    ...(fromConsole ? { sessionCredentialFromConsole: 'true' } : {}),
  };
};

/**
 * The burst: `total` events (≥ 2) of one root session, in arrival order. Event i arrives at i × 60 s / total plus a
 * fixed jitter of up to a third of that step (so calls bunch a little, as a script's do), its eventTime the whole
 * second of its arrival; event ⌊total / 2⌋ is root's CreateAccessKey, the others cycle through CALL_KINDS. Stable:
 * the same arguments give the same records and eventIDs.
 *
 * @example
 * const events = burstEvents('console', 1000);
 * events[500]?.record.eventName; // "CreateAccessKey"
 * events.at(-1)?.arrivalMs; // < 60000
 */
const burstEvents = (credential: BurstCredential, total: number): BurstEvent[] => {
  const step = SPAN_MS / total;
  const middle = Math.floor(total / 2);
  return Array.from({ length: total }, (_, i) => {
    const jitter = ((i * 7_919) % 97) / 97 / 3;
    const arrivalMs = Math.floor((i + jitter) * step);
    const kind = i === middle ? CREATE_ACCESS_KEY : (CALL_KINDS[i % CALL_KINDS.length] as CallKind);
    return { record: recordOf(credential, kind, START_MS + arrivalMs, i), arrivalMs };
  });
};

/** The index of the burst's CreateAccessKey. */
const createAccessKeyIndex = (total: number): number => Math.floor(total / 2);

/**
 * The EventBridge event AWS delivers for a record: the envelope's own id (not the eventID, which the alert function
 * must use) and its time.
 */
const envelopeOf = (record: Record<string, unknown>): CloudTrailEvent => {
  const event = recordToEvent(record);
  return { ...event, id: uuidOf(`envelope-${event.id}`) };
};

/**
 * Why the burst would not be the benchmark's: a routine call kind that matches more than root-api-call (it would
 * escalate the session and post of its own), and the CreateAccessKey unless it matches root-access-key-created.
 * Empty when all is well.
 */
const burstProblems = (credential: BurstCredential, detections: readonly Detection[]): string[] => {
  const idsOf = (kind: CallKind) =>
    classify(recordToEvent(recordOf(credential, kind, START_MS, 0)), detections).map((match) => match.detection.id);
  const problems = CALL_KINDS.flatMap((kind) => {
    const ids = idsOf(kind);
    return ids.length === 1 && ids[0] === 'root-api-call' ? [] : [`${kind.eventName} matches [${ids.join(', ')}]`];
  });
  const createIds = idsOf(CREATE_ACCESS_KEY);
  if (!createIds.includes('root-access-key-created'))
    problems.push(`CreateAccessKey matches [${createIds.join(', ')}]`);
  return problems;
};

export type { BurstCredential, BurstEvent };
export { burstEvents, burstProblems, CALL_KINDS, createAccessKeyIndex, envelopeOf };
