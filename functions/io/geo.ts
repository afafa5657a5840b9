import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { Reader, type Response } from 'mmdb-lib';
import { logger } from './logger.js';

/** What the IP databases say about a public address; each field only when its database knows it. */
interface GeoFacts {
  /** ISO 3166-1 alpha-2, as registered (WHOIS/geofeed), not where the person sits. */
  country?: string;
  asn?: number;
  org?: string;
}

type GeoLookup = (ip: string) => Promise<GeoFacts | undefined>;

interface GeoLookupOptions {
  /** The country mmdb (both families in one file). Default: the installed @ip-location-db package. */
  countryDb?: string;
  /** The directory holding asn-ipv4-num.csv and asn-ipv6-num.csv. Default: the installed @ip-location-db/asn. */
  asnDir?: string;
}

/** An address as a number, IPv4-mapped IPv6 already turned into IPv4, with the text mmdb-lib reads. */
type Address = { family: 4; value: number; text: string } | { family: 6; value: bigint; text: string };

const ipv4ValueOf = (text: string): number =>
  text.split('.').reduce((value, part) => value * 256 + Number.parseInt(part, 10), 0);

const ipv4TextOf = (value: number): string =>
  [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join('.');

const hextetsOf = (groups: string): number[] =>
  groups === ''
    ? []
    : groups.split(':').flatMap((group) => {
        if (!group.includes('.')) return [Number.parseInt(group, 16)];
        const value = ipv4ValueOf(group); // "::ffff:192.0.2.1": the last 32 bits written as IPv4
        return [Math.floor(value / 0x10000), value & 0xffff];
      });

/** Expects text node:net has already accepted as IPv6, zone removed. */
const ipv6ValueOf = (text: string): bigint => {
  const [head = '', tail] = text.split('::');
  const left = hextetsOf(head);
  const right = tail === undefined ? [] : hextetsOf(tail);
  const zeros = new Array<number>(8 - left.length - right.length).fill(0);
  return [...left, ...zeros, ...right].reduce((value, group) => (value << 16n) | BigInt(group), 0n);
};

const MAPPED_IPV4 = 0xffff_0000_0000n; // ::ffff:0:0/96
const LOW_32 = 0xffff_ffffn;

const addressOf = (ip: string): Address | undefined => {
  const text = ip.trim().replace(/%.*$/, ''); // a zone id ("fe80::1%eth0") names a local interface
  const family = isIP(text);
  if (family === 4) return { family: 4, value: ipv4ValueOf(text), text };
  if (family !== 6) return undefined;
  const value = ipv6ValueOf(text);
  // Dual-stack sockets report IPv4 clients as ::ffff:a.b.c.d; the databases index them as IPv4.
  if (value >> 32n === MAPPED_IPV4 >> 32n) {
    const v4 = Number(value & LOW_32);
    return { family: 4, value: v4, text: ipv4TextOf(v4) };
  }
  return { family: 6, value, text };
};

const rangeOf4 = (cidr: string): [number, number] => {
  const [base = '', bits = '32'] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const start = ipv4ValueOf(base);
  return [start, start + size - 1];
};

const rangeOf6 = (cidr: string): [bigint, bigint] => {
  const [base = '', bits = '128'] = cidr.split('/');
  const size = 1n << BigInt(128 - Number(bits));
  const start = ipv6ValueOf(base);
  return [start, start + size - 1n];
};

/**
 * IANA special-purpose ranges (RFC 6890 and successors): private, shared CGNAT, loopback, link-local,
 * documentation, benchmarking, multicast, reserved. No database can place them, and looking one up
 * must not cost a database load.
 */
const RESERVED_V4 = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.88.99.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4',
  '240.0.0.0/4',
].map(rangeOf4);

/**
 * Global unicast is 2000::/3; everything outside it (loopback, ULA fc00::/7, link-local fe80::/10,
 * multicast, NAT64, discard) is not a place. Inside it: IETF protocol assignments (Teredo, ORCHID,
 * benchmarking), 6to4, and both documentation prefixes.
 */
const RESERVED_V6 = ['::/3', '4000::/2', '8000::/1', '2001::/23', '2001:db8::/32', '2002::/16', '3fff::/20'].map(
  rangeOf6,
);

