#!/usr/bin/env node
// Runs the command line as built into dist/ by `npm run build` (npm ci and npm install run it), plain JavaScript
// that starts fast. When dist/ is missing or older than any file it is built from, runs the TypeScript sources
// through tsx instead, as they are now: a developer editing them never runs stale code.
import { readdirSync, readFileSync, statSync } from 'node:fs';

// The AWS SDK warns on every start that its 2027 releases will need Node 22; the CLI runs on Node 20
// today, and the warning would bury the demo's output. Every other warning is still printed.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (!warning.message.startsWith('NodeVersionSupportWarning'))
    process.stderr.write(`${warning.name}: ${warning.message}\n`);
});
// `rootwatch replay … | head` closes stdout early: stop quietly, as Unix tools do.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const root = new URL('../', import.meta.url);

/**
 * When the build in dist/ started (ms since the epoch, from dist/build-stamp.json, which build/cli.mjs writes last),
 * or undefined when there is no complete build.
 */
const builtAt = () => {
  try {
    return JSON.parse(readFileSync(new URL('dist/build-stamp.json', root), 'utf8'));
  } catch {
    return undefined;
  }
};

/** True when some file under the stamp's source folders was modified after the build started (or cannot be read). */
const isStale = ({ startedAt, sources }) => {
  const newerIn = (dir) =>
    readdirSync(dir, { withFileTypes: true }).some((entry) =>
      entry.isDirectory()
        ? newerIn(new URL(`${entry.name}/`, dir))
        : statSync(new URL(entry.name, dir)).mtimeMs >= startedAt,
    );
  try {
    return sources.some((source) => newerIn(new URL(`${source}/`, root)));
  } catch {
    return true;
  }
};

const stamp = builtAt();
let cli;
if (stamp && !isStale(stamp)) {
  // By URL, not a literal path: dist/ exists only once built, and knip and tsc must not look for it.
  cli = await import(new URL('dist/cli.mjs', root).href);
} else {
  // A notice for a person at a terminal; scripts and tests reading stderr get the command's output alone.
  if (process.stderr.isTTY) {
    process.stderr.write(
      `rootwatch: running the sources through tsx (dist/ is ${stamp ? 'older than them' : 'not built'}): \`npm run build\` starts faster\n`,
    );
  }
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import('../functions/cli.ts');
}
// What a command prints goes out in one write per turn of the event loop (or per 64 KiB), not one per alert: a replay
// prints thousands of lines, and each write is a system call. Interactive output (test-alert's hops, the demo) still
// shows as it happens, since every turn flushes. The text is encoded into a buffer as it comes (joining thousands of
// strings then encoding them took twice as long); each write gets a buffer of its own, since stdout may still hold it.
const FLUSH_BYTES = 64 * 1024;
/** Room for FLUSH_BYTES and one more piece of up to FLUSH_BYTES / 3 characters (UTF-8: 3 bytes at most per unit). */
const BUFFER_BYTES = 2 * FLUSH_BYTES;
let buffer = Buffer.allocUnsafe(BUFFER_BYTES);
let used = 0;
let flushing = false;
const flush = () => {
  flushing = false;
  if (used === 0) return;
  const bytes = buffer.subarray(0, used);
  buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  used = 0;
  process.stdout.write(bytes);
};
const print = (text) => {
  if (used + 3 * text.length > BUFFER_BYTES) {
    flush();
    // A piece too long for the buffer goes out whole, after what came before it.
    if (3 * text.length > BUFFER_BYTES) {
      process.stdout.write(text);
      return;
    }
  }
  used += buffer.write(text, used);
  if (used >= FLUSH_BYTES) flush();
  else if (!flushing) {
    flushing = true;
    setImmediate(flush);
  }
};
const code = await cli.runCli(process.argv.slice(2), {
  stdout: print,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});
flush();
process.exitCode = code;
