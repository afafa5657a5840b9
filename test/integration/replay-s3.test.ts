/**
 * `rootwatch replay s3://…` against a real local S3 (fauxqs) through the real @aws-sdk/client-s3, reached through
 * the SDK's own AWS_ENDPOINT_URL_S3. A small HTTP proxy in front of fauxqs counts every LIST (by prefix) and GET (by
 * key) the replay makes and, for fault injection only, answers chosen GETs and LISTs with the errors S3 gives
 * (AccessDenied, a KMS error), which fauxqs cannot produce.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCliCaptured } from '../helpers/cli.js';
import { corpusAvailable, readCorpus } from '../helpers/corpus.js';
import { readSample } from '../helpers/samples.js';

const PLAIN = '111122223333';
const ORG_MEMBER = '444455556666';
const ORG = 'o-aa11bb22cc';
const REGIONS = ['us-east-1', 'eu-west-1'];
const DAYS = ['01', '02', '03', '05'];
const TRAIL = 'trail-bucket';
const FAULTY = 'faulty-trail';
const LOOSE = 'loose-exports';

/** The folder of one account, region and day (October 2026), under the layout. */
const dayFolder = (account: string, region: string, day: string): string =>
  `${account === ORG_MEMBER ? `AWSLogs/${ORG}` : 'AWSLogs'}/${account}/CloudTrail/${region}/2026/10/${day}/`;
const fileName = (account: string, region: string, day: string, n: string): string =>
  `${account}_CloudTrail_${region}_202610${day}T1205Z_${n.padEnd(16, 'x')}.json.gz`;

/** A root API call (alerts) and an IAM user's call (does not) of one account and region, at `time`. */
const recordsAt = (account: string, region: string, time: string, id: string): Record<string, unknown>[] => {
  const root = readSample('root-api-call-put-bucket-versioning.json');
  const user = readSample('iam-user-create-access-key.json');
  const identity = root.userIdentity as Record<string, unknown>;
  return [
    {
      ...root,
      eventID: `root-${id}`,
      eventTime: time,
      awsRegion: region,
      recipientAccountId: account,
      userIdentity: { ...identity, accountId: account, arn: `arn:aws:iam::${account}:root`, principalId: account },
    },
    { ...user, eventID: `user-${id}`, eventTime: time, awsRegion: region, recipientAccountId: account },
  ];
};

const gz = (records: unknown[]): Buffer => gzipSync(JSON.stringify({ Records: records }));

/** Every log file of the trail bucket: key → gzipped body. */
const trailFiles = (() => {
  const files = new Map<string, Buffer>();
  for (const account of [PLAIN, ORG_MEMBER]) {
    for (const region of REGIONS) {
      for (const day of DAYS) {
        const id = `${account}-${region}-${day}`;
        files.set(
          dayFolder(account, region, day) + fileName(account, region, day, 'a'),
          gz(recordsAt(account, region, `2026-10-${day}T10:00:00Z`, id)),
        );
      }
    }
  }
  // Delivered on the 2nd, two minutes after the event of the 1st: only the delivery lag finds it for --until the 1st.
  files.set(
    dayFolder(PLAIN, 'us-east-1', '02') + fileName(PLAIN, 'us-east-1', '02', 'b'),
    gz(recordsAt(PLAIN, 'us-east-1', '2026-10-01T23:58:00Z', 'late')),
  );
  // Real records of the corpus, as a file of their own, when the corpus is there.
  if (corpusAvailable) {
    const scenario = readCorpus<{ record: unknown }>('cloudtrail/panther-scenario-compromised-root-creds.jsonl')
      .slice(0, 50)
      .map((line) => line.record);
    files.set(dayFolder(PLAIN, 'eu-west-1', '03') + fileName(PLAIN, 'eu-west-1', '03', 'corpus'), gz(scenario));
  }
  return files;
})();

/** Objects that are no event logs: never to be fetched. */
const DIGEST_KEY = `AWSLogs/${PLAIN}/CloudTrail-Digest/us-east-1/2026/10/01/${PLAIN}_CloudTrail-Digest_us-east-1_trail_us-east-1_20261001T1205Z.json.gz`;
const INSIGHT_KEY = `AWSLogs/${PLAIN}/CloudTrail-Insight/us-east-1/2026/10/01/${PLAIN}_CloudTrail_us-east-1_20261001T1205Z_insight.json.gz`;

