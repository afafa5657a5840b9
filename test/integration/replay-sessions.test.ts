/**
 * `rootwatch replay --sessions`: one row (table) or JSON object (ndjson, json) per root session, for responders,
 * read from the same session state that folds replay's output (io/memory-sessions.ts), so the sessions and the
 * alerts and digests of the same input always agree.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SessionDocument } from '../../functions/io/stdout-sink.js';
import { runCliCaptured } from '../helpers/cli.js';
import { readSample } from '../helpers/samples.js';

const START = Date.UTC(2025, 5, 1, 9, 0, 0);

const run = (args: string[]) => runCliCaptured(args);

interface Call {
  /** The temporary access key of the session. */
  key: string;
  /** Seconds after 09:00 UTC on 2025-06-01. */
  at: number;
  eventName?: string;
  ip?: string;
  userAgent?: string;
  /** The sample whose record is changed: default a root ListAccessKeys. */
  sample?: string;
  account?: string;
}

let serial = 0;

/** A root call of the console session `key`, as CloudTrail records it. */
const call = ({ key, at, eventName, ip, userAgent, sample, account }: Call): Record<string, unknown> => {
  const base = readSample(sample ?? 'root-api-call-list-access-keys.json');
  const identity = base.userIdentity as Record<string, unknown>;
  return {
    ...base,
    ...(eventName ? { eventName } : {}),
    eventID: `sessions-${String(serial++).padStart(4, '0')}`,
    eventTime: new Date(START + at * 1000).toISOString().replace('.000Z', 'Z'),
    sourceIPAddress: ip ?? '203.0.113.50',
    userAgent: userAgent ?? 'aws-cli/2.27.0 Python/3.13.3 Linux/6.1 exe/x86_64.amzn.2023',
    userIdentity: {
      ...identity,
      accessKeyId: key,
      ...(account ? { accountId: account, arn: `arn:aws:iam::${account}:root`, principalId: account } : {}),
    },
    ...(account ? { recipientAccountId: account } : {}),
  };
};

/** A trail file of `records`, and the account names file the deployed alerter's parameter would hold. */
const input = (records: unknown[]) => {
  const dir = mkdtempSync(join(tmpdir(), 'rootwatch-sessions-'));
  writeFileSync(join(dir, 'names.json'), JSON.stringify({ '111122223333': 'prod-payments' }));
  writeFileSync(join(dir, 'trail.json'), JSON.stringify({ Records: records }));
  return { names: join(dir, 'names.json'), trail: join(dir, 'trail.json') };
};

/**
 * Session A (ASIASESSIONSTESTAAAA): 40 calls in 80 s from seven address and client pairs, eight event names, and a
 * CreateAccessKey (critical) at the 20th. Session B (ASIASESSIONSTESTBBBB), in account 444455556666: three calls.
 * A record that alerts on nothing (an IAM user's call) is in no session.
 */
const scenario = () => {
  const names = ['ListBuckets', 'GetBucketAcl', 'ListUsers', 'DescribeInstances', 'GetCallerIdentity', 'ListRoles'];
  const a = Array.from({ length: 40 }, (_, i) =>
    call({
      key: 'ASIASESSIONSTESTAAAA',
      at: i * 2,
      // Six names for most calls, two rarer ones at the end: eight in all.
      eventName: i >= 38 ? ['ListGroups', 'ListPolicies'][i - 38] : names[i % names.length],
      ...(i === 20 ? { sample: 'root-create-access-key.json', eventName: 'CreateAccessKey' } : {}),
      // Most from one address; six others once each.
      ip: i < 34 ? '203.0.113.50' : `203.0.113.${60 + i - 34}`,
    }),
  );
  const b = Array.from({ length: 3 }, (_, i) =>
    call({ key: 'ASIASESSIONSTESTBBBB', at: 30 + i, account: '444455556666', eventName: 'ListBuckets' }),
  );
  const other = { ...readSample('iam-user-create-access-key.json'), eventTime: '2025-06-01T09:00:10Z' };
  return { a, b, records: [...a.slice(0, 15), ...b, other, ...a.slice(15)] };
};

