import { setTimeout as delay } from 'node:timers/promises';
import { ConfigError, SlackDeliveryError } from '../errors.js';
import { logger } from './logger.js';

/*
 * Why global fetch and not IncomingWebhook from @slack/webhook (8.x, which is itself built on fetch, not
 * axios): it sets a timeout and refuses redirects, but on a failed response it throws
 * IncomingWebhookHTTPError with status, statusText and body only. The response headers are dropped, so a
 * 429's Retry-After cannot be read, and its own retry policy fails 429s at once. Getting the header back
 * would mean smuggling the Response out through an injected fetch. It also wraps every transport error,
 * a refused redirect included, as IncomingWebhookRequestError with the raw fetch error as `cause`, which
 * we must not keep. One POST with fetch is a few lines and gives us all of it directly.
 *
 * Redirects: we send `redirect: 'manual'` rather than `'error'`. Neither follows a redirect, but with
 * 'error' a redirect reaches us only as an undici "fetch failed" TypeError, looking like any network
 * error (the fetch spec makes it a network error), and telling it apart means matching the cause's
 * message. With 'manual' we get the 3xx status itself and fail at once, not retryable.
 */

/** The body we post: Slack's incoming-webhook payload (renderSlackMessage's output fits it). */
interface SlackPayload {
  text: string;
  blocks?: unknown[];
}

interface PostOptions {
  /** Per attempt, connect to last body byte. Default 5000. */
  timeoutMs?: number;
  /** Requests in all, the first included. Default 4 (1 + 3 retries). */
  maxAttempts?: number;
  /** Backoff base: before retry n we wait random() × min(8000, base × 2^(n-1)) ms (full jitter). Default 500. */
  baseDelayMs?: number;
  /**
   * The longest 429 Retry-After we wait out in process. Default 30000. A longer one ends the call with a
   * retryable SlackDeliveryError carrying `retryAfterMs`, so the caller (an SQS consumer) delays the message.
   */
  maxRetryAfterMs?: number;
  /**
   * Epoch ms by which the call must be over (a Lambda's remaining time, less what its caller needs after).
   * No attempt runs past it and no wait ends after it: each attempt's timeout is cut to the time left, and
   * when the next attempt (after its backoff or Retry-After) could not get at least a second before the
   * deadline, the call ends with a retryable SlackDeliveryError (with `retryAfterMs` when Slack named one).
   * Default: none.
   */
  deadline?: number;
  /** Accept http(s)://127.0.0.1 and http(s)://localhost webhook URLs (tests, the demo). Default false. */
  allowInsecureLocalhost?: boolean;
  /** Injectable for tests: epoch ms, the clock `deadline` is on. */
  now?: () => number;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  /** Injectable for tests: a number in [0, 1). */
  random?: () => number;
}

interface PostResult {
  /** Requests made, the successful one included. */
  attempts: number;
}

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_MAX_ATTEMPTS = 4;
const DEFAULT_BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 8000;
const DEFAULT_MAX_RETRY_AFTER_MS = 30_000;
/** The least time worth an attempt: a webhook post takes a few hundred ms. */
const MIN_ATTEMPT_MS = 1000;
const MAX_BODY_CHARS = 200;
const SLACK_WEBHOOK_HOST = 'hooks.slack.com';
const LOCAL_HOSTS = ['127.0.0.1', 'localhost'];

/**
 * What one request came to. `reason` is a short constant for logs; `summary` the start of the error
 * message. Neither holds the URL.
 */
type AttemptOutcome =
  | { kind: 'delivered' }
  /** Worth retrying: network error, timeout, 5xx, 429. */
  | {
      kind: 'transient';
      statusCode: number | undefined;
      body: string;
      reason: string;
      summary: string;
      retryAfterMs?: number;
    }
  /** Retrying cannot help: 4xx, a redirect. */
  | { kind: 'permanent'; statusCode: number; body: string; reason: string; summary: string };

const failure = (
  statusCode: number | undefined,
  body: string,
  retryable: boolean,
  message: string,
  details: { attempts: number; retryAfterMs?: number },
): SlackDeliveryError => {
  const error = new SlackDeliveryError(statusCode, body, retryable, message);
  error.attempts = details.attempts;
  if (details.retryAfterMs !== undefined) error.retryAfterMs = details.retryAfterMs;
  return error;
};

/**
 * Whether `url` is a Slack incoming-webhook URL: https://hooks.slack.com/<path>, default port, no credentials
 * (with `allowInsecureLocalhost`, http(s)://127.0.0.1 or localhost on any port too).
 *
 * @example
 * isWebhookUrl('https://hooks.slack.com/services/T000/B000/XXXX'); // true
 * isWebhookUrl('https://example.com/services/T000/B000/XXXX'); // false
 */
