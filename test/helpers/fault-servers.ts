/**
 * Servers on loopback that fail the way AWS services fail, for the fault matrix: the real SDK clients of the
 * deployed functions are pointed at them through the SDK's per-service endpoint variables (AWS_ENDPOINT_URL_SNS,
 * …), so nothing in the code under test is mocked and the SDK's own retries run as deployed.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One AWS error, as a service answers it: the HTTP status, the error code on the wire, and its message. */
interface AwsFault {
  status: number;
  /** The code the protocol carries (`Throttled`, `AccessDenied`, `AccessDeniedException`, …). */
  code: string;
  message: string;
}

/** A request the server received: the service's protocol and the operation named in it. */
interface AwsFaultRequest {
  /** `query` (SNS, IAM: form-encoded `Action=…`) or `json` (Organizations: the `x-amz-target` header). */
  protocol: 'query' | 'json';
  /** `Publish`, `ListAccountAliases`, `DescribeAccount`, …: the action, or the target's operation. */
  operation: string;
}

interface AwsFaultServer {
  /** http://127.0.0.1:PORT, to put in an AWS_ENDPOINT_URL_<SERVICE> variable. */
  endpoint: string;
  /** Every request received, in order. */
  requests: AwsFaultRequest[];
  /** How many requests named `operation`. */
  count(operation: string): number;
  close(): Promise<void>;
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
    });
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });

/** The operation of a query-protocol request (`Action=Publish&…`). */
const queryAction = (body: string): string => new URLSearchParams(body).get('Action') ?? '';

/**
 * Starts a server answering every request with `faultFor(operation)`, in the error shape of the request's
 * protocol, as the AWS protocols define them:
 * - AWS query (SNS, IAM): an XML `ErrorResponse` whose `Error/Code` names the error
 *   (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-responses.html shows the
 *   shape; SNS's Throttled is HTTP 429, https://docs.aws.amazon.com/sns/latest/api/API_Publish.html#API_Publish_Errors);
 * - AWS JSON 1.1 (Organizations): a JSON body whose `__type` names the error, and the `x-amzn-errortype` header.
 * The SDK turns both into its typed exceptions (`ThrottledException`, `AccessDeniedException`) and retries the
 * ones it classes as throttling or transient.
 *
 * @example
 * const sns = await startAwsFaultServer(() => ({ status: 429, code: 'Throttled', message: 'Rate exceeded' }));
 * // AWS_ENDPOINT_URL_SNS=sns.endpoint: every Publish is throttled; sns.count('Publish') counts the attempts.
 * await sns.close();
 */
const startAwsFaultServer = async (faultFor: (operation: string) => AwsFault): Promise<AwsFaultServer> => {
  const requests: AwsFaultRequest[] = [];
  const server: Server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const target = req.headers['x-amz-target'];
      const request: AwsFaultRequest =
        typeof target === 'string'
          ? { protocol: 'json', operation: target.split('.').at(-1) ?? '' }
          : { protocol: 'query', operation: queryAction(body) };
      requests.push(request);
      const fault = faultFor(request.operation);
      if (request.protocol === 'json') {
        res.writeHead(fault.status, {
          'content-type': 'application/x-amz-json-1.1',
          'x-amzn-errortype': fault.code,
          'x-amzn-requestid': 'fault-request',
        });
        res.end(JSON.stringify({ __type: fault.code, message: fault.message }));
        return;
      }
      res.writeHead(fault.status, { 'content-type': 'text/xml', 'x-amzn-requestid': 'fault-request' });
      res.end(
        `<ErrorResponse><Error><Type>Sender</Type><Code>${fault.code}</Code><Message>${fault.message}</Message>` +
          '</Error><RequestId>fault-request</RequestId></ErrorResponse>',
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    count: (operation) => requests.filter((request) => request.operation === operation).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
};

/**
 * An endpoint on which nothing listens any more: a server was started on a free port and stopped, so a
 * connection is refused at once (a stopped DynamoDB, a Slack that is down).
 *
 * @example
 * const endpoint = await closedEndpoint(); // http://127.0.0.1:PORT, connection refused
 */
const closedEndpoint = async (): Promise<string> => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
};

export type { AwsFault };
export { closedEndpoint, startAwsFaultServer };
