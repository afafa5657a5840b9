import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { ConfigError, toError } from '../errors.js';

/** Five minutes: a rotated webhook takes effect soon, and a busy notifier asks SSM rarely. */
const DEFAULT_MAX_AGE_SECONDS = 300;

/**
 * Reads the Slack webhook URL from an SSM SecureString parameter through Powertools Parameters
 * (decrypted, cached for `maxAgeSeconds`). The URL is a secret: it never appears in an error or log.
 *
 * @throws ConfigError naming the parameter (and how to create it, when SSM says ParameterNotFound), or
 * saying it is empty.
 */
const createWebhookUrlReader = (client: SSMClient, name: string, maxAgeSeconds = DEFAULT_MAX_AGE_SECONDS) => {
  const provider = new SSMProvider({ awsSdkV3Client: client });
  return async (): Promise<string> => {
    let url: string | undefined;
    try {
      url = await provider.get(name, { decrypt: true, maxAge: maxAgeSeconds });
    } catch (error) {
      // Powertools wraps the SDK's error; SSM's ParameterNotFound has an empty message of its own.
      const err = toError(toError(error).cause ?? error);
      const detail = err.message && err.message !== 'UnknownError' ? ` ${err.message}` : '';
      const hint =
        err.name === 'ParameterNotFound'
          ? ` (create it: aws ssm put-parameter --type SecureString --name ${name} --value …)`
          : '';
      throw new ConfigError(
        `cannot read the Slack webhook URL from SSM parameter ${name}: ${err.name}${detail}${hint}`,
        { cause: error },
      );
    }
    if (!url) throw new ConfigError(`SSM parameter ${name} has no value`);
    return url;
  };
};

export { createWebhookUrlReader };
