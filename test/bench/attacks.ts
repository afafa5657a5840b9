/**
 * The hostile inputs of the replay bench's memory step, each written streaming (never held whole in memory) into a
 * folder the caller deletes:
 * - a gzip bomb: a small .json.gz expanding to `gib` GiB of blanks inside a `Records` array (concatenated gzip
 *   members, RFC 1952 §2.2: one member of 64 MiB of blanks, compressed once and written as often as needed);
 * - a record nested `depth` levels deep (in its requestParameters);
 * - a record with a string of `mib` MiB (a policy document), gzipped the same way as the bomb;
 * - a pretty-printed `{"Records": [...]}` file (two-space indentation, as `jq .` writes) of about `mb` MB of real-shape
 *   records, plain JSON (the same 10,000 records again and again, each copy with its own eventIDs);
 * - a gzip of `mib` MiB of nothing but newlines, or nothing but spaces (a few hundred KB that hold no record: a
 *   file of hundreds of millions of empty lines once crashed replay);
 * - a JSON Lines line holding one record of `keys` small keys (millions: once minutes of scanning, as every string
 *   searched the rest of the line for a backslash), gzipped;
 * - a JSON Lines line of one record followed by `mib` MiB of spaces (once held whole, and lost), gzipped;
 * - a normal file of one Root console sign-in, read after each of them to see whether replay went on.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { constants, gzipSync } from 'node:zlib';
import { corpusRecords, type RecordObject } from './corpus.js';

const MIB = 1024 * 1024;

/** A record to wrap the hostile part in, as CloudTrail writes a root call (so that, read, it would alert). */
const rootRecord = (eventID: string, requestParameters: string): string =>
  `{"eventVersion":"1.11","userIdentity":{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333","accessKeyId":"AKIAIOSFODNN7EXAMPLE"},"eventTime":"2026-10-01T00:00:00Z","eventSource":"iam.amazonaws.com","eventName":"PutUserPolicy","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","userAgent":"aws-cli/2.27.41","requestParameters":${requestParameters},"responseElements":null,"requestID":"7a1c3b2e-0000-4000-8000-000000000001","eventID":"${eventID}","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`;

