/**
 * A local stand-in for Amazon Athena, for the tests of `rootwatch athena --run`: a node:http server that speaks
 * Athena's wire protocol (AWS JSON 1.1: `POST /`, `X-Amz-Target: AmazonAthena.<Operation>`, a JSON body, errors as
 * `{"__type": "<Exception>", "Message": …}` with status 400) for the four operations the command sends —
 * StartQueryExecution, GetQueryExecution, GetQueryResults and StopQueryExecution — so that the real
 * @aws-sdk/client-athena talks to it unchanged (AWS_ENDPOINT_URL_ATHENA or the client's `endpoint`). The shapes are
 * the SDK's own (its schema in @aws-sdk/client-athena: timestamps as epoch seconds, `ResultSet.Rows[].Data[]
 * .VarCharValue`, a NULL cell as `{}` without VarCharValue) and those of the API reference:
 *   https://docs.aws.amazon.com/athena/latest/APIReference/API_GetQueryResults.html
 *   https://docs.aws.amazon.com/athena/latest/APIReference/API_QueryExecutionStatus.html
 *
 * Queries run on DuckDB (@duckdb/node-api), over tables the test loads (`setup`). The query the command sends is in
 * Athena's dialect (Trino); the test hands the server `translate`, which gives the same query compiled in DuckDB's
 * dialect (the compiler's other dialect of the same catalog), and SQL it does not know runs as given. So this server
 * tests the plumbing — the protocol, polling, pagination, the result rows' rendering and their reading back — while
 * the differential test proves the SQL itself against the matcher.
 *
 * Results are rendered as Athena renders them: every value a string, the first row of the first page the column
 * names, NULL as a cell without VarCharValue, a struct as `{name=value, …}`, an array as `[a, b]`, a map as
 * `{k=v, …}` (Trino's text form, which is not JSON: that is why the command asks for JSON text of its complex
 * columns). Pages hold at most `pageSize` rows (default 1000, Athena's most), so a test can exercise NextToken.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBListType,
  type DuckDBMapType,
  type DuckDBStructType,
  type DuckDBType,
  DuckDBTypeId,
} from '@duckdb/node-api';
import { CLOUDTRAIL_COLUMNS, type Column, type ColumnType } from '../../functions/core/athena/table.js';
import { toError } from '../../functions/errors.js';
import { listenOnLoopback, readBody } from '../../functions/local/http.js';

/** Athena's query states: https://docs.aws.amazon.com/athena/latest/APIReference/API_QueryExecutionStatus.html */
type QueryState = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

/** One cell of a result: Athena's `Datum`. */
interface Datum {
  VarCharValue?: string;
}

/** A query the server was given, and what became of it. */
interface ServedQuery {
  id: string;
  sql: string;
  /** What DuckDB ran: `translate(sql)`, or `sql`. */
  ran: string;
  workGroup: string;
  database: string | undefined;
  outputLocation: string | undefined;
  state: QueryState;
  reason?: string;
  /** GetQueryExecution calls answered for it so far. */
  polls: number;
  /** The header row, then one row per result row (each cell a Datum). */
  rows: Datum[][];
  columns: { Name: string; Label: string; Type: string }[];
  /** Whether its result is ready (or it failed); before that, polls answer QUEUED then RUNNING. */
  done: boolean;
  submittedAt: number;
  completedAt?: number;
}

interface AthenaServerOptions {
  /** Loads the tables: run once on a connection of the DuckDB instance before the server listens. */
  setup: (connection: DuckDBConnection) => Promise<void>;
  /** The DuckDB query for an Athena query (its other dialect); SQL it returns undefined for runs as given. */
  translate?: (sql: string) => string | undefined;
  /** Rows per page at most (GetQueryResults' MaxResults is capped to it): default 1000, Athena's most. */
  pageSize?: number;
  /**
   * GetQueryExecution calls answered QUEUED (the first) or RUNNING (the rest) before the outcome is told, however
   * soon DuckDB is done: default 2. `Number.POSITIVE_INFINITY` keeps every query running until it is stopped.
   */
  pollsBeforeDone?: number;
  /**
   * The work groups, by name, with the output location each has configured (undefined: none, as a new work group).
   * Default: `primary` without one. An unknown work group is refused as Athena refuses it (InvalidRequestException).
   */
  workGroups?: Record<string, { outputLocation?: string }>;
}