const isWebhookUrl = (url: string, options: { allowInsecureLocalhost?: boolean } = {}): boolean => {
  // canParse, not a try around new URL(): the TypeError new URL() throws carries the input.
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  return (
    parsed !== undefined &&
    parsed.username === '' &&
    parsed.password === '' &&
    ((parsed.protocol === 'https:' &&
      parsed.hostname === SLACK_WEBHOOK_HOST &&
      parsed.port === '' &&
      parsed.pathname.length > 1) ||
      (options.allowInsecureLocalhost === true &&
        (parsed.protocol === 'http:' || parsed.protocol === 'https:') &&
        LOCAL_HOSTS.includes(parsed.hostname)))
  );
};

/**
 * Throws unless `url` is a Slack incoming-webhook URL: https://hooks.slack.com/<path>, default port, no
 * credentials. With `allowInsecureLocalhost`, http(s)://127.0.0.1 or localhost on any port is accepted too.
 * The error never repeats the URL: it is a secret.
 *
 * @example
 * assertWebhookUrl('https://hooks.slack.com/services/T000/B000/XXXX'); // returns
 * assertWebhookUrl('http://hooks.slack.com/services/T000/B000/XXXX'); // throws SlackDeliveryError, retryable: false
 */
const assertWebhookUrl = (url: string, options: { allowInsecureLocalhost?: boolean } = {}): void => {
  if (!isWebhookUrl(url, options)) {
    throw failure(
      undefined,
      '',
      false,
      `Slack webhook URL is invalid: expected https://${SLACK_WEBHOOK_HOST}/…${
        options.allowInsecureLocalhost ? ' or http://127.0.0.1 / localhost' : ''
      } (the URL itself is not shown: it is a secret)`,
      { attempts: 0 },
    );
  }
};

const assertOptions = (
  options: Required<Pick<PostOptions, 'timeoutMs' | 'maxAttempts' | 'baseDelayMs' | 'maxRetryAfterMs'>>,
) => {
  const { timeoutMs, maxAttempts, baseDelayMs, maxRetryAfterMs } = options;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new ConfigError(`postSlackMessage: maxAttempts must be an integer ≥ 1, got ${maxAttempts}`);
  }
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new ConfigError(`postSlackMessage: timeoutMs must be a positive number, got ${timeoutMs}`);
  }
  for (const [name, value] of [
    ['baseDelayMs', baseDelayMs],
    ['maxRetryAfterMs', maxRetryAfterMs],
  ] as const) {
    if (!Number.isFinite(value) || value < 0) {
      throw new ConfigError(`postSlackMessage: ${name} must be a number ≥ 0, got ${value}`);
    }
  }
};

/**
 * Strips anything of the webhook URL from a response body (a proxy's error page may echo the request
 * path), removes control characters and truncates to 200 characters.
 */
const sanitizeBody = (text: string, url: URL): string => {
  const secrets = [url.href, `${url.origin}${url.pathname}`, url.pathname, ...url.pathname.split('/')]
    .filter((part) => part.length >= 6)
    .sort((a, b) => b.length - a.length);
  let body = text;
  for (const secret of secrets) body = body.split(secret).join('[redacted]');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
  body = body.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return body.length > MAX_BODY_CHARS ? body.slice(0, MAX_BODY_CHARS) : body;
};

/** Retry-After in ms: delta-seconds (what Slack sends) or an HTTP date; undefined when absent or unreadable. */
const parseRetryAfter = (value: string | null): number | undefined => {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
};

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  UND_ERR_SOCKET: 'connection reset',
  UND_ERR_CLOSED: 'connection reset',
  ENOTFOUND: 'DNS lookup failed',
  EAI_AGAIN: 'DNS lookup failed',
  EAI_FAIL: 'DNS lookup failed',
  ETIMEDOUT: 'connect timeout',
  UND_ERR_CONNECT_TIMEOUT: 'connect timeout',
  UND_ERR_HEADERS_TIMEOUT: 'response timeout',
  UND_ERR_BODY_TIMEOUT: 'response timeout',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/** The first error code in a cause chain (AggregateErrors included), if it looks like one. */
const findErrorCode = (error: unknown, depth = 0): string | undefined => {
  if (depth > 5 || typeof error !== 'object' || error === null) return undefined;
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code)) return code;
  if (Array.isArray(errors)) {
    for (const inner of errors) {
      const found = findErrorCode(inner, depth + 1);
      if (found) return found;
    }
  }
  return findErrorCode(cause, depth + 1);
};

/**
 * A short, generic reason for a failed fetch: built from the error's name and code only, never its
 * message (which may name the host or the URL).
 */
const describeNetworkError = (error: unknown, timeoutMs: number): string => {
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError') return `timeout after ${timeoutMs} ms`;
  const code = findErrorCode(error);
  if (code === undefined) return 'network error';
  return NETWORK_REASONS[code] ?? `network error (${code})`;
};

