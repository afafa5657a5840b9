/**
 * The bench's CloudTrail corpus: `files` gzipped log files of `recordsPerFile` records each, written as CloudTrail
 * writes them to S3 (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/get-and-view-cloudtrail-log-files.html):
 * `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 chars>.json.gz`,
 * each file one line `{"Records":[…]}`, gzipped. Deterministic: the same seed gives the same bytes (a seeded PRNG,
 * mulberry32, one stream per file; nothing reads the clock).
 *
 * The records follow the size and shape of the records in ../shared/corpus/cloudtrail (real trails' records, vendor
 * test logs): many services and event names, nested requestParameters and responseElements (a few of several KB:
 * RunInstances, policy documents, STS credentials), tlsDetails, resources arrays, long user agents, sessionContext,
 * errorCode/errorMessage (AccessDenied, EC2's encoded authorization failures, throttling), every identity type
 * (AssumedRole, IAMUser, AWSService, AWSAccount, FederatedUser, and AWS service events with no type), and
 * ROOT_SHARE of Root records: console sign-ins (success with and without MFA, failures), API calls from the console
 * and with a long-term access key, MFA deactivation, access key creation, trail tampering (StopLogging, DeleteTrail),
 * and the Root records the catalog leaves to other detections or out (EXCLUSIONS). A few non-Root records alert too:
 * trail tampering and MFA deactivation by roles and users, and calls of a federated user root issued.
 *
 * Every record that is Root or should alert is labelled (`Label`), so the bench can say which Root records a
 * `userIdentity.type == "Root"` filter finds that replay must not alert on, and why.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** Share of Root records (the issue asks for 1–2 %). */
const ROOT_SHARE = 0.015;
/** Share of non-Root records planted to alert (trail tampering, MFA deactivation, root's federated users). */
const OTHER_ALERT_SHARE = 0.002;

/**
 * Why a Root record is not alerted on (events/root-api-call.yml and the sign-in detections):
 * - `invoked-by-service`: another AWS service called on root's behalf (`userIdentity.invokedBy` a service or
 *   "AWS Internal", not signin.amazonaws.com): root-api-call leaves it out, and no other detection takes it;
 * - `sign-in-flow`: a signin.amazonaws.com event other than a ConsoleLogin or a successful password change or
 *   recovery (CheckMfa, CredentialVerification, CredentialChallenge, a failed PasswordUpdated): root-api-call leaves
 *   the sign-in flow to the sign-in detections, which fire on ConsoleLogin (and root-credentials-changed on password
 *   updates and recoveries) only.
 */
type Exclusion = 'invoked-by-service' | 'sign-in-flow';

const EXCLUSIONS: Readonly<Record<Exclusion, string>> = {
  'invoked-by-service':
    'Root calls another AWS service made on root’s behalf (userIdentity.invokedBy a service or "AWS Internal"): root-api-call leaves them out',
  'sign-in-flow':
    'Root sign-in events other than ConsoleLogin and successful password changes (CheckMfa, CredentialVerification, CredentialChallenge, failed PasswordUpdated): the sign-in detections fire on ConsoleLogin only',
};

/** What the generator made a record to be. */
type Label =
  | { kind: 'root-alert'; what: string }
  | { kind: 'root-excluded'; what: string; why: Exclusion }
  | { kind: 'other-alert'; what: string };

/** What writeCorpus wrote. */
interface CorpusManifest {
  dir: string;
  files: string[];
  records: number;
  /** Bytes of JSON of all records (each `JSON.stringify(record)`), for the mean record size. */
  recordJsonBytes: number;
  /** Bytes of the gzipped files on disk. */
  gzipBytes: number;
  /** Labelled records by eventID (the unlabelled rest is ordinary activity no detection matches). */
  labels: Map<string, Label>;
  /** SHA-256 of every file's path and bytes, in order: equal for equal seeds. */
  sha256: string;
}

interface CorpusOptions {
  files: number;
  recordsPerFile?: number;
  seed?: number;
}

// ---------------------------------------------------------------------------------------------------------------------
// The PRNG.

/** A seeded pseudo-random source (mulberry32): `next()` in [0, 1). */
class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** An integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  /** `weighted` is [[weight, value], …]. */
  weighted<T>(weighted: readonly (readonly [number, T])[]): T {
    const total = weighted.reduce((sum, [w]) => sum + w, 0);
    let x = this.next() * total;
    for (const [w, value] of weighted) {
      x -= w;
      if (x < 0) return value;
    }
    return (weighted.at(-1) as readonly [number, T])[1];
  }
  chars(n: number, alphabet: string): string {
    let out = '';
    for (let i = 0; i < n; i++) out += alphabet[this.int(alphabet.length)];
    return out;
  }
  hex(n: number): string {
    return this.chars(n, '0123456789abcdef');
  }
  uuid(): string {
    return `${this.hex(8)}-${this.hex(4)}-4${this.hex(3)}-${this.pick(['8', '9', 'a', 'b'])}${this.hex(3)}-${this.hex(12)}`;
  }
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URLSAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

// ---------------------------------------------------------------------------------------------------------------------
// Where and when.

/** Documentation accounts (STYLE.md): the payments account and a member account. */
const ACCOUNTS = ['111122223333', '444455556666'] as const;
const REGIONS = ['us-east-1', 'eu-west-1', 'us-west-2', 'ap-southeast-2'] as const;
/** Global services (IAM, sign-in, Organizations) log in us-east-1. */
const HOME_REGION = 'us-east-1';
/** The first file's time; each file covers the 5 minutes before its time, as CloudTrail delivers every ~5 min. */
const START_MS = Date.UTC(2026, 9, 1, 0, 5, 0);
const FILE_SPAN_MS = 5 * 60_000;

/** `2026-10-01T00:03:17Z`: whole seconds, as CloudTrail writes eventTime. */
const cloudTrailTime = (ms: number): string =>
  new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** Addresses from the documentation ranges (RFC 5737, STYLE.md). */
const ipOf = (rng: Rng): string => `${rng.pick(['192.0.2', '198.51.100', '203.0.113'])}.${rng.between(1, 254)}`;

