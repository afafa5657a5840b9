import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** One finding of cfn-lint's JSON output. */
interface CfnLintMatch {
  Level: 'Error' | 'Warning' | 'Informational';
  Message: string;
  Rule: { Id: string };
  Location: { Path: (string | number)[] | null };
}

/**
 * cfn-lint's findings for the template at `templatePath`, checked in `regions`, leaving out the rule ids in `ignore`;
 * undefined when cfn-lint is not on PATH (a Python tool, not a dependency of rootwatch: the caller skips with a
 * message). cfn-lint exits 2, 4, 8 or their sums when it reports errors, warnings or informational matches, which is
 * not a failure here; 1 is cfn-lint failing, and throws.
 */
const runCfnLint = async (
  templatePath: string,
  regions: readonly string[],
  ignore: readonly string[] = [],
): Promise<CfnLintMatch[] | undefined> => {
  const args = ['--format', 'json', '--regions', ...regions];
  if (ignore.length > 0) args.push('--ignore-checks', ...ignore);
  type ExecError = Error & { code?: unknown; stdout?: string; stderr?: string };
  const result = await promisify(execFile)('cfn-lint', [...args, '--', templatePath], {
    maxBuffer: 16 * 1024 * 1024,
  }).catch((error: ExecError) => {
    // Not found, or a pyenv or asdf shim that found no cfn-lint in the selected Python (127).
    if (error.code === 'ENOENT' || error.code === 127) return undefined;
    if (typeof error.code === 'number' && error.code > 1 && error.stdout) {
      return { stdout: error.stdout, stderr: error.stderr ?? '' };
    }
    throw error;
  });
  if (result === undefined) return undefined;
  try {
    return JSON.parse(result.stdout) as CfnLintMatch[];
  } catch (error) {
    throw new Error(`cfn-lint printed no JSON:\n${result.stdout}\n${result.stderr}`, { cause: error });
  }
};

/** `E3012 Resources.Rule.Properties.State: …`: a finding on one line. */
const formatMatch = ({ Rule, Location, Message }: CfnLintMatch): string =>
  `${Rule.Id} ${(Location.Path ?? []).join('.')}: ${Message}`;

export { formatMatch, runCfnLint };