const postOnce = async (url: URL, payload: string, timeoutMs: number): Promise<AttemptOutcome> => {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: payload,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    // The fetch error is read for its name and code, then dropped: it may carry the URL.
    const reason = describeNetworkError(error, timeoutMs);
    return { kind: 'transient', statusCode: undefined, body: '', reason, summary: `Slack request failed: ${reason}` };
  }
  const status = response.status;
  // Read the body under the same timeout; a body lost after the status line leaves the status to go on.
  const body = sanitizeBody(await response.text().catch(() => ''), url);
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  // 'opaqueredirect' (status 0) is what a spec-exact fetch gives for a redirect in 'manual' mode.
  if (response.type === 'opaqueredirect' || (status >= 300 && status < 400)) {
    return {
      kind: 'permanent',
      statusCode: status,
      body,
      reason: 'redirect refused',
      summary: `Slack webhook answered ${status}, a redirect: not followed`,
    };
  }
  const summary = `Slack answered ${status} ${body}`.trim();
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
    return {
      kind: 'transient',
      statusCode: status,
      body,
      reason: 'rate limited',
      summary,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    };
  }
  if (status >= 500) return { kind: 'transient', statusCode: status, body, reason: 'server error', summary };
  return { kind: 'permanent', statusCode: status, body, reason: 'rejected', summary };
};

/**
 * Posts one message to a Slack incoming webhook, retrying what Slack says is transient: network errors,
 * timeouts and 5xx with exponential backoff and full jitter; a 429 after exactly its Retry-After. Other
 * 4xx and redirects fail at once. Never runs past `deadline`. Throws SlackDeliveryError (`retryable` says whether a later attempt
 * may succeed; `retryAfterMs` is set when Slack asked for a longer pause than `maxRetryAfterMs`). Neither
 * the error nor any log line contains the webhook URL.
 *
 * @example
 * const { attempts } = await postSlackMessage('https://hooks.slack.com/services/T000/B000/XXXX', { text: 'hi' });
 * // attempts: 1 when Slack answers 200 at once
 */
const postSlackMessage = async (
  webhookUrl: string,
  message: SlackPayload,
  options: PostOptions = {},
): Promise<PostResult> => {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const baseDelayMs = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const deadline = options.deadline ?? Number.POSITIVE_INFINITY;
  assertOptions({ timeoutMs, maxAttempts, baseDelayMs, maxRetryAfterMs });
  assertWebhookUrl(webhookUrl, { allowInsecureLocalhost: options.allowInsecureLocalhost === true });
  const url = new URL(webhookUrl);
  const payload = JSON.stringify(message);

  const left = deadline - now();
  if (left < MIN_ATTEMPT_MS) {
    throw failure(undefined, '', true, `Slack request not made: ${Math.max(0, left)} ms left before the deadline`, {
      attempts: 0,
    });
  }
  for (let attempt = 1; ; attempt++) {
    const outcome = await postOnce(url, payload, Math.min(timeoutMs, Math.max(MIN_ATTEMPT_MS, deadline - now())));
    if (outcome.kind === 'delivered') return { attempts: attempt };

    const { statusCode, body, reason, summary } = outcome;
    if (outcome.kind === 'permanent') throw failure(statusCode, body, false, summary, { attempts: attempt });

    const { retryAfterMs } = outcome;
    if (retryAfterMs !== undefined && retryAfterMs > maxRetryAfterMs) {
      throw failure(
        statusCode,
        body,
        true,
        `${summary}: Slack asks to retry after ${retryAfterMs} ms, longer than the ${maxRetryAfterMs} ms we wait`,
        { attempts: attempt, retryAfterMs },
      );
    }
    if (attempt >= maxAttempts) {
      throw failure(
        statusCode,
        body,
        true,
        `${summary} (gave up after ${attempt} attempt${attempt === 1 ? '' : 's'})`,
        { attempts: attempt, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
      );
    }

    const waitMs = retryAfterMs ?? Math.floor(random() * Math.min(MAX_DELAY_MS, baseDelayMs * 2 ** (attempt - 1)));
    if (now() + waitMs + MIN_ATTEMPT_MS > deadline) {
      throw failure(
        statusCode,
        body,
        true,
        `${summary} (gave up after ${attempt} attempt${attempt === 1 ? '' : 's'}: another would not end before the deadline)`,
        { attempts: attempt, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
      );
    }
    logger.warn('slack post failed, retrying', {
      attempt,
      maxAttempts,
      statusCode,
      reason,
      waitMs,
      slackWebhookHost: url.host,
    });
    await sleep(waitMs);
  }
};

export type { PostOptions };
export { assertWebhookUrl, isWebhookUrl, postSlackMessage };
