// A local EventBridge event bus for the tests: PutEvents over the wire, then the matching rules' targets. Never part
// of a Lambda bundle.
import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import { compilePattern } from '../core/event-pattern/compile.js';
import { toError } from '../errors.js';
import { listenOnLoopback, readBody } from './http.js';

/** An event as EventBridge delivers it to a rule's target. */
interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

/** A rule on the local bus: its event pattern and its target, called with each matching event. */
interface LocalRule {
  name: string;
  pattern: unknown;
  /**
   * `ENABLED` (the default), `DISABLED`, or `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`: as on AWS, a read-only
   * management event delivered through CloudTrail (detail-type "AWS API Call via CloudTrail", `detail.readOnly` true)
   * reaches only a rule in the last state.
   * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail-management.html
   */
  state?: string;
  target: (event: BusEvent) => Promise<unknown>;
}

/** Whether a rule in `state` receives `event` (see LocalRule.state). */
const stateAdmits = (state: string | undefined, event: BusEvent): boolean => {
  if (state === 'DISABLED') return false;
  const readOnlyManagementEvent =
    event['detail-type'] === 'AWS API Call via CloudTrail' &&
    (event.detail as { readOnly?: unknown } | null)?.readOnly === true;
  return !readOnlyManagementEvent || state === 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';
};

/** What became of one event put on the bus. */
interface PutRecord {
  event: BusEvent;
  /** The rules that matched it, by name. */
  matched: string[];
  /** Targets that rejected, with their error. */
  failures: { rule: string; error: Error }[];
  /** The signing key id of the PutEvents request (`Credential=<key id>/…`), to see which credentials were used. */
  accessKeyId: string | undefined;
}

interface EventBridgeServer {
  /** http://127.0.0.1:PORT: the endpoint (AWS_ENDPOINT_URL_EVENTBRIDGE) of the local bus. */
  endpoint: string;
  /** Every event accepted, in order. */
  puts: PutRecord[];
  /** Every PutEvents request's body, accepted or not. */
  requests: unknown[];
  /** Replaces the rules. */
  setRules(rules: LocalRule[]): void;
  /**
   * Hands the bus an event as AWS does (CloudTrail, or another bus's rule targeting this one): kept exactly as it is,
   * account and region included, and delivered to the matching rules' targets.
   */
  deliver(event: BusEvent): PutRecord;
  /** Resolves once every target called so far has settled. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/** The error EventBridge answers a request it cannot take, in the JSON 1.1 protocol's shape. */
const fail = (res: ServerResponse, status: number, type: string, message: string) => {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type });
  res.end(JSON.stringify({ __type: type, message }));
};

interface PutEventsEntry {
  Source?: unknown;
  DetailType?: unknown;
  Detail?: unknown;
  Resources?: unknown;
  EventBusName?: unknown;
  Time?: unknown;
}

/** EventBridge's `time`: ISO 8601 to the second, in UTC. */
const eventTime = (time: unknown): string => {
  const at = typeof time === 'number' ? new Date(time * 1000) : new Date();
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
};