const isPublic = (address: Address): boolean =>
  address.family === 4
    ? !RESERVED_V4.some(([start, end]) => address.value >= start && address.value <= end)
    : !RESERVED_V6.some(([start, end]) => address.value >= start && address.value <= end);

/**
 * Whether an address is public: a real address outside the special-purpose ranges. False for
 * anything that is not an IP address ("AWS Internal", a service hostname).
 *
 * @example
 * isPublicAddress('8.8.8.8'); // true
 * isPublicAddress('192.0.2.1'); // false (documentation)
 */
const isPublicAddress = (ip: string): boolean => {
  const address = addressOf(ip);
  return address !== undefined && isPublic(address);
};

/**
 * One family's ASN ranges as sorted parallel typed arrays, a few bytes a row instead of an object a
 * row. IPv6 bounds need 128 bits: two 64-bit halves, high then low, side by side. Organisation names
 * are kept once per ASN: in the data every ASN has one name and owns many ranges. Plain data, no
 * closures: a closure over the parser's scope would keep its temporaries alive for the container's life.
 */
interface AsnTable {
  count: number;
  starts: Uint32Array | BigUint64Array;
  ends: Uint32Array | BigUint64Array;
  asns: Uint32Array;
  orgAsns: Uint32Array;
  orgNames: string[];
}

/** The last index in [0, count) for which `test` holds, given it holds for a prefix; -1 for none. */
const lastWhere = (count: number, test: (i: number) => boolean): number => {
  let low = 0;
  let high = count;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (test(middle)) low = middle + 1;
    else high = middle;
  }
  return low - 1;
};

const HALF = 64n;

/** Row i's bound against an address: negative below, 0 equal, positive above. */
const compareBound = (bounds: Uint32Array | BigUint64Array, i: number, value: number | bigint): number => {
  if (bounds instanceof Uint32Array) return (bounds[i] as number) - (value as number);
  const high = (value as bigint) >> HALF;
  const rowHigh = bounds[2 * i] as bigint;
  if (rowHigh !== high) return rowHigh < high ? -1 : 1;
  const low = BigInt.asUintN(64, value as bigint);
  const rowLow = bounds[2 * i + 1] as bigint;
  return rowLow < low ? -1 : rowLow > low ? 1 : 0;
};

const MAX_IPV4 = 0xffff_ffff;
const MAX_IPV6 = (1n << 128n) - 1n;
const MAX_ASN = 0xffff_ffff;
const COMMA = 0x2c;
const QUOTE = 0x22;
const NEWLINE = 0x0a;
const RETURN = 0x0d;

/**
 * Reads `start,end,asn,org` lines (numeric addresses; org optionally quoted with "" escapes) straight
 * from the bytes into preallocated typed arrays: no line strings, no split arrays, and an org name is
 * decoded only the first time its ASN appears. Malformed lines are skipped and counted, not fatal:
 * one bad row must not cost every lookup its ASN.
 */
