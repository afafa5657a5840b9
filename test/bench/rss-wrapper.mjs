// Runs the rootwatch CLI and, when it exits, writes its peak resident set size (KiB, process.resourceUsage().maxRSS)
// to the file named by the first argument: the replay bench's peak-RSS fallback where /usr/bin/time is missing.
// Usage: node test/bench/rss-wrapper.mjs RSS_FILE replay …
import { writeFileSync } from 'node:fs';

const [rssFile] = process.argv.splice(2, 1);
process.on('exit', () => {
  if (rssFile) writeFileSync(rssFile, `${process.resourceUsage().maxRSS}\n`);
});
await import('../../bin/rootwatch.mjs');