/** The entry's error as EventBridge reports it per entry, or undefined when the entry is acceptable. */
const entryError = (entry: PutEventsEntry): { ErrorCode: string; ErrorMessage: string } | undefined => {
  const missing = (['Source', 'DetailType', 'Detail'] as const).filter(
    (field) => typeof entry[field] !== 'string' || entry[field] === '',
  );
  if (missing.length > 0) {
    return { ErrorCode: 'InvalidArgument', ErrorMessage: `Parameter(s) ${missing.join(', ')} must be specified.` };
  }
  if (String(entry.Source).startsWith('aws.')) {
    return { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source.' };
  }
  if (
    entry.EventBusName !== undefined &&
    entry.EventBusName !== 'default' &&
    !/:event-bus\/default$/.test(String(entry.EventBusName))
  ) {
    return {
      ErrorCode: 'ResourceNotFoundException',
      ErrorMessage: `Event bus ${String(entry.EventBusName)} does not exist.`,
    };
  }
  try {
    const detail = JSON.parse(String(entry.Detail)) as unknown;
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) throw new Error('not an object');
  } catch {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  return undefined;
};

/**
 * Starts a local default event bus: a node:http server on 127.0.0.1 speaking EventBridge's PutEvents (AWS JSON 1.1,
 * `X-Amz-Target: AWSEvents.PutEvents`), so the real @aws-sdk/client-eventbridge talks to it. Each accepted entry
 * becomes an EventBridge event (an id, the account and region, the time) and, as on AWS, is handed asynchronously to
 * the target of every rule whose pattern matches it (rootwatch's own matcher, core/event-pattern/). Entries are
 * checked as EventBridge checks them: a missing Source, DetailType or Detail, an `aws.` source, a Detail that is
 * not a JSON object, or another bus is a per-entry error, and the response's FailedEntryCount counts them.
 * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
 *
 * @example
 * import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
 *
 * const bus = await startEventBridgeServer([
 *   { name: 'heartbeat', pattern: { source: ['rootwatch.heartbeat'] }, target: async (event) => event.id },
 * ]);
 * const client = new EventBridgeClient({
 *   endpoint: bus.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
 * });
 * await client.send(new PutEventsCommand({
 *   Entries: [{ Source: 'rootwatch.heartbeat', DetailType: 'rootwatch heartbeat', Detail: '{}' }],
 * }));
 * await bus.settled();
 * bus.puts[0]?.matched; // ['heartbeat']
 * await bus.close();
 */
const startEventBridgeServer = async (
  initialRules: LocalRule[] = [],
  { account = '111122223333', region = 'us-east-1' } = {},
): Promise<EventBridgeServer> => {
  let rules = initialRules.map((rule) => ({ ...rule, matches: compilePattern(rule.pattern) }));
  const puts: PutRecord[] = [];
  const requests: unknown[] = [];
  const pending = new Set<Promise<void>>();

  const deliver = (record: PutRecord) => {
    for (const rule of rules.filter(
      (candidate) => stateAdmits(candidate.state, record.event) && candidate.matches(record.event),
    )) {
      record.matched.push(rule.name);
      const delivery = rule
        .target(structuredClone(record.event))
        .then(
          () => undefined,
          (error: unknown) => {
            record.failures.push({ rule: rule.name, error: toError(error) });
          },
        )
        .finally(() => pending.delete(delivery));
      pending.add(delivery);
    }
  };

  const server = createServer((req, res) => {
    void (async () => {
      const text = await readBody(req);
      const target = req.headers['x-amz-target'];
      if (req.method !== 'POST' || target !== 'AWSEvents.PutEvents') {
        fail(res, 400, 'UnknownOperationException', `Unknown operation ${String(target)}`);
        return;
      }
      let body: { Entries?: PutEventsEntry[] };
      try {
        body = JSON.parse(text) as { Entries?: PutEventsEntry[] };
      } catch {
        fail(res, 400, 'SerializationException', 'The request body is not JSON.');
        return;
      }
      requests.push(body);
      const entries = body.Entries;
      if (!Array.isArray(entries) || entries.length === 0 || entries.length > 10) {
        fail(res, 400, 'ValidationException', 'Entries must hold 1 to 10 entries.');
        return;
      }
      const accessKeyId = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
      const answers = entries.map((entry) => {
        const error = entryError(entry);
        if (error) return error;
        const event: BusEvent = {
          version: '0',
          id: randomUUID(),
          'detail-type': String(entry.DetailType),
          source: String(entry.Source),
          account,
          time: eventTime(entry.Time),
          region,
          resources: Array.isArray(entry.Resources) ? entry.Resources.map(String) : [],
          detail: JSON.parse(String(entry.Detail)) as unknown,
        };
        const record: PutRecord = { event, matched: [], failures: [], accessKeyId };
        puts.push(record);
        return { EventId: event.id, record };
      });
      const failed = answers.filter((answer) => !('EventId' in answer)).length;
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
      res.end(
        JSON.stringify({
          FailedEntryCount: failed,
          Entries: answers.map((answer) => ('EventId' in answer ? { EventId: answer.EventId } : answer)),
        }),
      );
      // After the answer, as EventBridge delivers: the caller never waits for a target.
      for (const answer of answers) if ('record' in answer) deliver(answer.record);
    })();
  });
  const listener = await listenOnLoopback(server);

  return {
    endpoint: listener.origin,
    puts,
    requests,
    setRules(next) {
      rules = next.map((rule) => ({ ...rule, matches: compilePattern(rule.pattern) }));
    },
    deliver(event) {
      const record: PutRecord = { event: structuredClone(event), matched: [], failures: [], accessKeyId: undefined };
      puts.push(record);
      deliver(record);
      return record;
    },
    async settled() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
    close: listener.close,
  };
};

export type { BusEvent, EventBridgeServer, LocalRule };
export { startEventBridgeServer };
