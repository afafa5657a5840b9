import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Reader, type Response } from 'mmdb-lib';
import type { GeoFacts, GeoLookup } from '../../app/ports.js';
import { IpDatabaseError } from '../../errors.js';
import { logger } from '../logger.js';
import { type Address, addressOf, isPublic } from './address.js';
import { lookupAsn, parseAsnTable, readAsnTable } from './asn-table.js';

/** The files of a packaged IP data folder (resources/ip-data.cjs writes them): the country mmdb and the ASN tables. */
const IP_DATA_FILES = {
  country: 'geo-whois-asn-country.mmdb',
  asn: (family: 4 | 6) => `asn-ipv${family}.bin`,
} as const;

interface GeoLookupOptions {
  /**
   * A folder packaged by resources/ip-data.cjs (the alert function's IP_DATA_DIR): the country mmdb and each family's
   * ASN table in its packaged binary form (io/ip/asn-table.ts, readAsnTable). Takes precedence over the others.
   */
  dataDir?: string;
  /** The country mmdb (both families in one file). Default: the installed @ip-location-db package. */
  countryDb?: string;
  /** The directory holding asn-ipv4-num.csv and asn-ipv6-num.csv. Default: the installed @ip-location-db/asn. */
  asnDir?: string;
}

/** What went wrong, for the log: the error's type and message (`IpDatabaseError: … no ASN ranges`). */
const reasonOf = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** A database that loads at most once; a failure is logged once and remembered as undefined. */
const once = <T>(database: string, load: () => Promise<T>): (() => Promise<T | undefined>) => {
  let loading: Promise<T | undefined> | undefined;
  return () => {
    loading ??= load().catch((error: unknown) => {
      logger.warn('ip database unavailable', { database, reason: reasonOf(error) });
      return undefined;
    });
    return loading;
  };
};

/** Resolved on first use, not at import: a bundle without node_modules passes explicit paths instead. */
const packageDir = (name: string): string => dirname(createRequire(import.meta.url).resolve(`${name}/package.json`));

/**
 * Creates a lookup from an IP address to its registered country (@ip-location-db
 * geo-whois-asn-country mmdb) and its ASN and organisation (@ip-location-db/asn CSV, or its packaged binary form
 * under `dataDir`). Each database
 * is read on the first lookup that needs it, once: the country file on the first public address, an
 * ASN file on the first public address of its family. Reserved addresses (private, CGNAT, loopback,
 * link-local, documentation, multicast…) and non-addresses give undefined and load nothing. A
 * missing or corrupt database is logged once and its fields stay absent; the lookup never throws.
 *
 * @example
 * const lookup = createGeoLookup(); // the installed @ip-location-db databases
 * await lookup('8.8.8.8'); // { country: 'US', asn: 15169, org: 'Google LLC' }
 * await lookup('10.0.0.1'); // undefined: a private address
 */
const createGeoLookup = (options: GeoLookupOptions = {}): GeoLookup => {
  const { dataDir } = options;
  const countryPath = (): string =>
    dataDir
      ? join(dataDir, IP_DATA_FILES.country)
      : (options.countryDb ??
        join(packageDir('@ip-location-db/geo-whois-asn-country-mmdb'), 'geo-whois-asn-country.mmdb'));
  const asnPath = (family: 4 | 6): string =>
    dataDir
      ? join(dataDir, IP_DATA_FILES.asn(family))
      : join(options.asnDir ?? packageDir('@ip-location-db/asn'), `asn-ipv${family}-num.csv`);

  const loadAsn = (family: 4 | 6) =>
    once(`asn-ipv${family}`, async () => {
      const path = asnPath(family);
      const began = performance.now();
      const data = await readFile(path);
      const { table, skipped } = dataDir
        ? { table: readAsnTable(data, family, path), skipped: 0 }
        : parseAsnTable(data, family);
      if (table.count === 0) throw new IpDatabaseError(`${path}: no ASN ranges`);
      logger.info('ip database loaded', {
        database: `asn-ipv${family}`,
        ranges: table.count,
        skipped,
        ms: Math.round(performance.now() - began),
      });
      return table;
    });
  const asn4 = loadAsn(4);
  const asn6 = loadAsn(6);

  let countryBroken = false;
  const country = once('country', async () => {
    const path = countryPath();
    const began = performance.now();
    const reader = new Reader<Response>(await readFile(path)); // throws on a file without mmdb metadata
    logger.info('ip database loaded', { database: 'country', ms: Math.round(performance.now() - began) });
    return reader;
  });

  const countryOf = async (address: Address): Promise<string | undefined> => {
    if (countryBroken) return undefined;
    const reader = await country();
    try {
      const record = reader?.get(address.text) as { country_code?: unknown } | null | undefined;
      const code = record?.country_code;
      return typeof code === 'string' && /^[A-Z]{2}$/.test(code) ? code : undefined;
    } catch (error) {
      // A tree that decodes badly is corrupt everywhere: stop reading it rather than warn on every event.
      countryBroken = true;
      logger.warn('ip database unavailable', { database: 'country', reason: reasonOf(error) });
      return undefined;
    }
  };

  return async (ip) => {
    const address = addressOf(ip);
    if (!address || !isPublic(address)) return undefined;
    const [code, table] = await Promise.all([countryOf(address), address.family === 4 ? asn4() : asn6()]);
    const owner = table ? lookupAsn(table, address.value) : undefined;
    const facts: GeoFacts = { ...(code ? { country: code } : {}), ...owner };
    return Object.keys(facts).length > 0 ? facts : undefined;
  };
};

export { createGeoLookup };