const parseAsnTable = (data: Buffer, family: 4 | 6): { table: AsnTable; skipped: number } => {
  let capacity = 1;
  for (let at = data.indexOf(NEWLINE); at !== -1; at = data.indexOf(NEWLINE, at + 1)) capacity++;
  const starts = family === 4 ? new Uint32Array(capacity) : new BigUint64Array(2 * capacity);
  const ends = family === 4 ? new Uint32Array(capacity) : new BigUint64Array(2 * capacity);
  const asns = new Uint32Array(capacity);
  const orgs = new Map<number, string>();
  const length = data.length;
  let position = 0;
  let count = 0;
  let skipped = 0;
  let sorted = true;

  // The current field, as [fieldBegin, fieldEnd): plain variables, not a tuple per field, to spare the GC.
  let fieldBegin = 0;
  let fieldEnd = 0;
  /**
   * Reads a non-empty run of ASCII digits ending at a comma (or, for the ASN, which may be the last
   * field, at the line's end) and moves past the comma; false when the line is not one.
   */
  const digits = (mayEndLine = false): boolean => {
    fieldBegin = position;
    while (position < length) {
      const byte = data[position] as number;
      if (byte === COMMA || (mayEndLine && (byte === NEWLINE || byte === RETURN))) break;
      if (byte < 0x30 || byte > 0x39) return false;
      position++;
    }
    fieldEnd = position;
    if (fieldEnd === fieldBegin || (position >= length && !mayEndLine)) return false;
    if (data[position] === COMMA) position++;
    return true;
  };
  const integerOf = (begin: number, end: number): number => {
    let value = 0;
    for (let i = begin; i < end; i++) value = value * 10 + ((data[i] as number) - 0x30);
    return value;
  };
  /**
   * Stores row `count`'s range; false when a bound is out of range, which would otherwise wrap
   * silently in the typed arrays and answer for the wrong addresses. One branch per family keeps
   * the IPv4 path on plain numbers (the bulk of the file and of the load time).
   */
  const storeRange = (startBegin: number, startEnd: number, endBegin: number, endEnd: number): boolean => {
    if (starts instanceof Uint32Array && ends instanceof Uint32Array) {
      const start = integerOf(startBegin, startEnd);
      const end = integerOf(endBegin, endEnd);
      if (start > end || end > MAX_IPV4) return false;
      starts[count] = start;
      ends[count] = end;
      if (count > 0 && (starts[count - 1] as number) > start) sorted = false;
      return true;
    }
    const start = BigInt(data.toString('latin1', startBegin, startEnd));
    const end = BigInt(data.toString('latin1', endBegin, endEnd));
    if (start > end || end > MAX_IPV6) return false;
    starts[2 * count] = start >> HALF;
    starts[2 * count + 1] = BigInt.asUintN(64, start);
    ends[2 * count] = end >> HALF;
    ends[2 * count + 1] = BigInt.asUintN(64, end);
    if (count > 0 && compareBound(starts, count - 1, start) > 0) sorted = false;
    return true;
  };
  const toNextLine = (): void => {
    const next = data.indexOf(NEWLINE, position);
    position = next === -1 ? length : next + 1;
  };
  /** Moves past a malformed line, counting it unless it is blank (the file's last newline). */
  const skipLine = (lineStart: number): void => {
    position = lineStart;
    toNextLine();
    if (data.toString('latin1', lineStart, position).trim() !== '') skipped++;
  };
  /** The org field, decoded only when wanted; leaves position at the next line. */
  const org = (wanted: boolean): string | undefined => {
    if (data[fieldEnd] !== COMMA) {
      toNextLine(); // a line without the org column
      return undefined;
    }
    let begin = position;
    let end: number;
    const quoted = data[position] === QUOTE;
    if (quoted) {
      begin = position + 1;
      end = begin;
      // Up to the closing quote ("" is an escaped one), or the line's end if a corrupt file never closes it.
      while (end < length && data[end] !== NEWLINE && !(data[end] === QUOTE && data[end + 1] !== QUOTE)) {
        end += data[end] === QUOTE ? 2 : 1;
      }
      position = end;
      toNextLine();
    } else {
      toNextLine();
      end = position;
      while (end > begin && (data[end - 1] === NEWLINE || data[end - 1] === RETURN)) end--;
    }
    if (!wanted) return undefined;
    const text = data.toString('utf8', begin, end);
    return (quoted ? text.replaceAll('""', '"') : text).trim() || undefined;
  };

  while (position < length) {
    const lineStart = position;
    if (!digits()) {
      skipLine(lineStart);
      continue;
    }
    const startBegin = fieldBegin;
    const startEnd = fieldEnd;
    if (!digits()) {
      skipLine(lineStart);
      continue;
    }
    const endBegin = fieldBegin;
    const endEnd = fieldEnd;
    if (!digits(true)) {
      skipLine(lineStart);
      continue;
    }
    const asn = integerOf(fieldBegin, fieldEnd);
    if (asn > MAX_ASN || !storeRange(startBegin, startEnd, endBegin, endEnd)) {
      skipLine(lineStart);
      continue;
    }
    const name = org(!orgs.has(asn));
    if (name !== undefined) orgs.set(asn, name);
    asns[count] = asn;
    count++;
  }

  const orgAsns = Uint32Array.from(orgs.keys()).sort();
  const orgNames = Array.from(orgAsns, (asn) => orgs.get(asn) ?? '');
  const width = family === 4 ? 1 : 2;
  const table: AsnTable = {
    count,
    // Views, not copies: the arrays were sized by line count and only the blank last line is spare.
    starts: starts.subarray(0, width * count),
    ends: ends.subarray(0, width * count),
    asns: asns.subarray(0, count),
    orgAsns,
    orgNames,
  };
  return { table: sorted ? table : sortedByStart(table), skipped };
};

