import { AccountClient, ListRegionsCommand } from '@aws-sdk/client-account';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type AccountRegions,
  listAccountRegions,
  parseRegionList,
  partitionOf,
  RegionNotEnabledError,
  readAccountRegions,
  selectRegions,
} from '../../functions/deploy/regions.js';
import { AlerterError, UsageError } from '../../functions/errors.js';
import { type AccountServer, startAccountServer } from '../../functions/local/account-server.js';

/** An account whose ListRegions lists these regions (`name` or `name:STATUS`; ENABLED_BY_DEFAULT unless given). */
const listing = (...regions: string[]): AccountRegions => ({
  readable: true,
  regions: regions.map((item) => {
    const [name = '', status = 'ENABLED_BY_DEFAULT'] = item.split(':');
    return { name, status };
  }),
});
const unreadable: AccountRegions = { readable: false, error: new Error('AccessDeniedException: not authorized') };

describe('parseRegionList', () => {
  it('trims, drops empty items and keeps each region once, in order', () => {
    expect(parseRegionList(' eu-west-1, us-east-1,,eu-west-1 ', '--regions')).toStrictEqual(['eu-west-1', 'us-east-1']);
  });

  it("takes the European Sovereign Cloud's four-letter prefix", () => {
    expect(parseRegionList('eusc-de-east-1', '--regions')).toStrictEqual(['eusc-de-east-1']);
  });

  it.each([
    ['', '--regions needs at least one region'],
    [' , ', '--regions needs at least one region'],
    ['eu-west-1,EU-WEST-2', '"EU-WEST-2" is not a region name'],
    ['eu_west_1', '"eu_west_1" is not a region name'],
    ['us-east', '"us-east" is not a region name'],
    ['europe-west-1', '"europe-west-1" is not a region name'],
  ])('refuses %j as bad usage', (text, message) => {
    expect(() => parseRegionList(text, '--regions')).toThrow(UsageError);
    expect(() => parseRegionList(text, '--regions')).toThrow(message);
  });
});

describe('partitionOf', () => {
  it.each([
    ['eu-west-1', 'aws'],
    ['ap-southeast-7', 'aws'],
    ['cn-north-1', 'aws-cn'],
    ['us-gov-west-1', 'aws-us-gov'],
    ['eusc-de-east-1', 'aws-eusc'],
    ['us-isob-east-1', 'aws-iso-b'],
  ])("%s is in %s (the AWS SDK's partition resolver)", (region, partition) => {
    expect(partitionOf(region)).toBe(partition);
  });

  it("places a region the SDK does not list yet by its name's pattern", () => {
    expect(partitionOf('cn-south-9')).toBe('aws-cn');
    expect(partitionOf('us-gov-central-9')).toBe('aws-us-gov');
  });
});

describe('selectRegions', () => {
  it('takes every enabled region for all, the home region among them, sorted', () => {
    expect(
      selectRegions({
        home: 'us-east-1',
        regions: 'all',
        account: listing('us-east-1', 'eu-west-1', 'ap-east-1:ENABLED', 'af-south-1:DISABLED', 'me-south-1:ENABLING'),
      }),
    ).toStrictEqual({
      home: 'us-east-1',
      regions: ['ap-east-1', 'eu-west-1', 'us-east-1'],
    });
  });

  it('adds the home region to the regions named', () => {
    expect(
      selectRegions({ home: 'eu-central-1', regions: ['eu-west-1'], account: listing('eu-central-1', 'eu-west-1') })
        .regions,
    ).toStrictEqual(['eu-central-1', 'eu-west-1']);
  });

  it('calls a region the account does not list a typo (bad usage), naming it', () => {
    const select = () =>
      selectRegions({
        home: 'us-east-1',
        regions: ['eu-west-1', 'eu-wset-1'],
        account: listing('eu-west-1', 'us-east-1'),
      });
    expect(select).toThrow(UsageError);
    expect(select).toThrow('--regions: "eu-wset-1" is not an AWS region of this account (a typo?)');
  });

  it('names --region when the home region is the typo', () => {
    expect(() =>
      selectRegions({ home: 'us-esat-1', regions: ['eu-west-1'], account: listing('eu-west-1', 'us-east-1') }),
    ).toThrow('--region: "us-esat-1" is not an AWS region');
  });

  it('refuses a region the account lists but has not enabled, naming it and its status, as an error that is not bad usage', () => {
    const select = () =>
      selectRegions({
        home: 'us-east-1',
        regions: ['af-south-1', 'me-south-1'],
        account: listing('us-east-1', 'eu-west-1', 'af-south-1:DISABLED', 'me-south-1:ENABLING'),
      });
    expect(select).toThrow(RegionNotEnabledError);
    expect(select).toThrow('af-south-1 (DISABLED), me-south-1 (ENABLING) are not enabled in this account');
    expect(select).not.toThrow(UsageError);
  });

  it('accepts a region no list in this code names when the account lists it as enabled', () => {
    expect(
      selectRegions({
        home: 'us-east-1',
        regions: ['xx-future-1'],
        account: listing('us-east-1', 'xx-future-1:ENABLED'),
      }).regions,
    ).toStrictEqual(['us-east-1', 'xx-future-1']);
  });

  it('accepts any region-shaped name, unchecked, when ListRegions could not be read', () => {
    const selection = selectRegions({ home: 'us-east-1', regions: ['eu-west-1', 'xx-future-1'], account: unreadable });
    expect(selection.regions).toStrictEqual(['eu-west-1', 'us-east-1', 'xx-future-1']);
    expect(selection.unchecked?.message).toContain('AccessDeniedException');
  });

  it("checks a region against the account's list when it can be read, never leaving it unchecked", () => {
    expect(
      selectRegions({ home: 'us-east-1', regions: ['eu-west-1'], account: listing('eu-west-1', 'us-east-1') }),
    ).not.toHaveProperty('unchecked');
  });

  it('cannot cover every region when ListRegions could not be read', () => {
    const select = () => selectRegions({ home: 'us-east-1', regions: 'all', account: unreadable });
    expect(select).toThrow(AlerterError);
    expect(select).not.toThrow(UsageError);
    expect(select).toThrow('allow account:ListRegions to the deploying identity, or name the regions with --regions');
  });

  it('says so when there are no credentials at all, rather than asking for a permission', () => {
    const noCredentials = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    const select = () =>
      selectRegions({ home: 'us-east-1', regions: 'all', account: { readable: false, error: noCredentials } });
    expect(select).toThrow(/no AWS credentials were found .*: sign in/);
  });

  it.each([
    ['unread', unreadable],
    ['listed', listing('us-east-1', 'eu-west-1')],
  ])('refuses regions of another partition than the home region (ListRegions %s)', (_, account) => {
    const select = () => selectRegions({ home: 'us-east-1', regions: ['cn-north-1'], account });
    expect(select).toThrow(UsageError);
    expect(select).toThrow('cn-north-1 is not in the partition of the home region us-east-1 (aws)');
  });
});

