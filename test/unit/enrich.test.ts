import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createEnricher } from '../../functions/app/enrich.js';
import type { GeoLookup } from '../../functions/app/ports.js';
import type { Enrichment } from '../../functions/core/alert-document.js';
import { type CloudTrailEvent, recordToEvent } from '../../functions/core/event.js';
import { createAccountNames } from '../../functions/io/accounts.js';
import { createGeoLookup } from '../../functions/io/ip/geo-lookup.js';
import { logger } from '../../functions/io/logger.js';

const ACCOUNT = '111122223333';

const eventFrom = (sourceIPAddress: string | undefined, userAgent?: string): CloudTrailEvent =>
  recordToEvent({
    eventVersion: '1.08',
    eventID: '6f1a2b3c-0000-4000-8000-000000000001',
    eventTime: '2025-01-01T12:00:00Z',
    eventSource: 'iam.amazonaws.com',
    eventName: 'CreateAccessKey',
    eventType: 'AwsApiCall',
    awsRegion: 'us-east-1',
    recipientAccountId: ACCOUNT,
    ...(sourceIPAddress === undefined ? {} : { sourceIPAddress }),
    ...(userAgent === undefined ? {} : { userAgent }),
    userIdentity: { type: 'Root', arn: `arn:aws:iam::${ACCOUNT}:root`, accountId: ACCOUNT },
  });

const CLI = 'aws-cli/2.27.0 Python/3.13.2 Darwin/23.6.0 exe/x86_64';
const google: GeoLookup = async () => ({ country: 'US', asn: 15169, org: 'Google LLC' });
const named = async () => ({ name: 'prod-payments', alias: 'acme-prod' });

let warn: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('createEnricher', () => {
  it('combines account names and geo data', async () => {
    // Prepare
    const geo = vi.fn(google);
    const accountNames = vi.fn(named);
    const enrich = createEnricher({ geo, accountNames });
    // Act
    const enrichment = await enrich(eventFrom('8.8.8.8', CLI));
    // Assess
    expect(enrichment).toStrictEqual({
      account: { name: 'prod-payments', alias: 'acme-prod' },
      source: { country: 'US', asn: 15169, org: 'Google LLC' },
    });
    expect(geo).toHaveBeenCalledWith('8.8.8.8');
    expect(accountNames).toHaveBeenCalledWith(ACCOUNT);
    expect(warn).not.toHaveBeenCalled();
  });

  it.each([
    [
      'throws',
      () => {
        throw new Error('mmdb exploded');
      },
    ],
    ['rejects', async () => Promise.reject(new Error('mmdb exploded'))],
  ])('keeps the account name when the geo lookup %s', async (_, failing) => {
    // Prepare
    const enrich = createEnricher({ geo: failing as GeoLookup, accountNames: named });
    // Act
    const enrichment = await enrich(eventFrom('8.8.8.8', CLI));
    // Assess
    expect(enrichment).toStrictEqual({
      account: { name: 'prod-payments', alias: 'acme-prod' },
      source: {},
    });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith('enrichment lookup failed', {
      lookup: 'geo',
      accountId: ACCOUNT,
      eventId: '6f1a2b3c-0000-4000-8000-000000000001',
      reason: 'Error: mmdb exploded',
    });
  });

  it('keeps the geo data when the account lookup throws', async () => {
    // Prepare
    const enrich = createEnricher({
      geo: google,
      accountNames: () => {
        throw new TypeError('names unavailable');
      },
    });
    // Act
    const enrichment = await enrich(eventFrom('8.8.8.8', CLI));
    // Assess
    expect(enrichment).toStrictEqual({
      account: {},
      source: { country: 'US', asn: 15169, org: 'Google LLC' },
    });
    expect(warn).toHaveBeenCalledWith('enrichment lookup failed', expect.objectContaining({ lookup: 'account' }));
  });

  it('runs the lookups in parallel', async () => {
    // Prepare: neither lookup answers until both have started
    let started = 0;
    let bothStarted: () => void = () => undefined;
    const barrier = new Promise<void>((resolve) => {
      bothStarted = resolve;
    });
    const arrive = async () => {
      started++;
      if (started === 2) bothStarted();
      await barrier;
    };
    const enrich = createEnricher({
      geo: async () => {
        await arrive();
        return { country: 'US' };
      },
      accountNames: async () => {
        await arrive();
        return { name: 'prod-payments' };
      },
      timeoutMs: 1_000,
    });
    // Act
    const enrichment = await enrich(eventFrom('8.8.8.8'));
    // Assess
    expect(enrichment).toStrictEqual({ account: { name: 'prod-payments' }, source: { country: 'US' } });
  });

  it('does not wait for a lookup past its time budget', async () => {
    // Prepare
    const enrich = createEnricher({ geo: () => new Promise(() => undefined), accountNames: named, timeoutMs: 50 });
    // Act
    const began = performance.now();
    const enrichment = await enrich(eventFrom('8.8.8.8'));
    // Assess
    expect(performance.now() - began).toBeLessThan(1_000);
    expect(enrichment).toStrictEqual({ account: { name: 'prod-payments', alias: 'acme-prod' }, source: {} });
    expect(warn).toHaveBeenCalledWith('enrichment lookup failed', {
      lookup: 'geo',
      accountId: ACCOUNT,
      eventId: '6f1a2b3c-0000-4000-8000-000000000001',
      reason: 'LookupTimeoutError: no answer within 50 ms',
    });
  });

  it.each([
    ['AWS Internal', 'aws-internal'],
    ['cloudformation.amazonaws.com', 'aws-service'],
  ] as const)('does not look up %s, which is AWS itself (%s)', async (source, _kind) => {
    const geo = vi.fn(google);
    const enrich = createEnricher({ geo });
    const enrichment = await enrich(eventFrom(source, source));
    expect(enrichment.source).toStrictEqual({});
    expect(geo).not.toHaveBeenCalled();
  });

  it('waits for a slow lookup without a time budget (replay)', async () => {
    const slow: GeoLookup = () => new Promise((resolve) => setTimeout(() => resolve({ country: 'US' }), 100));
    const enrich = createEnricher({ geo: slow, timeoutMs: Number.POSITIVE_INFINITY });
    expect((await enrich(eventFrom('8.8.8.8'))).source).toStrictEqual({ country: 'US' });
    expect(warn).not.toHaveBeenCalled();
  });

  it('works without any lookups and without a source', async () => {
    const enrich = createEnricher({});
    expect(await enrich(eventFrom(undefined))).toStrictEqual({ account: {}, source: {} });
  });

  it('keeps only facts of the promised types', async () => {
    // Prepare: lookups that answer nonsense (a future bug must not corrupt the alert document)
    const enrich = createEnricher({
      geo: async () => ({ country: '', asn: '15169' as unknown as number, org: 42 as unknown as string }),
      accountNames: async () => ({ name: undefined, alias: { evil: true } as unknown as string }),
    });
    // Act, Assess
    expect(await enrich(eventFrom('8.8.8.8'))).toStrictEqual({ account: {}, source: {} });
  });

  it('enriches through the real geo databases and a configured account name', async () => {
    // Prepare
    const enrich = createEnricher({
      geo: createGeoLookup(),
      accountNames: createAccountNames({ names: { [ACCOUNT]: 'prod-payments' } }),
    });
    // Act
    const enrichment: Enrichment = await enrich(
      eventFrom(
        '2001:4860:4860::8888',
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
      ),
    );
    // Assess
    expect(enrichment).toStrictEqual({
      account: { name: 'prod-payments' },
      source: { country: 'US', asn: 15169, org: expect.stringMatching(/Google/) },
    });
  });
});