const documentsOf = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as SessionDocument);

describe('rootwatch replay --sessions', () => {
  it('prints one JSON object per session: who, when, from where, what, how bad (--format ndjson)', async () => {
    // Prepare
    const { a, records } = scenario();
    const { names, trail } = input(records);

    // Act
    const { code, stdout, stderr } = await run([
      'replay',
      '--sessions',
      '--format',
      'ndjson',
      '--account-names',
      names,
      trail,
    ]);

    // Assess
    expect(code).toBe(0);
    const [first, second, ...rest] = documentsOf(stdout);
    expect(rest).toStrictEqual([]);
    expect(first).toStrictEqual({
      session: { key: '111122223333#key#ASIASESSIONSTESTAAAA' },
      account: { id: '111122223333', name: 'prod-payments' },
      actor: { type: 'Root', arn: 'arn:aws:iam::111122223333:root', credential: expect.any(String) },
      region: 'us-east-1',
      firstEventTime: '2025-06-01T09:00:00Z',
      lastEventTime: '2025-06-01T09:01:18Z',
      severity: 'critical',
      count: 40,
      alerts: 2,
      folded: 38,
      eventNames: { GetBucketAcl: 7, ListBuckets: 7, DescribeInstances: 6, GetCallerIdentity: 6, ListRoles: 6 },
      moreEventNames: { names: 4, count: 8 },
      sources: [
        { ip: '203.0.113.50', client: 'aws-cli 2.27.0', count: 34 },
        { ip: '203.0.113.60', client: 'aws-cli 2.27.0', count: 1 },
        { ip: '203.0.113.61', client: 'aws-cli 2.27.0', count: 1 },
        { ip: '203.0.113.62', client: 'aws-cli 2.27.0', count: 1 },
        { ip: '203.0.113.63', client: 'aws-cli 2.27.0', count: 1 },
      ],
      moreSources: { sources: 2, count: 2 },
      detections: { 'root-api-call': 40, 'root-access-key-created': 1 },
    });
    expect(a).toHaveLength(first?.count ?? 0);
    expect(second).toMatchObject({
      session: { key: '444455556666#key#ASIASESSIONSTESTBBBB' },
      account: { id: '444455556666' },
      actor: { arn: 'arn:aws:iam::444455556666:root' },
      firstEventTime: '2025-06-01T09:00:30Z',
      lastEventTime: '2025-06-01T09:00:32Z',
      severity: 'high',
      count: 3,
      eventNames: { ListBuckets: 3 },
      detections: { 'root-api-call': 3 },
    });
    expect(second?.moreEventNames).toBeUndefined();
    expect(stderr).toMatch(/44 records, 3 alerts \(critical 1, high 2\), 2 digests \(40 events folded\), 2 sessions, /);
  });

  it('prints one row per session with --format table (the default)', async () => {
    // Prepare
    const { names, trail } = input(scenario().records);

    // Act
    const { code, stdout } = await run(['replay', '--sessions', '--account-names', names, trail]);

    // Assess
    expect(code).toBe(0);
    const [header, a, b, ...rest] = stdout.trimEnd().split('\n');
    expect(rest).toStrictEqual([]);
    expect(header).toMatch(
      /^FIRST\s+LAST\s+SEVERITY\s+ACCOUNT\s+ACTOR\s+CREDENTIAL\s+EVENTS\s+DETECTIONS · EVENT NAMES · SOURCES$/,
    );
    expect(a).toMatch(
      /^2025-06-01T09:00:00Z {2}2025-06-01T09:01:18Z {2}CRITICAL {2}prod-payments \(111122223333\)\s+arn:aws:iam::111122223333:root\s+\S.*?\s+40\s+root-api-call 40, root-access-key-created 1 · GetBucketAcl 7, ListBuckets 7, DescribeInstances 6, GetCallerIdentity 6, ListRoles 6, \+4 more · from 203\.0\.113\.50 aws-cli 2\.27\.0 \(34\), 203\.0\.113\.60 aws-cli 2\.27\.0 \(1\), .*, \+2 more$/,
    );
    expect(b).toMatch(
      /^2025-06-01T09:00:30Z {2}2025-06-01T09:00:32Z {2}HIGH {6}444455556666 .* 3 +root-api-call 3 · ListBuckets 3 · from 203\.0\.113\.50 aws-cli 2\.27\.0 \(3\)$/,
    );
  });

  it('agrees with the folded output of the same input: each session holds its alerts and its digests’ events', async () => {
    // Prepare
    const { names, trail } = input(scenario().records);

    // Act
    const sessions = documentsOf(
      (await run(['replay', '--sessions', '--format', 'ndjson', '--account-names', names, trail])).stdout,
    );
    const documents = (await run(['replay', '--format', 'ndjson', '--account-names', names, trail])).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { schema: string; session: { key: string }; count?: number });

    // Assess
    for (const session of sessions) {
      const mine = documents.filter((d) => d.session.key === session.session.key);
      const alerts = mine.filter((d) => d.schema === 'rootwatch.alert/v1').length;
      const folded = mine.filter((d) => d.schema === 'rootwatch.digest/v1').reduce((sum, d) => sum + (d.count ?? 0), 0);
      expect([alerts, folded]).toStrictEqual([session.alerts, session.folded]);
    }
  });

  it('counts a key that comes back after an idle hour as a new session', async () => {
    // Prepare: two calls, 61 minutes of silence, two more, with the same key.
    const records = [0, 10, 3_670, 3_680].map((at) => call({ key: 'ASIASESSIONSTESTIDLE', at }));
    const { trail } = input(records);

    // Act
    const { stdout } = await run(['replay', '--sessions', '--format', 'json', trail]);

    // Assess
    const sessions = JSON.parse(stdout) as SessionDocument[];
    expect(sessions.map((s) => [s.session.key, s.firstEventTime, s.lastEventTime, s.count])).toStrictEqual([
      ['111122223333#key#ASIASESSIONSTESTIDLE', '2025-06-01T09:00:00Z', '2025-06-01T09:00:10Z', 2],
      ['111122223333#key#ASIASESSIONSTESTIDLE', '2025-06-01T10:01:10Z', '2025-06-01T10:01:20Z', 2],
    ]);
  });

  it('prints an empty array when nothing alerts, and only sessions of alerting events', async () => {
    // Prepare
    const { trail } = input([readSample('iam-user-create-access-key.json')]);

    // Act
    const { code, stdout, stderr } = await run(['replay', '--sessions', '--format', 'json', trail]);

    // Assess
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toStrictEqual([]);
    expect(stderr).toMatch(/1 record, 0 alerts, 0 digests \(0 events folded\), 0 sessions, /);
  });

  it('shows control and bidi characters of a crafted event name as nothing that moves the terminal', async () => {
    // Prepare: an event name that would rewrite the line and reverse what follows.
    const records = [0, 1].map((at) =>
      call({ key: 'ASIASESSIONSTESTEVIL', at, eventName: 'List\u001b[2K\rForged\u202eemaN' }),
    );
    const { trail } = input(records);

    // Act
    const { stdout } = await run(['replay', '--sessions', trail]);

    // Assess
    for (const character of ['\u001b', '\r', '\u202e']) expect(stdout).not.toContain(character);
    expect(stdout).toContain('List [2K ⏎ ForgedemaN 2');
  });

  it.each([
    [
      ['--sessions', '--format', 'slack'],
      /--format with --sessions must be one of table, ndjson, json \(got "slack"\)/,
    ],
    [
      ['--sessions', '--format', 'email'],
      /--format with --sessions must be one of table, ndjson, json \(got "email"\)/,
    ],
    [['--sessions', '--no-fold'], /--sessions lists the sessions that folding finds: it does not go with --no-fold/],
  ])('refuses %j with exit status 2', async (args, message) => {
    const { code, stderr, stdout } = await run(['replay', ...args, input([]).trail]);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stdout).toBe('');
  });
});
