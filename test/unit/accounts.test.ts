import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { IAMClient } from '@aws-sdk/client-iam';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAccountNames } from '../../functions/io/accounts.js';
import { logger } from '../../functions/io/logger.js';

const OWN = '111122223333';
const MEMBER = '444455556666';
const OTHER = '777788889999';

/** How the fake endpoint answers one API for one account. */
type Reply = { name: string } | { alias: string } | { deny: true } | { hang: true };

/**
 * Organizations (JSON 1.1) and IAM (query/XML) as they are on the wire, on loopback, reached through
 * the real SDK clients: the clients' own serialisation, error parsing and abort handling are tested.
 */
const startFakeAws = async () => {
  const organizations = new Map<string, Reply>();
  let iam: Reply = { deny: true };
  const requests: string[] = [];
  let release: () => void = () => undefined;
  let gate: Promise<void> = Promise.resolve();

  const send = (res: ServerResponse, status: number, type: string, body: string) => {
    res.writeHead(status, { 'content-type': type, 'x-amzn-requestid': 'test-request' });
    res.end(body);
  };
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const target = req.headers['x-amz-target'];
    if (target === 'AWSOrganizationsV20161128.DescribeAccount') {
      const { AccountId } = JSON.parse(body) as { AccountId: string };
      requests.push(`organizations:${AccountId}`);
      await gate; // lets a test hold answers back to see concurrent lookups share one request
      const reply = organizations.get(AccountId) ?? { deny: true };
      if ('hang' in reply) return; // never answers
      if ('name' in reply) {
        return send(
          res,
          200,
          'application/x-amz-json-1.1',
          JSON.stringify({ Account: { Id: AccountId, Name: reply.name } }),
        );
      }
      return send(
        res,
        400,
        'application/x-amz-json-1.1',
        JSON.stringify({
          __type: 'AccessDeniedException',
          Message: "You don't have permissions to access this resource.",
        }),
      );
    }
    if (new URLSearchParams(body).get('Action') === 'ListAccountAliases') {
      requests.push('iam');
      if ('hang' in iam) return;
      if ('alias' in iam) {
        return send(
          res,
          200,
          'text/xml',
          `<ListAccountAliasesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListAccountAliasesResult><IsTruncated>false</IsTruncated><AccountAliases><member>${iam.alias}</member></AccountAliases></ListAccountAliasesResult><ResponseMetadata><RequestId>test-request</RequestId></ResponseMetadata></ListAccountAliasesResponse>`,
        );
      }
      return send(
        res,
        403,
        'text/xml',
        `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::${OWN}:assumed-role/rootwatch/alert is not authorized to perform: iam:ListAccountAliases</Message></Error><RequestId>test-request</RequestId></ErrorResponse>`,
      );
    }
    send(res, 400, 'text/plain', 'unexpected request');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = {
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  };
  return {
    organizationsClient: new OrganizationsClient(config),
    iamClient: new IAMClient(config),
    organizations,
    setIam: (reply: Reply) => {
      iam = reply;
    },
    requests,
    hold: () => {
      gate = new Promise((resolve) => {
        release = resolve;
      });
    },
    release: () => release(),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
};

let aws: Awaited<ReturnType<typeof startFakeAws>>;
let warn: ReturnType<typeof vi.spyOn>;
let clock = 0;
const now = () => clock;

beforeEach(async () => {
  aws = await startFakeAws();
  warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
  clock = 1_000_000;
});
afterEach(async () => {
  aws.release();
  vi.restoreAllMocks();
  await aws.close();
});

describe('createAccountNames', () => {
  it('uses a configured name without calling any API', async () => {
    // Prepare
    const accountNames = createAccountNames({
      names: { [MEMBER]: 'prod-payments', [OWN]: 'security' },
      organizations: aws.organizationsClient,
      iam: aws.iamClient,
      ownAccountId: OWN,
    });
    // Act, Assess
    expect(await accountNames(MEMBER)).toStrictEqual({ name: 'prod-payments' });
    expect(await accountNames(OWN)).toStrictEqual({ name: 'security' });
    expect(aws.requests).toEqual([]);
  });

  it('asks Organizations for the account name and caches it for the TTL', async () => {
    // Prepare
    aws.organizations.set(MEMBER, { name: 'prod-payments' });
    const accountNames = createAccountNames({ organizations: aws.organizationsClient, ttlMs: 60_000, now });
    // Act
    const first = await accountNames(MEMBER);
    clock += 59_999;
    const cached = await accountNames(MEMBER);
    clock += 1;
    aws.organizations.set(MEMBER, { name: 'prod-payments-renamed' });
    const refreshed = await accountNames(MEMBER);
    // Assess
    expect(first).toStrictEqual({ name: 'prod-payments' });
    expect(cached).toStrictEqual({ name: 'prod-payments' });
    expect(refreshed).toStrictEqual({ name: 'prod-payments-renamed' });
    expect(aws.requests).toEqual([`organizations:${MEMBER}`, `organizations:${MEMBER}`]);
  });

  it('leaves the name out on AccessDenied, logs it once and does not ask again within the TTL', async () => {
    // Prepare: no reply configured means AccessDeniedException
    const accountNames = createAccountNames({ organizations: aws.organizationsClient, now });
    // Act
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await accountNames(MEMBER));
    // Assess
    expect(answers).toStrictEqual([{}, {}, {}, {}, {}]);
    expect(aws.requests).toEqual([`organizations:${MEMBER}`]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith('account name lookup failed', {
      accountId: MEMBER,
      api: 'organizations:DescribeAccount',
      reason: 'AccessDeniedException',
      errorMessage: "You don't have permissions to access this resource.",
      statusCode: 400,
    });
    // Act: one hour later the failure has expired and is retried (and logged) once more
    clock += 3_600_000;
    await accountNames(MEMBER);
    // Assess
    expect(aws.requests).toHaveLength(2);
    expect(warn).toHaveBeenCalledTimes(2);
  });

  it('logs only primitives, never an SDK error object', async () => {
    const accountNames = createAccountNames({
      organizations: aws.organizationsClient,
      iam: aws.iamClient,
      ownAccountId: OWN,
    });
    await accountNames(OWN);
    expect(warn).toHaveBeenCalledTimes(2);
    for (const [, attributes] of warn.mock.calls) {
      for (const value of Object.values(attributes as Record<string, unknown>)) {
        expect(['string', 'number']).toContain(typeof value);
      }
    }
  });

  it('shares one request between concurrent lookups of the same account', async () => {
    // Prepare
    aws.organizations.set(MEMBER, { name: 'prod-payments' });
    aws.organizations.set(OTHER, { name: 'sandbox' });
    const accountNames = createAccountNames({ organizations: aws.organizationsClient });
    aws.hold();
    // Act
    const pending = [accountNames(MEMBER), accountNames(MEMBER), accountNames(OTHER), accountNames(MEMBER)];
    await vi.waitFor(() => expect(aws.requests).toHaveLength(2));
    aws.release();
    const answers = await Promise.all(pending);
    // Assess
    expect(answers).toStrictEqual([
      { name: 'prod-payments' },
      { name: 'prod-payments' },
      { name: 'sandbox' },
      { name: 'prod-payments' },
    ]);
    expect(aws.requests.sort()).toEqual([`organizations:${MEMBER}`, `organizations:${OTHER}`]);
  });

  it('shares one failure between concurrent lookups, and logs it once', async () => {
    const accountNames = createAccountNames({ organizations: aws.organizationsClient });
    expect(await Promise.all([accountNames(MEMBER), accountNames(MEMBER), accountNames(MEMBER)])).toStrictEqual([
      {},
      {},
      {},
    ]);
    expect(aws.requests).toEqual([`organizations:${MEMBER}`]);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('looks up the IAM alias for its own account only', async () => {
    // Prepare
    aws.organizations.set(OWN, { name: 'security' });
    aws.organizations.set(MEMBER, { name: 'prod-payments' });
    aws.setIam({ alias: 'acme-security' });
    const accountNames = createAccountNames({
      organizations: aws.organizationsClient,
      iam: aws.iamClient,
      ownAccountId: OWN,
    });
    // Act, Assess
    expect(await accountNames(OWN)).toStrictEqual({ name: 'security', alias: 'acme-security' });
    expect(await accountNames(MEMBER)).toStrictEqual({ name: 'prod-payments' });
    expect(aws.requests.filter((request) => request === 'iam')).toHaveLength(1);
  });

  it('uses the alias alone when there is no Organizations client', async () => {
    aws.setIam({ alias: 'acme-security' });
    const accountNames = createAccountNames({ iam: aws.iamClient, ownAccountId: OWN });
    expect(await accountNames(OWN)).toStrictEqual({ alias: 'acme-security' });
    expect(await accountNames(MEMBER)).toStrictEqual({});
    expect(aws.requests).toEqual(['iam']);
  });

  it('keeps the name when the alias is denied', async () => {
    // Prepare: IAM denies by default
    aws.organizations.set(OWN, { name: 'security' });
    const accountNames = createAccountNames({
      organizations: aws.organizationsClient,
      iam: aws.iamClient,
      ownAccountId: OWN,
    });
    // Act
    const names = await accountNames(OWN);
    // Assess
    expect(names).toStrictEqual({ name: 'security' });
    expect(warn).toHaveBeenCalledWith('account name lookup failed', {
      accountId: OWN,
      api: 'iam:ListAccountAliases',
      reason: 'AccessDenied',
      errorMessage: expect.stringContaining('iam:ListAccountAliases'),
      statusCode: 403,
    });
  });

  it('gives up on an endpoint that does not answer', async () => {
    // Prepare
    aws.organizations.set(MEMBER, { hang: true });
    const accountNames = createAccountNames({ organizations: aws.organizationsClient, timeoutMs: 100 });
    // Act
    const began = performance.now();
    const names = await accountNames(MEMBER);
    // Assess
    expect(names).toStrictEqual({});
    expect(performance.now() - began).toBeLessThan(2_000);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[1]).toMatchObject({ accountId: MEMBER, api: 'organizations:DescribeAccount' });
  });

  it('leaves the name out when the endpoint cannot be reached', async () => {
    // Prepare: a port nothing listens on
    await aws.close();
    const accountNames = createAccountNames({ organizations: aws.organizationsClient });
    // Act, Assess
    expect(await accountNames(MEMBER)).toStrictEqual({});
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[1]).toMatchObject({ reason: 'ECONNREFUSED' });
  });

  it('does not call any API for something that is not an account id', async () => {
    const accountNames = createAccountNames({
      organizations: aws.organizationsClient,
      iam: aws.iamClient,
      ownAccountId: OWN,
    });
    expect(await accountNames('unknown')).toStrictEqual({});
    expect(await accountNames('constructor')).toStrictEqual({});
    expect(aws.requests).toEqual([]);
    expect(warn).not.toHaveBeenCalled();
  });

  it('does not take inherited properties of the names map for names', async () => {
    aws.organizations.set(MEMBER, { name: 'prod-payments' });
    const names = Object.create({ [MEMBER]: 'inherited' }) as Record<string, string>;
    const accountNames = createAccountNames({ names, organizations: aws.organizationsClient });
    expect(await accountNames(MEMBER)).toStrictEqual({ name: 'prod-payments' });
  });

  it('hands each caller its own copy of a cached answer', async () => {
    aws.organizations.set(MEMBER, { name: 'prod-payments' });
    const accountNames = createAccountNames({ organizations: aws.organizationsClient });
    const first = await accountNames(MEMBER);
    first.name = 'tampered';
    expect(await accountNames(MEMBER)).toStrictEqual({ name: 'prod-payments' });
  });
});
