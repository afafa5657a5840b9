// A local AWS Account Management for the deploy command's tests: a node:http server speaking its REST-JSON protocol
// for ListRegions (POST /listRegions, a JSON body, errors named by the X-Amzn-ErrorType header), reached through the
// real @aws-sdk/client-account. The account's regions and their opt-in statuses are plain data the test sets; the
// answer holds every region with its status ("Lists all the Regions for a given account and their respective opt-in
// statuses"), only those whose status RegionOptStatusContains names when the request gives it, and is paged like
// AWS's (NextToken). Development only: no Lambda bundle imports this file.
//   https://docs.aws.amazon.com/accounts/latest/reference/API_ListRegions.html
//   https://docs.aws.amazon.com/accounts/latest/reference/API_Region.html
import { createServer, type ServerResponse } from 'node:http';
import { RegionOptStatus } from '@aws-sdk/client-account';
import { listenOnLoopback, readBody } from './http.js';

/** The RegionOptStatus values (API_Region.html), as the SDK's model of the API lists them. */
const REGION_OPT_STATUSES: readonly string[] = Object.values(RegionOptStatus);

interface LocalRegion {
  RegionName: string;
  RegionOptStatus: RegionOptStatus;
}

/** One ListRegions request as the server took it. */
interface ListRegionsRequest {
  MaxResults?: number;
  NextToken?: string;
  RegionOptStatusContains?: string[];
}

interface AccountServer {
  endpoint: string;
  /** The account's regions; change them between calls. */
  regions: LocalRegion[];
  /** Regions a page holds when the request gives no MaxResults. */
  pageSize: number;
  /** Set: every request is refused with AccessDeniedException (the caller lacks account:ListRegions). */
  denied: boolean;
  /** Every request's body, in order. */
  requests: ListRegionsRequest[];
  close(): Promise<void>;
}

const send = (response: ServerResponse, status: number, body: unknown, errorType?: string) => {
  response.writeHead(status, {
    'content-type': 'application/json',
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  response.end(JSON.stringify(body));
};

/**
 * Starts the local Account Management on a free loopback port, holding `regions`. Point a client at it with
 * `endpoint` (and any credentials: the signature is not checked).
 *
 * @example
 * import { AccountClient } from '@aws-sdk/client-account';
 *
 * const account = await startAccountServer([
 *   { RegionName: 'us-east-1', RegionOptStatus: 'ENABLED_BY_DEFAULT' },
 *   { RegionName: 'af-south-1', RegionOptStatus: 'DISABLED' },
 * ]);
 * const client = new AccountClient({
 *   region: 'us-east-1',
 *   endpoint: account.endpoint,
 *   credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
 * });
 * await account.close();
 */
const startAccountServer = async (regions: LocalRegion[] = []): Promise<AccountServer> => {
  const server: AccountServer = {
    endpoint: '',
    regions,
    pageSize: 50,
    denied: false,
    requests: [],
    close: async () => {},
  };
  const http = createServer((request, response) => {
    void (async () => {
      const text = await readBody(request);
      if (request.method !== 'POST' || request.url !== '/listRegions') {
        return send(
          response,
          404,
          { message: `${request.method} ${request.url} is not served here` },
          'UnknownOperationException',
        );
      }
      let body: ListRegionsRequest;
      try {
        body = (text ? JSON.parse(text) : {}) as ListRegionsRequest;
      } catch {
        return send(response, 400, { message: 'The request body is not JSON' }, 'ValidationException');
      }
      server.requests.push(body);
      if (server.denied) {
        return send(
          response,
          403,
          {
            message:
              'User: arn:aws:iam::111122223333:user/deployer is not authorized to perform: account:ListRegions on resource: arn:aws:account::111122223333:account',
          },
          'AccessDeniedException',
        );
      }
      const invalid = (message: string, reason: string) =>
        send(response, 400, { message, reason }, 'ValidationException');
      const filter = body.RegionOptStatusContains;
      const unknownStatus = filter?.find((status) => !REGION_OPT_STATUSES.includes(status));
      if (unknownStatus !== undefined) {
        return invalid(`Invalid RegionOptStatus '${unknownStatus}'`, 'FIELD_VALIDATION_FAILED');
      }
      if (
        body.MaxResults !== undefined &&
        (!Number.isInteger(body.MaxResults) || body.MaxResults < 1 || body.MaxResults > 50)
      ) {
        return invalid('MaxResults must be from 1 to 50', 'FIELD_VALIDATION_FAILED');
      }
      const start = body.NextToken === undefined ? 0 : Number(Buffer.from(body.NextToken, 'base64url').toString());
      if (!Number.isInteger(start) || start < 0) return invalid('Invalid NextToken', 'INVALID_NEXT_TOKEN');
      const matching = server.regions.filter((region) => !filter || filter.includes(region.RegionOptStatus));
      const size = body.MaxResults ?? server.pageSize;
      const page = matching.slice(start, start + size);
      const next = start + size < matching.length ? Buffer.from(String(start + size)).toString('base64url') : undefined;
      send(response, 200, { Regions: page, ...(next ? { NextToken: next } : {}) });
    })();
  });
  const listener = await listenOnLoopback(http);
  server.endpoint = listener.origin;
  server.close = listener.close;
  return server;
};

export type { AccountServer };
export { startAccountServer };
