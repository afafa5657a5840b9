import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The shared corpus lives beside the checkout (../shared/corpus). A user's clone has no ../shared:
 * there the corpus tests skip and say why. Under CI=true a missing corpus is an error, so a path
 * mistake can never turn the corpus tests into silent skips.
 */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CORPUS_DIR = process.env.ROOTWATCH_CORPUS_DIR ?? resolve(REPO_ROOT, '../shared/corpus');
const corpusAvailable = existsSync(join(CORPUS_DIR, 'README.md'));

if (!corpusAvailable) {
  if (process.env.CI === 'true') {
    throw new Error(`CI=true but the shared corpus is missing at ${CORPUS_DIR}: the corpus tests cannot run`);
  }
  console.warn(
    `Skipping corpus tests: no shared corpus at ${CORPUS_DIR} (clone the project beside shared/ to run them)`,
  );
}

/** Reads a JSON Lines file of the corpus, e.g. `cloudtrail/panther-rule-tests.jsonl`. */
const readCorpus = <T = Record<string, unknown>>(relativePath: string): T[] =>
  readFileSync(join(CORPUS_DIR, relativePath), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);

/** Every JSON Lines file of CloudTrail records in the corpus, each line `{ record, … }` (see its README). */
const CLOUDTRAIL_RECORD_FILES = [
  'cloudtrail/aws-docs-records.jsonl',
  'cloudtrail/elastic-integrations-records.jsonl',
  'cloudtrail/panther-other-cloudtrail-records.jsonl',
  'cloudtrail/panther-rule-tests.jsonl',
  'cloudtrail/panther-scenario-compromised-root-creds.jsonl',
  'cloudtrail/stratus-red-team-detonation-records.jsonl',
] as const;

export { CLOUDTRAIL_RECORD_FILES, corpusAvailable, REPO_ROOT, readCorpus };