describe('listAccountRegions', () => {
  let account: AccountServer;
  let client: AccountClient;

  beforeEach(async () => {
    account = await startAccountServer([
      { RegionName: 'us-west-2', RegionOptStatus: 'ENABLED_BY_DEFAULT' },
      { RegionName: 'af-south-1', RegionOptStatus: 'DISABLED' },
      { RegionName: 'ap-east-1', RegionOptStatus: 'ENABLED' },
      { RegionName: 'me-south-1', RegionOptStatus: 'ENABLING' },
      { RegionName: 'eu-west-1', RegionOptStatus: 'ENABLED_BY_DEFAULT' },
      { RegionName: 'il-central-1', RegionOptStatus: 'DISABLING' },
    ]);
    client = new AccountClient({
      region: 'us-east-1',
      endpoint: account.endpoint,
      credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
  });

  afterEach(async () => {
    client.destroy();
    await account.close();
  });

  it('reads every page of ListRegions without a filter: every region with its status, sorted', async () => {
    // Prepare
    account.pageSize = 4;

    // Act
    const regions = await listAccountRegions(client);

    // Assess
    expect(regions).toStrictEqual([
      { name: 'af-south-1', status: 'DISABLED' },
      { name: 'ap-east-1', status: 'ENABLED' },
      { name: 'eu-west-1', status: 'ENABLED_BY_DEFAULT' },
      { name: 'il-central-1', status: 'DISABLING' },
      { name: 'me-south-1', status: 'ENABLING' },
      { name: 'us-west-2', status: 'ENABLED_BY_DEFAULT' },
    ]);
    expect(account.requests).toHaveLength(2);
    expect(account.requests.map((request) => request.RegionOptStatusContains)).toStrictEqual([undefined, undefined]);
    expect(account.requests[0]?.NextToken).toBeUndefined();
    expect(account.requests[1]?.NextToken).toEqual(expect.any(String));
  });

  it('answers only the statuses RegionOptStatusContains names when a request gives it (the local server)', async () => {
    // Act
    const answer = await client.send(new ListRegionsCommand({ RegionOptStatusContains: ['DISABLED', 'DISABLING'] }));
    const refused = client.send(new ListRegionsCommand({ RegionOptStatusContains: ['OPTED_IN' as 'ENABLED'] }));

    // Assess
    expect(answer.Regions).toStrictEqual([
      { RegionName: 'af-south-1', RegionOptStatus: 'DISABLED' },
      { RegionName: 'il-central-1', RegionOptStatus: 'DISABLING' },
    ]);
    await expect(refused).rejects.toThrow(expect.objectContaining({ name: 'ValidationException' }));
  });

  it('keeps a refusal as a value, with the service error named', async () => {
    // Prepare
    account.denied = true;

    // Act
    const result = await readAccountRegions(client);

    // Assess
    expect(result.readable).toBe(false);
    expect(result.readable ? undefined : result.error.name).toBe('AccessDeniedException');
    expect(result.readable ? '' : result.error.message).toContain('account:ListRegions');
  });
});
