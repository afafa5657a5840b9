import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { isPublicAddress } from '../../functions/io/ip/address.js';
import { createGeoLookup } from '../../functions/io/ip/geo-lookup.js';
import { logger } from '../../functions/io/logger.js';

const require = createRequire(import.meta.url);
const asnDir = dirname(require.resolve('@ip-location-db/asn/package.json'));
const countryDb = join(
  dirname(require.resolve('@ip-location-db/geo-whois-asn-country-mmdb/package.json')),
  'geo-whois-asn-country.mmdb',
);

/** Addresses no database can place: each must answer undefined without reading a file. */
const RESERVED = [
  '192.0.2.1', // TEST-NET-1
  '198.51.100.20', // TEST-NET-2
  '203.0.113.7', // TEST-NET-3
  '10.1.2.3',
  '172.16.0.1',
  '192.168.1.1',
  '127.0.0.1',
  '169.254.169.254', // the instance metadata service
  '100.64.0.1', // CGNAT
  '0.0.0.0',
  '198.18.0.1', // benchmarking
  '224.0.0.1',
  '255.255.255.255',
  '2001:db8::1', // documentation
  '3fff::1', // documentation (RFC 9637)
  '::1',
  '::',
  'fe80::1',
  'fe80::1%eth0',
  'fd00::1', // unique local
  'ff02::1',
  '2001::1', // Teredo
  '2002:c000:0204::1', // 6to4
  '::ffff:10.0.0.1', // IPv4-mapped private
  '64:ff9b::808:808', // NAT64
];
const NOT_ADDRESSES = ['AWS Internal', 'cloudformation.amazonaws.com', '', 'not an ip', '1.2.3', '999.1.1.1'];

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'rootwatch-geo-'));
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** A directory holding the given files (name → content, or a path to link to). */
const dirWith = (name: string, files: Record<string, string | { link: string }>): string => {
  const dir = join(scratch, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    if (typeof content === 'string') writeFileSync(join(dir, file), content);
    else symlinkSync(content.link, join(dir, file));
  }
  return dir;
};

const warnings = () => vi.spyOn(logger, 'warn').mockImplementation(() => undefined);

describe('isPublicAddress', () => {
  it.each(RESERVED)('is false for reserved %s', (ip) => {
    expect(isPublicAddress(ip)).toBe(false);
  });

  it.each(NOT_ADDRESSES)('is false for %j, which is not an address', (text) => {
    expect(isPublicAddress(text)).toBe(false);
  });

  it.each(['8.8.8.8', '1.1.1.1', '52.95.110.1', '100.128.0.1', '2001:4860:4860::8888', '::ffff:8.8.8.8', '2600::1'])(
    'is true for public %s',
    (ip) => {
      expect(isPublicAddress(ip)).toBe(true);
    },
  );
});

describe('createGeoLookup with the bundled databases', () => {
  // One lookup for the block: the databases load once, as in a warm Lambda container.
  const lookup = createGeoLookup();

  it('places a Google resolver in the US, AS15169', async () => {
    expect(await lookup('8.8.8.8')).toStrictEqual({ country: 'US', asn: 15169, org: expect.stringMatching(/Google/) });
  });

  it('finds Cloudflare for 1.1.1.1', async () => {
    expect(await lookup('1.1.1.1')).toMatchObject({ asn: 13335, org: expect.stringMatching(/Cloudflare/) });
  });

  it('looks up IPv6 addresses', async () => {
    expect(await lookup('2001:4860:4860::8888')).toStrictEqual({
      country: 'US',
      asn: 15169,
      org: expect.stringMatching(/Google/),
    });
    expect(await lookup('2606:4700:4700::1111')).toMatchObject({ asn: 13335 });
  });

  it('reads an IPv4-mapped IPv6 address as the IPv4 address', async () => {
    expect(await lookup('::ffff:8.8.8.8')).toStrictEqual(await lookup('8.8.8.8'));
  });

  it('knows AWS address space', async () => {
    expect(await lookup('52.95.110.1')).toMatchObject({ asn: 16509, org: expect.stringMatching(/Amazon/) });
  });

  it.each([...RESERVED, ...NOT_ADDRESSES])('gives nothing for %j', async (ip) => {
    expect(await lookup(ip)).toBeUndefined();
  });

  it('answers a warm lookup quickly', async () => {
    await lookup('8.8.8.8');
    const began = performance.now();
    for (let i = 0; i < 1_000; i++) await lookup(`${(i % 200) + 1}.${i % 251}.${i % 7}.9`);
    expect(performance.now() - began).toBeLessThan(1_000);
  });
});

