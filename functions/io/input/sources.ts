import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { groupDigits } from '../../core/render/text.js';
import { InputError, toError } from '../../errors.js';
import { describeFailure } from './bytes.js';

/*
 * What `rootwatch replay` reads: the paths it is given, directories walked recursively, stdin, and
 * the file-name rules.
 */

const STDIN_PATH = '-';
const STDIN_NAME = '<stdin>';
/** Files a directory walk takes; named paths are read whatever their name. */
const INPUT_FILE = /\.(json|jsonl|ndjson)(\.gz)?$/i;
const JSON_LINES_FILE = /\.(jsonl|ndjson)(\.gz)?$/i;

type Source =
  | { kind: 'file'; path: string; size: number; regular: boolean; explicit: boolean }
  | { kind: 'stdin' }
  | { kind: 'error'; error: InputError };

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Appends the input files under a directory, recursively and in sorted order: names ending .json,
 * .jsonl or .ndjson, each optionally .gz. Dot-files and dot-directories are skipped. Symbolic links
 * are followed, each directory read once.
 */
const walk = async (dir: string, sources: Source[], seen: Set<string>, skipped: Skipped): Promise<void> => {
  try {
    const real = await realpath(dir);
    if (seen.has(real)) return;
    seen.add(real);
    const entries = (await readdir(dir, { withFileTypes: true })).filter((entry) => !entry.name.startsWith('.'));
    entries.sort(byName);
    // Stat in parallel, then take the entries in order.
    const stats = entries.map((entry) =>
      entry.isDirectory() || (entry.isFile() && !INPUT_FILE.test(entry.name))
        ? undefined
        : stat(join(dir, entry.name)).catch((error: unknown) => toError(error)),
    );
    for (const [index, entry] of entries.entries()) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        await walk(path, sources, seen, skipped);
        continue;
      }
      const found = await stats[index];
      if (found !== undefined && !(found instanceof Error) && found.isDirectory()) {
        await walk(path, sources, seen, skipped);
      } else if (!INPUT_FILE.test(entry.name)) {
        skipped.files += 1;
        if (skipped.names.length < SKIPPED_NAMES_SHOWN) skipped.names.push(path);
      } else if (found instanceof Error) {
        // A broken link, or a file gone since readdir: worth saying only for a file we would read.
        sources.push({ kind: 'error', error: failure(path, found) });
      } else if (found?.isFile()) {
        sources.push({ kind: 'file', path, size: found.size, regular: true, explicit: false });
      }
    }
  } catch (error) {
    sources.push({ kind: 'error', error: failure(dir, error) });
  }
};

/** Files a directory walk passed over for their names: how many, and the paths of the first SKIPPED_NAMES_SHOWN. */
interface Skipped {
  files: number;
  names: string[];
}
const SKIPPED_NAMES_SHOWN = 3;

/**
 * `3 files are skipped for their names (a.log, b.txt, c.csv; name a file to read it whatever its name)`, with `other`
 * `3 other files are …`.
 */
const skippedFiles = ({ files, names }: Skipped, other: boolean): string =>
  `${groupDigits(files)} ${other ? 'other ' : ''}${files === 1 ? 'file is' : 'files are'} skipped for ${files === 1 ? 'its name' : 'their names'} (${names.join(', ')}${files > names.length ? ', …' : ''}; name a file to read it whatever its name)`;

const noLogFile = (dir: string, skipped: Skipped): string =>
  `${dir}: no log file (.json, .jsonl, .ndjson, each optionally .gz) in this folder or below${skipped.files === 0 ? '' : `; ${skippedFiles(skipped, true)}`}`;

const failure = (file: string, error: unknown): InputError =>
  new InputError(file, undefined, describeFailure(error), { cause: error });

/**
 * Everything to read, in order, with the sizes the progress bar needs. A directory that holds no file to read is said
 * through `onNotice` (with the number of files skipped for their names), so that an empty run is never silent; one
 * that holds files skipped for their names beside files to read, too (how many, and the first three).
 */
const findSources = async (paths: string[], onNotice?: (message: string) => void): Promise<Source[]> => {
  const sources: Source[] = [];
  const seen = new Set<string>();
  for (const path of paths) {
    if (path === STDIN_PATH) {
      sources.push({ kind: 'stdin' });
      continue;
    }
    try {
      const stats = await stat(path);
      if (stats.isDirectory()) {
        const [before, walked] = [sources.length, seen.size];
        const skipped: Skipped = { files: 0, names: [] };
        await walk(path, sources, seen, skipped);
        // Not for a directory read already (named twice, or under another named one).
        if (sources.length === before && seen.size > walked) onNotice?.(noLogFile(path, skipped));
        // Beside log files, files of other names (`.log`, `.json.bz2`) are named too: none is passed over silently.
        else if (skipped.files > 0) onNotice?.(`${path}: ${skippedFiles(skipped, false)}`);
      }
      // Pipes and devices (e.g. `<(zcat ...)`) are read too; only regular files have a size.
      else {
        const regular = stats.isFile();
        sources.push({ kind: 'file', path, size: regular ? stats.size : 0, regular, explicit: true });
      }
    } catch (error) {
      sources.push({ kind: 'error', error: failure(path, error) });
    }
  }
  return sources;
};

export type { Source };
export { byName, findSources, INPUT_FILE, JSON_LINES_FILE, STDIN_NAME };
