import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../functions/cli.js';
import { DEFAULT_RUNBOOK_BASE_URL } from '../../functions/io/config.js';
import { REPO_ROOT } from '../helpers/corpus.js';
import { readSample, SAMPLES_DIR } from '../helpers/samples.js';

const run = async (args: string[], stdin?: string) => runWith({}, args, stdin);

const runWith = async (env: Record<string, string>, args: string[], stdin?: string) => {
  let stdout = '';
  let stderr = '';
  const err = new Writable({
    write(chunk, _enc, done) {
      stderr += String(chunk);
      done();
    },
  });
  const code = await runCli(args, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: err,
    ...(stdin !== undefined ? { stdin: Readable.from([stdin]) } : {}),
    env,
  });
  return { code, stdout, stderr };
};

const tmp = () => mkdtempSync(join(tmpdir(), 'rootwatch-cli-'));
const trailFile = (records: unknown[]) => JSON.stringify({ Records: records });

describe('rootwatch replay', () => {
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
    expect(stderr).toMatch(/4 records, 2 alerts \(critical 2\), 0 unreadable/);
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
    expect(payload.blocks.at(-1).elements.map((e: { url: string }) => e.url)).toContain(
      'https://github.com/rootwatch/rootwatch/blob/main/events/root-access-key-created.yml',
    );
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
    const deployed = await run(['replay', '--format', 'ndjson', sample]);
    expect(JSON.parse(deployed.stdout).links.runbook).toBe(`${DEFAULT_RUNBOOK_BASE_URL}root-api-call.yml`);
    const insecure = await runWith({ ROOTWATCH_RUNBOOK_BASE_URL: 'http://runbooks.example/' }, ['replay', sample]);
    expect(insecure.code).toBe(2);
    expect(insecure.stderr).toContain('ROOTWATCH_RUNBOOK_BASE_URL must be an https URL');
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
});