/** Row i's bound as an address value (IPv6: the halves joined). */
const boundAt = (bounds: Uint32Array | BigUint64Array, i: number): number | bigint =>
  bounds instanceof Uint32Array
    ? (bounds[i] as number)
    : ((bounds[2 * i] as bigint) << HALF) | (bounds[2 * i + 1] as bigint);

/** The published files are sorted by start; a future or hand-made one may not be, and search needs it. */
const sortedByStart = (table: AsnTable): AsnTable => {
  const order = Array.from({ length: table.count }, (_, i) => i).sort((a, b) => {
    const x = boundAt(table.starts, a);
    const y = boundAt(table.starts, b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const permute = <T extends Uint32Array | BigUint64Array>(bounds: T): T => {
    const width = bounds.length / table.count;
    const copy = bounds.slice() as T;
    order.forEach((from, to) => {
      for (let k = 0; k < width; k++) copy[width * to + k] = bounds[width * from + k] as never;
    });
    return copy;
  };
  return { ...table, starts: permute(table.starts), ends: permute(table.ends), asns: permute(table.asns) };
};

const lookupAsn = (table: AsnTable, value: number | bigint): { asn: number; org?: string } | undefined => {
  const row = lastWhere(table.count, (i) => compareBound(table.starts, i, value) <= 0);
  // Ranges in the data do not nest, so only the nearest range starting below can contain the address.
  if (row < 0 || compareBound(table.ends, row, value) < 0) return undefined;
  const asn = table.asns[row] as number;
  if (asn === 0) return undefined; // AS0: "not routed", not an owner
  const orgRow = lastWhere(table.orgAsns.length, (i) => (table.orgAsns[i] as number) <= asn);
  const org = orgRow >= 0 && table.orgAsns[orgRow] === asn ? table.orgNames[orgRow] : undefined;
  return org ? { asn, org } : { asn };
};

/** A database that loads at most once; a failure is logged once and remembered as undefined. */
const once = <T>(database: string, load: () => Promise<T>): (() => Promise<T | undefined>) => {
  let loading: Promise<T | undefined> | undefined;
  return () => {
    loading ??= load().catch((error: unknown) => {
      logger.warn('ip database unavailable', {
        database,
        reason: error instanceof Error ? error.message : String(error),
      });
      return undefined;
    });
    return loading;
  };
};

/** Resolved on first use, not at import: a bundle without node_modules passes explicit paths instead. */
const packageDir = (name: string): string => dirname(createRequire(import.meta.url).resolve(`${name}/package.json`));

/**
 * Creates a lookup from an IP address to its registered country (@ip-location-db
 * geo-whois-asn-country mmdb) and its ASN and organisation (@ip-location-db/asn CSV). Each database
 * is read on the first lookup that needs it, once: the country file on the first public address, an
 * ASN file on the first public address of its family. Reserved addresses (private, CGNAT, loopback,
 * link-local, documentation, multicast…) and non-addresses give undefined and load nothing. A
 * missing or corrupt database is logged once and its fields stay absent; the lookup never throws.
 *
 * @example
 * const lookup = createGeoLookup({ countryDb: `${process.env.LAMBDA_TASK_ROOT}/geo/country.mmdb` });
 * await lookup('8.8.8.8'); // { country: 'US', asn: 15169, org: 'Google LLC' }
 */
const createGeoLookup = (options: GeoLookupOptions = {}): GeoLookup => {
  const countryPath = (): string =>
    options.countryDb ?? join(packageDir('@ip-location-db/geo-whois-asn-country-mmdb'), 'geo-whois-asn-country.mmdb');
  const asnPath = (family: 4 | 6): string =>
    join(options.asnDir ?? packageDir('@ip-location-db/asn'), `asn-ipv${family}-num.csv`);

  const loadAsn = (family: 4 | 6) =>
    once(`asn-ipv${family}`, async () => {
      const path = asnPath(family);
      const began = performance.now();
      const { table, skipped } = parseAsnTable(await readFile(path), family);
      if (table.count === 0) throw new Error(`${path}: no ASN ranges`);
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
      logger.warn('ip database unavailable', {
        database: 'country',
        reason: error instanceof Error ? error.message : String(error),
      });
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

export type { GeoFacts, GeoLookup, GeoLookupOptions };
export { createGeoLookup, isPublicAddress };
