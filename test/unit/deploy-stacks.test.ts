import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TEMPLATE_BODY_MAX_BYTES } from '../../functions/deploy/forwarder-template.js';
import {
  deployStack,
  readStackOutputs,
  removeStack,
  StackOperationError,
  type StackSpec,
  TemplateTooLargeError,
  templateBodyOf,
} from '../../functions/deploy/stacks.js';
import { type CloudFormationServer, startCloudFormationServer } from '../../functions/local/cloudformation-server.js';

const REGION = 'eu-west-1';
const STACK = 'rootwatch-test-forwarder';
const WAIT = { pollMs: 1, timeoutMs: 5_000 };

/** A small template with a named role, as the forwarder has. */
const templateWith = (queueName: string) =>
  JSON.stringify({
    Resources: {
      ForwarderRole: { Type: 'AWS::IAM::Role', Properties: { RoleName: `rootwatch-test-forwarder-${REGION}` } },
      ForwarderDeadLetterQueue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: queueName } },
    },
  });
const specWith = (queueName: string, overrides: Partial<StackSpec> = {}): StackSpec => ({
  stackName: STACK,
  templateBody: templateWith(queueName),
  tags: { 'rootwatch:stage': 'test' },
  capabilities: ['CAPABILITY_NAMED_IAM'],
  ...overrides,
});

let cloudformation: CloudFormationServer;
let client: CloudFormationClient;