const USER_AGENTS: readonly (readonly [number, (rng: Rng, service: string, op: string) => string])[] = [
  [
    3,
    (rng, service, op) =>
      `aws-cli/2.${rng.between(15, 27)}.${rng.between(0, 50)} md/awscrt#0.${rng.between(19, 26)}.1 ua/2.1 os/linux#6.1.${rng.between(100, 150)}-${rng.between(100, 180)}.amzn2023.x86_64 md/arch#x86_64 lang/python#3.12.${rng.between(1, 9)} md/pyimpl#CPython exec-env/CloudShell cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#${service}.${op}`,
  ],
  [
    4,
    (rng) => {
      const core = `1.35.${rng.between(10, 99)}`;
      return `Boto3/1.35.${rng.between(10, 99)} md/Botocore#${core} ua/2.0 os/linux#5.10.${rng.between(200, 240)}-${rng.between(200, 230)}.955.amzn2.x86_64 md/arch#x86_64 lang/python#3.11.${rng.between(1, 9)} md/pyimpl#CPython exec-env/AWS_Lambda_python3.11 cfg/retry-mode#legacy Botocore/${core}`;
    },
  ],
  [
    3,
    (rng, service) =>
      `aws-sdk-go-v2/1.30.${rng.between(0, 5)} os/linux lang/go#1.22.${rng.between(1, 6)} md/GOOS#linux md/GOARCH#amd64 api/${service}#1.${rng.between(20, 180)}.${rng.between(0, 9)} m/E`,
  ],
  [
    2,
    (rng, service) =>
      `APN/1.0 HashiCorp/1.0 Terraform/1.9.${rng.between(0, 8)} (+https://www.terraform.io) terraform-provider-aws/5.${rng.between(50, 80)}.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.30.${rng.between(0, 5)} ua/2.0 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/${service}#1.${rng.between(20, 90)}.0`,
  ],
  [
    2,
    (rng, service) =>
      `aws-sdk-js/3.${rng.between(600, 800)}.0 ua/2.1 os/linux#5.10.${rng.between(200, 240)}-${rng.between(200, 230)}.955.amzn2.x86_64 lang/js md/nodejs#20.${rng.between(10, 19)}.0 api/${service}#3.${rng.between(600, 800)}.0 exec-env/AWS_Lambda_nodejs20.x m/E,N`,
  ],
  [
    2,
    (rng) =>
      `[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.${rng.between(500, 780)} Linux/5.10.${rng.between(200, 240)}-${rng.between(200, 230)}.955.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.${rng.between(400, 430)}-b08 java/1.8.0_${rng.between(400, 430)} vendor/Oracle_Corporation cfg/retry-mode/standard]`,
  ],
  [
    2,
    (rng) =>
      `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/1${rng.between(24, 31)}.0.0.0 Safari/537.36`,
  ],
  [2, () => 'AWS Internal'],
  [2, () => 'console.amazonaws.com'],
];
const userAgentOf = (rng: Rng, service: string, op: string): string => rng.weighted(USER_AGENTS)(rng, service, op);

const BROWSERS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0',
] as const;

// ---------------------------------------------------------------------------------------------------------------------
// Who.

type Identity = Record<string, unknown>;

interface Ctx {
  rng: Rng;
  account: string;
  region: string;
  timeMs: number;
}

const ROLES = [
  'AWSReservedSSO_AdministratorAccess_5a8c2f1e9b3d7c64',
  'AWSReservedSSO_ReadOnlyAccess_0d4e7b1a6c9f2e38',
  'ci-deploy',
  'payments-app',
  'data-pipeline-etl',
  'eks-node-group-NodeInstanceRole-1KX3J7B0Z9Q2M',
  'lambda-ingest-exec',
  'OrganizationAccountAccessRole',
  'aws-controltower-AdministratorExecutionRole',
] as const;
const SESSIONS = [
  'alice@example.com',
  'bob@example.com',
  'GitHubActions',
  'botocore-session-1727740800',
  'i-0abc1234def567890',
  'aws-go-sdk-1727740800115152000',
  'terraform-run-7f3a',
] as const;
const USERS = ['deploy-bot', 'backup-operator', 'alice', 'bob', 'terraform', 'monitoring-ro'] as const;

const principalIdOf = (rng: Rng, prefix: string): string => `${prefix}${rng.chars(17, UPPER)}`;

const assumedRole = (c: Ctx, invokedBy?: string): Identity => {
  // Mostly the workloads' own roles; people come through IAM Identity Center's (long) role names.
  const role = c.rng.chance(0.7) ? (c.rng.pick(ROLES.slice(2, 7)) as string) : c.rng.pick(ROLES);
  const session = c.rng.pick(SESSIONS);
  const roleId = `AROA${createHash('md5').update(role).digest('hex').slice(0, 17).toUpperCase()}`;
  return {
    type: 'AssumedRole',
    principalId: `${roleId}:${session}`,
    arn: `arn:aws:sts::${c.account}:assumed-role/${role}/${session}`,
    accountId: c.account,
    accessKeyId: `ASIA${c.rng.chars(16, UPPER)}`,
    sessionContext: {
      sessionIssuer: {
        type: 'Role',
        principalId: roleId,
        arn: `arn:aws:iam::${c.account}:role/${role.startsWith('AWSReservedSSO') ? 'aws-reserved/sso.amazonaws.com/' : ''}${role}`,
        accountId: c.account,
        userName: role,
      },
      webIdFederationData: {},
      attributes: { creationDate: cloudTrailTime(c.timeMs - c.rng.int(3_600_000)), mfaAuthenticated: 'false' },
      ...(session.startsWith('i-') ? { ec2RoleDelivery: '2.0' } : {}),
    },
    ...(invokedBy ? { invokedBy } : {}),
  };
};

const iamUser = (c: Ctx): Identity => {
  const user = c.rng.pick(USERS);
  return {
    type: 'IAMUser',
    principalId: `AIDA${createHash('md5').update(user).digest('hex').slice(0, 17).toUpperCase()}`,
    arn: `arn:aws:iam::${c.account}:user/${user}`,
    accountId: c.account,
    accessKeyId: `AKIA${c.rng.chars(16, UPPER)}`,
    userName: user,
  };
};

const awsService = (service: string): Identity => ({ type: 'AWSService', invokedBy: service });

const awsAccount = (c: Ctx): Identity => ({
  type: 'AWSAccount',
  principalId: principalIdOf(c.rng, 'AIDA'),
  accountId: c.account === ACCOUNTS[0] ? ACCOUNTS[1] : ACCOUNTS[0],
});

const federatedUser = (c: Ctx, issuer: 'IAMUser' | 'Root'): Identity => {
  const name = c.rng.pick(['contractor-1', 'break-glass', 'report-job']);
  return {
    type: 'FederatedUser',
    principalId: `${c.account}:${name}`,
    arn: `arn:aws:sts::${c.account}:federated-user/${name}`,
    accountId: c.account,
    accessKeyId: `ASIA${c.rng.chars(16, UPPER)}`,
    sessionContext: {
      sessionIssuer:
        issuer === 'Root'
          ? { type: 'Root', principalId: c.account, arn: `arn:aws:iam::${c.account}:root`, accountId: c.account }
          : {
              type: 'IAMUser',
              principalId: principalIdOf(c.rng, 'AIDA'),
              arn: `arn:aws:iam::${c.account}:user/terraform`,
              accountId: c.account,
              userName: 'terraform',
            },
      webIdFederationData: {},
      attributes: { creationDate: cloudTrailTime(c.timeMs - c.rng.int(3_600_000)), mfaAuthenticated: 'false' },
    },
  };
};

