import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../functions/cli.js';
import { runCliCaptured } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/corpus.js';
import { readSample, SAMPLES_DIR } from '../helpers/samples.js';

const run = async (args: string[], stdin?: string) => runWith({}, args, stdin);

const runWith = (env: Record<string, string>, args: string[], stdin?: string) =>
  runCliCaptured(args, { env, ...(stdin !== undefined ? { stdin } : {}) });

const tmp = () => mkdtempSync(join(tmpdir(), 'rootwatch-cli-'));
const trailFile = (records: unknown[]) => JSON.stringify({ Records: records });

const BURST_START = Date.UTC(2025, 5, 1, 9, 0, 0);

/**
 * `n` root API calls of one console session (its temporary key ASIACLIBURSTSESSION1) from one address, `everyMs` apart
 * from 09:00 UTC: routine calls (root-api-call, high), and at `accessKeyAt` a CreateAccessKey (critical, a new
 * detection: it escalates the session).
 */
const burst = (n: number, options: { everyMs?: number; accessKeyAt?: number; startMs?: number } = {}) =>
  Array.from({ length: n }, (_, i) => {
    const base = readSample(
      i === options.accessKeyAt ? 'root-create-access-key.json' : 'root-api-call-list-access-keys.json',
    );
    return {
      ...base,
      eventID: `cli-burst-${String(i).padStart(3, '0')}`,
      eventTime: new Date((options.startMs ?? BURST_START) + i * (options.everyMs ?? 1000))
        .toISOString()
        .replace('.000Z', 'Z'),
      sourceIPAddress: '203.0.113.50',
      userIdentity: { ...(base.userIdentity as object), accessKeyId: 'ASIACLIBURSTSESSION1' },
    };
  });

/** A trail file of `records` in a fresh folder. */
const trailOf = (records: unknown[]): string => {
  const file = join(tmp(), 'trail.json');
  writeFileSync(file, trailFile(records));
  return file;
};

const ndjsonOf = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown> & { schema: string });

