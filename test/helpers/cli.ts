import { Readable, Writable } from 'node:stream';
import { runCli } from '../../functions/cli.js';

/**
 * Runs the rootwatch command line in-process, as bin/rootwatch.mjs does, with `env` as its environment and `stdin` as
 * its standard input; resolves to the exit status and everything written to stdout and stderr.
 */
const runCliCaptured = async (
  args: string[],
  { env = {}, stdin }: { env?: Record<string, string>; stdin?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> => {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: new Writable({
      write(chunk, _encoding, done) {
        stderr += String(chunk);
        done();
      },
    }),
    ...(stdin !== undefined ? { stdin: Readable.from([stdin]) } : {}),
    env,
  });
  return { code, stdout, stderr };
};

export { runCliCaptured };
