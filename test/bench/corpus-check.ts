/**
 * Checks of the bench's corpus (corpus.ts), used by replay.bench.ts and runnable alone (`npm run bench:corpus`):
 * - deterministic: two corpora written from the same seed into two folders have the same paths and bytes;
 * - labelled truthfully: every record of the first files, classified with the whole catalog (no parameters, as
 *   `rootwatch replay` runs without --config), alerts exactly when the generator labelled it to, and the Root
 *   records it labelled excluded match nothing;
 * - realistic in size: the mean record (bytes of JSON) within ±25 % of ../shared/corpus/cloudtrail's mean.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { classify } from '../../functions/core/classify.js';
import { recordToEvent } from '../../functions/core/event.js';
import { loadDetections } from '../../functions/io/detections.js';
import { corpusAvailable, readCorpus } from '../helpers/corpus.js';
import { corpusRecords, writeCorpus } from './corpus.js';

/** Mean bytes of `JSON.stringify(record)` over ../shared/corpus/cloudtrail/*.jsonl; undefined when it is absent. */
const sharedCorpusMeanBytes = (): { mean: number; records: number } | undefined => {
  if (!corpusAvailable) return undefined;
  const files = [
    'aws-docs-records.jsonl',
    'elastic-integrations-records.jsonl',
    'panther-other-cloudtrail-records.jsonl',
    'panther-rule-tests.jsonl',
    'panther-scenario-compromised-root-creds.jsonl',
    'stratus-red-team-detonation-records.jsonl',
  ];
  let bytes = 0;
  let records = 0;
  for (const file of files) {
    for (const line of readCorpus<{ record: unknown }>(`cloudtrail/${file}`)) {
      bytes += Buffer.byteLength(JSON.stringify(line.record));
      records += 1;
    }
  }
  return { mean: bytes / records, records };
};

/**
 * The records of the first `files` files whose catalog verdict differs from the generator's label, as lines
 * (`<eventID> <eventName> <identity type>: labelled …, catalog says …`); empty when all agree.
 */
const labelProblems = (files: number, seed?: number): { checked: number; problems: string[] } => {
  const detections = loadDetections(undefined, {});
  const problems: string[] = [];
  let checked = 0;
  for (let index = 0; index < files; index++) {
    const { records, labels } = corpusRecords(index, seed === undefined ? {} : { seed });
    const byId = new Map(labels);
    for (const record of records) {
      checked += 1;
      const label = byId.get(record.eventID);
      const matched = classify(recordToEvent(record), detections).map((m) => m.detection.id);
      const shouldAlert = label !== undefined && label.kind !== 'root-excluded';
      if (shouldAlert !== matched.length > 0) {
        const identity = (record.userIdentity as { type?: string } | undefined)?.type ?? '(no type)';
        problems.push(
          `${record.eventID} ${String(record.eventName)} by ${identity}: labelled ${label ? `${label.kind} (${label.what})` : 'quiet'}, catalog matches [${matched.join(', ')}]`,
        );
      }
    }
  }
  return { checked, problems };
};

/** Writes the same corpus twice (`files` files) and says whether both are byte for byte equal. */
const deterministic = (files: number): { equal: boolean; sha256: [string, string] } => {
  const a = mkdtempSync(join(tmpdir(), 'rootwatch-bench-a-'));
  const b = mkdtempSync(join(tmpdir(), 'rootwatch-bench-b-'));
  try {
    const first = writeCorpus(a, { files });
    const second = writeCorpus(b, { files });
    return { equal: first.sha256 === second.sha256, sha256: [first.sha256, second.sha256] };
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
};

const main = () => {
  const files = Number(process.env.BENCH_FILES ?? 20);
  const dir = mkdtempSync(join(tmpdir(), 'rootwatch-bench-corpus-'));
  try {
    const manifest = writeCorpus(dir, { files });
    const mean = manifest.recordJsonBytes / manifest.records;
    const shared = sharedCorpusMeanBytes();
    console.log(`corpus: ${files} files, ${manifest.records} records, sha256 ${manifest.sha256}`);
    console.log(
      `mean record: ${mean.toFixed(0)} B; ../shared/corpus: ${shared ? `${shared.mean.toFixed(0)} B over ${shared.records} records (${((mean / shared.mean - 1) * 100).toFixed(1)} %)` : 'absent'}`,
    );
    const kinds = new Map<string, number>();
    for (const label of manifest.labels.values()) kinds.set(label.what, (kinds.get(label.what) ?? 0) + 1);
    for (const [what, n] of [...kinds].sort((x, y) => y[1] - x[1])) console.log(`  ${String(n).padStart(5)} ${what}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const twice = deterministic(Math.min(files, 10));
  console.log(`deterministic (written twice): ${twice.equal ? 'yes' : `NO (${twice.sha256.join(' ≠ ')})`}`);
  const labels = labelProblems(Math.min(files, 10));
  console.log(
    `labels agree with the catalog on ${labels.checked} records: ${labels.problems.length === 0 ? 'yes' : 'NO'}`,
  );
  for (const problem of labels.problems.slice(0, 20)) console.log(`  ${problem}`);
  if (!twice.equal || labels.problems.length > 0) process.exitCode = 1;
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();

export { deterministic, labelProblems, sharedCorpusMeanBytes };