describe('createGeoLookup loading', () => {
  it('loads nothing for reserved addresses and non-addresses', async () => {
    // Prepare: paths that do not exist, so any attempt to load would be logged
    const warn = warnings();
    const lookup = createGeoLookup({ countryDb: join(scratch, 'none.mmdb'), asnDir: join(scratch, 'none') });
    // Act
    for (const ip of [...RESERVED, ...NOT_ADDRESSES]) expect(await lookup(ip)).toBeUndefined();
    // Assess
    expect(warn).not.toHaveBeenCalled();
    await lookup('8.8.8.8');
    expect(warn).toHaveBeenCalled(); // the same lookup does try once an address is public
  });

  it('loads the IPv4 ASN file only for IPv4 addresses, and the IPv6 one only for IPv6', async () => {
    // Prepare: a directory with the IPv4 file alone
    const warn = warnings();
    const onlyV4 = dirWith('only-v4', { 'asn-ipv4-num.csv': { link: join(asnDir, 'asn-ipv4-num.csv') } });
    const lookup = createGeoLookup({ countryDb, asnDir: onlyV4 });
    // Act
    const v4 = await lookup('8.8.8.8');
    // Assess
    expect(v4).toMatchObject({ asn: 15169 });
    expect(warn).not.toHaveBeenCalled();
    // Act: IPv6 needs the missing file; the country still comes from the mmdb
    const v6 = await lookup('2001:4860:4860::8888');
    // Assess
    expect(v6).toStrictEqual({ country: 'US' });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith('ip database unavailable', {
      database: 'asn-ipv6',
      reason: expect.stringContaining('asn-ipv6-num.csv'),
    });
  });

  it('logs a missing database once and keeps answering from the others', async () => {
    // Prepare
    const warn = warnings();
    const lookup = createGeoLookup({ countryDb: join(scratch, 'missing.mmdb'), asnDir });
    // Act: concurrent first lookups, then more
    const first = await Promise.all([lookup('8.8.8.8'), lookup('8.8.4.4'), lookup('1.1.1.1')]);
    const later = await lookup('8.8.8.8');
    // Assess
    expect(first[0]).toStrictEqual({ asn: 15169, org: expect.stringMatching(/Google/) });
    expect(later).toStrictEqual(first[0]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith('ip database unavailable', {
      database: 'country',
      reason: expect.stringContaining('missing.mmdb'),
    });
  });

  it('treats a corrupt country database as missing, without throwing', async () => {
    // Prepare
    const warn = warnings();
    const corrupt = join(scratch, 'corrupt.mmdb');
    writeFileSync(corrupt, Buffer.from('this is not a MaxMind database'.repeat(100)));
    const noAsn = dirWith('no-asn', {});
    const lookup = createGeoLookup({ countryDb: corrupt, asnDir: noAsn });
    // Act
    const answers = [await lookup('8.8.8.8'), await lookup('1.1.1.1'), await lookup('2606:4700:4700::1111')];
    // Assess
    expect(answers).toStrictEqual([undefined, undefined, undefined]);
    expect(warn.mock.calls.map(([, attributes]) => (attributes as { database: string }).database).sort()).toEqual([
      'asn-ipv4',
      'asn-ipv6',
      'country',
    ]);
  });

  it('treats an ASN file without a single range as unavailable', async () => {
    const warn = warnings();
    const garbage = dirWith('garbage', { 'asn-ipv4-num.csv': 'not,a,csv\n<html>oops</html>\n' });
    const lookup = createGeoLookup({ countryDb, asnDir: garbage });
    expect(await lookup('8.8.8.8')).toStrictEqual({ country: 'US' });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[1]).toStrictEqual({
      database: 'asn-ipv4',
      reason: expect.stringMatching(/^IpDatabaseError: .*asn-ipv4-num\.csv: no ASN ranges$/),
    });
  });
});

