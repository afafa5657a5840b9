/**
 * Replay reads small files on worker threads (io/input/workers.ts) and consumes them strictly in input order: what it
 * prints must be byte for byte what it prints reading everything on the main thread, however the files are split
 * among the workers. The worker is started from its TypeScript source here (tsx's loader), as under `npm start`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { replay } from '../../functions/commands/replay.js';
import { DEFAULT_LIMITS } from '../../functions/io/input/limits.js';
import { startScanPool } from '../../functions/io/input/workers.js';
import { logger } from '../../functions/io/logger.js';
import { detections } from '../helpers/pipeline.js';
import { readSample } from '../helpers/samples.js';

let dir: string;

/** A quiet record (no detection matches it) and the samples that alert, by index. */
const quiet = (i: number): Record<string, unknown> => ({
  eventVersion: '1.08',
  userIdentity: { type: 'AssumedRole', arn: `arn:aws:sts::111122223333:assumed-role/app/i-${i}` },
  eventTime: new Date(Date.UTC(2025, 3, 1) + i * 1000).toISOString().replace('.000Z', 'Z'),
  eventSource: 'ec2.amazonaws.com',
  eventName: 'DescribeInstances',
  awsRegion: 'us-east-1',
  sourceIPAddress: '10.0.0.1',
  userAgent: 'aws-sdk-go/1.44',
  requestParameters: {
    maxResults: 1000,
    filterSet: { items: [{ name: 'tag:team', valueSet: { items: [{ value: 'x' }] } }] },
  },
  responseElements: null,
  eventID: `quiet-${i}`,
  readOnly: true,
  eventType: 'AwsApiCall',
  recipientAccountId: '111122223333',
});
const alerting = [
  'root-create-access-key.json',
  'root-console-sign-in-no-mfa.json',
  'root-api-call-put-bucket-versioning.json',
];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rootwatch-workers-'));
  // 24 files of 200 records (1 in 20 alerting, each at its own time), among them one corrupt, one not a log file, one
  // JSON Lines and one with a bad record: every path the main thread takes for a file a worker read.
  let n = 0;
  for (let file = 0; file < 24; file++) {
    const records = Array.from({ length: 200 }, () => {
      const i = n++;
      if (i % 20 !== 7) return quiet(i);
      const sample = readSample(alerting[i % alerting.length] as string);
      return { ...sample, eventID: `alert-${i}`, eventTime: quiet(i).eventTime };
    });
    const extension = file === 9 ? 'jsonl.gz' : 'json.gz';
    const name = join(
      dir,
      'AWSLogs',
      `111122223333_CloudTrail_us-east-1_${String(file).padStart(4, '0')}.${extension}`,
    );
    mkdirSync(join(dir, 'AWSLogs'), { recursive: true });
    let text = JSON.stringify({ Records: records });
    if (file === 5) text = JSON.stringify({ Items: records });
    if (file === 9) text = records.map((record) => JSON.stringify(record)).join('\n');
    if (file === 13) text = JSON.stringify({ Records: [...records.slice(0, 3), 'oops', ...records.slice(3)] });
    const bytes = gzipSync(text);
    writeFileSync(name, file === 17 ? bytes.subarray(0, 100) : bytes);
  }
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const run = async (workers: number) => {
  let stdout = '';
  let stderr = '';
  const level = vi.spyOn(logger, 'setLogLevel').mockImplementation(() => undefined);
  try {
    const { exitCode, summary } = await replay({
      paths: [dir],
      format: 'ndjson',
      minSeverity: 'info',
      detections,
      runbookBaseUrl: 'https://runbooks.example/',
      stdout: (text) => {
        stdout += text;
      },
      stderr: new Writable({
        write: (chunk, _encoding, done) => {
          stderr += String(chunk);
          done();
        },
      }),
      workers,
      now: () => 0,
    });
    return { exitCode, summary, stdout, stderr };
  } finally {
    level.mockRestore();
  }
};

describe('replay on worker threads', () => {
  it('starts its worker from the TypeScript source, which reads, gunzips and scans a file', async () => {
    const pool = startScanPool(1, { patterns: detections.flatMap((d) => d.patterns), limits: DEFAULT_LIMITS });
    expect(pool).toBeDefined();
    try {
      const file = await pool?.scan(join(dir, 'AWSLogs', '111122223333_CloudTrail_us-east-1_0000.json.gz'));
      expect(file?.kind).toBe('scanned');
      const scan = file?.kind === 'scanned' ? file.scan : undefined;
      // 200 records: the 10 that alert (and any other a token lets through) to parse, the rest counted.
      expect((scan?.entries.length ?? 0) + (scan?.skipped ?? 0)).toBe(200);
      expect(scan?.skipped).toBeGreaterThan(150);
      expect(scan?.entries.every((entry) => entry.verdict === 'parse' && entry.text?.startsWith('{'))).toBe(true);
    } finally {
      await pool?.close();
    }
  });

  it('prints byte for byte what it prints on the main thread, errors in the same order', async () => {
    const inThread = await run(0);
    const onWorkers = await run(2);

    expect(inThread.stdout.length).toBeGreaterThan(0);
    expect(onWorkers.stdout).toBe(inThread.stdout);
    expect(onWorkers.stderr).toBe(inThread.stderr);
    expect(onWorkers.summary).toEqual(inThread.summary);
    expect(onWorkers.exitCode).toBe(1);
    // Every record counted, parsed or skipped; the not-a-log file, the bad record and the corrupt file reported.
    expect(inThread.summary.records).toBe(22 * 200);
    expect(inThread.summary.alerts).toBeGreaterThan(0);
    expect(inThread.stderr).toMatch(/0005\.json\.gz: not CloudTrail input/);
    expect(inThread.stderr).toMatch(/0013\.json\.gz \(Records\[3\]\): not a CloudTrail record/);
    expect(inThread.stderr).toMatch(/0017\.json\.gz \(Records\[0\]\): corrupt or truncated gzip data/);
  });
});
