/**
 * The forwarders' item of the state table on dynalite, through the real DynamoDB client: heartbeats from concurrent
 * invocations (the first ever included, when the map does not exist yet) never lose each other's entries; what the
 * guard expects keeps its first time; `rootwatch forwarders` lists and forgets.
 */
import { PassThrough } from 'node:stream';
import { DeleteItemCommand, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { runForwarders } from '../../functions/commands/forwarders.js';
import { createDynamoForwarderLog, ForwarderLogError } from '../../functions/io/forwarder-log.js';
import { type LocalAws, startLocalAws } from '../../functions/local/aws.js';

const STAGE = 'fwd';
const MINUTE = 60_000;
let aws: LocalAws;

beforeAll(async () => {
  aws = await startLocalAws(`rootwatch-${STAGE}`);
});
afterAll(async () => {
  await aws?.stop();
});
beforeEach(async () => {
  await aws.dynamodb.send(new DeleteItemCommand({ TableName: aws.tableName, Key: { pk: { S: 'forwarders' } } }));
});

const logOf = () => createDynamoForwarderLog(aws.dynamodb, aws.tableName);
const accountOf = (index: number) => String(210987654300 + index);

describe('createDynamoForwarderLog', () => {
  it('reads empty maps before any heartbeat', async () => {
    expect(await logOf().read()).toStrictEqual({ lastSeen: {}, expectedSince: {} });
  });

  it('keeps every entry when twenty forwarders send their first heartbeats at once, before the map exists', async () => {
    // Prepare: separate log instances, as separate invocations would have.
    const forwarders = Array.from({ length: 20 }, (_, index) => ({
      account: accountOf(index),
      region: index % 2 === 0 ? 'eu-west-1' : 'ap-south-1',
    }));

    // Act
    await Promise.all(forwarders.map((forwarder, index) => logOf().recordHeartbeat(forwarder, 1_000 + index)));

    // Assess
    const { lastSeen } = await logOf().read();
    expect(lastSeen).toStrictEqual(
      Object.fromEntries(
        forwarders.map((forwarder, index) => [`${forwarder.account}:${forwarder.region}`, 1_000 + index]),
      ),
    );
  });

  it('keeps the heartbeats and the expected forwarders when the guard and the alert function write at once', async () => {
    // Act
    await Promise.all([
      logOf().recordHeartbeat({ account: '210987654321', region: 'eu-west-1' }, 5_000),
      logOf().expect(['111122223333:eu-central-1', '111122223333:ap-south-1'], 6_000),
      logOf().recordHeartbeat({ account: '210987654321', region: 'us-west-2' }, 7_000),
    ]);

    // Assess
    expect(await logOf().read()).toStrictEqual({
      lastSeen: { '210987654321:eu-west-1': 5_000, '210987654321:us-west-2': 7_000 },
      expectedSince: { '111122223333:eu-central-1': 6_000, '111122223333:ap-south-1': 6_000 },
    });
  });

  it('keeps the last heartbeat of a forwarder, and the first time it was expected', async () => {
    // Prepare
    const log = logOf();
    const forwarder = { account: '210987654321', region: 'eu-west-1' };

    // Act
    await log.recordHeartbeat(forwarder, 1_000);
    await log.recordHeartbeat(forwarder, 2_000);
    await log.expect(['111122223333:eu-central-1'], 3_000);
    await log.expect(['111122223333:eu-central-1'], 4_000);

    // Assess
    expect(await log.read()).toStrictEqual({
      lastSeen: { '210987654321:eu-west-1': 2_000 },
      expectedSince: { '111122223333:eu-central-1': 3_000 },
    });
  });

  it('adds to an item the map of which another writer created, without replacing its entries', async () => {
    // Prepare: an item with only the other map, then the map itself created between a writer's two steps.
    const log = logOf();
    await log.expect(['111122223333:eu-central-1'], 1_000);
    await aws.dynamodb.send(
      new UpdateItemCommand({
        TableName: aws.tableName,
        Key: { pk: { S: 'forwarders' } },
        UpdateExpression: 'SET lastSeen = :map',
        ExpressionAttributeValues: { ':map': { M: { '210987654321:us-west-2': { N: '500' } } } },
      }),
    );

    // Act
    await log.recordHeartbeat({ account: '210987654321', region: 'eu-west-1' }, 2_000);

    // Assess
    expect(await log.read()).toStrictEqual({
      lastSeen: { '210987654321:us-west-2': 500, '210987654321:eu-west-1': 2_000 },
      expectedSince: { '111122223333:eu-central-1': 1_000 },
    });
    const { Item } = await aws.dynamodb.send(
      new GetItemCommand({ TableName: aws.tableName, Key: { pk: { S: 'forwarders' } } }),
    );
    expect(Item?.expiresAt).toBeUndefined();
  });

  it('forgets a forwarder from both maps, and says when there was nothing to forget', async () => {
    // Prepare
    const log = logOf();
    await log.recordHeartbeat({ account: '210987654321', region: 'eu-west-1' }, 1_000);
    await log.expect(['210987654321:eu-west-1', '111122223333:eu-central-1'], 500);

    // Act
    const forgotten = await log.forget('210987654321:eu-west-1');
    const again = await log.forget('210987654321:eu-west-1');

    // Assess
    expect([forgotten, again]).toStrictEqual([true, false]);
    expect(await log.read()).toStrictEqual({
      lastSeen: {},
      expectedSince: { '111122223333:eu-central-1': 500 },
    });
    await expect(logOf().forget('999999999999:eu-west-1')).resolves.toBe(false);
  });

  it('refuses what is not a forwarder, naming it', async () => {
    await expect(logOf().recordHeartbeat({ account: 'root', region: 'eu-west-1' }, 1)).rejects.toThrow(
      ForwarderLogError,
    );
    await expect(logOf().forget('eu-west-1')).rejects.toThrow('not a forwarder: "eu-west-1" (expected ACCOUNT:REGION)');
  });
});

describe('rootwatch forwarders', () => {
  const now = Date.now();
  beforeAll(() => {
    for (const [name, value] of Object.entries({
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: aws.endpoints.dynamodb,
      AWS_REGION: 'us-east-1',
    })) {
      vi.stubEnv(name, value);
    }
  });
  afterAll(() => {
    vi.unstubAllEnvs();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Runs the command, collecting stdout and stderr. */
  const run = async (...args: string[]) => {
    let stdout = '';
    let stderr = '';
    const errors = new PassThrough();
    errors.on('data', (chunk) => {
      stderr += String(chunk);
    });
    const code = await runForwarders(args, {
      stdout: (text) => {
        stdout += text;
      },
      stderr: errors,
      env: {},
    });
    return { code, stdout, stderr };
  };

  /** The table rootwatch-fwd-state the command reads is the local stack's. */
  const seed = async () => {
    const log = logOf();
    await log.recordHeartbeat({ account: '210987654321', region: 'eu-west-1' }, now - 25 * MINUTE);
    await log.recordHeartbeat({ account: '210987654321', region: 'ap-south-1' }, now - 2 * MINUTE);
    await log.expect(['111122223333:eu-central-1'], now - 3 * MINUTE);
  };

  it('lists every forwarder with its last heartbeat and whether it is silent, exit status 1 when one is', async () => {
    // Prepare
    await seed();

    // Act
    const { code, stdout, stderr } = await run('--stage', STAGE);

    // Assess
    expect(stderr).toBe('');
    expect(code).toBe(1);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ACCOUNT\s+NAME\s+REGION\s+LAST HEARTBEAT\s+QUIET FOR\s+STATUS$/);
    expect(lines[1]).toMatch(/^111122223333\s+eu-central-1\s+never \(expected since \S+Z\)\s+3 minutes\s+waiting$/);
    expect(lines[2]).toMatch(/^210987654321\s+ap-south-1\s+\S+Z\s+2 minutes\s+ok$/);
    expect(lines[3]).toMatch(/^210987654321\s+eu-west-1\s+\S+Z\s+25 minutes\s+SILENT$/);
    expect(lines.at(-1)).toBe('3 forwarders, 1 silent (no heartbeat for more than 20 minutes)');
  });

  it('takes the period and the account names, and prints JSON', async () => {
    // Prepare
    await seed();
    const { writeFile, mkdtemp, rm } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'rootwatch-forwarders-'));
    const names = join(dir, 'names.json');
    await writeFile(names, JSON.stringify({ '210987654321': 'prod-payments' }));

    // Act
    const { code, stdout } = await run(
      '--stage',
      STAGE,
      '--heartbeat-minutes',
      '15',
      '--account-names',
      names,
      '--format',
      'json',
    );
    await rm(dir, { recursive: true, force: true });

    // Assess
    expect(code).toBe(0);
    const document = JSON.parse(stdout);
    expect(document).toMatchObject({ heartbeatMinutes: 15, silentAfterMinutes: 30 });
    expect(document.forwarders).toHaveLength(3);
    expect(document.forwarders[2]).toMatchObject({
      account: '210987654321',
      accountName: 'prod-payments',
      region: 'eu-west-1',
      quietMinutes: 25,
      silent: false,
    });
    expect(document.forwarders[0]).toMatchObject({ lastHeartbeat: null, silent: false });
  });

  it('forgets a forwarder removed on purpose, which is then no longer listed', async () => {
    // Prepare
    await seed();

    // Act
    const forgot = await run('--stage', STAGE, '--forget', '210987654321:eu-west-1');
    const missing = await run('--stage', STAGE, '--forget', '210987654321:eu-west-1');
    const listed = await run('--stage', STAGE);

    // Assess
    expect(forgot).toMatchObject({ code: 0, stderr: '' });
    expect(forgot.stdout).toContain('forgot the forwarder 210987654321:eu-west-1');
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('nothing to forget');
    expect(listed.code).toBe(0);
    expect(listed.stdout).not.toContain('eu-west-1');
  });

  it.each([
    [['--forget', '210987654321:eu-west-1'], /needs --stage/],
    [['--stage', STAGE, '--forget', 'eu-west-1'], /--forget takes ACCOUNT:REGION/],
    [['--stage', STAGE, '--heartbeat-minutes', '2'], /--heartbeat-minutes must be a whole number from 5 to 720/],
    [['--stage', STAGE, '--format', 'csv'], /--format must be table or json/],
    [['--stage', STAGE, '--bogus'], /Unknown option '--bogus'/],
  ])('refuses %j with exit status 2 and a pointer to the help', async (args, message) => {
    // Act
    const { code, stdout, stderr } = await run(...args);

    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr).toContain('Run "rootwatch --help"');
  });

  it('says which table it could not read, and how to get in, with exit status 1', async () => {
    // Act: a stage whose table does not exist.
    const { code, stderr } = await run('--stage', 'missing');

    // Assess
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /could not read the state table rootwatch-missing-state in us-east-1: ResourceNotFoundException/,
    );
    expect(stderr).toContain('rootwatch-missing-operator');
  });
});
