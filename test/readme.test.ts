import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/corpus.js';

/** The code block under "## How it is built": the map of the code a newcomer reads first. */
const tree = (() => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## How it is built'));
  return /```\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
})();

const filesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });

describe('README "How it is built"', () => {
  it('names every source file under functions/, so each step is findable in one guess', () => {
    const unnamed = filesUnder(join(REPO_ROOT, 'functions'))
      .filter((path) => path.endsWith('.ts') && !path.endsWith('.d.ts'))
      .map((path) => relative(join(REPO_ROOT, 'functions'), path))
      .filter((path) => {
        const parts = path.split('/');
        const file = parts.at(-1) ?? '';
        // Named by file, and by every folder on its way.
        return (
          !new RegExp(`(^|\\s|,)${file.replace('.', '\\.')}\\b`).test(tree) ||
          parts.slice(0, -1).some((folder) => !tree.includes(`${folder}/`))
        );
      });
    expect(unnamed).toEqual([]);
  });

  it('names no file that does not exist', () => {
    const sources = new Set(
      [
        ...filesUnder(join(REPO_ROOT, 'functions')),
        ...filesUnder(join(REPO_ROOT, 'test')),
        ...filesUnder(join(REPO_ROOT, 'build')),
      ].map((path) => path.split('/').at(-1)),
    );
    const named = [...tree.matchAll(/(?:^|[\s,(])([a-z][\w-]*\.(?:ts|cjs))\b/g)].map((match) => match[1]);
    expect(named.length).toBeGreaterThan(30);
    const missing = named.filter(
      (file) => !sources.has(file) && !readdirSync(join(REPO_ROOT, 'resources')).includes(file ?? ''),
    );
    expect(missing).toEqual([]);
  });
});
