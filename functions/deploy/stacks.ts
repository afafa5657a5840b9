import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import {
  type CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type Stack,
  type StackEvent,
  UpdateStackCommand,
} from '@aws-sdk/client-cloudformation';
import { AlerterError, toError } from '../errors.js';
import { TEMPLATE_BODY_MAX_BYTES, templateBodyBytes } from './forwarder-template.js';

/*
 * One CloudFormation stack in one region, created, updated or deleted through the API (not a change set) and waited
 * for, with what went wrong read from its events. The forwarders of `rootwatch deploy` use it; the hub is the
 * Serverless Framework's.
 *
 * Stack statuses: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-describing-stacks.html
 * (CREATE_COMPLETE, UPDATE_COMPLETE and DELETE_COMPLETE end an operation well; ROLLBACK_COMPLETE,
 * UPDATE_ROLLBACK_COMPLETE, *_FAILED end it badly; *_IN_PROGRESS are on the way, except REVIEW_IN_PROGRESS, a stack
 * made for a change set that was never run, which stays so).
 */

/**
 * UpdateStack answers a template, parameters and tags identical to the stack's with a ValidationError whose message
 * is "No updates are to be performed." (lately prefixed "CloudFormation failed to preprocess the stack: "): success.
 */
const NO_UPDATES = /No updates are to be performed/;

/** A stack operation ended badly, or could not start: names the region and the stack, and CloudFormation's reason. */
class StackOperationError extends AlerterError {
  public constructor(
    public readonly region: string,
    public readonly stackName: string,
    /** The stack's status when it stopped (UPDATE_ROLLBACK_COMPLETE, …), or the API error's name. */
    public readonly status: string,
    /** The first failed resource's reason, or the API's message. */
    public readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`${region}: stack ${stackName}: ${status}: ${reason}`, options);
  }
}

/** A template is over TemplateBody's limit (TEMPLATE_BODY_MAX_BYTES); a larger one would have to go by S3. */
class TemplateTooLargeError extends AlerterError {
  public constructor(
    public readonly stackName: string,
    public readonly bytes: number,
  ) {
    super(
      `the template of ${stackName} is ${bytes} bytes, over CloudFormation's TemplateBody limit of ${TEMPLATE_BODY_MAX_BYTES} bytes (give fewer trail buckets, keys or log groups, or split the catalog)`,
    );
  }
}

/**
 * The template as a TemplateBody: compact JSON.
 *
 * @throws TemplateTooLargeError naming the stack when templateBodyBytes is over TEMPLATE_BODY_MAX_BYTES.
 * @example
 * templateBodyOf({ Resources: { Queue: { Type: 'AWS::SQS::Queue' } } }, 'rootwatch-prod-forwarder');
 * // '{"Resources":{"Queue":{"Type":"AWS::SQS::Queue"}}}'
 */
const templateBodyOf = (template: object, stackName: string): string => {
  const bytes = templateBodyBytes(template);
  if (bytes > TEMPLATE_BODY_MAX_BYTES) throw new TemplateTooLargeError(stackName, bytes);
  return JSON.stringify(template);
};

