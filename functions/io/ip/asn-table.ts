import { IpDatabaseError } from '../../errors.js';

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

/** The ASN, and its organisation when known, of the range holding an address; undefined for none or AS0. */
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

/*
 * The packaged form (resources/ip-data.cjs writes it, the alert function reads it): one family's table as it lies in
 * memory, so that loading is a file read and a few typed-array views, not a parse of a 21 MB CSV. Little-endian.
 *   header, 32 bytes: "RWASN001", family (u32: 4 or 6), count, orgCount, orgTextBytes (u32 each), 8 reserved;
 *   starts and ends (u32 per row for IPv4, two u64 per row for IPv6: high then low), asns (u32 per row),
 *   orgAsns (u32 per ASN, ascending), orgOffsets (u32 per ASN + 1, into orgText), orgText (UTF-8);
 *   each section starts at a multiple of 8 bytes, as BigUint64Array views need.
 */
const MAGIC = 'RWASN001';
const HEADER_BYTES = 32;
const align8 = (offset: number): number => (offset + 7) & ~7;

/** The byte size of each section of a table with these counts, in file order. */
const sectionSizes = (family: 4 | 6, count: number, orgCount: number, orgTextBytes: number): number[] => {
  const bound = family === 4 ? 4 * count : 16 * count;
  return [bound, bound, 4 * count, 4 * orgCount, 4 * (orgCount + 1), orgTextBytes];
};

/**
 * The same lookups from fewer rows: a range that continues the previous one (it starts right after it ends) with
 * the same ASN is merged into it, and AS0 rows ("not routed", which lookupAsn answers as no owner, the same as no
 * row) are dropped. lookupAsn gives the same answer for every address. Expects a sorted table (parseAsnTable's).
 *
 * @example
 * declare const csv: Buffer; // asn-ipv4-num.csv of @ip-location-db/asn
 * compactAsnTable(parseAsnTable(csv, 4).table).count; // fewer rows than the CSV's lines
 */
const compactAsnTable = (table: AsnTable): AsnTable => {
  const width = table.starts instanceof Uint32Array ? 1 : 2;
  const keep: number[] = [];
  const ends: (number | bigint)[] = [];
  for (let i = 0; i < table.count; i++) {
    const asn = table.asns[i] as number;
    if (asn === 0) continue;
    const last = keep.length - 1;
    const start = boundAt(table.starts, i);
    const previous = last >= 0 ? (ends[last] as number | bigint) : undefined;
    const continues =
      previous !== undefined &&
      table.asns[keep[last] as number] === asn &&
      (typeof start === 'bigint' ? start === (previous as bigint) + 1n : start === (previous as number) + 1);
    if (continues) ends[last] = boundAt(table.ends, i);
    else {
      keep.push(i);
      ends.push(boundAt(table.ends, i));
    }
  }
  const count = keep.length;
  const starts = width === 1 ? new Uint32Array(count) : new BigUint64Array(2 * count);
  const endBounds = width === 1 ? new Uint32Array(count) : new BigUint64Array(2 * count);
  const asns = new Uint32Array(count);
  keep.forEach((row, to) => {
    asns[to] = table.asns[row] as number;
    for (let k = 0; k < width; k++) starts[width * to + k] = table.starts[width * row + k] as never;
    const end = ends[to] as number | bigint;
    if (endBounds instanceof Uint32Array) endBounds[to] = end as number;
    else {
      endBounds[2 * to] = (end as bigint) >> HALF;
      endBounds[2 * to + 1] = BigInt.asUintN(64, end as bigint);
    }
  });
  const used = new Set(asns);
  const orgRows = Array.from(table.orgAsns.keys()).filter((i) => used.has(table.orgAsns[i] as number));
  return {
    count,
    starts,
    ends: endBounds,
    asns,
    orgAsns: Uint32Array.from(orgRows, (i) => table.orgAsns[i] as number),
    orgNames: orgRows.map((i) => table.orgNames[i] as string),
  };
};

/**
 * A table in the packaged form (see above), to be read back by readAsnTable.
 *
 * @example
 * import { writeFileSync } from 'node:fs';
 *
 * declare const csv: Buffer; // asn-ipv4-num.csv of @ip-location-db/asn
 * writeFileSync('asn-ipv4.bin', serializeAsnTable(compactAsnTable(parseAsnTable(csv, 4).table), 4));
 */
