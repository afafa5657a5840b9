import { createServer } from 'node:net';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, SlackDeliveryError } from '../../functions/errors.js';
import { logger } from '../../functions/io/logger.js';
import { assertWebhookUrl, type PostOptions, postSlackMessage } from '../../functions/io/slack-webhook.js';
import { type SlackReply, type SlackServer, startSlackServer } from '../../functions/local/slack-server.js';

const message = { text: 'Root console sign-in in 123456789012' };

const servers: SlackServer[] = [];
const start = async (script?: SlackReply[]): Promise<SlackServer> => {
  const server = await startSlackServer(script);
  servers.push(server);
  return server;
};

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  vi.restoreAllMocks();
});

/** Options for a test: a recording sleep that returns at once, a fixed jitter, localhost allowed. */
const testOptions = (extra: PostOptions = {}) => {
  const delays: number[] = [];
  const options: PostOptions = {
    allowInsecureLocalhost: true,
    // Generous: only the timeout tests rely on a timeout firing, and they set their own.
    timeoutMs: 10_000,
    random: () => 0.5,
    sleep: async (ms) => {
      delays.push(ms);
    },
    ...extra,
  };
  return { options, delays };
};

/** Runs the call and returns what it threw, failing the test if it did not throw a SlackDeliveryError. */
const postAndCatch = async (url: string, options: PostOptions): Promise<SlackDeliveryError> => {
  const error = await postSlackMessage(url, message, options).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(SlackDeliveryError);
  return error as SlackDeliveryError;
};

/** A port on 127.0.0.1 that nothing listens on: bound by the system, then released. */
const closedPort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
};

/** Every rendering of an error a log line or a crash report could contain, down the cause chain. */
const renderings = (error: unknown): string[] => {
  const out: string[] = [inspect(error, { depth: Number.POSITIVE_INFINITY, showHidden: true }), String(error)];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
    if (typeof current === 'object') {
      out.push(JSON.stringify(current, Object.getOwnPropertyNames(current)));
      for (const name of Object.getOwnPropertyNames(current)) {
        out.push(String((current as Record<string, unknown>)[name]));
      }
      const { stack } = current as { stack?: unknown };
      if (typeof stack === 'string') out.push(stack);
    } else {
      out.push(String(current));
    }
    current = (current as { cause?: unknown }).cause;
  }
  return out;
};

/** The URL, its path, and the secret token (its last path segment), leaving out pieces too short to mean anything. */
const secretsOf = (url: string): string[] => {
  const path = URL.canParse(url) ? new URL(url).pathname : url;
  return [url, path, path.split('/').at(-1) ?? ''].filter((secret) => secret.length >= 6);
};

const expectNoSecret = (error: unknown, url: string): void => {
  // No cause at all: fetch's errors are read for a code and dropped, whatever they carry today.
  expect((error as Error).cause).toBeUndefined();
  for (const text of renderings(error)) {
    for (const secret of secretsOf(url)) expect(text).not.toContain(secret);
  }
};

