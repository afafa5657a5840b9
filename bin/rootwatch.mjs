#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so `npx rootwatch` needs no build step.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../functions/cli.ts');
const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});
process.exitCode = code;