/** Root, signed in to the console (a temporary ASIA key) or with a long-term access key (AKIA). */
const root = (c: Ctx, credential: 'console' | 'long-term', mfa = true): Identity => ({
  type: 'Root',
  principalId: c.account,
  arn: `arn:aws:iam::${c.account}:root`,
  accountId: c.account,
  accessKeyId: `${credential === 'console' ? 'ASIA' : 'AKIA'}${c.rng.chars(16, UPPER)}`,
  ...(credential === 'console'
    ? {
        sessionContext: {
          sessionIssuer: {},
          webIdFederationData: {},
          attributes: {
            creationDate: cloudTrailTime(c.timeMs - c.rng.int(1_800_000)),
            mfaAuthenticated: mfa ? 'true' : 'false',
          },
        },
      }
    : {}),
});

// ---------------------------------------------------------------------------------------------------------------------
// What: the calls. Each gives the fields that depend on the call; `record` adds the rest.

interface Call {
  service: string;
  eventName: string;
  readOnly: boolean;
  requestParameters: unknown;
  responseElements: unknown;
  additionalEventData?: Record<string, unknown>;
  resources?: Record<string, unknown>[];
  /** A data event (S3 objects, Lambda Invoke, Bedrock): eventCategory Data, managementEvent false. */
  data?: boolean;
  global?: boolean;
}

type CallMaker = (c: Ctx) => Call;

const instanceId = (rng: Rng) => `i-0${rng.hex(16)}`;
const BUCKETS = ['prod-payments-reports', 'data-lake-raw-eu', 'ci-artifacts-7f3a', 'app-static-assets'] as const;

/** A URL-encoded IAM policy document, as IAM's responses carry them (a few hundred bytes to a few KB). */
const policyDocument = (rng: Rng, statements: number): string =>
  encodeURIComponent(
    JSON.stringify({
      Version: '2012-10-17',
      Statement: Array.from({ length: statements }, (_, i) => ({
        Sid: `Stmt${i}${rng.hex(6)}`,
        Effect: 'Allow',
        Action: rng.pick([
          ['s3:GetObject', 's3:PutObject', 's3:ListBucket'],
          ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
          ['kms:Decrypt', 'kms:GenerateDataKey'],
          ['logs:CreateLogStream', 'logs:PutLogEvents'],
        ]),
        Resource: [`arn:aws:s3:::${rng.pick(BUCKETS)}/*`, `arn:aws:s3:::${rng.pick(BUCKETS)}`],
      })),
    }),
  );

const ec2Calls: CallMaker[] = [
  ({ rng }) => ({
    service: 'ec2',
    eventName: 'DescribeInstances',
    readOnly: true,
    requestParameters: {
      instancesSet: {},
      filterSet: { items: [{ name: 'tag:Name', valueSet: { items: [{ value: rng.pick(['web-*', 'batch-*']) }] } }] },
    },
    responseElements: null,
  }),
  ({ rng }) => ({
    service: 'ec2',
    eventName: rng.pick(['DescribeSecurityGroups', 'DescribeVpcs', 'DescribeSubnets', 'DescribeVolumes']),
    readOnly: true,
    requestParameters: { maxResults: 1000, filterSet: {} },
    responseElements: null,
  }),
  ({ rng }) => ({
    service: 'ec2',
    eventName: 'DescribeNetworkInterfaces',
    readOnly: true,
    requestParameters: {
      networkInterfaceIdSet: {},
      filterSet: { items: [{ name: 'vpc-id', valueSet: { items: [{ value: `vpc-0${rng.hex(16)}` }] } }] },
    },
    responseElements: null,
  }),
  ({ rng }) => ({
    service: 'ec2',
    eventName: 'CreateTags',
    readOnly: false,
    requestParameters: {
      resourcesSet: { items: [{ resourceId: instanceId(rng) }] },
      tagSet: { items: [{ key: 'reviewed', value: 'yes' }] },
    },
    responseElements: { requestId: rng.uuid(), _return: true },
  }),
  ({ rng, account }) => ({
    service: 'ec2',
    eventName: 'AuthorizeSecurityGroupIngress',
    readOnly: false,
    requestParameters: {
      groupId: `sg-0${rng.hex(16)}`,
      ipPermissions: {
        items: [
          {
            ipProtocol: 'tcp',
            fromPort: 443,
            toPort: 443,
            groups: {},
            ipRanges: { items: [{ cidrIp: '203.0.113.0/24', description: 'office' }] },
            ipv6Ranges: {},
            prefixListIds: {},
          },
        ],
      },
    },
    responseElements: {
      requestId: rng.uuid(),
      _return: true,
      securityGroupRuleSet: {
        items: [
          {
            groupOwnerId: account,
            groupId: `sg-0${rng.hex(16)}`,
            securityGroupRuleId: `sgr-0${rng.hex(16)}`,
            isEgress: false,
            ipProtocol: 'tcp',
            fromPort: 443,
            toPort: 443,
            cidrIpv4: '203.0.113.0/24',
            description: 'office',
          },
        ],
      },
    },
  }),
];

