import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { toError } from '../errors.js';

/*
 * The profiles of the shared AWS config and credentials files, so that a command given `--profile nosuch` says that
 * profile was not found rather than the SDK's "Could not load credentials from any providers".
 */

/**
 * The shared config and credentials files the SDK reads profiles from: AWS_CONFIG_FILE and
 * AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/config and ~/.aws/credentials
 * (https://docs.aws.amazon.com/sdkref/latest/guide/file-location.html).
 */
const sharedFiles = (): string[] => [
  process.env.AWS_CONFIG_FILE || join(homedir(), '.aws', 'config'),
  process.env.AWS_SHARED_CREDENTIALS_FILE || join(homedir(), '.aws', 'credentials'),
];

/**
 * Whether a profile has a section in either shared file: `[profile NAME]` or `[NAME]` (config writes the first,
 * credentials the second; either is accepted in either file here, so that a profile is never wrongly called missing).
 */
const profileDeclared = (profile: string, files: readonly string[]): boolean =>
  files.some((file) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return false; // a file that is not there declares nothing
    }
    return text.split(/\r?\n/).some((line) => /^\s*\[\s*(?:profile\s+)?([^\]]*?)\s*\]/.exec(line)?.[1] === profile);
  });

/**
 * For an SDK failure to find credentials or a region: the message saying that the profile in use (`profile`, else
 * AWS_PROFILE) is declared in neither shared file; undefined when no profile is in use, it is declared, or the
 * failure is of another kind.
 *
 * @example
 * undeclaredProfileMessage(new Error('Could not load credentials from any providers'), 'nosuch');
 * // 'the profile "nosuch" was not found in the shared config and credentials files (~/.aws/config, ~/.aws/credentials): …'
 */
const undeclaredProfileMessage = (error: unknown, profile: string | undefined): string | undefined => {
  const err = toError(error);
  const credentials = err.name === 'CredentialsProviderError' || /could not load credentials/i.test(err.message);
  const named = profile || process.env.AWS_PROFILE;
  if (!(credentials || /region is missing/i.test(err.message)) || !named || profileDeclared(named, sharedFiles())) {
    return undefined;
  }
  return (
    `the profile "${named}" was not found in the shared config and credentials files (${sharedFiles().join(', ')}): ` +
    'check its name (aws configure list-profiles), or set AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE'
  );
};

export { undeclaredProfileMessage };