describe('postSlackMessage', () => {
  it('posts the message as JSON and returns after one attempt on 200', async () => {
    // Prepare
    const slack = await start();
    const { options, delays } = testOptions();
    const payload = {
      text: 'Root sign-in',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*Root* signed in' } }],
    };

    // Act
    const result = await postSlackMessage(slack.url, payload, options);

    // Assess
    expect(result).toStrictEqual({ attempts: 1 });
    expect(delays).toStrictEqual([]);
    expect(slack.requests).toHaveLength(1);
    const [request] = slack.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe(new URL(slack.url).pathname);
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.body).toStrictEqual(payload);
  });

  it('retries a 500 after a jittered backoff, then succeeds', async () => {
    // Prepare
    const slack = await start([{ status: 500, body: 'internal_error' }, 200]);
    const { options, delays } = testOptions();

    // Act
    const result = await postSlackMessage(slack.url, message, options);

    // Assess
    expect(result).toStrictEqual({ attempts: 2 });
    expect(delays).toStrictEqual([250]); // random 0.5 × base 500
    expect(slack.requests).toHaveLength(2);
    expect(slack.requests[1]?.body).toStrictEqual(message);
  });

  it('throws a retryable error after 4 attempts of 503, backing off exponentially', async () => {
    // Prepare
    const slack = await start([503, 503, 503, 503, 200]);
    const { options, delays } = testOptions();

    // Act
    const error = await postAndCatch(slack.url, options);

    // Assess
    expect(error).toMatchObject({ statusCode: 503, retryable: true, attempts: 4 });
    expect(error.retryAfterMs).toBeUndefined();
    expect(error.message).toContain('gave up after 4 attempts');
    expect(delays).toStrictEqual([250, 500, 1000]);
    expect(slack.requests).toHaveLength(4);
  });

  it('caps the backoff at 8000 ms and draws full jitter from random()', async () => {
    // Prepare
    const slack = await start([500, 500, 500, 500]);
    const draws = [0, 0.999, 0.5];
    const { options, delays } = testOptions({ baseDelayMs: 5000, random: () => draws.shift() ?? 0 });

    // Act
    await postAndCatch(slack.url, options);

    // Assess
    expect(delays).toStrictEqual([0, 7992, 4000]); // 0 × 5000, 0.999 × min(8000, 10000), 0.5 × 8000
  });

  it('waits exactly Retry-After on a 429, then succeeds', async () => {
    // Prepare
    const slack = await start([{ status: 429, headers: { 'retry-after': '2' }, body: 'rate_limited' }, 200]);
    const { options, delays } = testOptions();

    // Act
    const result = await postSlackMessage(slack.url, message, options);

    // Assess
    expect(result).toStrictEqual({ attempts: 2 });
    expect(delays).toStrictEqual([2000]);
  });

  it('gives up at once with retryAfterMs when Retry-After exceeds maxRetryAfterMs', async () => {
    // Prepare
    const slack = await start([{ status: 429, headers: { 'retry-after': '120' }, body: 'rate_limited' }]);
    const { options, delays } = testOptions();

    // Act
    const error = await postAndCatch(slack.url, options);

    // Assess
    expect(error).toMatchObject({
      statusCode: 429,
      body: 'rate_limited',
      retryable: true,
      retryAfterMs: 120_000,
      attempts: 1,
    });
    expect(delays).toStrictEqual([]);
    expect(slack.requests).toHaveLength(1);
  });

  it('keeps retryAfterMs when the last attempt is a 429 it would have waited for', async () => {
    // Prepare
    const slack = await start([
      { status: 429, headers: { 'retry-after': '1' } },
      { status: 429, headers: { 'retry-after': '1' } },
    ]);
    const { options, delays } = testOptions({ maxAttempts: 2 });

    // Act
    const error = await postAndCatch(slack.url, options);

    // Assess
    expect(error).toMatchObject({ statusCode: 429, retryable: true, retryAfterMs: 1000, attempts: 2 });
    expect(delays).toStrictEqual([1000]);
  });

  it('does not wait out a Retry-After that would end past the deadline, keeping retryAfterMs', async () => {
    // Prepare: Slack asks for 4 s, which the caller would wait, but the invocation has 3 s left.
    const slack = await start([{ status: 429, headers: { 'retry-after': '4' }, body: 'rate_limited' }]);
    const { options, delays } = testOptions({ maxRetryAfterMs: 5_000, deadline: Date.now() + 3_000 });

    // Act
    const error = await postAndCatch(slack.url, options);

    // Assess
    expect(error).toMatchObject({ statusCode: 429, retryable: true, retryAfterMs: 4_000, attempts: 1 });
    expect(error.message).toMatch(/another would not end before the deadline/);
    expect(delays).toStrictEqual([]);
  });

  it('cuts an attempt’s timeout to the time left before the deadline', async () => {
    // Prepare: a 10 s timeout, but 1.2 s to the deadline.
    const slack = await start(['hang']);
    const { options } = testOptions({ deadline: Date.now() + 1_200 });

    // Act
    const started = Date.now();
    const error = await postAndCatch(slack.url, options);

    // Assess
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(error).toMatchObject({ statusCode: undefined, retryable: true, attempts: 1 });
    expect(error.message).toMatch(/^Slack request failed: timeout after 1\d{3} ms \(gave up after 1 attempt: /);
  });

  it('makes no request when less than a second is left before the deadline', async () => {
    // Prepare
    const slack = await start();
    const { options } = testOptions({ deadline: Date.now() + 500 });

    // Act
    const error = await postAndCatch(slack.url, options);

    // Assess
    expect(error).toMatchObject({ statusCode: undefined, retryable: true, attempts: 0 });
    expect(slack.requests).toHaveLength(0);
  });

  it('times out a request the server never answers, then retries and succeeds', async () => {
    // Prepare
    const slack = await start(['hang', 200]);
    const { options, delays } = testOptions({ timeoutMs: 200 });

    // Act
    const result = await postSlackMessage(slack.url, message, options);

    // Assess: on a very slow machine the second request could time out too, and a later one succeed.
    expect(result.attempts).toBeGreaterThanOrEqual(2);
    expect(slack.requests).toHaveLength(result.attempts);
    expect(delays).toHaveLength(result.attempts - 1);
  });

  it('throws a retryable timeout error when every attempt hangs', async () => {
    // Prepare
    const slack = await start(['hang', 'hang']);
    const { options } = testOptions({ timeoutMs: 100, maxAttempts: 2 });

    // Act
    const error = await postAndCatch(slack.url, options);

    // Assess
    expect(error).toMatchObject({ statusCode: undefined, body: '', retryable: true, attempts: 2 });
    expect(error.message).toBe('Slack request failed: timeout after 100 ms (gave up after 2 attempts)');
  });

  it('retries a refused connection, then throws a retryable error', async () => {
    // Prepare
    const url = `http://127.0.0.1:${await closedPort()}/services/T0/B0/refusedsecret123`;
    const { options, delays } = testOptions({ maxAttempts: 3 });

    // Act
    const error = await postAndCatch(url, options);

    // Assess
    expect(error).toMatchObject({ statusCode: undefined, retryable: true, attempts: 3 });
    expect(error.message).toBe('Slack request failed: connection refused (gave up after 3 attempts)');
    expect(error.cause).toBeUndefined();
    expect(delays).toHaveLength(2);
  });

  it('retries a connection the server resets, then succeeds', async () => {
    // Prepare
    const slack = await start(['destroy', 200]);
    const { options } = testOptions();

    // Act
    const result = await postSlackMessage(slack.url, message, options);

    // Assess
    expect(result).toStrictEqual({ attempts: 2 });
  });

  it.each([
    [400, 'invalid_payload'],
    [403, 'invalid_token'],
    [403, 'action_prohibited'],
    [404, 'no_service'],
    [404, 'channel_not_found'],
    [410, 'channel_is_archived'],
  ])('throws at once, not retryable, when the webhook answers %i %s', async (status, body) => {
    // Prepare
    const slack = await start([{ status, body }]);
    const { options, delays } = testOptions();

    // Act
    const error = await postAndCatch(slack.url, options);

    // Assess
    expect(error).toMatchObject({ statusCode: status, body, retryable: false, attempts: 1 });
    expect(error.message).toBe(`Slack answered ${status} ${body}`);
    expect(delays).toStrictEqual([]);
    expect(slack.requests).toHaveLength(1);
  });

  it.each([301, 302, 307, 308])('does not follow a %i redirect and does not retry it', async (status) => {
    // Prepare
    const target = await start();
    const slack = await start([{ status, headers: { location: target.url } }]);
    const { options, delays } = testOptions();

    // Act
    const error = await postAndCatch(slack.url, options);

    // Assess
    expect(error).toMatchObject({ statusCode: status, retryable: false, attempts: 1 });
    expect(slack.requests).toHaveLength(1);
    expect(target.requests).toHaveLength(0);
    expect(delays).toStrictEqual([]);
    expectNoSecret(error, target.url);
  });

  it('truncates a long error body to 200 characters and strips control characters', async () => {
    // Prepare
    const slack = await start([{ status: 400, body: `bad\r\npayload ${'x'.repeat(5000)}` }]);
    const { options } = testOptions();

    // Act
    const error = await postAndCatch(slack.url, options);

    // Assess
    expect(error.body).toHaveLength(200);
    expect(error.body.startsWith('bad payload xxx')).toBe(true);
  });

  it('redacts the webhook path when an error body echoes it', async () => {
    // Prepare
    const slack = await start([(request) => ({ status: 404, body: `Cannot POST ${request.path}` })]);
    const { options } = testOptions();

    // Act
    const error = await postAndCatch(slack.url, options);

    // Assess
    expect(error.body).toBe('Cannot POST [redacted]');
    expectNoSecret(error, slack.url);
  });

  it('rejects invalid options with a ConfigError', async () => {
    // Prepare
    const slack = await start();

    // Act / Assess
    await expect(postSlackMessage(slack.url, message, testOptions({ maxAttempts: 0 }).options)).rejects.toThrow(
      ConfigError,
    );
    await expect(postSlackMessage(slack.url, message, testOptions({ timeoutMs: -1 }).options)).rejects.toThrow(
      ConfigError,
    );
    expect(slack.requests).toHaveLength(0);
  });
});