/** RunInstances: the large records of a trail (the response describes each instance at length, ~6 KB). */
const runInstances: CallMaker = ({ rng, account, region }) => {
  const count = rng.between(1, 3);
  const instances = Array.from({ length: count }, () => {
    const id = instanceId(rng);
    const ip = `10.0.${rng.between(0, 255)}.${rng.between(1, 254)}`;
    const eni = `eni-0${rng.hex(16)}`;
    return {
      instanceId: id,
      imageId: `ami-0${rng.hex(16)}`,
      currentInstanceBootMode: 'legacy-bios',
      instanceState: { code: 0, name: 'pending' },
      privateDnsName: `ip-${ip.replaceAll('.', '-')}.${region}.compute.internal`,
      amiLaunchIndex: 0,
      productCodes: {},
      instanceType: rng.pick(['t3.micro', 'm6i.large', 'c7g.xlarge']),
      launchTime: 1_727_740_800_000,
      placement: { availabilityZone: `${region}a`, tenancy: 'default' },
      monitoring: { state: 'disabled' },
      subnetId: `subnet-0${rng.hex(16)}`,
      vpcId: `vpc-0${rng.hex(16)}`,
      privateIpAddress: ip,
      stateReason: { code: 'pending', message: 'pending' },
      architecture: 'x86_64',
      rootDeviceType: 'ebs',
      rootDeviceName: '/dev/xvda',
      blockDeviceMapping: {},
      virtualizationType: 'hvm',
      clientToken: rng.uuid(),
      groupSet: { items: [{ groupId: `sg-0${rng.hex(16)}`, groupName: 'default' }] },
      sourceDestCheck: true,
      hypervisor: 'xen',
      networkInterfaceSet: {
        items: [
          {
            networkInterfaceId: eni,
            subnetId: `subnet-0${rng.hex(16)}`,
            vpcId: `vpc-0${rng.hex(16)}`,
            ownerId: account,
            status: 'in-use',
            macAddress: `0a:${rng.hex(2)}:${rng.hex(2)}:${rng.hex(2)}:${rng.hex(2)}:${rng.hex(2)}`,
            privateIpAddress: ip,
            privateDnsName: `ip-${ip.replaceAll('.', '-')}.${region}.compute.internal`,
            sourceDestCheck: true,
            interfaceType: 'interface',
            groupSet: { items: [{ groupId: `sg-0${rng.hex(16)}`, groupName: 'default' }] },
            attachment: {
              attachmentId: `eni-attach-0${rng.hex(16)}`,
              deviceIndex: 0,
              networkCardIndex: 0,
              status: 'attaching',
              attachTime: 1_727_740_800_000,
              deleteOnTermination: true,
            },
            privateIpAddressesSet: { item: [{ privateIpAddress: ip, primary: true }] },
            ipv6AddressesSet: {},
            tagSet: {},
          },
        ],
      },
      ebsOptimized: false,
      enaSupport: true,
      cpuOptions: { coreCount: 1, threadsPerCore: 2 },
      capacityReservationSpecification: { capacityReservationPreference: 'open' },
      enclaveOptions: { enabled: false },
      metadataOptions: {
        state: 'pending',
        httpTokens: 'required',
        httpPutResponseHopLimit: 2,
        httpEndpoint: 'enabled',
        httpProtocolIpv4: 'enabled',
        httpProtocolIpv6: 'disabled',
        instanceMetadataTags: 'disabled',
      },
      maintenanceOptions: { autoRecovery: 'default' },
      privateDnsNameOptions: { hostnameType: 'ip-name', enableResourceNameDnsARecord: false },
    };
  });
  return {
    service: 'ec2',
    eventName: 'RunInstances',
    readOnly: false,
    requestParameters: {
      instancesSet: { items: [{ imageId: `ami-0${rng.hex(16)}`, minCount: count, maxCount: count }] },
      instanceType: 'm6i.large',
      blockDeviceMapping: {},
      monitoring: { enabled: false },
      disableApiTermination: false,
      disableApiStop: false,
      clientToken: rng.uuid(),
      iamInstanceProfile: { name: 'eks-node-group-NodeInstanceProfile' },
      tagSpecificationSet: {
        items: [{ resourceType: 'instance', tags: [{ key: 'Name', value: `batch-${rng.hex(6)}` }] }],
      },
      launchTemplate: { launchTemplateId: `lt-0${rng.hex(16)}`, version: '3' },
    },
    responseElements: {
      requestId: rng.uuid(),
      reservationId: `r-0${rng.hex(16)}`,
      ownerId: account,
      groupSet: {},
      instancesSet: { items: instances },
    },
  };
};