/** How long to wait for a stack, and how (tests pass a short poll). */
interface WaitOptions {
  /** Between two DescribeStacks calls, in milliseconds. */
  pollMs: number;
  /** Give up waiting after this many milliseconds (the operation goes on in CloudFormation). */
  timeoutMs: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** The stack a region should have. */
interface StackSpec {
  stackName: string;
  templateBody: string;
  /** Stack tags, which CloudFormation also puts on the resources that take tags. */
  tags: Readonly<Record<string, string>>;
  /** CAPABILITY_NAMED_IAM for a template that names its IAM roles. */
  capabilities: readonly string[];
}

/** What happened to a region's stack. */
type StackResult = 'created' | 'updated' | 'unchanged' | 'deleted' | 'absent';

interface StackOutcome {
  result: StackResult;
  /** The stack's final status (CREATE_COMPLETE, …); none when nothing was done. */
  status?: string;
}

const isSettled = (status: string): boolean => !status.endsWith('_IN_PROGRESS') || status === 'REVIEW_IN_PROGRESS';

/** DescribeStacks of a stack name that has none answers ValidationError "Stack with id NAME does not exist". */
const isMissingStack = (error: Error): boolean =>
  error.name === 'ValidationError' && /does not exist/.test(error.message);

/**
 * The live stack of this name (or the stack of this id, deleted ones included), or undefined when there is none.
 *
 * @throws the SDK's error for anything but a missing stack (AccessDenied, throttling after the SDK's retries).
 * @example
 * import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
 *
 * const client = new CloudFormationClient({ region: 'us-east-1' });
 * const stack = await describeStack(client, 'rootwatch-prod');
 * stack?.StackStatus; // 'UPDATE_COMPLETE'
 */
const describeStack = async (client: CloudFormationClient, stackName: string): Promise<Stack | undefined> => {
  try {
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    return Stacks?.[0];
  } catch (error) {
    const err = toError(error);
    if (isMissingStack(err)) return undefined;
    throw err;
  }
};

/**
 * The outputs of a stack, by OutputKey.
 *
 * @throws StackOperationError naming region and stack when it does not exist or cannot be read.
 * @example
 * import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
 *
 * const client = new CloudFormationClient({ region: 'us-east-1' });
 * const outputs = await readStackOutputs(client, 'us-east-1', 'rootwatch-prod');
 * outputs.HubEventBusArn; // 'arn:aws:events:us-east-1:111122223333:event-bus/rootwatch-prod-hub'
 */
const readStackOutputs = async (
  client: CloudFormationClient,
  region: string,
  stackName: string,
): Promise<Record<string, string>> => {
  let stack: Stack | undefined;
  try {
    stack = await describeStack(client, stackName);
  } catch (error) {
    const err = toError(error);
    throw new StackOperationError(region, stackName, err.name, err.message, { cause: err });
  }
  if (!stack) throw new StackOperationError(region, stackName, 'absent', 'the stack does not exist');
  return Object.fromEntries(
    (stack.Outputs ?? []).flatMap(({ OutputKey, OutputValue }) =>
      OutputKey && OutputValue !== undefined ? [[OutputKey, OutputValue]] : [],
    ),
  );
};

/** Reads the stack (by its id, which still answers once deleted) until it is settled or the wait is over. */
const waitUntilSettled = async (
  client: CloudFormationClient,
  region: string,
  stack: { StackId?: string; StackName?: string },
  wait: WaitOptions,
): Promise<Stack> => {
  const sleep = wait.sleep ?? ((ms: number) => delay(ms));
  const now = wait.now ?? Date.now;
  const started = now();
  const id = stack.StackId ?? stack.StackName ?? '';
  for (;;) {
    const current = await describeStack(client, id);
    if (!current?.StackStatus) {
      throw new StackOperationError(region, stack.StackName ?? id, 'absent', 'the stack disappeared while waiting');
    }
    if (isSettled(current.StackStatus)) return current;
    if (now() - started >= wait.timeoutMs) {
      throw new StackOperationError(
        region,
        current.StackName ?? id,
        current.StackStatus,
        `still in progress after ${Math.round(wait.timeoutMs / 60_000)} minutes; CloudFormation goes on: watch it in the console, then run the command again`,
      );
    }
    await sleep(wait.pollMs);
  }
};

/** A resource that failed only because another one did: its reason says nothing. */
const CANCELLED = /^Resource (creation|update) cancelled/;
/** DescribeStackEvents pages read at most while looking for a failure's reason (100 events a page). */
const MAX_EVENT_PAGES = 10;

/**
 * Why an operation failed: the first (oldest) failed resource event of the operation, by its ClientRequestToken
 * ("All events triggered by a given stack operation are assigned the same client request token",
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackEvent.html), skipping resources
 * cancelled because of another; else the stack's StackStatusReason.
 */
const failureReason = async (client: CloudFormationClient, stack: Stack, token: string): Promise<string> => {
  const events: StackEvent[] = [];
  let nextToken: string | undefined;
  try {
    for (let page = 0; page < MAX_EVENT_PAGES; page++) {
      const answer = await client.send(
        new DescribeStackEventsCommand({ StackName: stack.StackId ?? stack.StackName, NextToken: nextToken }),
      );
      const pageEvents = answer.StackEvents ?? [];
      const ours = pageEvents.filter((event) => event.ClientRequestToken === token);
      events.push(...ours);
      // Newest first: once this operation's events are behind, older pages hold earlier operations only.
      const pastOurs = events.length > 0 && ours.length < pageEvents.length;
      nextToken = answer.NextToken;
      if (pastOurs || !nextToken) break;
    }
  } catch (error) {
    const err = toError(error);
    return `${stack.StackStatusReason ?? 'no reason given'} (its events could not be read: ${err.name}: ${err.message})`;
  }
  const failed = events
    .filter((event) => event.ResourceStatus?.endsWith('_FAILED') && event.ResourceStatusReason)
    .filter((event) => event.LogicalResourceId !== stack.StackName)
    .reverse();
  const first = failed.find((event) => !CANCELLED.test(event.ResourceStatusReason ?? '')) ?? failed[0];
  if (!first) return stack.StackStatusReason ?? 'no reason given (see the stack events in the CloudFormation console)';
  return `${first.LogicalResourceId} (${first.ResourceType}): ${first.ResourceStatusReason}`;
};

const newToken = (operation: string) => `rootwatch-${operation}-${randomUUID()}`;

/** Runs an API call of an operation, turning its error into a StackOperationError naming region and stack. */
const call = async <T>(region: string, stackName: string, run: () => Promise<T>): Promise<T> => {
  try {
    return await run();
  } catch (error) {
    const err = toError(error);
    if (err instanceof StackOperationError) throw err;
    throw new StackOperationError(region, stackName, err.name, err.message, { cause: err });
  }
};

/**
 * Waits for the operation started with `token` to settle.
 *
 * @throws StackOperationError naming region and stack unless it ended in `expected` (with the first failed resource
 *   and its reason), or when the wait timed out.
 */
const awaitOperation = async (
  client: CloudFormationClient,
  region: string,
  stack: Pick<Stack, 'StackId'> & { StackName: string },
  wait: WaitOptions,
  token: string,
  expected: 'CREATE_COMPLETE' | 'UPDATE_COMPLETE' | 'DELETE_COMPLETE',
): Promise<Stack> => {
  const settled = await call(region, stack.StackName, () => waitUntilSettled(client, region, stack, wait));
  if (settled.StackStatus !== expected) {
    throw new StackOperationError(
      region,
      stack.StackName,
      settled.StackStatus ?? 'unknown',
      await failureReason(client, settled, token),
    );
  }
  return settled;
};

/** Deletes a stack (DeleteStack by its id) and waits for DELETE_COMPLETE. */
const deleteAndWait = async (
  client: CloudFormationClient,
  region: string,
  stack: Stack,
  wait: WaitOptions,
): Promise<Stack> => {
  const token = newToken('delete');
  const name = stack.StackName ?? '';
  await call(region, name, () =>
    client.send(new DeleteStackCommand({ StackName: stack.StackId ?? name, ClientRequestToken: token })),
  );
  return awaitOperation(client, region, { ...stack, StackName: name }, wait, token, 'DELETE_COMPLETE');
};

/**
 * The live stack of this name, once settled: one busy with another operation is waited for first (`onProgress` says
 * so); undefined when there is none.
 *
 * @throws StackOperationError naming region and stack when it cannot be read or the wait times out.
 */
const settledStack = async (
  client: CloudFormationClient,
  region: string,
  stackName: string,
  wait: WaitOptions,
  onProgress: (message: string) => void = () => {},
): Promise<Stack | undefined> => {
  const existing = await call(region, stackName, () => describeStack(client, stackName));
  if (!existing?.StackStatus || isSettled(existing.StackStatus)) return existing;
  onProgress(`${region}: ${stackName} is ${existing.StackStatus}, waiting for it to settle`);
  return call(region, stackName, () => waitUntilSettled(client, region, existing, wait));
};

/** A stack that never came to exist cannot be updated, only deleted: a failed creation, a change set's shell. */
const NEVER_CREATED = new Set(['ROLLBACK_COMPLETE', 'ROLLBACK_FAILED', 'REVIEW_IN_PROGRESS']);

/**
 * Statuses UpdateStack refuses, and what gets the stack moving again.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html#troubleshooting-errors-update-rollback-failed
 */
const STUCK: Readonly<Record<string, (region: string, stackName: string) => string>> = {
  UPDATE_ROLLBACK_FAILED: (region, stackName) =>
    `an update's rollback failed, and the stack cannot be updated until it is continued: fix what its events name, run aws cloudformation continue-update-rollback --region ${region} --stack-name ${stackName}, then deploy again`,
  DELETE_FAILED: (region, stackName) =>
    `a deletion failed: fix what its events name, then delete it (rootwatch remove, or aws cloudformation delete-stack --region ${region} --stack-name ${stackName}) and deploy again`,
};

/**
 * Makes the region's stack what `spec` says: CreateStack when there is none, UpdateStack otherwise, then waits.
 * A stack busy with another operation is waited for first; one whose creation failed (ROLLBACK_COMPLETE) is deleted
 * and created again, as CloudFormation allows nothing else (`onProgress` says so).
 *
 * @returns `created` (CREATE_COMPLETE), `updated` (UPDATE_COMPLETE) or `unchanged` ("No updates are to be performed").
 * @throws StackOperationError naming region and stack: the API refused (its error), the operation rolled back (the
 *   first failed resource and its reason), or the wait timed out.
 * @example
 * import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
 *
 * declare const templateBody: string;
 * const client = new CloudFormationClient({ region: 'eu-west-1' });
 * const outcome = await deployStack(client, 'eu-west-1', {
 *   stackName: 'rootwatch-prod-forwarder', templateBody, tags: { 'rootwatch:stage': 'prod' },
 *   capabilities: ['CAPABILITY_NAMED_IAM'],
 * }, { pollMs: 5000, timeoutMs: 1_800_000 });
 * outcome.result; // 'created'
 */
const deployStack = async (
  client: CloudFormationClient,
  region: string,
  spec: StackSpec,
  wait: WaitOptions,
  onProgress: (message: string) => void = () => {},
): Promise<StackOutcome> => {
  const { stackName } = spec;
  let existing = await settledStack(client, region, stackName, wait, onProgress);
  if (existing?.StackStatus === 'DELETE_COMPLETE') existing = undefined;
  if (existing?.StackStatus && NEVER_CREATED.has(existing.StackStatus)) {
    onProgress(`${region}: ${stackName} is ${existing.StackStatus} (never created), deleting it to create it again`);
    await deleteAndWait(client, region, existing, wait);
    existing = undefined;
  }
  const stuck = existing?.StackStatus ? STUCK[existing.StackStatus] : undefined;
  if (existing?.StackStatus && stuck) {
    throw new StackOperationError(region, stackName, existing.StackStatus, stuck(region, stackName));
  }
  const common = {
    StackName: stackName,
    TemplateBody: spec.templateBody,
    Capabilities: [...spec.capabilities] as CreateStackCommand['input']['Capabilities'],
    Tags: Object.entries(spec.tags).map(([Key, Value]) => ({ Key, Value })),
  };
  if (!existing) {
    const token = newToken('create');
    const { StackId } = await call(region, stackName, () =>
      client.send(new CreateStackCommand({ ...common, ClientRequestToken: token })),
    );
    const created = { ...(StackId ? { StackId } : {}), StackName: stackName };
    const settled = await awaitOperation(client, region, created, wait, token, 'CREATE_COMPLETE');
    return { result: 'created', status: settled.StackStatus ?? 'CREATE_COMPLETE' };
  }
  const token = newToken('update');
  try {
    await client.send(
      new UpdateStackCommand({ ...common, StackName: existing.StackId ?? stackName, ClientRequestToken: token }),
    );
  } catch (error) {
    const err = toError(error);
    if (err.name === 'ValidationError' && NO_UPDATES.test(err.message)) {
      return { result: 'unchanged', ...(existing.StackStatus ? { status: existing.StackStatus } : {}) };
    }
    throw new StackOperationError(region, stackName, err.name, err.message, { cause: err });
  }
  const settled = await awaitOperation(
    client,
    region,
    { ...existing, StackName: stackName },
    wait,
    token,
    'UPDATE_COMPLETE',
  );
  return { result: 'updated', status: settled.StackStatus ?? 'UPDATE_COMPLETE' };
};

/**
 * Deletes the region's stack of this name and waits for DELETE_COMPLETE; a region without it is `absent`.
 *
 * @throws StackOperationError naming region and stack when the API refuses or the deletion fails (DELETE_FAILED with
 *   the first failed resource's reason).
 * @example
 * import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
 *
 * const client = new CloudFormationClient({ region: 'eu-west-1' });
 * await removeStack(client, 'eu-west-1', 'rootwatch-prod-forwarder', { pollMs: 5000, timeoutMs: 1_800_000 });
 * // { result: 'deleted', status: 'DELETE_COMPLETE' } or { result: 'absent' }
 */
const removeStack = async (
  client: CloudFormationClient,
  region: string,
  stackName: string,
  wait: WaitOptions,
): Promise<StackOutcome> => {
  const existing = await settledStack(client, region, stackName, wait);
  if (!existing) return { result: 'absent' };
  // Deleted while we waited: DescribeStacks by name gives a running stack only ("Deleted stacks: You must specify the
  // unique stack ID", https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html).
  if (existing.StackStatus === 'DELETE_COMPLETE') return { result: 'deleted', status: existing.StackStatus };
  const deleted = await deleteAndWait(client, region, existing, wait);
  return { result: 'deleted', ...(deleted.StackStatus ? { status: deleted.StackStatus } : {}) };
};

export type { StackOutcome, StackSpec, WaitOptions };
export {
  deployStack,
  describeStack,
  readStackOutputs,
  removeStack,
  StackOperationError,
  TemplateTooLargeError,
  templateBodyOf,
};