describe('assertWebhookUrl', () => {
  it.each([
    'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX',
    'https://hooks.slack.com/triggers/T00000000/1234567890/abcdef0123456789',
  ])('accepts %s', (url) => {
    expect(() => assertWebhookUrl(url)).not.toThrow();
  });

  it.each([
    ['http (not https)', 'http://hooks.slack.com/services/T0/B0/s3cretT0kenValue'],
    ['another host', 'https://hooks.example.com/services/T0/B0/s3cretT0kenValue'],
    ['a look-alike host', 'https://hooks.slack.com.evil.example/services/T0/B0/s3cretT0kenValue'],
    ['credentials', 'https://user:pw@hooks.slack.com/services/T0/B0/s3cretT0kenValue'],
    ['a port', 'https://hooks.slack.com:8443/services/T0/B0/s3cretT0kenValue'],
    ['no path', 'https://hooks.slack.com/?token=s3cretT0kenValue'],
    ['not a URL', 'hooks.slack.com/services/T0/B0/s3cretT0kenValue'],
    ['localhost without allowInsecureLocalhost', 'http://127.0.0.1:9/services/T0/B0/s3cretT0kenValue'],
  ])('rejects %s, not retryable, without echoing the URL', async (_name, url) => {
    // Act: postSlackMessage refuses it before any request
    const error = await postAndCatch(url, { sleep: async () => {} });

    // Assess
    expect(error).toMatchObject({ statusCode: undefined, retryable: false, attempts: 0 });
    expect(error.message).not.toContain('s3cretT0kenValue');
    expectNoSecret(error, url);
  });

  it('accepts 127.0.0.1 and localhost only with allowInsecureLocalhost', () => {
    for (const url of ['http://127.0.0.1:8080/services/x', 'http://localhost:8080/services/x']) {
      expect(() => assertWebhookUrl(url, { allowInsecureLocalhost: true })).not.toThrow();
      expect(() => assertWebhookUrl(url)).toThrow(SlackDeliveryError);
    }
    expect(() => assertWebhookUrl('http://10.0.0.1/services/x', { allowInsecureLocalhost: true })).toThrow(
      SlackDeliveryError,
    );
  });
});