describe('createGeoLookup ASN parsing', () => {
  const lookupIn = (name: string, files: Record<string, string>) =>
    createGeoLookup({ countryDb: join(scratch, 'no-country.mmdb'), asnDir: dirWith(name, files) });

  it('reads quoted names with escaped quotes and commas, CRLF lines, and skips malformed rows', async () => {
    // Prepare: 8.8.8.0/24, 8.8.9.0/24, 9.9.9.0/24 (numeric), with bad rows between them
    vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const lookup = lookupIn('edge-v4', {
      'asn-ipv4-num.csv': [
        '134744064,134744319,15169,"Google, ""the"" LLC"',
        'garbage line',
        '134744320,134744575,64500',
        '99999999999,99999999999,1,too big for IPv4',
        '151587072,151587327,19281,Quad9\r',
        '',
      ].join('\n'),
    });
    // Act, Assess
    expect(await lookup('8.8.8.8')).toStrictEqual({ asn: 15169, org: 'Google, "the" LLC' });
    expect(await lookup('8.8.9.1')).toStrictEqual({ asn: 64500 });
    expect(await lookup('9.9.9.9')).toStrictEqual({ asn: 19281, org: 'Quad9' });
    expect(await lookup('9.9.10.1')).toBeUndefined(); // in a gap
    expect(await lookup('1.1.1.1')).toBeUndefined(); // below the first range
  });

  it('sorts rows the file does not keep in order', async () => {
    vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const lookup = lookupIn('unsorted-v4', {
      'asn-ipv4-num.csv': '151587072,151587327,19281,Quad9\n134744064,134744319,15169,Google LLC\n',
    });
    expect(await lookup('8.8.8.8')).toStrictEqual({ asn: 15169, org: 'Google LLC' });
    expect(await lookup('9.9.9.9')).toStrictEqual({ asn: 19281, org: 'Quad9' });
  });

  it('gives no owner for AS0 (unrouted space)', async () => {
    vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const lookup = lookupIn('as0', { 'asn-ipv4-num.csv': '134744064,134744319,0,Not routed\n' });
    expect(await lookup('8.8.8.8')).toBeUndefined();
  });

  it('compares all 128 bits of IPv6 ranges', async () => {
    // Prepare: two ranges inside 2001:4860::/64 that differ only in the low 64 bits, listed out of order
    vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const base = 0x2001_4860_0000_0000n << 64n;
    const lookup = lookupIn('edge-v6', {
      'asn-ipv6-num.csv': [
        `${base + 0x1000n},${base + 0x1fffn},64501,Upper`,
        `${base},${base + 0xfffn},64500,Lower`,
        `${base + (1n << 64n)},${base + (2n << 64n) - 1n},64502,Next /64`,
      ].join('\n'),
    });
    // Act, Assess
    expect(await lookup('2001:4860::1')).toStrictEqual({ asn: 64500, org: 'Lower' });
    expect(await lookup('2001:4860::fff')).toStrictEqual({ asn: 64500, org: 'Lower' });
    expect(await lookup('2001:4860::1000')).toStrictEqual({ asn: 64501, org: 'Upper' });
    expect(await lookup('2001:4860::2000')).toBeUndefined();
    expect(await lookup('2001:4860:0:1::5')).toStrictEqual({ asn: 64502, org: 'Next /64' });
    expect(await lookup('2001:4860:0:2::')).toBeUndefined();
  });
});