interface AthenaServer {
  /** `http://127.0.0.1:PORT`: AWS_ENDPOINT_URL_ATHENA. */
  endpoint: string;
  /** Every request, in order: its operation (`StartQueryExecution`…) and body. */
  requests: { operation: string; body: Record<string, unknown> }[];
  /** The queries started, by id. */
  queries: Map<string, ServedQuery>;
  close(): Promise<void>;
}

/** The error Athena answers with (status 400, `__type` its shape name): the SDK throws it as that exception. */
class AthenaRequestError extends Error {
  public constructor(
    public readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** Athena's name of a DuckDB type, as ColumnInfo.Type gives it (varchar, array, row, map, boolean, bigint…). */
const athenaTypeName = (type: DuckDBType): string => {
  if (type.alias?.toUpperCase() === 'JSON') return 'json';
  switch (type.typeId) {
    case DuckDBTypeId.VARCHAR:
      return 'varchar';
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      return 'array';
    case DuckDBTypeId.STRUCT:
      return 'row';
    case DuckDBTypeId.MAP:
      return 'map';
    case DuckDBTypeId.BOOLEAN:
      return 'boolean';
    case DuckDBTypeId.INTEGER:
      return 'integer';
    case DuckDBTypeId.DOUBLE:
      return 'double';
    default:
      return 'bigint';
  }
};

/**
 * A DuckDB value (as getRowsJS gives it) in Trino's text form, as Athena's results show it: a struct
 * `{type=Root, arn=…}`, a list `[a, b]`, a map `{k=v}`, NULL inside them `null`.
 */
const athenaText = (type: DuckDBType, value: unknown): string => {
  if (value === null || value === undefined) return 'null';
  switch (type.typeId) {
    case DuckDBTypeId.STRUCT: {
      const struct = type as DuckDBStructType;
      const object = value as Record<string, unknown>;
      const fields = struct.entryNames.map(
        (name, i) => `${name}=${athenaText(struct.entryTypes[i] as DuckDBType, object[name])}`,
      );
      return `{${fields.join(', ')}}`;
    }
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      return `[${(value as unknown[]).map((item) => athenaText((type as DuckDBListType).valueType, item)).join(', ')}]`;
    case DuckDBTypeId.MAP: {
      const map = type as DuckDBMapType;
      const entries = (value as { key: unknown; value: unknown }[]).map(
        (entry) => `${athenaText(map.keyType, entry.key)}=${athenaText(map.valueType, entry.value)}`,
      );
      return `{${entries.join(', ')}}`;
    }
    default:
      return String(value);
  }
};

/**
 * The part of `value` a column of `type` keeps, as the record holds it: a struct's declared fields that have a value
 * (CloudTrail's names), an array's elements, a map's entries as text, a text column's string (a number or boolean as
 * its text; readOnly's boolean as it is), a JSON column's value; undefined for what the table cannot hold.
 */
const kept = (value: unknown, type: ColumnType): unknown => {
  if (value === null || value === undefined) return undefined;
  const isObject = typeof value === 'object' && !Array.isArray(value);
  switch (type.kind) {
    case 'struct': {
      if (!isObject) return undefined;
      const object = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const field of type.fields) {
        const key = Object.keys(object).find((k) => k.toLowerCase() === field.name);
        const part = key === undefined ? undefined : kept(object[key], field.type);
        if (part !== undefined) out[field.field] = part;
      }
      return out;
    }
    case 'array':
      return Array.isArray(value) ? value.map((item) => kept(item, type.of) ?? null) : undefined;
    case 'map':
      return isObject
        ? Object.fromEntries(
            Object.entries(value as object).map(([k, v]) => [
              k,
              v === null ? null : typeof v === 'string' ? v : JSON.stringify(v),
            ]),
          )
        : undefined;
    case 'json':
      return value;
    default:
      if (type.json === 'boolean' && typeof value === 'boolean') return value;
      return typeof value === 'string' ? value : JSON.stringify(value);
  }
};

/**
 * A CloudTrail record as AWS's CloudTrail table holds it (table.ts), written apart from the row reader so that the
 * tests can hold its reading against it: each column's kept() part, under CloudTrail's name. What an Athena run gives
 * back for a record, and what replay must be given to print the same documents.
 */
const tableView = (
  record: Record<string, unknown>,
  columns: readonly Column[] = CLOUDTRAIL_COLUMNS,
): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const column of columns) {
    const key = Object.keys(record).find((k) => k.toLowerCase() === column.name);
    const part = key === undefined ? undefined : kept(record[key], column.type);
    if (part !== undefined) out[column.field] = part;
  }
  return out;
};

