import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IpDatabaseError } from '../../functions/errors.js';
import {
  compactAsnTable,
  lookupAsn,
  parseAsnTable,
  readAsnTable,
  serializeAsnTable,
} from '../../functions/io/ip/asn-table.js';

/**
 * The ASN tables' packaged form (resources/ip-data.cjs converts the CSV files at packaging; the alert function reads
 * the result): the same answer for every address as the CSV it came from.
 */

const csv = (lines: readonly string[]) => Buffer.from(`${lines.join('\n')}\n`);

/** Addresses at, inside and around every range of a family's table, as numbers (IPv4) or bigints (IPv6). */
const probesOf = (lines: readonly string[], family: 4 | 6): (number | bigint)[] =>
  lines.flatMap((line): (number | bigint)[] => {
    const [start, end] = line.split(',', 2).map((field) => BigInt(field)) as [bigint, bigint];
    const around = [start - 1n, start, start + 1n, (start + end) / 2n, end - 1n, end, end + 1n].filter((x) => x >= 0n);
    return family === 4 ? around.filter((x) => x <= 0xffff_ffffn).map(Number) : around;
  });

/** The packaged table, read back as the alert function reads it. */
const packaged = (data: Buffer, family: 4 | 6) =>
  readAsnTable(serializeAsnTable(compactAsnTable(parseAsnTable(data, family).table), family), family, 'test.bin');

describe('the packaged ASN table', () => {
  it('answers every address of an IPv4 table as the CSV does: merged neighbours, dropped AS0, names with quotes', () => {
    // Prepare: adjacent ranges of one ASN (merged), an AS0 range (dropped), a gap, quoted and non-ASCII names.
    const lines = [
      '16777216,16777471,13335,"Cloudflare, Inc."',
      '16777472,16777727,13335,"Cloudflare, Inc."',
      '16777728,16778239,0,',
      '16778240,16778495,4134,"Chinanet ""Backbone"""',
      '16779264,16781311,9999,Société Générale',
      '134744064,134744319,15169,Google LLC',
    ];
    const data = csv(lines);
    const fromCsv = parseAsnTable(data, 4).table;

    // Act
    const table = packaged(data, 4);

    // Assess
    expect(table.count).toBe(4);
    for (const address of probesOf(lines, 4)) {
      expect(lookupAsn(table, address), String(address)).toStrictEqual(lookupAsn(fromCsv, address));
    }
    expect(lookupAsn(table, 134744072)).toStrictEqual({ asn: 15169, org: 'Google LLC' });
    expect(lookupAsn(table, 16778241)).toStrictEqual({ asn: 4134, org: 'Chinanet "Backbone"' });
    expect(lookupAsn(table, 16777800)).toBeUndefined();
  });

  it('compares all 128 bits of IPv6 bounds after the round trip', () => {
    // Prepare: two ranges that differ only in the low 64 bits, and one whose bounds cross a 64-bit boundary.
    const high = 0x2001_4860n << 96n;
    const lines = [
      `${high},${high + 0xffffn},15169,Google LLC`,
      `${high + 0x1_0000n},${high + 0x1_ffffn},15169,Google LLC`,
      `${high + (1n << 64n) - 2n},${high + (1n << 64n) + 5n},64500,Example`,
      `${(0x2a05n << 112n) + 10n},${(0x2a05n << 112n) + 20n},16509,Amazon.com Inc.`,
    ];
    const data = csv(lines);
    const fromCsv = parseAsnTable(data, 6).table;

    // Act
    const table = packaged(data, 6);

    // Assess
    expect(table.count).toBe(3);
    for (const address of probesOf(lines, 6)) {
      expect(lookupAsn(table, address), String(address)).toStrictEqual(lookupAsn(fromCsv, address));
    }
  });

  it('refuses a file that is not a packaged table of the family, naming it', () => {
    // Prepare
    const good = serializeAsnTable(parseAsnTable(csv(['1,2,3,x']), 4).table, 4);

    // Act / Assess
    expect(() => readAsnTable(Buffer.from('start,end,asn\n'), 4, 'asn-ipv4.bin')).toThrow(IpDatabaseError);
    expect(() => readAsnTable(good, 6, 'asn-ipv6.bin')).toThrow(/^asn-ipv6\.bin: not a packaged ASN table: family 4/);
    expect(() => readAsnTable(good.subarray(0, good.length - 8), 4, 'cut.bin')).toThrow(
      /^cut\.bin: .* bytes, expected/,
    );
  });

  it('answers as the published CSV files do at the bounds of a sample of their ranges', () => {
    // Prepare: the @ip-location-db/asn package this repository installs; every 211th range's bounds and neighbours.
    const dir = dirname(createRequire(import.meta.url).resolve('@ip-location-db/asn/package.json'));
    for (const family of [4, 6] as const) {
      const data = readFileSync(join(dir, `asn-ipv${family}-num.csv`));
      const fromCsv = parseAsnTable(data, family).table;
      const lines = data
        .toString('latin1')
        .split('\n')
        .filter((line, i) => i % 211 === 0 && /^\d+,\d+,/.test(line));

      // Act
      const table = packaged(data, family);

      // Assess
      expect(table.count).toBeLessThanOrEqual(fromCsv.count);
      for (const address of probesOf(lines, family)) {
        expect(lookupAsn(table, address), String(address)).toStrictEqual(lookupAsn(fromCsv, address));
      }
    }
  }, 60_000);
});
