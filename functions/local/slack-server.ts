// A local Slack webhook for `npm start` and the tests. Never part of a Lambda bundle.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { listenOnLoopback, readBody } from './http.js';

/** One request the fake Slack webhook received. */
interface SlackRequest {
  method: string;
  /** Path and query string, as sent on the request line. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body as text. */
  rawBody: string;
  /** The body parsed as JSON; undefined when it is not JSON. */
  body: unknown;
}

/** A full answer: status (default 200), headers, and body (default "ok" for 2xx, "" otherwise). */
interface SlackResponseSpec {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * How the server answers one request:
 * - a number: that status with the default body,
 * - an object: status, headers and body,
 * - 'hang': read the request and never answer (the client must time out),
 * - 'destroy': read the request and reset the connection without answering,
 * - a function of the recorded request returning any of the above.
 */
type SlackReply =
  | number
  | SlackResponseSpec
  | 'hang'
  | 'destroy'
  | ((request: SlackRequest) => number | SlackResponseSpec | 'hang' | 'destroy');

interface SlackServer {
  /** A webhook-shaped URL on this server, with a random secret: http://127.0.0.1:PORT/services/T…/B…/SECRET. */
  url: string;
  /** http://127.0.0.1:PORT, to build other paths on the same server. */
  origin: string;
  /** Every request received, in order. The same array for the server's lifetime. */
  requests: SlackRequest[];
  /** Replaces the replies still to come. Once they run out, the server answers 200 "ok". */
  setScript(script: SlackReply[]): void;
  /** Stops listening and drops every connection, hanging ones included. Safe to call twice. */
  close(): Promise<void>;
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
};

const answer = (res: ServerResponse, spec: SlackResponseSpec): void => {
  const status = spec.status ?? 200;
  const body = spec.body ?? (status >= 200 && status < 300 ? 'ok' : '');
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...spec.headers });
  res.end(body);
};

/**
 * Starts a fake Slack incoming webhook: a real node:http server on 127.0.0.1 and a random port. It
 * records each request and answers from `script` in order, then 200 "ok".
 *
 * @example
 * import { postSlackMessage } from '../io/slack-webhook.js';
 *
 * const slack = await startSlackServer([500, { status: 429, headers: { 'retry-after': '1' } }, 200]);
 * await postSlackMessage(slack.url, { text: 'hi' }, { allowInsecureLocalhost: true }); // { attempts: 3 }
 * slack.requests.length; // 3
 * await slack.close();
 */
const startSlackServer = async (script: SlackReply[] = []): Promise<SlackServer> => {
  let pending = [...script];
  const requests: SlackRequest[] = [];

  const server = createServer((req, res) => {
    void (async () => {
      const rawBody = await readBody(req);
      const request: SlackRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        rawBody,
        body: parseJson(rawBody),
      };
      requests.push(request);
      const next = pending.shift() ?? 200;
      const reply = typeof next === 'function' ? next(request) : next;
      if (reply === 'hang') return;
      if (reply === 'destroy') {
        req.socket.destroy();
        return;
      }
      answer(res, typeof reply === 'number' ? { status: reply } : reply);
    })();
  });
  const { origin, close } = await listenOnLoopback(server);
  const secret = randomBytes(12).toString('hex');

  return {
    url: `${origin}/services/T0000TEST/B0000TEST/${secret}`,
    origin,
    requests,
    setScript(next) {
      pending = [...next];
    },
    close,
  };
};

export type { SlackReply, SlackServer };
export { startSlackServer };