/** Runs `query` on DuckDB and keeps its result as Athena's rows, or its error as the query's failure. */
const execute = async (instance: DuckDBInstance, query: ServedQuery): Promise<void> => {
  const connection = await instance.connect();
  try {
    // The query's database is a DuckDB schema: a missing one fails the query, as on Athena.
    if (query.database !== undefined) {
      await connection.run(`SET search_path = '${query.database.replaceAll("'", "''")}'`);
    }
    const reader = await connection.runAndReadAll(query.ran);
    const types = reader.columnTypes();
    const names = reader.columnNames();
    query.columns = names.map((name, i) => ({ Name: name, Label: name, Type: athenaTypeName(types[i] as DuckDBType) }));
    query.rows = [
      names.map((name) => ({ VarCharValue: name })),
      ...reader.getRowsJS().map((row) =>
        row.map((value, i): Datum => {
          if (value === null) return {};
          const type = types[i] as DuckDBType;
          return { VarCharValue: type.typeId === DuckDBTypeId.VARCHAR ? String(value) : athenaText(type, value) };
        }),
      ),
    ];
    if (query.state !== 'CANCELLED') query.state = 'SUCCEEDED';
  } catch (error) {
    if (query.state !== 'CANCELLED') {
      query.state = 'FAILED';
      query.reason = toError(error).message;
    }
  } finally {
    connection.closeSync();
    query.done = true;
    query.completedAt = Date.now();
  }
};

/** The query of a request's QueryExecutionId, or InvalidRequestException as Athena answers an unknown id. */
const queryOf = (queries: Map<string, ServedQuery>, body: Record<string, unknown>): ServedQuery => {
  const query = queries.get(String(body.QueryExecutionId));
  if (!query)
    throw new AthenaRequestError('InvalidRequestException', `QueryExecution ${body.QueryExecutionId} was not found`);
  return query;
};

/** The token of the page starting at `offset` (a data row index): opaque to the client, as Athena's are. */
const tokenOf = (id: string, offset: number): string => Buffer.from(JSON.stringify({ id, offset })).toString('base64');

/**
 * Starts the stand-in on a free port of 127.0.0.1, after loading its tables with `options.setup`.
 *
 * @throws whatever `setup` throws (a bad table definition), or the server's error when it cannot listen.
 */