describe('rootwatch replay', () => {
  it.each(['expect', 'athena', 'posture', 'forwarders', 'test-alert', 'schema', 'demo'])(
    'prints the usage for `%s --help` and `-h`, exit 0, touching nothing',
    async (command) => {
      for (const flag of ['--help', '-h']) {
        const { code, stdout, stderr } = await run([command, flag]);
        expect(code).toBe(0);
        expect(stdout).toMatch(/^Usage:\n/);
        expect(stdout).toContain(`rootwatch ${command}`);
        // That command's usage alone: no other command's, nor replay's options and exit status.
        expect(stdout.match(/^ {2}rootwatch (\S+)/gm)?.every((line) => line === `  rootwatch ${command}`)).toBe(true);
        expect(stdout).not.toContain('Exit status: 0 when all input was read');
        expect(stderr).toBe('');
      }
    },
  );

  it('says an unknown command is one, even with --help', async () => {
    const { code, stderr } = await run(['nosuch', '--help']);
    expect(code).toBe(2);
    expect(stderr).toContain('unknown command "nosuch"');
  });

  it('prints its version with --version', async () => {
    const { code, stdout } = await run(['--version']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^rootwatch \d+\.\d+\.\d+\n$/);
  });

  it('prints one alert document per alerting event with --format ndjson, and nothing else on stdout', async () => {
    const dir = tmp();
    const file = join(dir, 'trail.json.gz');
    const records = [
      readSample('root-console-sign-in-no-mfa.json'),
      readSample('iam-user-create-access-key.json'),
      readSample('root-create-access-key.json'),
      readSample('service-event-kms-rotate-key.json'),
    ];
    writeFileSync(file, gzipSync(trailFile(records)));
    const { code, stdout, stderr } = await run(['replay', '--format', 'ndjson', file]);
    expect(code).toBe(0);
    const alerts = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(alerts.map((a) => [a.eventID, a.detections, a.severity])).toEqual([
      [records[0]?.eventID, ['root-console-sign-in'], 'critical'],
      [records[2]?.eventID, ['root-access-key-created', 'root-api-call'], 'critical'],
    ]);
    for (const alert of alerts) {
      expect(Object.keys(alert)).toEqual(
        expect.arrayContaining(['eventID', 'detections', 'severity', 'title', 'account', 'region', 'eventTime']),
      );
    }
    expect(stderr).toMatch(/4 records, 2 alerts \(critical 2\), 0 digests \(0 events folded\), 0 unreadable/);
  });

  it('filters with --min-severity', async () => {
    const { stdout } = await run(['replay', '--format', 'ndjson', '--min-severity', 'critical', SAMPLES_DIR]);
    const severities = new Set(
      stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).severity),
    );
    expect([...severities]).toEqual(['critical']);
  });

  it('prints a JSON array with --format json', async () => {
    const { stdout } = await run(['replay', '--format', 'json', join(SAMPLES_DIR, 'root-password-updated.json')]);
    const alerts = JSON.parse(stdout);
    expect(alerts).toHaveLength(1);
    expect(alerts[0].detections).toEqual(['root-credentials-changed']);
  });

  it('prints an empty JSON array when nothing alerts', async () => {
    const { stdout, code } = await run([
      'replay',
      '--format',
      'json',
      join(SAMPLES_DIR, 'iam-user-create-access-key.json'),
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual([]);
  });

  it('prints a table by default', async () => {
    const { stdout } = await run(['replay', join(SAMPLES_DIR, 'root-console-sign-in-no-mfa.json')]);
    const [header, row] = stdout.trim().split('\n');
    expect(header).toMatch(/^TIME\s+SEVERITY\s+ACCOUNT/);
    expect(row).toMatch(/CRITICAL\s+111122223333\s+us-east-1\s+ConsoleLogin.*root-console-sign-in$/);
  });

  it('reads EventBridge events as NDJSON from stdin', async () => {
    const record = readSample('root-api-call-long-term-key.json');
    const event = {
      version: '0',
      id: 'eb-id',
      'detail-type': 'AWS API Call via CloudTrail',
      source: 'aws.events',
      account: '111122223333',
      time: record.eventTime,
      region: 'eu-west-1',
      resources: [],
      detail: { ...record, awsRegion: 'eu-west-1' },
    };
    const { code, stdout } = await run(['replay', '--format', 'ndjson', '-'], `${JSON.stringify(event)}\n`);
    expect(code).toBe(0);
    const alert = JSON.parse(stdout);
    expect(alert).toMatchObject({ eventID: record.eventID, region: 'eu-west-1', severity: 'critical' });
  });

  // ../shared/cases/lookup-events-output.json: a responder saves Event history (localstack/localstack#2689).
  it('reads aws cloudtrail lookup-events output, each CloudTrailEvent as its record', async () => {
    const file = join(REPO_ROOT, 'test/fixtures/replay/lookup-events-output.json');
    const { code, stdout, stderr } = await run(['replay', '--format', 'ndjson', file]);
    expect(stderr).not.toContain(file);
    expect(code).toBe(0);
    const alerts = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      eventID: '66666666-6666-4666-8666-000000000001',
      eventName: 'CreateUser',
      severity: 'critical',
      actor: { type: 'Root', credential: 'long-term key' },
    });
    expect(alerts[0].detections).toContain('root-api-call');
  });

  it('names the shapes it reads when a file is none of them, and goes on', async () => {
    const dir = tmp();
    const other = join(dir, 'trail.json');
    writeFileSync(other, JSON.stringify({ Items: [readSample('root-console-sign-in-no-mfa.json')] }));
    const good = join(dir, 'good.json');
    writeFileSync(good, trailFile([readSample('root-console-sign-in-no-mfa.json')]));
    const { code, stdout, stderr } = await run(['replay', '--format', 'ndjson', other, good]);
    expect(code).toBe(1);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain(
      `${other}: not CloudTrail input: expected CloudTrail records ({"Records":[…]}, a record, an array or NDJSON of records), EventBridge events, aws cloudtrail lookup-events output ({"Events":[…CloudTrailEvent]}), or CloudWatch Logs output (filter-log-events, get-log-events, a subscription payload)`,
    );
  });

  it('reads gzipped log files concatenated on stdin, as `cat *.json.gz | rootwatch replay -` gives them', async () => {
    const records = [readSample('root-console-sign-in-no-mfa.json'), readSample('root-create-access-key.json')];
    const stdin = Buffer.concat(records.map((record) => gzipSync(trailFile([record]))));
    let stdout = '';
    const code = await runCli(['replay', '--format', 'ndjson', '-'], {
      stdout: (text) => {
        stdout += text;
      },
      stderr: new Writable({ write: (_chunk, _enc, done) => done() }),
      stdin: Readable.from([stdin]),
      env: {},
    });
    expect(code).toBe(0);
    const alerts = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(alerts.map((alert) => alert.eventID)).toEqual(records.map((record) => record.eventID));
  });

  it('reports a bad record with its file and position, skips it, goes on, and exits 1', async () => {
    const dir = tmp();
    const file = join(dir, 'mixed.json');
    writeFileSync(
      file,
      trailFile(['not a record', { eventName: 'X' }, readSample('root-console-sign-in-no-mfa.json')]),
    );
    const missing = join(dir, 'missing.json');
    const { code, stdout, stderr } = await run(['replay', '--format', 'ndjson', file, missing]);
    expect(code).toBe(1);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain(`${file} (Records[0])`);
    expect(stderr).toContain(`${file} (Records[1])`);
    expect(stderr).toContain(missing);
    expect(stderr).toMatch(/3 unreadable/);
  });

  it('shows the first 20 errors at a position of a file, then how many more, every one counted', async () => {
    const dir = tmp();
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(
      bad,
      [...Array.from({ length: 45 }, (_, i) => `{"n":${i}}`), JSON.stringify(readSample('root-create-access-key.json'))]
        .join('\n')
        .concat('\n'),
    );
    const next = join(dir, 'next.jsonl');
    writeFileSync(next, '{"n":1}\n{"n":2}\n');
    const { code, stdout, stderr } = await run(['replay', '--format', 'ndjson', bad, next]);
    const lines = stderr.trim().split('\n');

    expect(code).toBe(1);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(lines.filter((line) => line.startsWith(`rootwatch: ${bad} (line `))).toHaveLength(20);
    expect(lines).toContain(`rootwatch: ${bad}: 25 more unreadable records not shown (the first 20 of a file are)`);
    // The next file's errors are shown again, and the summary counts every error.
    expect(lines.filter((line) => line.startsWith(`rootwatch: ${next} (line `))).toHaveLength(2);
    expect(lines.indexOf(`rootwatch: ${bad}: 25 more unreadable records not shown (the first 20 of a file are)`)).toBe(
      20,
    );
    expect(lines.at(-1)).toMatch(/, 47 unreadable, /);

    // An error that stopped reading the file is shown past the cap: it says records are missing.
    const limited = await run(['replay', '--format', 'ndjson', '--max-records', '30', bad]);
    expect(limited.stderr).toContain(
      `rootwatch: ${bad} (line 31): holds more than 30 records: the rest of the file is not read (--max-records)\n`,
    );
    expect(limited.stderr).toContain(`rootwatch: ${bad}: 10 more unreadable records not shown`);
  });

  it.each([
    [['replay'], /at least one PATH/],
    [['replay', '--format', 'xml', 'x'], /--format must be one of table, ndjson, json/],
    [['replay', '--min-severity', 'urgent', 'x'], /--min-severity must be one of/],
    [['replay', '--bogus', 'x'], /bogus/],
    [['frobnicate'], /unknown command "frobnicate"/],
  ])('exits 2 on bad usage %j', async (args, message) => {
    const { code, stderr } = await run(args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    // The mistake and a pointer to the help, not the whole help burying it.
    expect(stderr).toContain('Run "rootwatch --help"');
    expect(stderr).not.toContain('Usage:');
  });

  it('prints each Slack payload on a line with --format slack, exactly as the notifier renders it', async () => {
    const { code, stdout } = await run([
      'replay',
      '--format',
      'slack',
      join(SAMPLES_DIR, 'root-create-access-key.json'),
    ]);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const payload = JSON.parse(lines[0] as string);
    expect(payload.text).toMatch(/^🔴 CRITICAL: Root access key created: CreateAccessKey — 111122223333$/);
    // No runbookBaseUrl: the CloudTrail button alone, and the runbook's steps in the message.
    expect(payload.blocks.at(-1).elements.map((e: { action_id: string }) => e.action_id)).toStrictEqual([
      'open-cloudtrail',
    ]);
    expect(JSON.stringify(payload.blocks)).toContain('*What to do*');
  });

  it('prints each e-mail as Subject, a blank line, the body and --- with --format email', async () => {
    const { stdout } = await run([
      'replay',
      '--format',
      'email',
      join(SAMPLES_DIR, 'root-password-updated.json'),
      join(SAMPLES_DIR, 'root-console-sign-in-no-mfa.json'),
    ]);
    const emails = stdout.split('---\n').filter((part) => part !== '');
    expect(emails).toHaveLength(2);
    expect(emails[0]).toMatch(
      /^Subject: \[HIGH\] root-credentials-changed - 111122223333\n\nRoot credentials changed: PasswordUpdated — 111122223333\n/,
    );
    expect(emails[1]).toMatch(/^Subject: \[CRITICAL\] root-console-sign-in - 111122223333\n\n/);
    expect(emails[1]).toContain('What to do:\n1. ');
  });

  it('names accounts from --account-names, and refuses a file the accountNames parameter would refuse', async () => {
    const dir = tmp();
    const sample = join(SAMPLES_DIR, 'root-console-sign-in-no-mfa.json');
    writeFileSync(join(dir, 'names.json'), '{"111122223333": "prod-payments"}');
    const named = await run(['replay', '--format', 'ndjson', '--account-names', join(dir, 'names.json'), sample]);
    expect(JSON.parse(named.stdout).account).toEqual({ id: '111122223333', name: 'prod-payments' });

    writeFileSync(join(dir, 'bad.json'), '{"12": "prod"}');
    const bad = await run(['replay', '--account-names', join(dir, 'bad.json'), sample]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`--account-names ${join(dir, 'bad.json')}: "12" is not a 12-digit account id`);
    const missing = await run(['replay', '--account-names', join(dir, 'none.json'), sample]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`--account-names ${join(dir, 'none.json')}: cannot read it`);
    expect(bad.stdout + missing.stdout).toBe('');
  });

  it('links runbooks as the deployed alerter does, checking ROOTWATCH_RUNBOOK_BASE_URL like runbookBaseUrl', async () => {
    const sample = join(SAMPLES_DIR, 'root-create-user.json');
    // No runbookBaseUrl (the default): no runbook link, and the messages carry the runbook's steps.
    const deployed = await run(['replay', '--format', 'ndjson', sample]);
    expect(JSON.parse(deployed.stdout).links).not.toHaveProperty('runbook');
    const configured = await runWith({ ROOTWATCH_RUNBOOK_BASE_URL: 'https://wiki.example.com/runbooks/' }, [
      'replay',
      '--format',
      'ndjson',
      sample,
    ]);
    expect(JSON.parse(configured.stdout).links.runbook).toBe('https://wiki.example.com/runbooks/root-api-call.yml');
    const insecure = await runWith({ ROOTWATCH_RUNBOOK_BASE_URL: 'http://runbooks.example/' }, ['replay', sample]);
    expect(insecure.code).toBe(2);
    expect(insecure.stderr).toContain('ROOTWATCH_RUNBOOK_BASE_URL must be an https URL');
  });

  it('folds a root session as the deployed alerter does: its first alert, its escalation, and a digest of the rest', async () => {
    // Prepare: 30 calls a second apart; the 12th creates an access key.
    const records = burst(30, { accessKeyAt: 12 });

    // Act
    const { code, stdout, stderr } = await run(['replay', '--format', 'ndjson', trailOf(records)]);

    // Assess
    expect(code).toBe(0);
    const documents = ndjsonOf(stdout);
    expect(documents.map((d) => [d.schema, d.eventID ?? d.count])).toStrictEqual([
      ['rootwatch.alert/v1', 'cli-burst-000'],
      ['rootwatch.alert/v1', 'cli-burst-012'],
      ['rootwatch.digest/v1', 28],
    ]);
    expect(documents[0]?.session).toStrictEqual({ key: '111122223333#key#ASIACLIBURSTSESSION1', first: true });
    expect(documents[1]?.session).toMatchObject({
      first: false,
      escalation: { reason: expect.stringMatching(/critical/) },
    });
    expect(documents[2]?.eventIDs).toStrictEqual(
      records.map((r) => r.eventID).filter((id) => id !== 'cli-burst-000' && id !== 'cli-burst-012'),
    );
    expect(stderr).toMatch(/30 records, 2 alerts \(critical 1, high 1\), 1 digest \(28 events folded\), 0 unreadable/);
  });

  it('flushes a fold once event time passes its window, before the next event, as the fold timer would have', async () => {
    // Prepare: three calls, a gap of ten minutes, three more: the first fold's window closed in the gap.
    const records = [
      ...burst(3),
      ...burst(3, { startMs: BURST_START + 10 * 60_000 }).map((r, i) => ({ ...r, eventID: `cli-burst-late-${i}` })),
    ];

    // Act
    const { stdout, stderr } = await run(['replay', '--format', 'ndjson', trailOf(records)]);

    // Assess: the first digest is printed before the later events are read, the second at the end of the input.
    expect(ndjsonOf(stdout).map((d) => (d.schema === 'rootwatch.digest/v1' ? d.eventIDs : d.eventID))).toStrictEqual([
      'cli-burst-000',
      ['cli-burst-001', 'cli-burst-002'],
      ['cli-burst-late-0', 'cli-burst-late-1', 'cli-burst-late-2'],
    ]);
    expect(stderr).toMatch(/6 records, 1 alert \(high 1\), 2 digests \(5 events folded\)/);
  });

  it('prints every alert of a burst, no digest, with --no-fold', async () => {
    // Act
    const { code, stdout, stderr } = await run(['replay', '--no-fold', '--format', 'ndjson', trailOf(burst(30))]);

    // Assess
    expect(code).toBe(0);
    const documents = ndjsonOf(stdout);
    expect(documents).toHaveLength(30);
    expect(documents.every((d) => d.schema === 'rootwatch.alert/v1' && d.session === undefined)).toBe(true);
    expect(stderr).toMatch(/30 records, 30 alerts \(high 30\), 0 unreadable/);
    expect(stderr).not.toContain('digest');
  });

  it('prints a digest in every format: a table row, its Slack payload, its e-mail, in the JSON array', async () => {
    // Prepare
    const file = trailOf(burst(6));

    // Act
    const [table, slack, email, json] = await Promise.all(
      ['table', 'slack', 'email', 'json'].map((format) => run(['replay', '--format', format, file])),
    );

    // Assess
    const rows = table?.stdout.trim().split('\n') ?? [];
    expect(rows).toHaveLength(3);
    expect(rows[2]).toMatch(
      /^2025-06-01T09:00:01Z\s+HIGH\s+111122223333\s+us-east-1\s+digest: 5 events\s+Root\s+203\.0\.113\.50\s+root-api-call · 09:00:01–09:00:05 UTC · ListAccessKeys 5$/,
    );
    const payloads = (slack?.stdout.trim().split('\n') ?? []).map((line) => JSON.parse(line));
    expect(payloads).toHaveLength(2);
    expect(payloads[1].blocks[0].text.text).toBe(
      '🔁 HIGH · 5 more root events in 111122223333 (09:00:01–09:00:05 UTC)',
    );
    const emails = (email?.stdout ?? '').split('---\n').filter((part) => part !== '');
    expect(emails).toHaveLength(2);
    expect(emails[1]).toMatch(/^Subject: \[HIGH\] digest: 5 root events - 111122223333\n\n5 more root events in /);
    const array = JSON.parse(json?.stdout ?? '');
    expect(array.map((d: { schema: string }) => d.schema)).toStrictEqual(['rootwatch.alert/v1', 'rootwatch.digest/v1']);
  });

  it('says in its help that replay folds like the live system and --no-fold prints every event', async () => {
    const { code, stdout } = await run(['replay', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('[--no-fold | --sessions]');
    expect(stdout).toMatch(/--no-fold\s+every alerting event as an alert of its own, no digests: for a responder/);
    expect(stdout).toMatch(/--sessions\s+one line \(table\) or JSON object \(ndjson, json\) per root session/);
  });

  it('runs as the installed bin', async () => {
    const exec = promisify(execFile);
    const { stdout } = await exec(process.execPath, [
      join(REPO_ROOT, 'bin/rootwatch.mjs'),
      'replay',
      '--format',
      'ndjson',
      join(SAMPLES_DIR, 'root-password-updated.json'),
    ]);
    expect(JSON.parse(stdout).detections).toEqual(['root-credentials-changed']);
    expect(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).toContain('"rootwatch": "bin/rootwatch.mjs"');
  });

  it('ends as the installed bin on a folder too small for its workers, which start early and are stopped', async () => {
    // The workers start while the folder is walked; the walk finds two files, read on the main thread: a worker left
    // running would keep the process alive past the timeout.
    const folder = tmp();
    const signIn = readSample('root-console-sign-in-no-mfa.json');
    writeFileSync(join(folder, 'a.json.gz'), gzipSync(trailFile([signIn])));
    writeFileSync(join(folder, 'b.json.gz'), gzipSync(trailFile([{ ...signIn, eventID: 'second-sign-in' }])));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(REPO_ROOT, 'bin/rootwatch.mjs'), 'replay', '--no-fold', '--format', 'ndjson', '--workers', '2', folder],
      { timeout: 30_000 },
    );
    const ids = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).eventID);
    expect(ids).toEqual([signIn.eventID, 'second-sign-in']);
  });
});