/** Writes `parts` (strings, or [Buffer, times]) to `path` in order, gzipping strings as members of their own. */
const writeGzipMembers = (path: string, parts: readonly (string | readonly [Buffer, number])[]): number => {
  const fd = openSync(path, 'w');
  let written = 0;
  try {
    for (const part of parts) {
      if (typeof part === 'string') {
        written += writeSync(fd, gzipSync(part));
      } else {
        const [member, times] = part;
        for (let i = 0; i < times; i++) written += writeSync(fd, member);
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
};

/** A gzip member of `mib` MiB of `byte`, compressed at the best level (about 1,000 : 1). */
const filler = (byte: string, mib: number): Buffer =>
  gzipSync(Buffer.alloc(mib * MIB, byte), { level: constants.Z_BEST_COMPRESSION });

/** The gzip bomb: `{"Records":[` + `gib` GiB of blanks + one Root record + `]}`. Returns the file's size. */
const writeGzipBomb = (path: string, gib: number): number =>
  writeGzipMembers(path, [
    '{"Records":[',
    [filler(' ', 64), Math.round((gib * 1024) / 64)],
    `${rootRecord('bench-bomb-0000-4000-8000-000000000001', 'null')}]}`,
  ]);

/** `mib` MiB (a multiple of 64) of `byte` alone, gzipped. Returns the file's size. */
const writeBlankFile = (path: string, byte: '\n' | ' ', mib: number): number =>
  writeGzipMembers(path, [[filler(byte, 64), Math.ceil(mib / 64)]]);

/** One Root record whose requestParameters nest `depth` objects deep, gzipped. Returns the file's size. */
const writeDeepNesting = (path: string, depth: number): number =>
  writeGzipMembers(path, [
    `{"Records":[${rootRecord('bench-deep-0000-4000-8000-000000000001', `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`)}]}`,
  ]);

/** One Root record with a policy document string of `mib` MiB, gzipped. Returns the file's size. */
const writeHugeString = (path: string, mib: number): number => {
  const [head, tail] = rootRecord('bench-string-0000-4000-8000-000000000001', '{"policyDocument":"\u0000"}').split(
    '\u0000',
  );
  return writeGzipMembers(path, [`{"Records":[${head}`, [filler('A', 16), Math.ceil(mib / 16)], `${tail}]}`]);
};

/**
 * JSON Lines: one Root record whose requestParameters hold `keys` keys (`"k0":0,"k1":1,…`) on line 1, gzipped a million
 * keys to a member. Returns the file's size.
 */
const writeManyKeys = (path: string, keys: number): number => {
  const [head, tail] = rootRecord('bench-keys-0000-4000-8000-000000000001', '{\u0000}').split('\u0000');
  const parts: string[] = [head as string];
  for (let from = 0; from < keys; from += 1_000_000) {
    const chunk: string[] = [];
    for (let key = from; key < Math.min(keys, from + 1_000_000); key++) chunk.push(`"k${key}":${key}`);
    parts.push(`${from === 0 ? '' : ','}${chunk.join(',')}`);
  }
  parts.push(`${tail}\n`);
  return writeGzipMembers(path, parts);
};

/** JSON Lines: one Root record, then `mib` MiB (a multiple of 64) of spaces on its line, gzipped. Returns the size. */
const writePaddedRecord = (path: string, mib: number): number =>
  writeGzipMembers(path, [
    rootRecord('bench-padded-0000-4000-8000-000000000001', 'null'),
    [filler(' ', 64), mib / 64],
    '\n',
  ]);

/**
 * A pretty-printed log of about `mb` MB (10^6 bytes): the records of 10 files of the bench corpus (seed 97, so other
 * eventIDs than the main corpus's), indented as `jq .` indents them, written over and over, each copy with its own
 * eventIDs (the copy's number in the first 8 hex digits). Returns the bytes written, the records, and how many of them
 * the generator labelled to alert (what replay should alert on).
 */
const writePrettyPrinted = (path: string, mb: number): { bytes: number; records: number; alerting: number } => {
  const templates: { text: string; id: string }[] = [];
  let alertingPerCopy = 0;
  for (let index = 0; index < 10; index++) {
    const file = corpusRecords(index, { seed: 97 });
    const labels = new Map(file.labels);
    for (const record of file.records as RecordObject[]) {
      const label = labels.get(record.eventID);
      if (label && label.kind !== 'root-excluded') alertingPerCopy += 1;
      templates.push({ text: `    ${JSON.stringify(record, null, 2).replaceAll('\n', '\n    ')}`, id: record.eventID });
    }
  }
  const fd = openSync(path, 'w');
  let bytes = 0;
  let records = 0;
  let alerting = 0;
  try {
    bytes += writeSync(fd, '{\n  "Records": [\n');
    for (let copy = 0; bytes < mb * 1e6; copy++) {
      const prefix = copy.toString(16).padStart(8, '0');
      const chunk = templates.map(({ text, id }) => text.replace(id, `${prefix}${id.slice(8)}`));
      bytes += writeSync(fd, `${copy === 0 ? '' : ',\n'}${chunk.join(',\n')}`);
      records += chunk.length;
      alerting += alertingPerCopy;
    }
    bytes += writeSync(fd, '\n  ]\n}\n');
  } finally {
    closeSync(fd);
  }
  return { bytes, records, alerting };
};

/** The normal file read after each hostile one: one root console sign-in, eventID `id`. */
const writeNormalFile = (dir: string, id: string): string => {
  const path = join(dir, 'zz-after.json.gz');
  const record = {
    eventVersion: '1.11',
    userIdentity: {
      type: 'Root',
      principalId: '111122223333',
      arn: 'arn:aws:iam::111122223333:root',
      accountId: '111122223333',
      accessKeyId: '',
    },
    eventTime: '2026-10-01T00:10:00Z',
    eventSource: 'signin.amazonaws.com',
    eventName: 'ConsoleLogin',
    awsRegion: 'us-east-1',
    sourceIPAddress: '203.0.113.10',
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0',
    requestParameters: null,
    responseElements: { ConsoleLogin: 'Success' },
    additionalEventData: { LoginTo: 'https://console.aws.amazon.com/console/home', MobileVersion: 'No', MFAUsed: 'No' },
    eventID: id,
    readOnly: false,
    eventType: 'AwsConsoleSignIn',
    managementEvent: true,
    recipientAccountId: '111122223333',
    eventCategory: 'Management',
  };
  writeGzipMembers(path, [JSON.stringify({ Records: [record] })]);
  return path;
};

export {
  writeBlankFile,
  writeDeepNesting,
  writeGzipBomb,
  writeHugeString,
  writeManyKeys,
  writeNormalFile,
  writePaddedRecord,
  writePrettyPrinted,
};