const s3Calls: CallMaker[] = [
  // Data events: object reads and writes, with resources and the S3 extras.
  ({ rng, account, region }) => {
    const bucket = rng.pick(BUCKETS);
    const key = `${rng.pick(['reports', 'raw/2026/10', 'builds', 'img'])}/${rng.hex(12)}.${rng.pick(['parquet', 'json', 'zip', 'png'])}`;
    const name = rng.pick(['GetObject', 'PutObject', 'HeadObject']);
    return {
      service: 's3',
      eventName: name,
      readOnly: name !== 'PutObject',
      data: true,
      requestParameters: { bucketName: bucket, Host: `${bucket}.s3.${region}.amazonaws.com`, key },
      responseElements: name === 'PutObject' ? { 'x-amz-server-side-encryption': 'aws:kms' } : null,
      additionalEventData: {
        SignatureVersion: 'SigV4',
        CipherSuite: 'TLS_AES_128_GCM_SHA256',
        bytesTransferredIn: name === 'PutObject' ? rng.between(1000, 5_000_000) : 0,
        AuthenticationMethod: 'AuthHeader',
        'x-amz-id-2': rng.chars(76, BASE64),
        bytesTransferredOut: name === 'GetObject' ? rng.between(1000, 5_000_000) : 0,
      },
      resources: [
        { type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${bucket}/${key}` },
        { accountId: account, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${bucket}` },
      ],
    };
  },
  ({ rng, region }) => {
    const bucket = rng.pick(BUCKETS);
    const name = rng.pick(['GetBucketPolicy', 'GetBucketAcl', 'GetBucketLocation', 'GetBucketEncryption']);
    return {
      service: 's3',
      eventName: name,
      readOnly: true,
      requestParameters: {
        bucketName: bucket,
        Host: `${bucket}.s3.${region}.amazonaws.com`,
        [name.slice(9).toLowerCase()]: '',
      },
      responseElements: null,
      additionalEventData: {
        SignatureVersion: 'SigV4',
        CipherSuite: 'TLS_AES_128_GCM_SHA256',
        bytesTransferredIn: 0,
        AuthenticationMethod: 'AuthHeader',
        'x-amz-id-2': rng.chars(76, BASE64),
        bytesTransferredOut: rng.between(100, 2000),
      },
      resources: [{ accountId: ACCOUNTS[0], type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${bucket}` }],
    };
  },
];

const iamCalls: CallMaker[] = [
  ({ rng }) => ({
    service: 'iam',
    eventName: rng.pick(['ListRoles', 'ListUsers', 'ListPolicies', 'GetAccountAuthorizationDetails']),
    readOnly: true,
    global: true,
    requestParameters: rng.chance(0.5) ? null : { maxItems: 100, marker: rng.chars(40, BASE64) },
    responseElements: null,
  }),
  ({ rng }) => ({
    service: 'iam',
    eventName: rng.pick(['GetRole', 'ListAttachedRolePolicies', 'ListRolePolicies']),
    readOnly: true,
    global: true,
    requestParameters: { roleName: rng.pick(ROLES) },
    responseElements: null,
  }),
  ({ rng, account }) => ({
    service: 'iam',
    eventName: 'GetPolicyVersion',
    readOnly: true,
    global: true,
    requestParameters: { policyArn: `arn:aws:iam::${account}:policy/app-${rng.hex(6)}`, versionId: 'v3' },
    responseElements: {
      policyVersion: {
        document: policyDocument(rng, rng.between(2, 8)),
        versionId: 'v3',
        isDefaultVersion: true,
        createDate: 'Sep 12, 2026, 9:15:02 AM',
      },
    },
  }),
  ({ rng, account }) => {
    const role = `app-${rng.hex(8)}`;
    return {
      service: 'iam',
      eventName: 'CreateRole',
      readOnly: false,
      global: true,
      requestParameters: {
        roleName: role,
        assumeRolePolicyDocument:
          '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}',
        tags: [{ key: 'team', value: 'payments' }],
      },
      responseElements: {
        role: {
          path: '/',
          roleName: role,
          roleId: principalIdOf(rng, 'AROA'),
          arn: `arn:aws:iam::${account}:role/${role}`,
          createDate: 'Oct 1, 2026, 12:03:17 AM',
          assumeRolePolicyDocument:
            '%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22lambda.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D',
          tags: [{ key: 'team', value: 'payments' }],
        },
      },
    };
  },
  ({ rng }) => ({
    service: 'iam',
    eventName: 'AttachRolePolicy',
    readOnly: false,
    global: true,
    requestParameters: {
      roleName: rng.pick(ROLES),
      policyArn: 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
    },
    responseElements: null,
  }),
];

const stsCalls: CallMaker[] = [
  ({ rng, account }) => {
    const role = rng.pick(ROLES);
    const session = rng.pick(SESSIONS);
    return {
      service: 'sts',
      eventName: 'AssumeRole',
      readOnly: true,
      requestParameters: {
        roleArn: `arn:aws:iam::${account}:role/${role}`,
        roleSessionName: session,
        durationSeconds: 3600,
      },
      responseElements: {
        credentials: {
          accessKeyId: `ASIA${rng.chars(16, UPPER)}`,
          sessionToken: `IQoJb3JpZ2luX2VjE${rng.chars(rng.between(250, 450), BASE64)}`,
          expiration: 'Oct 1, 2026, 1:03:17 AM',
        },
        assumedRoleUser: {
          assumedRoleId: `${principalIdOf(rng, 'AROA')}:${session}`,
          arn: `arn:aws:sts::${account}:assumed-role/${role}/${session}`,
        },
      },
      resources: [{ accountId: account, type: 'AWS::IAM::Role', ARN: `arn:aws:iam::${account}:role/${role}` }],
    };
  },
  () => ({
    service: 'sts',
    eventName: 'GetCallerIdentity',
    readOnly: true,
    requestParameters: null,
    responseElements: null,
  }),
];

const otherCalls: CallMaker[] = [
  ({ rng, account, region }) => {
    const key = rng.uuid();
    return {
      service: 'kms',
      eventName: rng.pick(['Decrypt', 'GenerateDataKey']),
      readOnly: true,
      requestParameters: {
        encryptionContext: {
          'aws:lambda:FunctionArn': `arn:aws:lambda:${region}:${account}:function:payments-${rng.hex(6)}`,
        },
        encryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      },
      responseElements: null,
      resources: [{ accountId: account, type: 'AWS::KMS::Key', ARN: `arn:aws:kms:${region}:${account}:key/${key}` }],
    };
  },
  ({ rng, account, region }) => ({
    service: 'ssm',
    eventName: rng.pick(['GetParameter', 'GetParameters']),
    readOnly: true,
    requestParameters: { name: `/app/prod/${rng.pick(['db-url', 'api-key', 'feature-flags'])}`, withDecryption: true },
    responseElements: null,
    resources: [
      {
        accountId: account,
        type: 'AWS::SSM::Parameter',
        ARN: `arn:aws:ssm:${region}:${account}:parameter/app/prod/db-url`,
      },
    ],
  }),
  ({ rng }) => ({
    service: 'ssm',
    eventName: 'UpdateInstanceInformation',
    readOnly: false,
    requestParameters: {
      instanceId: instanceId(rng),
      agentVersion: `3.3.${rng.between(100, 999)}.0`,
      agentStatus: 'Active',
      platformType: 'Linux',
      platformName: 'Amazon Linux',
      platformVersion: '2023',
      iPAddress: `10.0.${rng.between(0, 255)}.${rng.between(1, 254)}`,
      computerName: `ip-10-0-${rng.between(0, 255)}-${rng.between(1, 254)}.ec2.internal`,
      agentName: 'amazon-ssm-agent',
      availabilityZone: 'us-east-1a',
      availabilityZoneId: 'use1-az4',
      sSMConnectionChannel: 'ssmmessages',
    },
    responseElements: null,
  }),
  ({ rng, account, region }) => ({
    service: 'secretsmanager',
    eventName: rng.pick(['GetSecretValue', 'DescribeSecret']),
    readOnly: true,
    requestParameters: {
      secretId: `arn:aws:secretsmanager:${region}:${account}:secret:prod/payments/db-${rng.chars(6, BASE64.slice(0, 62))}`,
    },
    responseElements: null,
  }),
  ({ rng }) => ({
    service: 'rds',
    eventName: rng.pick(['DescribeDBInstances', 'DescribeDBClusters', 'DescribeDBSnapshots']),
    readOnly: true,
    requestParameters: { maxRecords: 100, includeShared: false },
    responseElements: null,
  }),
  ({ rng }) => ({
    service: 'dynamodb',
    eventName: rng.pick(['DescribeTable', 'ListTables', 'DescribeContinuousBackups']),
    readOnly: true,
    requestParameters: { tableName: rng.pick(['ledger', 'sessions', 'feature-flags']) },
    responseElements: null,
  }),
  ({ rng, account, region }) => ({
    service: 'logs',
    eventName: rng.pick(['CreateLogStream', 'DescribeLogGroups', 'DescribeLogStreams']),
    readOnly: false,
    requestParameters: {
      logGroupName: `/aws/lambda/payments-${rng.hex(6)}`,
      logStreamName: `2026/10/01/[$LATEST]${rng.hex(32)}`,
    },
    responseElements: null,
    resources: [
      {
        accountId: account,
        type: 'AWS::Logs::LogGroup',
        ARN: `arn:aws:logs:${region}:${account}:log-group:/aws/lambda/payments`,
      },
    ],
  }),
  ({ rng }) => ({
    service: 'cloudtrail',
    eventName: rng.pick(['DescribeTrails', 'GetTrailStatus', 'LookupEvents', 'ListTrails']),
    readOnly: true,
    requestParameters: { trailNameList: [], includeShadowTrails: true },
    responseElements: null,
  }),
  ({ rng, account, region }) => ({
    service: 'lambda',
    eventName: rng.pick(['GetFunction20150331v2', 'ListFunctions20150331', 'GetFunctionConfiguration20150331v2']),
    readOnly: true,
    requestParameters: { functionName: `arn:aws:lambda:${region}:${account}:function:payments-${rng.hex(6)}` },
    responseElements: null,
  }),
  ({ rng }) => ({
    service: 'ecr',
    eventName: rng.pick(['GetAuthorizationToken', 'BatchCheckLayerAvailability', 'DescribeImages']),
    readOnly: true,
    requestParameters: { repositoryName: rng.pick(['payments-api', 'etl-runner']), registryId: ACCOUNTS[0] },
    responseElements: null,
  }),
  ({ rng }) => ({
    service: 'monitoring',
    eventName: rng.pick(['DescribeAlarms', 'GetMetricData', 'ListMetrics']),
    readOnly: true,
    requestParameters: { alarmNamePrefix: 'payments-', maxRecords: 100 },
    responseElements: null,
  }),
  ({ rng }) => ({
    service: 'cloudformation',
    eventName: rng.pick(['DescribeStacks', 'DescribeStackEvents', 'ListStackResources']),
    readOnly: true,
    requestParameters: { stackName: `payments-${rng.pick(['api', 'etl', 'network'])}-prod` },
    responseElements: null,
  }),
  ({ rng, region }) => ({
    service: 'bedrock',
    eventName: 'InvokeModel',
    readOnly: true,
    data: true,
    requestParameters: {
      modelId: `arn:aws:bedrock:${region}::foundation-model/anthropic.claude-3-haiku-20240307-v1:0`,
    },
    responseElements: null,
    additionalEventData: { inputTokens: rng.between(50, 4000), outputTokens: rng.between(10, 800) },
  }),
  ({ rng }) => ({
    service: 'elasticloadbalancing',
    eventName: rng.pick(['DescribeTargetHealth', 'DescribeLoadBalancers', 'DescribeTargetGroups']),
    readOnly: true,
    requestParameters: { pageSize: 400 },
    responseElements: null,
  }),
];

// ---------------------------------------------------------------------------------------------------------------------
// Records.

type RecordObject = Record<string, unknown> & { eventID: string };

const hostOf = (service: string, region: string, global?: boolean): string =>
  global ? `${service}.amazonaws.com` : `${service}.${region}.amazonaws.com`;

/** An EC2-style denial: an encoded authorization failure message, as long as EC2 writes it (~1 KB). */
const errorOf = (rng: Rng, call: Call, identity: Identity): { errorCode: string; errorMessage: string } => {
  const who = String(identity.arn ?? 'arn:aws:sts::111122223333:assumed-role/ci-deploy/GitHubActions');
  const roll = rng.next();
  if (call.service === 'ec2' && roll < 0.6) {
    return {
      errorCode: 'Client.UnauthorizedOperation',
      errorMessage: `You are not authorized to perform this operation. User: ${who} is not authorized to perform: ec2:${call.eventName} on resource: arn:aws:ec2:*:*:instance/* because no identity-based policy allows the ec2:${call.eventName} action. Encoded authorization failure message: ${rng.chars(rng.between(600, 1000), URLSAFE)}`,
    };
  }
  if (roll < 0.75) return { errorCode: 'ThrottlingException', errorMessage: 'Rate exceeded' };
  return {
    errorCode: 'AccessDenied',
    errorMessage: `User: ${who} is not authorized to perform: ${call.service}:${call.eventName} because no identity-based policy allows the ${call.service}:${call.eventName} action`,
  };
};

/** The record CloudTrail writes for `call` by `identity`, in CloudTrail's field order. */
const recordOf = (
  c: Ctx,
  call: Call,
  identity: Identity,
  options: { error?: boolean; userAgent?: string; sourceIp?: string; fromConsole?: boolean } = {},
): RecordObject => {
  const { rng } = c;
  const region = call.global ? HOME_REGION : c.region;
  const byService = typeof identity.invokedBy === 'string' && identity.invokedBy.endsWith('.amazonaws.com');
  const sourceIp = options.sourceIp ?? (byService ? (identity.invokedBy as string) : ipOf(rng));
  const userAgent =
    options.userAgent ?? (byService ? (identity.invokedBy as string) : userAgentOf(rng, call.service, call.eventName));
  const error = options.error ? errorOf(rng, call, identity) : undefined;
  return {
    eventVersion: call.data ? '1.10' : rng.pick(['1.08', '1.09', '1.10', '1.11']),
    userIdentity: identity,
    eventTime: cloudTrailTime(c.timeMs),
    eventSource: `${call.service}.amazonaws.com`,
    eventName: call.eventName,
    awsRegion: region,
    sourceIPAddress: sourceIp,
    userAgent,
    ...(error ?? {}),
    requestParameters: call.requestParameters,
    responseElements: error ? null : call.responseElements,
    ...(call.additionalEventData ? { additionalEventData: call.additionalEventData } : {}),
    requestID: call.service === 's3' ? rng.chars(16, UPPER) : rng.uuid(),
    eventID: rng.uuid(),
    readOnly: call.readOnly,
    ...(call.resources ? { resources: call.resources } : {}),
    eventType: 'AwsApiCall',
    managementEvent: !call.data,
    recipientAccountId: c.account,
    ...(byService && call.service === 'sts' ? { sharedEventID: rng.uuid() } : {}),
    eventCategory: call.data ? 'Data' : 'Management',
    ...(byService
      ? {}
      : {
          tlsDetails: {
            tlsVersion: rng.pick(['TLSv1.3', 'TLSv1.3', 'TLSv1.2']),
            cipherSuite: rng.pick(['TLS_AES_128_GCM_SHA256', 'ECDHE-RSA-AES128-GCM-SHA256']),
            clientProvidedHostHeader: hostOf(call.service, region, call.global),
          },
        }),
    ...(options.fromConsole ? { sessionCredentialFromConsole: 'true' } : {}),
  };
};

/** An AWS service event: no userIdentity.type, eventType AwsServiceEvent (key rotation, snapshot sharing…). */
const serviceEventOf = (c: Ctx): RecordObject => {
  const { rng } = c;
  const kind = rng.pick([
    { service: 'kms', eventName: 'RotateKey' },
    { service: 'ec2', eventName: 'SharedSnapshotCopyInitiated' },
    { service: 'health', eventName: 'AWSHealthEvent' },
  ]);
  return {
    eventVersion: '1.08',
    userIdentity: { accountId: c.account, invokedBy: `${kind.service}.amazonaws.com` },
    eventTime: cloudTrailTime(c.timeMs),
    eventSource: `${kind.service}.amazonaws.com`,
    eventName: kind.eventName,
    awsRegion: c.region,
    sourceIPAddress: `${kind.service}.amazonaws.com`,
    userAgent: `${kind.service}.amazonaws.com`,
    requestParameters: null,
    responseElements: null,
    additionalEventData: { keyId: `arn:aws:kms:${c.region}:${c.account}:key/${rng.uuid()}` },
    eventID: rng.uuid(),
    readOnly: false,
    resources: [
      { accountId: c.account, type: 'AWS::KMS::Key', ARN: `arn:aws:kms:${c.region}:${c.account}:key/${rng.uuid()}` },
    ],
    eventType: 'AwsServiceEvent',
    managementEvent: true,
    recipientAccountId: c.account,
    eventCategory: 'Management',
  };
};

const REGIONAL_CALLS: readonly (readonly [number, CallMaker[]])[] = [
  [20, ec2Calls],
  [1.2, [runInstances]],
  [18, s3Calls],
  [10, stsCalls],
  [40, otherCalls],
];

/** An ordinary call of `c.region` (IAM's are logged in us-east-1 only). */
const ordinaryCall = (c: Ctx): Call => {
  const pools = c.region === HOME_REGION ? [...REGIONAL_CALLS, [12, iamCalls] as const] : REGIONAL_CALLS;
  return c.rng.pick(c.rng.weighted(pools))(c);
};

/** Ordinary activity: no detection matches it. */
const ordinaryRecord = (c: Ctx): RecordObject => {
  const { rng } = c;
  const kind = rng.weighted<string>([
    [50, 'role'],
    [15, 'user'],
    [16, 'service'],
    [10, 'role-by-service'],
    [3, 'account'],
    [2, 'federated'],
    [2, 'service-event'],
  ]);
  if (kind === 'service-event') return serviceEventOf(c);
  const call = ordinaryCall(c);
  const identity =
    kind === 'role'
      ? assumedRole(c)
      : kind === 'user'
        ? iamUser(c)
        : kind === 'service'
          ? awsService(rng.pick(['lambda.amazonaws.com', 'ec2.amazonaws.com', 'ecs-tasks.amazonaws.com']))
          : kind === 'role-by-service'
            ? assumedRole(
                c,
                rng.pick(['cloudformation.amazonaws.com', 'config.amazonaws.com', 'autoscaling.amazonaws.com']),
              )
            : kind === 'account'
              ? awsAccount(c)
              : federatedUser(c, 'IAMUser');
  return recordOf(c, call, identity, { error: rng.chance(0.06) });
};

const SIGN_IN_HOST = 'signin.aws.amazon.com';

/** A root ConsoleLogin: success (with or without MFA) or failure. */
const rootConsoleLogin = (c: Ctx, outcome: 'success' | 'failure', mfa: boolean): RecordObject => {
  const { rng } = c;
  return {
    eventVersion: '1.11',
    userIdentity: {
      type: 'Root',
      principalId: c.account,
      arn: `arn:aws:iam::${c.account}:root`,
      accountId: c.account,
      accessKeyId: '',
    },
    eventTime: cloudTrailTime(c.timeMs),
    eventSource: 'signin.amazonaws.com',
    eventName: 'ConsoleLogin',
    awsRegion: HOME_REGION,
    sourceIPAddress: ipOf(rng),
    userAgent: rng.pick(BROWSERS),
    ...(outcome === 'failure' ? { errorMessage: 'Failed authentication' } : {}),
    requestParameters: null,
    responseElements: { ConsoleLogin: outcome === 'success' ? 'Success' : 'Failure' },
    additionalEventData: {
      LoginTo: `https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1_${rng.hex(16)}`,
      MobileVersion: 'No',
      ...(mfa ? { MFAIdentifier: `arn:aws:iam::${c.account}:mfa/root-account-mfa-device` } : {}),
      MFAUsed: mfa ? 'Yes' : 'No',
    },
    eventID: rng.uuid(),
    readOnly: false,
    eventType: 'AwsConsoleSignIn',
    managementEvent: true,
    recipientAccountId: c.account,
    eventCategory: 'Management',
    tlsDetails: {
      tlsVersion: 'TLSv1.3',
      cipherSuite: 'TLS_AES_128_GCM_SHA256',
      clientProvidedHostHeader: SIGN_IN_HOST,
    },
  };
};

/** A step of root's sign-in flow that is not ConsoleLogin (never alerted: EXCLUSIONS['sign-in-flow']). */
const rootSignInFlow = (c: Ctx): RecordObject => {
  const { rng } = c;
  const step = rng.pick(['CheckMfa', 'CredentialVerification', 'CredentialChallenge', 'PasswordUpdated']);
  return {
    eventVersion: '1.11',
    userIdentity: {
      type: 'Root',
      principalId: c.account,
      arn: `arn:aws:iam::${c.account}:root`,
      accountId: c.account,
      accessKeyId: '',
    },
    eventTime: cloudTrailTime(c.timeMs),
    eventSource: 'signin.amazonaws.com',
    eventName: step,
    awsRegion: HOME_REGION,
    sourceIPAddress: ipOf(rng),
    userAgent: rng.pick(BROWSERS),
    ...(step === 'PasswordUpdated' ? { errorMessage: 'Failed authentication' } : {}),
    requestParameters: null,
    responseElements:
      step === 'CheckMfa'
        ? { CheckMfa: 'Success' }
        : step === 'PasswordUpdated'
          ? { PasswordUpdated: 'Failure' }
          : null,
    additionalEventData:
      step === 'CheckMfa'
        ? { MfaType: 'Virtual MFA' }
        : step === 'PasswordUpdated'
          ? {}
          : { CredentialType: 'PASSWORD' },
    ...(step === 'CredentialVerification' || step === 'CredentialChallenge'
      ? { serviceEventDetails: { [step]: 'Success' } }
      : {}),
    eventID: rng.uuid(),
    readOnly: false,
    eventType: 'AwsConsoleSignIn',
    managementEvent: true,
    recipientAccountId: c.account,
    eventCategory: 'Management',
    tlsDetails: {
      tlsVersion: 'TLSv1.3',
      cipherSuite: 'TLS_AES_128_GCM_SHA256',
      clientProvidedHostHeader: SIGN_IN_HOST,
    },
  };
};

/** A write call `eventName` on IAM (a global service: logged in us-east-1). */
const iamCall = (eventName: string, requestParameters: unknown, responseElements: unknown = null): Call => ({
  service: 'iam',
  eventName,
  readOnly: false,
  global: true,
  requestParameters,
  responseElements,
});

const trailCall = (c: Ctx, eventName: 'StopLogging' | 'DeleteTrail' | 'UpdateTrail' | 'PutEventSelectors'): Call => ({
  service: 'cloudtrail',
  eventName,
  readOnly: false,
  requestParameters: {
    name: `arn:aws:cloudtrail:${c.region}:${c.account}:trail/${c.rng.pick(['org-trail', 'management-events'])}`,
    ...(eventName === 'UpdateTrail' ? { isMultiRegionTrail: false } : {}),
  },
  responseElements: null,
});

/** One Root record and its label. */
const rootRecord = (c: Ctx): { record: RecordObject; label: Label } => {
  const { rng } = c;
  const kind = rng.weighted<string>([
    [32, 'console-api'],
    [12, 'long-term-api'],
    [6, 'sign-in-mfa'],
    [3, 'sign-in-no-mfa'],
    [7, 'sign-in-failure'],
    [3, 'deactivate-mfa'],
    [3, 'create-access-key'],
    [3, 'stop-logging'],
    [2, 'delete-trail'],
    [10, 'sign-in-flow'],
    [10, 'invoked-by-service'],
  ]);
  const browser = rng.pick(BROWSERS);
  const consoleCall = (call: Call, mfa = true) =>
    recordOf(c, call, root(c, 'console', mfa), { userAgent: browser, fromConsole: true, error: rng.chance(0.04) });
  switch (kind) {
    case 'console-api':
      return {
        record: consoleCall(ordinaryCall(c), rng.chance(0.8)),
        label: { kind: 'root-alert', what: 'root API call from a console session' },
      };
    case 'long-term-api':
      return {
        record: recordOf(c, ordinaryCall(c), root(c, 'long-term'), { error: rng.chance(0.04) }),
        label: { kind: 'root-alert', what: 'root API call with a long-term access key' },
      };
    case 'sign-in-mfa':
      return {
        record: rootConsoleLogin(c, 'success', true),
        label: { kind: 'root-alert', what: 'root console sign-in with MFA' },
      };
    case 'sign-in-no-mfa':
      return {
        record: rootConsoleLogin(c, 'success', false),
        label: { kind: 'root-alert', what: 'root console sign-in without MFA' },
      };
    case 'sign-in-failure':
      return {
        record: rootConsoleLogin(c, 'failure', rng.chance(0.3)),
        label: { kind: 'root-alert', what: 'root console sign-in failure' },
      };
    case 'deactivate-mfa':
      return {
        record: consoleCall(
          iamCall(rng.pick(['DeactivateMFADevice', 'DeleteVirtualMFADevice']), {
            userName: 'AWS ROOT USER',
            serialNumber: `arn:aws:iam::${c.account}:mfa/root-account-mfa-device`,
          }),
        ),
        label: { kind: 'root-alert', what: 'root MFA deactivation' },
      };
    case 'create-access-key':
      return {
        record: consoleCall(
          iamCall('CreateAccessKey', null, {
            accessKey: {
              accessKeyId: `AKIA${rng.chars(16, UPPER)}`,
              status: 'Active',
              createDate: cloudTrailTime(c.timeMs),
            },
          }),
        ),
        label: { kind: 'root-alert', what: 'root access key creation' },
      };
    case 'stop-logging':
    case 'delete-trail':
      return {
        record: consoleCall(trailCall(c, kind === 'stop-logging' ? 'StopLogging' : 'DeleteTrail')),
        label: { kind: 'root-alert', what: 'trail tampering by root' },
      };
    case 'sign-in-flow':
      return {
        record: rootSignInFlow(c),
        label: { kind: 'root-excluded', what: 'root sign-in flow event', why: 'sign-in-flow' },
      };
    default: {
      const identity = { ...root(c, 'console'), invokedBy: rng.pick(['AWS Internal', 'cloudformation.amazonaws.com']) };
      return {
        record: recordOf(c, ordinaryCall(c), identity, { fromConsole: true }),
        label: { kind: 'root-excluded', what: 'root call made by a service', why: 'invoked-by-service' },
      };
    }
  }
};

/** A non-Root record that alerts: trail tampering, MFA deactivation, or a call of a federated user root issued. */
const otherAlertRecord = (c: Ctx): { record: RecordObject; label: Label } => {
  const { rng } = c;
  const kind = rng.weighted<string>([
    [5, 'trail'],
    [2, 'mfa'],
    [2, 'federated-of-root'],
  ]);
  if (kind === 'trail') {
    const name = rng.pick(['StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors'] as const);
    return {
      record: recordOf(c, trailCall(c, name), rng.chance(0.7) ? assumedRole(c) : iamUser(c)),
      label: { kind: 'other-alert', what: 'trail tampering by a role or user' },
    };
  }
  if (kind === 'mfa') {
    const user = iamUser(c);
    return {
      record: recordOf(
        c,
        iamCall('DeactivateMFADevice', {
          userName: user.userName,
          serialNumber: `arn:aws:iam::${c.account}:mfa/${String(user.userName)}`,
        }),
        user,
      ),
      label: { kind: 'other-alert', what: 'MFA deactivation by an IAM user' },
    };
  }
  return {
    record: recordOf(c, ordinaryCall(c), federatedUser(c, 'Root')),
    label: { kind: 'other-alert', what: 'call by a federated user root issued' },
  };
};

/** The seed of file `index`'s PRNG stream. */
const fileSeed = (seed: number, index: number): number =>
  (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(index + 1, 0x85ebca6b)) >>> 0;

/** File `index` of the corpus: its path under the corpus directory, records, and labels. */
const corpusFile = (
  seed: number,
  index: number,
  recordsPerFile: number,
): { path: string; records: RecordObject[]; labels: [string, Label][] } => {
  const rng = new Rng(fileSeed(seed, index));
  const pairs = ACCOUNTS.length * REGIONS.length;
  const account = ACCOUNTS[index % ACCOUNTS.length] as string;
  const region = REGIONS[Math.floor(index / ACCOUNTS.length) % REGIONS.length] as string;
  const fileMs = START_MS + Math.floor(index / pairs) * FILE_SPAN_MS;
  const records: RecordObject[] = [];
  const labels: [string, Label][] = [];
  for (let i = 0; i < recordsPerFile; i++) {
    const c: Ctx = { rng, account, region, timeMs: fileMs - FILE_SPAN_MS + rng.int(FILE_SPAN_MS) };
    const roll = rng.next();
    if (roll < ROOT_SHARE) {
      const { record, label } = rootRecord(c);
      records.push(record);
      labels.push([record.eventID, label]);
    } else if (roll < ROOT_SHARE + OTHER_ALERT_SHARE) {
      const { record, label } = otherAlertRecord(c);
      records.push(record);
      labels.push([record.eventID, label]);
    } else {
      records.push(ordinaryRecord(c));
    }
  }
  const d = new Date(fileMs);
  const ymd = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()].map((n) => String(n).padStart(2, '0'));
  const stamp = d.toISOString().slice(0, 16).replaceAll('-', '').replace(':', '');
  const name = `${account}_CloudTrail_${region}_${stamp}Z_${rng.chars(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789')}.json.gz`;
  return { path: join('AWSLogs', account, 'CloudTrail', region, ...ymd, name), records, labels };
};

/** The bytes of one log file: `{"Records":[…]}` on one line, gzipped (level 6, as gzip's default). */
const fileBytes = (records: readonly RecordObject[]): { gz: Buffer; jsonBytes: number } => {
  let jsonBytes = 0;
  const parts = records.map((record) => {
    const text = JSON.stringify(record);
    jsonBytes += Buffer.byteLength(text);
    return text;
  });
  return { gz: gzipSync(`{"Records":[${parts.join(',')}]}`), jsonBytes };
};

/**
 * Writes the corpus into `dir` (which must exist) and says what it wrote. Deterministic: equal options give equal
 * files (same paths, same bytes: `sha256`). `seed` defaults to 11 (the number), `recordsPerFile` to 1,000.
 */
const writeCorpus = (dir: string, options: CorpusOptions): CorpusManifest => {
  const seed = options.seed ?? 11;
  const recordsPerFile = options.recordsPerFile ?? 1000;
  const hash = createHash('sha256');
  const manifest: CorpusManifest = {
    dir,
    files: [],
    records: 0,
    recordJsonBytes: 0,
    gzipBytes: 0,
    labels: new Map(),
    sha256: '',
  };
  for (let index = 0; index < options.files; index++) {
    const { path, records, labels } = corpusFile(seed, index, recordsPerFile);
    const { gz, jsonBytes } = fileBytes(records);
    const full = join(dir, path);
    mkdirSync(join(full, '..'), { recursive: true });
    writeFileSync(full, gz);
    hash.update(path).update(gz);
    manifest.files.push(full);
    manifest.records += records.length;
    manifest.recordJsonBytes += jsonBytes;
    manifest.gzipBytes += gz.length;
    for (const [id, label] of labels) manifest.labels.set(id, label);
  }
  manifest.sha256 = hash.digest('hex');
  return manifest;
};

/** The records of file `index` (as writeCorpus writes it), for checks that need the objects. */
const corpusRecords = (index: number, options: { seed?: number; recordsPerFile?: number } = {}) =>
  corpusFile(options.seed ?? 11, index, options.recordsPerFile ?? 1000);

export type { CorpusManifest, Exclusion, Label, RecordObject };
export { corpusRecords, EXCLUSIONS, Rng, writeCorpus };
