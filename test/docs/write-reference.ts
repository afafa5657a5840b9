/**
 * `npm run docs`: writes docs/detections.md from the catalog (events/*.yml, through functions/io/detections.ts).
 * Run it after changing a detection file; test/docs.test.ts fails while the committed file is stale.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DEFAULT_DETECTIONS_DIR, readCatalogDocuments } from '../../functions/io/detections.js';
import { REPO_ROOT } from '../helpers/corpus.js';
import { REFERENCE_FILE, renderDetectionsReference } from './detections-reference.js';

const { documents } = readCatalogDocuments(DEFAULT_DETECTIONS_DIR);
const target = join(REPO_ROOT, REFERENCE_FILE);
mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, renderDetectionsReference(documents));
process.stderr.write(`wrote ${REFERENCE_FILE} (${documents.length} detections)\n`);
