// A local server speaking the wire protocols of the EventBridge, Lambda and KMS reads the guard makes, for the
// tests: EventBridge's and KMS's JSON protocol (X-Amz-Target AWSEvents.* and TrentService.*) and Lambda's REST
// JSON, reached through the real SDK clients (AWS_ENDPOINT_URL_EVENTBRIDGE, _LAMBDA, _KMS). Its state is plain data
// the test seeds and changes (disable a rule, remove a target, schedule a key's deletion). Development only: the
// Lambda bundles never import this file.
//   https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DescribeRule.html (and API_ListTargetsByRule,
//     API_DescribeEventBus; a rule on another bus than the default is named with EventBusName, by name or ARN)
//   https://docs.aws.amazon.com/lambda/latest/api/API_GetFunctionConfiguration.html (and GetFunctionConcurrency,
//     ListEventSourceMappings)
//   https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeKey.html (and API_GetKeyPolicy)
import { createServer, type ServerResponse } from 'node:http';
import { listenOnLoopback, readBody } from './http.js';

/** A rule as DescribeRule answers, with its targets as ListTargetsByRule answers. */
interface LocalRule {
  Name: string;
  Arn: string;
  /** The bus it is on; `default` when unset. */
  EventBusName?: string;
  State: string;
  EventPattern?: string;
  ScheduleExpression?: string;
  Targets: Array<Record<string, unknown> & { Id: string }>;
}

/** An event bus as DescribeEventBus answers. */
interface LocalEventBus {
  Name: string;
  Arn: string;
  /** Its resource policy, JSON text; none when unset. */
  Policy?: string;
}

interface LocalEventSourceMapping {
  UUID: string;
  EventSourceArn: string;
  State: string;
}

/** A function as GetFunctionConfiguration answers, with its reserved concurrency and event source mappings. */
interface LocalFunction {
  FunctionName: string;
  FunctionArn: string;
  State: string;
  Role: string;
  ReservedConcurrentExecutions?: number;
  EventSourceMappings: LocalEventSourceMapping[];
}

interface LocalKey {
  KeyId: string;
  Arn: string;
  KeyState: string;
  /** Epoch milliseconds, when deletion is scheduled. */
  DeletionDate?: number;
  Policy: string;
}

/**
 * What the server holds: rules by name on the default bus and by `<bus name>/<rule name>` on another bus (the end of
 * the rule's ARN), event buses by name, functions by name and keys by ARN.
 */
interface ControlPlaneState {
  rules: Map<string, LocalRule>;
  eventBuses: Map<string, LocalEventBus>;
  functions: Map<string, LocalFunction>;
  keys: Map<string, LocalKey>;
}

/** One request, as the server saw it: `EventBridge DescribeRule`, `Lambda GET /2015-03-31/…`. */
interface ControlPlaneRequest {
  service: 'EventBridge' | 'Lambda' | 'KMS';
  operation: string;
}

const send = (response: ServerResponse, status: number, body: unknown, errorType?: string) => {
  response.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  response.end(JSON.stringify(body));
};

/** The JSON protocol's error: `__type` names it. */
const jsonError = (response: ServerResponse, type: string, message: string) =>
  send(response, 400, { __type: type, message }, type);

/** The bus an EventBusName names, by name or ARN; `default` when none. */
const busNameOf = (value: unknown): string => {
  const text = typeof value === 'string' ? value : '';
  if (text === '') return 'default';
  return text.startsWith('arn:') ? text.slice(text.indexOf(':event-bus/') + ':event-bus/'.length) : text;
};

const eventBridge = (state: ControlPlaneState, operation: string, input: Record<string, unknown>) => {
  if (operation === 'DescribeEventBus') {
    const name = busNameOf(input.Name);
    const bus = state.eventBuses.get(name);
    if (!bus) return { error: 'ResourceNotFoundException', message: `Event bus ${name} does not exist.` };
    return { body: bus };
  }
  const bus = busNameOf(input.EventBusName);
  const name = String(input.Name ?? input.Rule);
  const rule = state.rules.get(bus === 'default' ? name : `${bus}/${name}`);
  if (!rule) return { error: 'ResourceNotFoundException', message: `Rule ${name} does not exist on EventBus ${bus}.` };
  if (operation === 'DescribeRule') {
    const { Targets: _, ...described } = rule;
    return { body: { ...described, EventBusName: rule.EventBusName ?? 'default' } };
  }
  if (operation === 'ListTargetsByRule') return { body: { Targets: rule.Targets } };
  return undefined;
};