const startAthenaServer = async (options: AthenaServerOptions): Promise<AthenaServer> => {
  const instance = await DuckDBInstance.create(':memory:');
  const setup = await instance.connect();
  try {
    await options.setup(setup);
  } finally {
    setup.closeSync();
  }
  const pageSize = options.pageSize ?? 1000;
  const pollsBeforeDone = options.pollsBeforeDone ?? 2;
  const workGroups = options.workGroups ?? { primary: {} };
  const requests: AthenaServer['requests'] = [];
  const queries = new Map<string, ServedQuery>();

  const operations: Record<string, (body: Record<string, unknown>) => unknown> = {
    StartQueryExecution: (body) => {
      const workGroup = typeof body.WorkGroup === 'string' ? body.WorkGroup : 'primary';
      const group = workGroups[workGroup];
      if (!group) throw new AthenaRequestError('InvalidRequestException', `WorkGroup ${workGroup} is not found.`);
      const outputLocation =
        (body.ResultConfiguration as { OutputLocation?: string } | undefined)?.OutputLocation ?? group.outputLocation;
      if (!outputLocation) {
        throw new AthenaRequestError(
          'InvalidRequestException',
          'No output location provided. An output location is required either through the Workgroup result configuration setting or as an API input.',
        );
      }
      const sql = String(body.QueryString ?? '');
      const id = randomUUID();
      const query: ServedQuery = {
        id,
        sql,
        ran: options.translate?.(sql) ?? sql,
        workGroup,
        database: (body.QueryExecutionContext as { Database?: string } | undefined)?.Database,
        outputLocation,
        state: 'QUEUED',
        polls: 0,
        rows: [],
        columns: [],
        done: false,
        submittedAt: Date.now(),
      };
      queries.set(id, query);
      void execute(instance, query);
      return { QueryExecutionId: id };
    },
    GetQueryExecution: (body) => {
      const query = queryOf(queries, body);
      query.polls += 1;
      const told = query.state === 'CANCELLED' || (query.done && query.polls > pollsBeforeDone);
      const state: QueryState = told ? query.state : query.polls === 1 ? 'QUEUED' : 'RUNNING';
      const scanned = query.done ? Buffer.byteLength(JSON.stringify(query.rows)) : 0;
      return {
        QueryExecution: {
          QueryExecutionId: query.id,
          Query: query.sql,
          StatementType: 'DML',
          WorkGroup: query.workGroup,
          ResultConfiguration: {
            OutputLocation: `${(query.outputLocation ?? '').replace(/\/?$/, '/')}${query.id}.csv`,
          },
          ...(query.database ? { QueryExecutionContext: { Database: query.database } } : {}),
          Status: {
            State: state,
            ...(told && query.reason ? { StateChangeReason: query.reason } : {}),
            ...(told && query.state === 'FAILED'
              ? { AthenaError: { ErrorCategory: 2, ErrorType: 1002, Retryable: false, ErrorMessage: query.reason } }
              : {}),
            SubmissionDateTime: query.submittedAt / 1000,
            ...(told && query.completedAt ? { CompletionDateTime: query.completedAt / 1000 } : {}),
          },
          Statistics: { DataScannedInBytes: told ? scanned : 0, EngineExecutionTimeInMillis: 1 },
        },
      };
    },
    GetQueryResults: (body) => {
      const query = queryOf(queries, body);
      if (query.state !== 'SUCCEEDED' || query.polls <= pollsBeforeDone) {
        throw new AthenaRequestError(
          'InvalidRequestException',
          `Query has not yet finished. Current state: ${query.state === 'SUCCEEDED' ? 'RUNNING' : query.state}`,
        );
      }
      const max = Math.min(typeof body.MaxResults === 'number' ? body.MaxResults : 1000, pageSize);
      let offset = 0;
      if (typeof body.NextToken === 'string') {
        const token = JSON.parse(Buffer.from(body.NextToken, 'base64').toString('utf8')) as {
          id: string;
          offset: number;
        };
        if (token.id !== query.id) throw new AthenaRequestError('InvalidRequestException', 'Invalid NextToken');
        offset = token.offset;
      }
      // Row 0 is the header: the first page holds it and max - 1 data rows, as Athena's does.
      const end = Math.min(query.rows.length, offset + max);
      return {
        ResultSet: {
          Rows: query.rows.slice(offset, end).map((Data) => ({ Data })),
          ResultSetMetadata: { ColumnInfo: query.columns },
        },
        UpdateCount: 0,
        ...(end < query.rows.length ? { NextToken: tokenOf(query.id, end) } : {}),
      };
    },
    StopQueryExecution: (body) => {
      const query = queryOf(queries, body);
      // A query whose outcome the client has not been told yet is cancelled, as a running one on Athena.
      if (!(query.done && query.polls > pollsBeforeDone)) {
        query.state = 'CANCELLED';
        query.reason = 'Query was cancelled by user';
      }
      return {};
    },
  };

  const answer = (response: ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
    response.end(JSON.stringify(body));
  };
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const target = String(request.headers['x-amz-target'] ?? '');
    const operation = target.startsWith('AmazonAthena.') ? target.slice('AmazonAthena.'.length) : '';
    const text = await readBody(request);
    try {
      const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
      requests.push({ operation, body });
      const run = operations[operation];
      if (!run) throw new AthenaRequestError('UnknownOperationException', `not served here: ${target}`);
      answer(response, 200, run(body));
    } catch (error) {
      const type = error instanceof AthenaRequestError ? error.type : 'InternalServerException';
      answer(response, type === 'InternalServerException' ? 500 : 400, {
        __type: type,
        Message: toError(error).message,
      });
    }
  };
  const listener = await listenOnLoopback(
    createServer((request, response) => {
      void handle(request, response);
    }),
  );
  return {
    endpoint: listener.origin,
    requests,
    queries,
    close: async () => {
      await listener.close();
      instance.closeSync();
    },
  };
};

export type { AthenaServer };
export { startAthenaServer, tableView };
