// A local CloudFormation for the deploy command's tests: a node:http server speaking CloudFormation's AWS Query
// protocol (a form-encoded POST with Action=…, XML answers and XML errors), reached through the real
// @aws-sdk/client-cloudformation, one set of stacks per region (the region of the request's SigV4 credential scope).
// It provisions nothing: a stack's resources are only names in its template. An operation goes through the statuses
// CloudFormation reports, one step each time the stack is described, and writes the events CloudFormation would
// (each with the operation's ClientRequestToken); a failure the test sets makes a resource fail and the stack roll
// back. Development only: no Lambda bundle imports this file.
//   https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html (UpdateStack, DeleteStack,
//   DescribeStacks, DescribeStackEvents)
//   https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/CommonErrors.html
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { TEMPLATE_BODY_MAX_BYTES } from '../deploy/forwarder-template.js';
import { listenOnLoopback, readBody } from './http.js';

/** One stack event, as DescribeStackEvents answers it. */
interface LocalStackEvent {
  EventId: string;
  StackId: string;
  StackName: string;
  LogicalResourceId: string;
  PhysicalResourceId: string;
  ResourceType: string;
  Timestamp: Date;
  ResourceStatus: string;
  ResourceStatusReason?: string;
  ClientRequestToken?: string;
}

interface LocalStack {
  StackId: string;
  StackName: string;
  region: string;
  StackStatus: string;
  StackStatusReason?: string;
  CreationTime: Date;
  LastUpdatedTime?: Date;
  DeletionTime?: Date;
  TemplateBody: string;
  Capabilities: string[];
  Tags: { Key: string; Value: string }[];
  Outputs: { OutputKey: string; OutputValue: string }[];
  /** Oldest first (DescribeStackEvents answers newest first). */
  events: LocalStackEvent[];
  /** The steps left of the operation under way: each DescribeStacks of the stack takes one. */
  pending: (() => void)[];
}

/** A failure the test sets: this resource fails, with this reason, in the operations named. */
interface LocalStackFailure {
  /** A logical id of the template; default: its first resource. */
  logicalId?: string;
  reason: string;
  operations?: readonly ('create' | 'update' | 'delete')[];
}

/** One request as the server took it. */
interface CloudFormationRequest {
  action: string;
  region: string;
  stackName?: string;
  /** Form fields of the request (TemplateBody included). */
  params: Record<string, string>;
}

interface CloudFormationServer {
  endpoint: string;
  /** Every request, in order. */
  requests: CloudFormationRequest[];
  /** The stacks of a region, the deleted ones included (by StackId). */
  stacks(region: string): LocalStack[];
  /** The live stack of this name in the region. */
  stack(region: string, stackName: string): LocalStack | undefined;
  /** Makes the next operations on this stack fail (see LocalStackFailure); `undefined` clears it. */
  setFailure(region: string, stackName: string, failure: LocalStackFailure | undefined): void;
  /** Describes needed before an operation settles (default 2: one in progress, then the outcome). */
  stepsPerOperation: number;
  /** DescribeStackEvents' page size (CloudFormation's is 100). */
  eventPageSize: number;
  close(): Promise<void>;
}

const NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

const escapeXml = (text: string): string =>
  text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c);

/** `<Tag>value</Tag>`, or nothing for undefined; a Date as ISO 8601. */
const element = (tag: string, value: string | Date | undefined): string =>
  value === undefined ? '' : `<${tag}>${escapeXml(value instanceof Date ? value.toISOString() : value)}</${tag}>`;

const members = (tag: string, items: string[]): string =>
  `<${tag}>${items.map((item) => `<member>${item}</member>`).join('')}</${tag}>`;

const respond = (response: ServerResponse, action: string, result: string) => {
  response.writeHead(200, { 'content-type': 'text/xml' });
  response.end(
    `<${action}Response xmlns="${NS}"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`,
  );
};