describe('postSlackMessage never reveals the webhook URL', () => {
  const kinds: { name: string; script: SlackReply[]; extra?: PostOptions }[] = [
    { name: '400 invalid_payload', script: [{ status: 400, body: 'invalid_payload' }] },
    { name: '403 invalid_token', script: [{ status: 403, body: 'invalid_token' }] },
    { name: '410 channel_is_archived', script: [{ status: 410, body: 'channel_is_archived' }] },
    { name: '503 until it gives up', script: [503, 503, 503, 503] },
    { name: '429 with a long Retry-After', script: [{ status: 429, headers: { 'retry-after': '120' } }] },
    { name: 'a timeout', script: ['hang', 'hang'], extra: { timeoutMs: 100, maxAttempts: 2 } },
    { name: 'a reset connection', script: ['destroy', 'destroy'], extra: { maxAttempts: 2 } },
    { name: 'a redirect', script: [{ status: 302, headers: { location: 'https://example.com/' } }] },
    { name: 'a body echoing the path', script: [(request) => ({ status: 404, body: `no route ${request.path}` })] },
  ];

  it.each(kinds)('in the error or the logs for $name', async ({ script, extra }) => {
    // Prepare
    const slack = await start(script);
    const { options } = testOptions(extra);
    const logged: unknown[] = [];
    for (const level of ['debug', 'info', 'warn', 'error', 'critical'] as const) {
      vi.spyOn(logger, level).mockImplementation((...args: unknown[]) => {
        logged.push(args);
      });
    }

    // Act
    const error = await postAndCatch(slack.url, options);

    // Assess
    expectNoSecret(error, slack.url);
    for (const secret of secretsOf(slack.url)) expect(inspect(logged, { depth: null })).not.toContain(secret);
  });

  it('in the error for a refused connection', async () => {
    // Prepare
    const url = `http://127.0.0.1:${await closedPort()}/services/T0/B0/refusedsecret123`;

    // Act
    const error = await postAndCatch(url, testOptions({ maxAttempts: 2 }).options);

    // Assess
    expectNoSecret(error, url);
  });
});
