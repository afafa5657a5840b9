/**
 * Replay speed: builds a CloudTrail folder as CloudTrail writes it to S3 — gzipped files of 1,000
 * records, BENCH_RECORDS records in all (default 200,000) — from the sample events, 1 in 100 of them one
 * that alerts, and times `rootwatch replay --format ndjson` over the folder in-process. Prints
 * records/s; run with `npm run bench`.
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { formatSummary, replay } from '../../functions/commands/replay.js';
import { classify } from '../../functions/core/classify.js';
import { recordToEvent } from '../../functions/core/event.js';
import { loadDetections } from '../../functions/io/detections.js';
import { isEnvelope, readSample, SAMPLES_DIR } from '../helpers/samples.js';

const total = Number(process.env.BENCH_RECORDS ?? 200_000);
// CloudTrail records only: the samples stored as whole EventBridge events (an application's PutEvents
// look-alikes) are nothing a trail's log file holds.
const samples = readdirSync(SAMPLES_DIR)
  .filter((f) => f.endsWith('.json'))
  .map(readSample)
  .filter((sample) => !isEnvelope(sample));
const detections = loadDetections();
const alerts = (record: Record<string, unknown>) => classify(recordToEvent(record), detections).length > 0;
// Real trails are almost all ordinary activity: 99 quiet records for every one that alerts.
const quiet = samples.filter((r) => !alerts(r));
const root = samples.filter(alerts);

const records = Array.from({ length: total }, (_, i) => {
  const pool = i % 100 === 0 ? root : quiet;
  const base = pool[i % pool.length] as Record<string, unknown>;
  return { ...base, eventID: `bench-${i}`, eventTime: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString() };
});
const dir = mkdtempSync(join(tmpdir(), 'rootwatch-bench-'));
const PER_FILE = 1000;
let bytes = 0;
for (let start = 0; start < records.length; start += PER_FILE) {
  const file = join(dir, `111122223333_CloudTrail_us-east-1_${String(start / PER_FILE).padStart(6, '0')}.json.gz`);
  writeFileSync(file, gzipSync(JSON.stringify({ Records: records.slice(start, start + PER_FILE) })));
  bytes += statSync(file).size;
}
const mb = bytes / 1e6;

let written = 0;
const { summary } = await replay({
  paths: [dir],
  format: 'ndjson',
  minSeverity: 'info',
  detections,
  runbookBaseUrl: 'https://example.invalid/',
  stdout: () => {
    written += 1;
  },
  stderr: new Writable({ write: (_c, _e, done) => done() }),
});
rmSync(dir, { recursive: true });
console.log(`replay: ${formatSummary(summary)}`);
console.log(
  `replay: ${total.toLocaleString('en-US')} records (${Math.ceil(total / PER_FILE)} files, ${mb.toFixed(1)} MB gzipped) in ${summary.seconds.toFixed(2)} s = ${Math.round(total / summary.seconds).toLocaleString('en-US')} records/s, ${written} alerts written`,
);
