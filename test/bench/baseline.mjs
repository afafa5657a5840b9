// The plain Node baseline of the replay bench (replay.bench.ts): what anyone would write in a few lines, on one
// thread. For each *.json.gz file under DIR (recursively, in sorted order): read it, gunzip it, JSON.parse it, and
// print the eventID of each record of its `Records` whose userIdentity.type is "Root", one a line.
// Usage: node test/bench/baseline.mjs DIR
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

const filesUnder = (dir) =>
  readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return filesUnder(path);
      return entry.name.endsWith('.json.gz') ? [path] : [];
    });

const out = [];
for (const file of filesUnder(process.argv[2] ?? '.')) {
  const { Records } = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8'));
  for (const record of Records) if (record.userIdentity?.type === 'Root') out.push(record.eventID);
}
process.stdout.write(out.length > 0 ? `${out.join('\n')}\n` : '');