/** The Query protocol's error document. */
const respondError = (response: ServerResponse, status: number, code: string, message: string) => {
  response.writeHead(status, { 'content-type': 'text/xml' });
  response.end(
    `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  );
};

class QueryError extends Error {
  public constructor(
    public readonly code: string,
    message: string,
    public readonly status = 400,
  ) {
    super(message);
  }
}

/** `Name.member.1`, `Name.member.2`… (or `Name.member.1.Key`/`.Value`) of a Query request. */
const listParam = (params: URLSearchParams, name: string): string[] => {
  const items: string[] = [];
  for (let index = 1; params.has(`${name}.member.${index}`); index++)
    items.push(params.get(`${name}.member.${index}`) ?? '');
  return items;
};
const tagsParam = (params: URLSearchParams): { Key: string; Value: string }[] => {
  const tags: { Key: string; Value: string }[] = [];
  for (let index = 1; params.has(`Tags.member.${index}.Key`); index++) {
    tags.push({
      Key: params.get(`Tags.member.${index}.Key`) ?? '',
      Value: params.get(`Tags.member.${index}.Value`) ?? '',
    });
  }
  return tags;
};

/** The region of a SigV4 Authorization header: `Credential=AKID/20250101/eu-west-1/cloudformation/aws4_request`. */
const regionOf = (request: IncomingMessage): string =>
  /Credential=[^/]+\/\d{8}\/([^/]+)\/cloudformation\//.exec(String(request.headers.authorization ?? ''))?.[1] ??
  'us-east-1';

interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

/** Checks a TemplateBody as CloudFormation does before it starts: size, JSON, Resources, capabilities. */
const parseTemplate = (
  body: string | null,
  capabilities: string[],
): { resources: [string, TemplateResource][]; outputs: LocalStack['Outputs'] } => {
  if (!body) throw new QueryError('ValidationError', 'Either Template URL or Template Body must be specified.');
  if (Buffer.byteLength(body) > TEMPLATE_BODY_MAX_BYTES) {
    throw new QueryError(
      'ValidationError',
      `1 validation error detected: Value at 'templateBody' failed to satisfy constraint: Member must have length less than or equal to ${TEMPLATE_BODY_MAX_BYTES}`,
    );
  }
  let template: { Resources?: Record<string, TemplateResource>; Outputs?: Record<string, { Value?: unknown }> };
  try {
    template = JSON.parse(body) as typeof template;
  } catch {
    // This stand-in reads JSON templates only; the deploy command sends nothing else.
    throw new QueryError('ValidationError', 'Template format error: JSON not well-formed.');
  }
  const resources = Object.entries(template.Resources ?? {});
  if (resources.length === 0) {
    throw new QueryError('ValidationError', 'Template format error: At least one Resources member must be defined.');
  }
  for (const [logicalId, resource] of resources) {
    if (typeof resource?.Type !== 'string') {
      throw new QueryError(
        'ValidationError',
        `Template format error: [/Resources/${logicalId}] Every Resources object must contain a Type member.`,
      );
    }
  }
  const iam = resources.filter(([, resource]) => resource.Type.startsWith('AWS::IAM::'));
  const named = iam.some(([, resource]) =>
    ['RoleName', 'UserName', 'GroupName', 'ManagedPolicyName', 'InstanceProfileName'].some(
      (property) => resource.Properties?.[property] !== undefined,
    ),
  );
  if (named && !capabilities.includes('CAPABILITY_NAMED_IAM')) {
    throw new QueryError('InsufficientCapabilitiesException', 'Requires capabilities : [CAPABILITY_NAMED_IAM]');
  }
  if (iam.length > 0 && !capabilities.includes('CAPABILITY_IAM') && !capabilities.includes('CAPABILITY_NAMED_IAM')) {
    throw new QueryError('InsufficientCapabilitiesException', 'Requires capabilities : [CAPABILITY_IAM]');
  }
  // Outputs: a literal string value is given back as is; anything else (Ref, Fn::GetAtt) as its JSON.
  const outputs = Object.entries(template.Outputs ?? {}).map(([OutputKey, output]) => ({
    OutputKey,
    OutputValue: typeof output?.Value === 'string' ? output.Value : JSON.stringify(output?.Value),
  }));
  return { resources: resources as [string, TemplateResource][], outputs };
};

/** The fields of `record` named by `tags`, each as its element, in that order. */
const elements = <T extends object>(record: T, tags: readonly (keyof T & string)[]): string =>
  tags.map((tag) => element(tag, record[tag] as string | Date | undefined)).join('');

const stackXml = (stack: LocalStack): string =>
  [
    elements(stack, [
      'StackId',
      'StackName',
      'CreationTime',
      'LastUpdatedTime',
      'DeletionTime',
      'StackStatus',
      'StackStatusReason',
    ]),
    members(
      'Capabilities',
      stack.Capabilities.map((capability) => escapeXml(capability)),
    ),
    members(
      'Tags',
      stack.Tags.map((tag) => elements(tag, ['Key', 'Value'])),
    ),
    members(
      'Outputs',
      stack.Outputs.map((output) => elements(output, ['OutputKey', 'OutputValue'])),
    ),
  ].join('');

const eventXml = (event: LocalStackEvent): string =>
  elements(event, [
    'StackId',
    'EventId',
    'StackName',
    'LogicalResourceId',
    'PhysicalResourceId',
    'ResourceType',
    'Timestamp',
    'ResourceStatus',
    'ResourceStatusReason',
    'ClientRequestToken',
  ]);

/**
 * Starts the local CloudFormation on a free loopback port. Point a client at it with `endpoint` (and any
 * credentials: the signature is not checked, only its region is read).
 *
 * @example
 * import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
 *
 * const cloudformation = await startCloudFormationServer();
 * const client = new CloudFormationClient({
 *   region: 'eu-west-1',
 *   endpoint: cloudformation.endpoint,
 *   credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
 * });
 * cloudformation.setFailure('eu-west-1', 'rootwatch-prod-forwarder', { reason: 'Resource handler returned message: "Access denied"' });
 * await cloudformation.close();
 */
const startCloudFormationServer = async (options: { accountId?: string } = {}): Promise<CloudFormationServer> => {
  const accountId = options.accountId ?? '111122223333';
  const byRegion = new Map<string, LocalStack[]>();
  const failures = new Map<string, LocalStackFailure>();
  const requests: CloudFormationRequest[] = [];
  const stacksOf = (region: string) => {
    const stacks = byRegion.get(region) ?? [];
    byRegion.set(region, stacks);
    return stacks;
  };
  const live = (region: string, nameOrId: string): LocalStack | undefined =>
    stacksOf(region).find(
      (stack) =>
        stack.StackId === nameOrId || (stack.StackName === nameOrId && stack.StackStatus !== 'DELETE_COMPLETE'),
    );

  const server: CloudFormationServer = {
    endpoint: '',
    requests,
    stacks: (region) => [...stacksOf(region)],
    stack: (region, stackName) =>
      stacksOf(region).find((stack) => stack.StackName === stackName && stack.StackStatus !== 'DELETE_COMPLETE'),
    setFailure(region, stackName, failure) {
      if (failure) failures.set(`${region}/${stackName}`, failure);
      else failures.delete(`${region}/${stackName}`);
    },
    stepsPerOperation: 2,
    eventPageSize: 100,
    close: async () => {},
  };

  const addEvent = (
    stack: LocalStack,
    token: string | undefined,
    logicalId: string,
    type: string,
    status: string,
    reason?: string,
  ) => {
    stack.events.push({
      EventId: randomUUID(),
      StackId: stack.StackId,
      StackName: stack.StackName,
      LogicalResourceId: logicalId,
      PhysicalResourceId: logicalId === stack.StackName ? stack.StackId : `${stack.StackName}-${logicalId}`,
      ResourceType: type,
      Timestamp: new Date(),
      ResourceStatus: status,
      ...(reason ? { ResourceStatusReason: reason } : {}),
      ...(token ? { ClientRequestToken: token } : {}),
    });
  };
  const setStatus = (stack: LocalStack, token: string | undefined, status: string, reason?: string) => {
    stack.StackStatus = status;
    if (reason) stack.StackStatusReason = reason;
    else delete stack.StackStatusReason;
    addEvent(stack, token, stack.StackName, 'AWS::CloudFormation::Stack', status, reason);
  };

  /** The steps of an operation: the resources go through `verb` (CREATE, UPDATE, DELETE), or one fails. */
  const schedule = (
    stack: LocalStack,
    operation: 'create' | 'update' | 'delete',
    token: string | undefined,
    resources: [string, TemplateResource][],
    onSuccess: () => void,
  ) => {
    const configured = failures.get(`${stack.region}/${stack.StackName}`);
    const failure =
      configured && (configured.operations ?? ['create', 'update', 'delete']).includes(operation)
        ? configured
        : undefined;
    const verb = operation.toUpperCase();
    const steps: (() => void)[] = [];
    for (let step = 1; step < server.stepsPerOperation; step++) steps.push(() => {});
    if (!failure) {
      steps.push(() => {
        for (const [logicalId, resource] of resources) {
          addEvent(stack, token, logicalId, resource.Type, `${verb}_IN_PROGRESS`);
          addEvent(stack, token, logicalId, resource.Type, `${verb}_COMPLETE`);
        }
        onSuccess();
      });
      stack.pending = steps;
      return;
    }
    const failing = resources.find(([logicalId]) => logicalId === failure.logicalId) ?? resources[0];
    const [failingId, failingResource] = failing ?? ['Unknown', { Type: 'AWS::CloudFormation::WaitConditionHandle' }];
    steps.push(() => {
      addEvent(stack, token, failingId, failingResource.Type, `${verb}_IN_PROGRESS`);
      addEvent(stack, token, failingId, failingResource.Type, `${verb}_FAILED`, failure.reason);
      for (const [logicalId, resource] of resources) {
        if (logicalId === failingId || operation === 'delete') continue;
        addEvent(
          stack,
          token,
          logicalId,
          resource.Type,
          `${verb}_FAILED`,
          `Resource ${operation === 'create' ? 'creation' : 'update'} cancelled`,
        );
      }
      if (operation === 'delete') {
        setStatus(stack, token, 'DELETE_FAILED', `The following resource(s) failed to delete: [${failingId}]. `);
        return;
      }
      setStatus(
        stack,
        token,
        operation === 'create' ? 'ROLLBACK_IN_PROGRESS' : 'UPDATE_ROLLBACK_IN_PROGRESS',
        `The following resource(s) failed to ${operation}: [${failingId}]. ${operation === 'create' ? 'Rollback requested by user.' : ''}`.trim(),
      );
    });
    if (operation !== 'delete') {
      steps.push(() =>
        setStatus(stack, token, operation === 'create' ? 'ROLLBACK_COMPLETE' : 'UPDATE_ROLLBACK_COMPLETE'),
      );
    }
    stack.pending = steps;
  };

  const handlers: Record<string, (params: URLSearchParams, region: string) => string> = {
    CreateStack(params, region) {
      const name = params.get('StackName') ?? '';
      if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(name)) {
        throw new QueryError(
          'ValidationError',
          `1 validation error detected: Value '${name}' at 'stackName' failed to satisfy constraint`,
        );
      }
      if (server.stack(region, name)) throw new QueryError('AlreadyExistsException', `Stack [${name}] already exists`);
      const capabilities = listParam(params, 'Capabilities');
      const { resources, outputs } = parseTemplate(params.get('TemplateBody'), capabilities);
      const token = params.get('ClientRequestToken') ?? undefined;
      const stack: LocalStack = {
        StackId: `arn:aws:cloudformation:${region}:${accountId}:stack/${name}/${randomUUID()}`,
        StackName: name,
        region,
        StackStatus: 'CREATE_IN_PROGRESS',
        CreationTime: new Date(),
        TemplateBody: params.get('TemplateBody') ?? '',
        Capabilities: capabilities,
        Tags: tagsParam(params),
        Outputs: [],
        events: [],
        pending: [],
      };
      stacksOf(region).push(stack);
      setStatus(stack, token, 'CREATE_IN_PROGRESS', 'User Initiated');
      schedule(stack, 'create', token, resources, () => {
        stack.Outputs = outputs;
        setStatus(stack, token, 'CREATE_COMPLETE');
      });
      return element('StackId', stack.StackId);
    },
    UpdateStack(params, region) {
      const name = params.get('StackName') ?? '';
      const stack = live(region, name);
      if (!stack) throw new QueryError('ValidationError', `Stack [${name}] does not exist`);
      if (
        stack.StackStatus.endsWith('_IN_PROGRESS') ||
        ['ROLLBACK_COMPLETE', 'ROLLBACK_FAILED', 'DELETE_FAILED', 'UPDATE_ROLLBACK_FAILED'].includes(stack.StackStatus)
      ) {
        throw new QueryError(
          'ValidationError',
          `Stack:${stack.StackId} is in ${stack.StackStatus} state and can not be updated.`,
        );
      }
      const capabilities = listParam(params, 'Capabilities');
      const body = params.get('TemplateBody');
      const { resources, outputs } = parseTemplate(body, capabilities);
      const tags = tagsParam(params);
      if (body === stack.TemplateBody && JSON.stringify(tags) === JSON.stringify(stack.Tags)) {
        throw new QueryError('ValidationError', 'No updates are to be performed.');
      }
      const token = params.get('ClientRequestToken') ?? undefined;
      const previous = { body: stack.TemplateBody, tags: stack.Tags };
      setStatus(stack, token, 'UPDATE_IN_PROGRESS', 'User Initiated');
      stack.LastUpdatedTime = new Date();
      stack.TemplateBody = body ?? '';
      stack.Tags = tags;
      stack.Capabilities = capabilities;
      schedule(stack, 'update', token, resources, () => {
        stack.Outputs = outputs;
        setStatus(stack, token, 'UPDATE_COMPLETE');
      });
      // A rollback puts the previous template back.
      const pending = stack.pending;
      stack.pending = pending.map((step) => () => {
        step();
        if (stack.StackStatus === 'UPDATE_ROLLBACK_COMPLETE') {
          stack.TemplateBody = previous.body;
          stack.Tags = previous.tags;
        }
      });
      return element('StackId', stack.StackId);
    },
    DeleteStack(params, region) {
      const name = params.get('StackName') ?? '';
      const stack = live(region, name);
      // Deleting a stack that does not exist succeeds, as on AWS.
      if (!stack || stack.StackStatus === 'DELETE_COMPLETE' || stack.StackStatus === 'DELETE_IN_PROGRESS') return '';
      if (stack.StackStatus.endsWith('_IN_PROGRESS')) {
        throw new QueryError(
          'ValidationError',
          `Stack [${name}] cannot be deleted while in status ${stack.StackStatus}`,
        );
      }
      const token = params.get('ClientRequestToken') ?? undefined;
      const { resources } = parseTemplate(stack.TemplateBody, ['CAPABILITY_NAMED_IAM']);
      setStatus(stack, token, 'DELETE_IN_PROGRESS', 'User Initiated');
      schedule(stack, 'delete', token, resources, () => {
        stack.DeletionTime = new Date();
        setStatus(stack, token, 'DELETE_COMPLETE');
      });
      return '';
    },
    DescribeStacks(params, region) {
      const name = params.get('StackName');
      const stacks = name ? [live(region, name)] : stacksOf(region).filter((s) => s.StackStatus !== 'DELETE_COMPLETE');
      if (name && !stacks[0]) throw new QueryError('ValidationError', `Stack with id ${name} does not exist`);
      for (const stack of stacks) stack?.pending.shift()?.();
      return members(
        'Stacks',
        stacks.flatMap((stack) => (stack ? [stackXml(stack)] : [])),
      );
    },
    DescribeStackEvents(params, region) {
      const name = params.get('StackName') ?? '';
      const stack = live(region, name);
      if (!stack) throw new QueryError('ValidationError', `Stack [${name}] does not exist`);
      const newestFirst = [...stack.events].reverse();
      const start = Number(params.get('NextToken') ?? '0');
      if (!Number.isInteger(start) || start < 0) throw new QueryError('ValidationError', 'Invalid NextToken');
      const page = newestFirst.slice(start, start + server.eventPageSize);
      const next = start + server.eventPageSize < newestFirst.length ? String(start + server.eventPageSize) : undefined;
      return `${members('StackEvents', page.map(eventXml))}${element('NextToken', next)}`;
    },
  };

  const http = createServer((request, response) => {
    void (async () => {
      const text = await readBody(request);
      const params = new URLSearchParams(text);
      const action = params.get('Action') ?? '';
      const region = regionOf(request);
      requests.push({
        action,
        region,
        ...(params.get('StackName') ? { stackName: params.get('StackName') ?? '' } : {}),
        params: Object.fromEntries(params),
      });
      const handler = handlers[action];
      if (request.method !== 'POST' || !handler) {
        return respondError(response, 400, 'InvalidAction', `The action ${action} is not valid for this web service.`);
      }
      try {
        respond(response, action, handler(params, region));
      } catch (error) {
        if (error instanceof QueryError) return respondError(response, error.status, error.code, error.message);
        respondError(response, 500, 'InternalFailure', String(error));
      }
    })();
  });
  const listener = await listenOnLoopback(http);
  server.endpoint = listener.origin;
  server.close = listener.close;
  return server;
};

export type { CloudFormationServer };
export { startCloudFormationServer };