const serializeAsnTable = (table: AsnTable, family: 4 | 6): Buffer => {
  const encoder = new TextEncoder();
  const names = table.orgNames.map((name) => encoder.encode(name));
  const orgTextBytes = names.reduce((sum, name) => sum + name.length, 0);
  const orgOffsets = new Uint32Array(names.length + 1);
  names.forEach((name, i) => {
    orgOffsets[i + 1] = (orgOffsets[i] as number) + name.length;
  });
  const orgText = new Uint8Array(orgTextBytes);
  names.forEach((name, i) => {
    orgText.set(name, orgOffsets[i] as number);
  });
  const sections: ArrayBufferView[] = [table.starts, table.ends, table.asns, table.orgAsns, orgOffsets, orgText];
  const sizes = sectionSizes(family, table.count, table.orgAsns.length, orgTextBytes);
  let length = HEADER_BYTES;
  for (const size of sizes) length = align8(length) + size;
  const out = Buffer.alloc(length);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(family, 8);
  out.writeUInt32LE(table.count, 12);
  out.writeUInt32LE(table.orgAsns.length, 16);
  out.writeUInt32LE(orgTextBytes, 20);
  let offset = HEADER_BYTES;
  sections.forEach((section, i) => {
    offset = align8(offset);
    out.set(new Uint8Array(section.buffer, section.byteOffset, sizes[i]), offset);
    offset += sizes[i] as number;
  });
  return out;
};

/**
 * A table from its packaged form: views over `data`, no copy but the organisation names' decoding.
 *
 * @throws IpDatabaseError naming `source` when `data` is not a table of `family` in this format (magic, family,
 *   section sizes), or the machine is not little-endian.
 * @example
 * import { readFileSync } from 'node:fs';
 *
 * const table = readAsnTable(readFileSync('asn-ipv4.bin'), 4, 'asn-ipv4.bin');
 * lookupAsn(table, 0x08080808); // { asn: 15169, org: 'Google LLC' }
 */
const readAsnTable = (data: Buffer, family: 4 | 6, source: string): AsnTable => {
  const bad = (why: string) => new IpDatabaseError(`${source}: not a packaged ASN table: ${why}`);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw bad('this machine is not little-endian');
  if (data.length < HEADER_BYTES || data.toString('latin1', 0, 8) !== MAGIC) throw bad('no RWASN001 header');
  if (data.readUInt32LE(8) !== family) throw bad(`family ${data.readUInt32LE(8)}, expected ${family}`);
  const count = data.readUInt32LE(12);
  const orgCount = data.readUInt32LE(16);
  const orgTextBytes = data.readUInt32LE(20);
  const sizes = sectionSizes(family, count, orgCount, orgTextBytes);
  const offsets: number[] = [];
  let end = HEADER_BYTES;
  for (const size of sizes) {
    offsets.push(align8(end));
    end = align8(end) + size;
  }
  if (end !== data.length) throw bad(`${data.length} bytes, expected ${end} for ${count} rows`);
  // Typed-array views need their offset aligned in the underlying buffer: copy when the Buffer is not.
  const bytes = data.byteOffset % 8 === 0 ? data : Buffer.from(new Uint8Array(data).buffer);
  const at = (section: number) => bytes.byteOffset + (offsets[section] as number);
  const bounds = (section: number) =>
    family === 4
      ? new Uint32Array(bytes.buffer, at(section), count)
      : new BigUint64Array(bytes.buffer, at(section), 2 * count);
  const orgOffsets = new Uint32Array(bytes.buffer, at(4), orgCount + 1);
  const orgText = bytes.subarray(offsets[5], (offsets[5] as number) + orgTextBytes);
  const orgNames = Array.from({ length: orgCount }, (_, i) =>
    orgText.toString('utf8', orgOffsets[i] as number, orgOffsets[i + 1] as number),
  );
  return {
    count,
    starts: bounds(0),
    ends: bounds(1),
    asns: new Uint32Array(bytes.buffer, at(2), count),
    orgAsns: new Uint32Array(bytes.buffer, at(3), orgCount),
    orgNames,
  };
};

export { compactAsnTable, lookupAsn, parseAsnTable, readAsnTable, serializeAsnTable };