const kms = (state: ControlPlaneState, operation: string, input: Record<string, unknown>) => {
  const id = String(input.KeyId);
  const key = [...state.keys.values()].find((candidate) => candidate.Arn === id || candidate.KeyId === id);
  if (!key) return { error: 'NotFoundException', message: `Key '${id}' does not exist` };
  if (operation === 'DescribeKey') {
    return {
      body: {
        KeyMetadata: {
          KeyId: key.KeyId,
          Arn: key.Arn,
          Enabled: key.KeyState === 'Enabled',
          KeyState: key.KeyState,
          ...(key.DeletionDate === undefined ? {} : { DeletionDate: key.DeletionDate / 1000 }),
        },
      },
    };
  }
  if (operation === 'GetKeyPolicy') return { body: { Policy: key.Policy, PolicyName: 'default' } };
  return undefined;
};

const lambda = (state: ControlPlaneState, method: string, url: URL) => {
  const functionOf = (nameOrArn: string) =>
    [...state.functions.values()].find((fn) => fn.FunctionName === nameOrArn || fn.FunctionArn === nameOrArn);
  const path = url.pathname.match(/^\/(?:2015-03-31|2019-09-30)\/functions\/([^/]+)\/(configuration|concurrency)$/);
  if (method === 'GET' && path) {
    const fn = functionOf(decodeURIComponent(path[1] ?? ''));
    if (!fn) return { status: 404, error: 'ResourceNotFoundException', message: 'Function not found' };
    if (path[2] === 'concurrency') {
      return {
        body:
          fn.ReservedConcurrentExecutions === undefined
            ? {}
            : { ReservedConcurrentExecutions: fn.ReservedConcurrentExecutions },
      };
    }
    const { EventSourceMappings: _, ReservedConcurrentExecutions: __, ...configuration } = fn;
    return { body: configuration };
  }
  if (method === 'GET' && /^\/2015-03-31\/event-source-mappings\/?$/.test(url.pathname)) {
    const name = url.searchParams.get('FunctionName') ?? '';
    const fn = functionOf(name);
    return {
      body: {
        EventSourceMappings: (fn?.EventSourceMappings ?? []).map((mapping) => ({
          ...mapping,
          FunctionArn: fn?.FunctionArn,
        })),
      },
    };
  }
  return undefined;
};

/**
 * Starts the server on a free loopback port. `state` is live: change it between calls.
 *
 * @example
 * const controlPlane = await startControlPlane();
 * process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = controlPlane.endpoint;
 * controlPlane.state.rules.set('rootwatch-test-root-api-call', {
 *   Name: 'rootwatch-test-root-api-call',
 *   Arn: 'arn:aws:events:us-east-1:000000000000:rule/rootwatch-test-root-api-call',
 *   State: 'DISABLED',
 *   Targets: [],
 * });
 * await controlPlane.stop();
 */
const startControlPlane = async () => {
  const state: ControlPlaneState = { rules: new Map(), eventBuses: new Map(), functions: new Map(), keys: new Map() };
  const requests: ControlPlaneRequest[] = [];
  const server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const target = String(request.headers['x-amz-target'] ?? '');
      const text = await readBody(request);
      if (target) {
        const [prefix, operation = ''] = target.split('.');
        const service = prefix === 'AWSEvents' ? 'EventBridge' : 'KMS';
        requests.push({ service, operation });
        const input = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
        const answer = service === 'EventBridge' ? eventBridge(state, operation, input) : kms(state, operation, input);
        if (!answer) return jsonError(response, 'UnknownOperationException', `${target} is not served here`);
        if ('error' in answer) return jsonError(response, answer.error ?? 'InternalFailure', answer.message ?? '');
        return send(response, 200, answer.body);
      }
      requests.push({ service: 'Lambda', operation: `${request.method} ${url.pathname}` });
      const answer = lambda(state, request.method ?? 'GET', url);
      if (!answer)
        return send(
          response,
          404,
          { message: `${request.method} ${url.pathname} is not served here` },
          'UnknownOperationException',
        );
      if ('error' in answer)
        return send(response, answer.status ?? 400, { Type: 'User', message: answer.message }, answer.error);
      return send(response, 200, answer.body);
    })();
  });
  const listener = await listenOnLoopback(server);
  return {
    endpoint: listener.origin,
    state,
    requests,
    stop: listener.close,
  };
};

type ControlPlane = Awaited<ReturnType<typeof startControlPlane>>;

export type { ControlPlane };
export { startControlPlane };
