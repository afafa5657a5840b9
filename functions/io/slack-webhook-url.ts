import type { SSMClient } from '@aws-sdk/client-ssm';
import { ConfigError, toError } from '../errors.js';
import { sdk } from './aws-clients.js';
import { isWebhookUrl } from './slack-webhook.js';

/** Five minutes: a rotated webhook takes effect soon, and a busy notifier asks SSM rarely. */
const DEFAULT_MAX_AGE_SECONDS = 300;

/**
 * Reads the Slack webhook URL from an SSM SecureString parameter (GetParameter, decrypted), cached for
 * `maxAgeSeconds`; a failed read is not cached. The SDK's SSM module is imported on the first read, not at module
 * load (Powertools Parameters' SSMProvider, used before, imported it at load). The URL is a secret: it never appears in an error or log.
 * Every way the parameter can be wrong is a ConfigError, which the notifier does not retry message by
 * message: it fails the invocation, so the Errors alarm fires and the messages stay queued.
 *
 * @throws ConfigError naming the parameter: SSM refused or failed (ParameterNotFound, with how to create it;
 * AccessDeniedException; a timeout), the value is empty, or it is not a Slack incoming-webhook URL.
 * @example
 * import { SSMClient } from '@aws-sdk/client-ssm';
 *
 * const webhookUrl = createWebhookUrlReader(new SSMClient({}), '/rootwatch/prod/slack-webhook-url');
 * await webhookUrl(); // 'https://hooks.slack.com/services/…', from SSM at most every five minutes
 */
const createWebhookUrlReader = (client: SSMClient, name: string, maxAgeSeconds = DEFAULT_MAX_AGE_SECONDS) => {
  let cached: { value: string | undefined; expiresAtMs: number } | undefined;
  const read = async (): Promise<string | undefined> => {
    if (cached && Date.now() < cached.expiresAtMs) return cached.value;
    const { GetParameterCommand } = await sdk.ssm();
    const { Parameter } = await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    cached = { value: Parameter?.Value, expiresAtMs: Date.now() + maxAgeSeconds * 1000 };
    return cached.value;
  };
  return async (): Promise<string> => {
    let url: string | undefined;
    try {
      url = await read();
    } catch (error) {
      // An error may wrap the SDK's (its cause); SSM's ParameterNotFound has an empty message of its own.
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
    const value = url?.trim();
    if (!value) throw new ConfigError(`SSM parameter ${name} has no value: put the Slack webhook URL in it`);
    if (!isWebhookUrl(value)) {
      throw new ConfigError(
        `SSM parameter ${name} does not hold a Slack incoming-webhook URL (https://hooks.slack.com/…; the value is not shown: it is a secret)`,
      );
    }
    return value;
  };
};

export { createWebhookUrlReader };