beforeEach(async () => {
  cloudformation = await startCloudFormationServer();
  client = new CloudFormationClient({
    region: REGION,
    endpoint: cloudformation.endpoint,
    credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
});

afterEach(async () => {
  client.destroy();
  await cloudformation.close();
});

describe('templateBodyOf', () => {
  it('writes compact JSON', () => {
    expect(templateBodyOf({ Resources: { Queue: { Type: 'AWS::SQS::Queue' } } }, STACK)).toBe(
      '{"Resources":{"Queue":{"Type":"AWS::SQS::Queue"}}}',
    );
  });

  it('takes a template of exactly 51,200 bytes and refuses one byte more, naming the stack and its size', () => {
    // Prepare: {"a":"…"} is 8 bytes around the value; é is 2 bytes in UTF-8.
    const exact = { a: 'x'.repeat(TEMPLATE_BODY_MAX_BYTES - 8) };
    const over = { a: `é${'x'.repeat(TEMPLATE_BODY_MAX_BYTES - 9)}` };

    // Act / Assess
    expect(templateBodyOf(exact, STACK)).toHaveLength(TEMPLATE_BODY_MAX_BYTES);
    expect(() => templateBodyOf(over, STACK)).toThrow(TemplateTooLargeError);
    expect(() => templateBodyOf(over, STACK)).toThrow(
      `the template of ${STACK} is 51201 bytes, over CloudFormation's TemplateBody limit of 51200 bytes`,
    );
  });
});

describe('deployStack', () => {
  it('creates, leaves an identical stack unchanged, and updates a changed one', async () => {
    // Act
    const created = await deployStack(client, REGION, specWith('a'), WAIT);
    const unchanged = await deployStack(client, REGION, specWith('a'), WAIT);
    const updated = await deployStack(client, REGION, specWith('b'), WAIT);

    // Assess
    expect(created).toStrictEqual({ result: 'created', status: 'CREATE_COMPLETE' });
    expect(unchanged).toStrictEqual({ result: 'unchanged', status: 'CREATE_COMPLETE' });
    expect(updated).toStrictEqual({ result: 'updated', status: 'UPDATE_COMPLETE' });
    expect(cloudformation.stack(REGION, STACK)?.TemplateBody).toBe(templateWith('b'));
    const sent = cloudformation.requests.filter((request) => request.action === 'CreateStack')[0]?.params;
    expect(sent?.['Capabilities.member.1']).toBe('CAPABILITY_NAMED_IAM');
    expect(sent?.['Tags.member.1.Key']).toBe('rootwatch:stage');
    expect(sent?.ClientRequestToken).toMatch(/^rootwatch-create-[0-9a-f-]{36}$/);
  });

  it('waits for a stack busy with another operation before updating it', async () => {
    // Prepare: a creation under way for three more reads.
    cloudformation.stepsPerOperation = 4;
    await client.send(
      new CreateStackCommand({
        StackName: STACK,
        TemplateBody: templateWith('a'),
        Capabilities: ['CAPABILITY_NAMED_IAM'],
        Tags: [{ Key: 'rootwatch:stage', Value: 'test' }],
      }),
    );
    const progress: string[] = [];

    // Act
    const outcome = await deployStack(client, REGION, specWith('b'), WAIT, (message) => progress.push(message));

    // Assess
    expect(progress).toStrictEqual([`${REGION}: ${STACK} is CREATE_IN_PROGRESS, waiting for it to settle`]);
    expect(outcome.result).toBe('updated');
  });

  it('reports the failed resource of this update, not of an earlier one, across pages of events', async () => {
    // Prepare
    cloudformation.eventPageSize = 3;
    await deployStack(client, REGION, specWith('a'), WAIT);
    cloudformation.setFailure(REGION, STACK, {
      logicalId: 'ForwarderRole',
      reason: 'first failure',
      operations: ['update'],
    });
    await expect(deployStack(client, REGION, specWith('b'), WAIT)).rejects.toThrow('first failure');
    cloudformation.setFailure(REGION, STACK, {
      logicalId: 'ForwarderDeadLetterQueue',
      reason: 'second failure',
      operations: ['update'],
    });

    // Act
    const failure = await deployStack(client, REGION, specWith('c'), WAIT).catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(StackOperationError);
    expect(failure).toMatchObject({
      region: REGION,
      stackName: STACK,
      status: 'UPDATE_ROLLBACK_COMPLETE',
      reason: 'ForwarderDeadLetterQueue (AWS::SQS::Queue): second failure',
    });
    expect((failure as Error).message).toBe(
      `${REGION}: stack ${STACK}: UPDATE_ROLLBACK_COMPLETE: ForwarderDeadLetterQueue (AWS::SQS::Queue): second failure`,
    );
  });

  it('names the resource that failed, not the ones cancelled because of it', async () => {
    // Prepare
    cloudformation.setFailure(REGION, STACK, { logicalId: 'ForwarderDeadLetterQueue', reason: 'Queue name taken' });

    // Act
    const failure = await deployStack(client, REGION, specWith('a'), WAIT).catch((error: unknown) => error);

    // Assess
    expect(failure).toMatchObject({
      status: 'ROLLBACK_COMPLETE',
      reason: 'ForwarderDeadLetterQueue (AWS::SQS::Queue): Queue name taken',
    });
    const stack = cloudformation.stack(REGION, STACK);
    expect(stack?.events.some((event) => event.ResourceStatusReason === 'Resource creation cancelled')).toBe(true);
  });

  it('turns an API refusal into an error naming region and stack', async () => {
    // Act
    const failure = await deployStack(client, REGION, specWith('a', { capabilities: [] }), WAIT).catch(
      (error: unknown) => error,
    );

    // Assess
    expect(failure).toBeInstanceOf(StackOperationError);
    expect((failure as Error).message).toBe(
      `${REGION}: stack ${STACK}: InsufficientCapabilitiesException: Requires capabilities : [CAPABILITY_NAMED_IAM]`,
    );
  });

  it('says how to free a stack whose update rollback failed, without calling UpdateStack', async () => {
    // Prepare
    await deployStack(client, REGION, specWith('a'), WAIT);
    const stack = cloudformation.stack(REGION, STACK);
    if (stack) stack.StackStatus = 'UPDATE_ROLLBACK_FAILED';

    // Act
    const failure = await deployStack(client, REGION, specWith('b'), WAIT).catch((error: unknown) => error);

    // Assess
    expect(failure).toMatchObject({ status: 'UPDATE_ROLLBACK_FAILED' });
    expect((failure as Error).message).toContain(
      `aws cloudformation continue-update-rollback --region ${REGION} --stack-name ${STACK}`,
    );
    expect(cloudformation.requests.filter((request) => request.action === 'UpdateStack')).toStrictEqual([]);
  });

  it('stops waiting after the timeout, saying CloudFormation goes on', async () => {
    // Prepare: an operation that never settles, and a clock that jumps a minute a read.
    cloudformation.stepsPerOperation = 1_000;
    let clock = 0;

    // Act
    const failure = await deployStack(client, REGION, specWith('a'), {
      pollMs: 1,
      timeoutMs: 10 * 60_000,
      now: () => {
        clock += 60_000;
        return clock;
      },
      sleep: async () => {},
    }).catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(StackOperationError);
    expect((failure as Error).message).toBe(
      `${REGION}: stack ${STACK}: CREATE_IN_PROGRESS: still in progress after 10 minutes; CloudFormation goes on: watch it in the console, then run the command again`,
    );
  });
});

describe('removeStack', () => {
  it('reports a region without the stack as absent, and deletes one that is there', async () => {
    // Prepare
    await deployStack(client, REGION, specWith('a'), WAIT);

    // Act
    const deleted = await removeStack(client, REGION, STACK, WAIT);
    const absent = await removeStack(client, REGION, STACK, WAIT);

    // Assess
    expect(deleted).toStrictEqual({ result: 'deleted', status: 'DELETE_COMPLETE' });
    expect(absent).toStrictEqual({ result: 'absent' });
    expect(cloudformation.stack(REGION, STACK)).toBeUndefined();
  });

  it('reports DELETE_FAILED with the resource that could not be deleted', async () => {
    // Prepare
    await deployStack(client, REGION, specWith('a'), WAIT);
    cloudformation.setFailure(REGION, STACK, {
      logicalId: 'ForwarderRole',
      reason: 'Access Denied',
      operations: ['delete'],
    });

    // Act
    const failure = await removeStack(client, REGION, STACK, WAIT).catch((error: unknown) => error);

    // Assess
    expect(failure).toMatchObject({ status: 'DELETE_FAILED', reason: 'ForwarderRole (AWS::IAM::Role): Access Denied' });
  });
});

describe('readStackOutputs', () => {
  it('names region and stack when the stack does not exist', async () => {
    await expect(readStackOutputs(client, REGION, 'rootwatch-test')).rejects.toThrow(
      `${REGION}: stack rootwatch-test: absent: the stack does not exist`,
    );
  });
});

describe('the local CloudFormation', () => {
  it('refuses a TemplateBody over 51,200 bytes as CloudFormation does', async () => {
    // Prepare
    const body = JSON.stringify({ Resources: { Q: { Type: 'AWS::SQS::Queue' } }, Description: 'x'.repeat(51_200) });

    // Act / Assess
    await expect(client.send(new CreateStackCommand({ StackName: STACK, TemplateBody: body }))).rejects.toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining('Member must have length less than or equal to 51200'),
    });
  });

  it('refuses a second stack of the same name', async () => {
    // Prepare
    await deployStack(client, REGION, specWith('a'), WAIT);

    // Act / Assess
    await expect(
      client.send(
        new CreateStackCommand({
          StackName: STACK,
          TemplateBody: templateWith('a'),
          Capabilities: ['CAPABILITY_NAMED_IAM'],
        }),
      ),
    ).rejects.toMatchObject({ name: 'AlreadyExistsException' });
  });
});