const faultyFolder = dayFolder(PLAIN, 'us-east-1', '01');
const FAULTY_KEYS = {
  good1: `${faultyFolder}${fileName(PLAIN, 'us-east-1', '01', '1good')}`,
  corrupt: `${faultyFolder}${fileName(PLAIN, 'us-east-1', '01', '2corrupt')}`,
  denied: `${faultyFolder}${fileName(PLAIN, 'us-east-1', '01', '3denied')}`,
  kms: `${faultyFolder}${fileName(PLAIN, 'us-east-1', '01', '4kms')}`,
  good2: `${faultyFolder}${fileName(PLAIN, 'us-east-1', '01', '5good')}`,
  empty: `${faultyFolder}${fileName(PLAIN, 'us-east-1', '01', '6empty')}`,
};

interface Seen {
  lists: { bucket: string; prefix: string }[];
  gets: { bucket: string; key: string }[];
}
type Fault = { status: number; code: string; message: string };

/** The proxy: counts what reaches S3, and answers the faults (by `bucket/key` for GETs, `bucket?prefix` for LISTs). */
const startCountingProxy = async (target: string) => {
  const seen: Seen = { lists: [], gets: [] };
  const faults = new Map<string, Fault>();
  const upstream = new URL(target);
  const server: Server = createServer((req: IncomingMessage, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    let fault: Fault | undefined;
    if (req.method === 'GET' && url.searchParams.get('list-type') === '2') {
      const prefix = url.searchParams.get('prefix') ?? '';
      seen.lists.push({ bucket, prefix });
      fault = faults.get(`${bucket}?${prefix}`);
    } else if (req.method === 'GET' && key !== '') {
      seen.gets.push({ bucket, key });
      fault = faults.get(`${bucket}/${key}`);
    }
    if (fault) {
      res.writeHead(fault.status, { 'content-type': 'application/xml', 'x-amz-request-id': 'FAULT' });
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${fault.code}</Code><Message>${fault.message}</Message><RequestId>FAULT</RequestId></Error>`,
      );
      return;
    }
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    faults,
    reset: () => {
      seen.lists.length = 0;
      seen.gets.length = 0;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

let fauxqs: Awaited<ReturnType<typeof startFauxqs>>;
let proxy: Awaited<ReturnType<typeof startCountingProxy>>;
let dir: string;

const NO_FILE = join(tmpdir(), 'rootwatch-no-aws-file');
const AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'AKIDLOCALS3TEST',
  AWS_SECRET_ACCESS_KEY: 'local',
  AWS_REGION: 'us-east-1',
  AWS_CONFIG_FILE: NO_FILE,
  AWS_SHARED_CREDENTIALS_FILE: NO_FILE,
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_PROFILE: '',
};

beforeAll(async () => {
  fauxqs = await startFauxqs({ port: 0, logger: false });
  proxy = await startCountingProxy(fauxqs.address);
  for (const [name, value] of Object.entries(AWS_ENV)) vi.stubEnv(name, value);
  vi.stubEnv('AWS_PROFILE', undefined);
  vi.stubEnv('AWS_ENDPOINT_URL_S3', proxy.endpoint);
  // Uploaded straight to fauxqs: the proxy counts only what replay asks.
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: fauxqs.address,
    forcePathStyle: true,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const put = (bucket: string, key: string, body: Buffer | string) =>
    s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  for (const bucket of [TRAIL, FAULTY, LOOSE]) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  dir = mkdtempSync(join(tmpdir(), 'rootwatch-replay-s3-'));
  for (const [key, body] of trailFiles) {
    await put(TRAIL, key, body);
    mkdirSync(dirname(join(dir, 'trail', key)), { recursive: true });
    writeFileSync(join(dir, 'trail', key), body);
  }
  await put(TRAIL, DIGEST_KEY, gz([]));
  await put(TRAIL, INSIGHT_KEY, gz(recordsAt(PLAIN, 'us-east-1', '2026-10-01T10:00:00Z', 'insight')));
  await put(FAULTY, FAULTY_KEYS.good1, gz(recordsAt(PLAIN, 'us-east-1', '2026-10-01T01:00:00Z', 'good1')));
  await put(
    FAULTY,
    FAULTY_KEYS.corrupt,
    Buffer.concat([gz(recordsAt(PLAIN, 'us-east-1', '2026-10-01T02:00:00Z', 'x')).subarray(0, 40)]),
  );
  await put(FAULTY, FAULTY_KEYS.denied, gz(recordsAt(PLAIN, 'us-east-1', '2026-10-01T03:00:00Z', 'denied')));
  await put(FAULTY, FAULTY_KEYS.kms, gz(recordsAt(PLAIN, 'us-east-1', '2026-10-01T04:00:00Z', 'kms')));
  await put(FAULTY, FAULTY_KEYS.good2, gz(recordsAt(PLAIN, 'us-east-1', '2026-10-01T05:00:00Z', 'good2')));
  // An upload cut short: no bytes at all.
  await put(FAULTY, FAULTY_KEYS.empty, Buffer.alloc(0));
  proxy.faults.set(`${FAULTY}/${FAULTY_KEYS.denied}`, { status: 403, code: 'AccessDenied', message: 'Access Denied' });
  proxy.faults.set(`${FAULTY}/${FAULTY_KEYS.kms}`, {
    status: 400,
    code: 'KMS.DisabledException',
    message: 'arn:aws:kms:us-east-1:111122223333:key/0000 is disabled.',
  });
  await put(
    LOOSE,
    'exports/a.json',
    JSON.stringify({ Records: recordsAt(PLAIN, 'us-east-1', '2026-10-01T06:00:00Z', 'loose-a') }),
  );
  await put(LOOSE, 'exports/sub/b.json.gz', gz(recordsAt(ORG_MEMBER, 'eu-west-1', '2026-10-01T07:00:00Z', 'loose-b')));
  await put(LOOSE, 'exports/readme.txt', 'not a log');
  // The same bucket's own trail, beside exports/: replaying the bucket root reads this, not exports/.
  await put(
    LOOSE,
    dayFolder(PLAIN, 'us-east-1', '01') + fileName(PLAIN, 'us-east-1', '01', 'a'),
    gz(recordsAt(PLAIN, 'us-east-1', '2026-10-01T08:00:00Z', 'loose-trail')),
  );
  s3.destroy();
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await proxy?.close();
  await fauxqs?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const replayNdjson = async (...args: string[]) => {
  proxy.reset();
  return runCliCaptured(['replay', '--format', 'ndjson', '--workers', '0', ...args]);
};
const alertsOf = (stdout: string) =>
  stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { eventID?: string; eventIDs?: string[] });
/** The eventIDs of the alerts and digests printed, in the order printed. */
const eventIds = (stdout: string) =>
  alertsOf(stdout).flatMap((doc) => (doc.eventID ? [doc.eventID] : (doc.eventIDs ?? [])));

describe('rootwatch replay s3://', () => {
  it('prints what replaying the same files from a directory prints, and never fetches digests or Insights', async () => {
    // Act
    const fromDisk = await runCliCaptured(['replay', '--format', 'ndjson', '--workers', '0', join(dir, 'trail')]);
    const fromS3 = await replayNdjson(`s3://${TRAIL}`);

    // Assess
    expect(fromS3.stderr).not.toContain('rootwatch: s3://');
    expect(fromS3.code).toBe(0);
    expect(fromDisk.code).toBe(0);
    expect(eventIds(fromS3.stdout)).toContain('root-late');
    expect(eventIds(fromS3.stdout).filter((id) => id.startsWith('root-'))).toHaveLength(17);
    expect(fromS3.stdout).toBe(fromDisk.stdout);
    const fetched = proxy.seen.gets.map((get) => get.key);
    expect(fetched.toSorted()).toStrictEqual([...trailFiles.keys()].toSorted());
    expect(proxy.seen.lists.some((list) => /CloudTrail-(Digest|Insight)/.test(list.prefix))).toBe(false);
    expect(fromS3.stderr).toMatch(/records, \d+ alerts/);
  });

  it('reads the same whatever depth of the layout the prefix stops at', async () => {
    // Act
    const whole = await replayNdjson(`s3://${TRAIL}/AWSLogs/`, '--accounts', ORG_MEMBER, '--regions', 'eu-west-1');
    const deep = await replayNdjson(`s3://${TRAIL}/AWSLogs/${ORG}/${ORG_MEMBER}/CloudTrail/eu-west-1/2026/1`);
    const partial = await replayNdjson(`s3://${TRAIL}/AWSLogs/${ORG}/4444`, '--regions', 'eu-west-1');

    // Assess
    expect(eventIds(whole.stdout).filter((id) => id.startsWith('root-'))).toHaveLength(4);
    expect(deep.stdout).toBe(whole.stdout);
    expect(partial.stdout).toBe(whole.stdout);
  });

  it('lists and fetches only the accounts, regions and days in scope', async () => {
    // Act
    const { code, stdout, stderr } = await replayNdjson(
      `s3://${TRAIL}`,
      ...['--since', '2026-10-02', '--until', '2026-10-02', '--accounts', ORG_MEMBER, '--regions', 'eu-west-1'],
    );

    // Assess
    expect(code).toBe(0);
    expect(eventIds(stdout).filter((id) => id.startsWith('root-'))).toStrictEqual([`root-${ORG_MEMBER}-eu-west-1-02`]);
    // The 3rd is listed and fetched (a file delivered on the 3rd may hold events of the 2nd); its records are not in scope.
    expect(proxy.seen.gets.map((get) => get.key).toSorted()).toStrictEqual([
      dayFolder(ORG_MEMBER, 'eu-west-1', '02') + fileName(ORG_MEMBER, 'eu-west-1', '02', 'a'),
      dayFolder(ORG_MEMBER, 'eu-west-1', '03') + fileName(ORG_MEMBER, 'eu-west-1', '03', 'a'),
    ]);
    const listed = proxy.seen.lists.map((list) => list.prefix);
    expect(listed).toContain(`AWSLogs/${ORG}/${ORG_MEMBER}/CloudTrail/eu-west-1/2026/10/`);
    for (const prefix of listed) {
      expect(prefix).not.toContain(PLAIN);
      expect(prefix).not.toContain('us-east-1');
      expect(prefix).not.toMatch(/\/2026\/10\/0[15]\//);
    }
    expect(stderr).toMatch(/, 1 matching event outside the scope \(not alerted\)/);
  });

  it('finds an event of the --until day in the next day’s folder (delivery lag)', async () => {
    // Act
    const { stdout } = await replayNdjson(
      `s3://${TRAIL}`,
      ...['--until', '2026-10-01', '--accounts', PLAIN, '--regions', 'us-east-1'],
    );

    // Assess
    expect(eventIds(stdout).filter((id) => id.startsWith('root-'))).toStrictEqual([
      `root-${PLAIN}-us-east-1-01`,
      'root-late',
    ]);
    expect(proxy.seen.lists.map((list) => list.prefix)).not.toContain(dayFolder(PLAIN, 'us-east-1', '03'));
  });

  it('names each object it cannot read with its key and why, alerts on the rest, and exits 1', async () => {
    // Act
    const { code, stdout, stderr } = await replayNdjson(`s3://${FAULTY}`, '--concurrency', '3');

    // Assess
    expect(code).toBe(1);
    expect(eventIds(stdout).filter((id) => id.startsWith('root-'))).toStrictEqual(['root-good1', 'root-good2']);
    expect(stderr).toContain(
      `rootwatch: s3://${FAULTY}/${FAULTY_KEYS.denied}: AccessDenied: Access Denied (needs s3:GetObject`,
    );
    expect(stderr).toContain(`rootwatch: s3://${FAULTY}/${FAULTY_KEYS.kms}: KMS.DisabledException: `);
    expect(stderr).toContain("(needs kms:Decrypt on the trail's key");
    expect(stderr).toMatch(new RegExp(`rootwatch: s3://${FAULTY}/${FAULTY_KEYS.corrupt}.*corrupt or truncated gzip`));
    expect(stderr).toContain(`rootwatch: s3://${FAULTY}/${FAULTY_KEYS.empty}: empty, though named .gz: `);
    expect(stderr).toContain(', 4 unreadable,');
  });

  it('reports a bucket it cannot list as one error naming it, and reads the other paths', async () => {
    // Prepare
    proxy.faults.set(`${FAULTY}?AWSLogs/`, { status: 403, code: 'AccessDenied', message: 'Access Denied' });

    // Act
    const missing = await replayNdjson('s3://no-such-bucket/AWSLogs/', join(dir, 'trail'));
    const denied = await replayNdjson(`s3://${FAULTY}/AWSLogs/`);
    proxy.faults.delete(`${FAULTY}?AWSLogs/`);

    // Assess
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('rootwatch: s3://no-such-bucket/AWSLogs/: cannot list: NoSuchBucket');
    expect(eventIds(missing.stdout).filter((id) => id.startsWith('root-'))).toHaveLength(17);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain(
      `rootwatch: s3://${FAULTY}/AWSLogs/: cannot list: AccessDenied: Access Denied (needs s3:ListBucket on arn:aws:s3:::${FAULTY})`,
    );
  });

  it('reads every log file under a prefix outside the layout, and says once that it cannot prune it', async () => {
    // Act
    const { code, stdout, stderr } = await replayNdjson(`s3://${LOOSE}/exports/`, '--since', '2026-10-01');

    // Assess
    expect(code).toBe(0);
    expect(eventIds(stdout).filter((id) => id.startsWith('root-'))).toStrictEqual(['root-loose-a', 'root-loose-b']);
    expect(stderr.match(/outside CloudTrail's key layout/g)).toHaveLength(1);
    expect(proxy.seen.gets.map((get) => get.key)).not.toContain('exports/readme.txt');
  });

  it('applies the scope to local paths too, and reads an s3:// path among them in the order given', async () => {
    // Act
    const local = await replayNdjson('--no-fold', '--regions', 'eu-west-1', join(dir, 'trail'));
    const mixed = await replayNdjson('--no-fold', `s3://${LOOSE}/exports/a.json`, join(dir, 'trail', 'AWSLogs', ORG));

    // Assess
    const roots = eventIds(local.stdout).filter((id) => id.startsWith('root-'));
    expect(roots).toHaveLength(8);
    expect(roots.every((id) => id.includes('eu-west-1'))).toBe(true);
    expect(local.stderr).toMatch(/, \d+ matching events outside the scope \(not alerted\)/);
    expect(eventIds(mixed.stdout).filter((id) => id.startsWith('root-'))[0]).toBe('root-loose-a');
    expect(eventIds(mixed.stdout).filter((id) => id.startsWith('root-'))).toHaveLength(9);
  });

  it('says how to give credentials when there are none, and exits 2', async () => {
    // Prepare
    vi.stubEnv('AWS_ACCESS_KEY_ID', undefined);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', undefined);

    // Act
    const { code, stderr } = await replayNdjson(`s3://${TRAIL}`);
    vi.stubEnv('AWS_ACCESS_KEY_ID', AWS_ENV.AWS_ACCESS_KEY_ID);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', AWS_ENV.AWS_SECRET_ACCESS_KEY);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain('rootwatch: no AWS credentials to read S3 with: give a profile (--profile P');
    expect(proxy.seen.gets).toHaveLength(0);
  });

  it('refuses a bad --concurrency or bucket name as usage', async () => {
    // Act
    const concurrency = await replayNdjson(`s3://${TRAIL}`, '--concurrency', '65');
    const bucket = await replayNdjson('s3://A_B/x');

    // Assess
    expect(concurrency.code).toBe(2);
    expect(concurrency.stderr).toContain('--concurrency must be a whole number from 1 to 64 (got "65")');
    expect(bucket.code).toBe(2);
    expect(bucket.stderr).toContain('"s3://A_B/x" does not name a bucket');
  });

  it('reports a prefix or key under which nothing exists as an error naming it, and exits 1', async () => {
    // Act
    const typo = await replayNdjson(`s3://${TRAIL}/AWSLogs/nonexistent/`);
    const key = await replayNdjson(`s3://${LOOSE}/exports/missing.json`);
    const dots = await replayNdjson(`s3://${TRAIL}/../etc`);
    const prunedAway = await replayNdjson(`s3://${TRAIL}/AWSLogs/999988887777/`, '--accounts', PLAIN);

    // Assess
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain(`rootwatch: s3://${TRAIL}/AWSLogs/nonexistent/: no objects under this prefix`);
    expect(typo.stderr).toContain('1 unreadable');
    expect(key.code).toBe(1);
    expect(key.stderr).toContain(`rootwatch: s3://${LOOSE}/exports/missing.json: no objects under this prefix`);
    expect(dots.code).toBe(1);
    expect(dots.stderr).toContain(`rootwatch: s3://${TRAIL}/../etc: no objects under this prefix`);
    expect(prunedAway.code).toBe(1);
    expect(prunedAway.stderr).toContain(`s3://${TRAIL}/AWSLogs/999988887777/: no objects under this prefix`);
  });

  it('says once, as a notice and not an error, that the scope left none of the objects there', async () => {
    // Act
    const later = await replayNdjson(`s3://${TRAIL}`, '--since', '2030-01-01');
    const otherAccount = await replayNdjson(`s3://${TRAIL}/AWSLogs/${PLAIN}/`, '--accounts', ORG_MEMBER);

    // Assess
    for (const run of [later, otherAccount]) {
      expect(run.code).toBe(0);
      expect(
        run.stderr.match(/objects are there, but none inside --since, --until, --accounts and --regions/g),
      ).toHaveLength(1);
      expect(run.stderr).not.toContain('no objects under this prefix');
    }
    expect(later.stderr).toContain(`rootwatch: s3://${TRAIL}/: objects are there`);
    expect(proxy.seen.gets).toHaveLength(0);
  });

  it('skips the folders beside AWSLogs/ when replaying the bucket root, naming them once', async () => {
    // Act
    const { code, stdout, stderr } = await replayNdjson(`s3://${LOOSE}`);

    // Assess
    expect(code).toBe(0);
    expect(eventIds(stdout).filter((id) => id.startsWith('root-'))).toStrictEqual(['root-loose-trail']);
    expect(stderr).toContain(
      `rootwatch: s3://${LOOSE}/: skipped exports/: outside CloudTrail's key layout; name it as the prefix to read it`,
    );
    expect(stderr.match(/outside CloudTrail's key layout/g)).toHaveLength(1);
    expect(proxy.seen.lists.map((list) => list.prefix)).not.toContain('exports/');
    expect(proxy.seen.gets.every((get) => get.key.startsWith('AWSLogs/'))).toBe(true);
  });

  it('names a profile that is in neither shared file, and refuses a --region that is not a region name', async () => {
    // Prepare: a config file declaring one profile, without credentials.
    const config = join(dir, 'aws-config');
    writeFileSync(config, '[default]\nregion = us-east-1\n\n[profile audit]\nregion = us-east-1\n');
    vi.stubEnv('AWS_CONFIG_FILE', config);

    // Act
    const missing = await replayNdjson(`s3://${TRAIL}`, '--profile', 'nope');
    const declared = await replayNdjson(`s3://${TRAIL}`, '--profile', 'audit');
    vi.stubEnv('AWS_CONFIG_FILE', AWS_ENV.AWS_CONFIG_FILE);
    const region = await replayNdjson(`s3://${TRAIL}`, '--region', 'us-east-1;rm');

    // Assess
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      `rootwatch: the profile "nope" was not found in the shared config and credentials files (${config}, ${NO_FILE})`,
    );
    expect(declared.code).toBe(2);
    expect(declared.stderr).toContain('rootwatch: no AWS credentials to read S3 with');
    expect(region.code).toBe(2);
    expect(region.stderr).toContain('rootwatch: --region "us-east-1;rm" is not a region name (us-east-1)');
    expect(proxy.seen.lists).toHaveLength(0);
  });

  it('takes the scheme in any case, and refuses s3:/ and s3: without // as usage', async () => {
    // Act
    const lower = await replayNdjson(`s3://${TRAIL}/AWSLogs/${ORG}/4444`, '--regions', 'eu-west-1');
    const upper = await replayNdjson(`S3://${TRAIL}/AWSLogs/${ORG}/4444`, '--regions', 'eu-west-1');
    const oneSlash = await replayNdjson(`s3:/${TRAIL}`);
    const noSlash = await replayNdjson(`s3:${TRAIL}`, join(dir, 'trail'));

    // Assess
    expect(upper.code).toBe(0);
    expect(eventIds(upper.stdout).filter((id) => id.startsWith('root-'))).toHaveLength(4);
    expect(upper.stdout).toBe(lower.stdout);
    expect(oneSlash.code).toBe(2);
    expect(oneSlash.stderr).toContain(`rootwatch: "s3:/${TRAIL}" is not an s3:// URL: s3://BUCKET[/PREFIX]`);
    expect(noSlash.code).toBe(2);
    expect(noSlash.stderr).toContain(`"s3:${TRAIL}" is not an s3:// URL`);
    expect(noSlash.stdout).toBe('');
  });
});
