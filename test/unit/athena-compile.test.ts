import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAthenaCommand } from '../../functions/commands/athena.js';
import { compileCatalogQuery } from '../../functions/core/athena/compile.js';
import { likeEscape, quoteString, regexLiteral } from '../../functions/core/athena/dialect.js';
import { duckdbCreateTable, duckdbInsert, recordToRow } from '../../functions/core/athena/rows.js';
import { cloudTrailTableDdl } from '../../functions/core/athena/table.js';
import type { Detection } from '../../functions/core/detection.js';
import { recordToEvent } from '../../functions/core/event.js';
import { matchesPattern } from '../../functions/core/event-pattern/compile.js';
import { UsageError } from '../../functions/errors.js';

/** A detection of one pattern: all compileCatalogQuery reads of it. */
const detectionOf = (id: string, pattern: Record<string, unknown>): Detection =>
  ({ id, severity: 'high', severityModifiers: [], patterns: [pattern] }) as unknown as Detection;

const onX = (values: unknown[]) => ({ detail: { requestParameters: { x: values } } });

/** Every operator the catalog may use, each over the field requestParameters.x unless it says otherwise. */
const PATTERNS: Record<string, Record<string, unknown>> = {
  'exact-string': onX(['abc']),
  'exact-number': onX([300]),
  'exact-null': onX([null]),
  'exact-boolean': onX([true]),
  exactly: { detail: { requestParameters: { x: [{ exactly: 'abc' }] } } },
  prefix: onX([{ prefix: 'ab' }]),
  'prefix-empty': onX([{ prefix: '' }]),
  'prefix-ignore-case': onX([{ prefix: { 'equals-ignore-case': 'AB' } }]),
  suffix: onX([{ suffix: 'bc' }]),
  'suffix-ignore-case': onX([{ suffix: { 'equals-ignore-case': 'BC' } }]),
  'equals-ignore-case': onX([{ 'equals-ignore-case': 'ABC' }]),
  'equals-ignore-case-eszett': onX([{ 'equals-ignore-case': 'straße' }]),
  'anything-but-string': onX([{ 'anything-but': 'abc' }]),
  'anything-but-list': onX([{ 'anything-but': ['abc', 'xyz'] }]),
  'anything-but-number': onX([{ 'anything-but': [300] }]),
  'anything-but-prefix': onX([{ 'anything-but': { prefix: 'ab' } }]),
  'anything-but-suffix': onX([{ 'anything-but': { suffix: ['bc', 'yz'] } }]),
  'anything-but-ignore-case': onX([{ 'anything-but': { 'equals-ignore-case': 'ABC' } }]),
  'anything-but-wildcard': onX([{ 'anything-but': { wildcard: 'a*c' } }]),
  'exists-true': onX([{ exists: true }]),
  'exists-false': onX([{ exists: false }]),
  'exists-false-or-value': onX([{ exists: false }, 'abc']),
  wildcard: onX([{ wildcard: 'a*c' }]),
  'wildcard-literals': onX([{ wildcard: "*'%_\\\\*" }]),
  numeric: onX([{ numeric: ['>', 0, '<=', 300] }]),
  'numeric-equals': onX([{ numeric: ['=', 3.5] }]),
  cidr: onX([{ cidr: '10.0.0.0/8' }]),
  'ip-literal': onX(['10.0.0.1']),
  hostile: onX(["a'b\\c%_"]),
  'dotted-path': { detail: { requestParameters: { 'a.b': ['v'] } } },
  'nested-path': { detail: { requestParameters: { a: { b: ['v'] } } } },
  'identity-type': { detail: { userIdentity: { type: [{ 'anything-but': 'AWSAccount' }] } } },
  'session-issuer': { detail: { userIdentity: { sessionContext: { sessionIssuer: { type: ['Root'] } } } } },
  'resources-arn': { detail: { resources: { ARN: [{ prefix: 'arn:aws:s3:::' }] } } },
  'read-only': { detail: { readOnly: [true] } },
  envelope: {
    source: [{ prefix: 'aws.' }],
    'detail-type': [{ 'anything-but': 'AWS Console Sign In via CloudTrail' }],
    account: ['111122223333'],
    region: [{ 'anything-but': 'eu-west-1' }],
  },
  'or-branches': { detail: { $or: [{ eventName: ['StopLogging'] }, { requestParameters: { x: [1] } }] } },
};

const X_VALUES: unknown[] = [
  'abc',
  'ABC',
  'Abc',
  'xyz',
  'ab',
  '',
  'STRASSE',
  'strasse',
  'Straße',
  'a\nc',
  300,
  '300',
  3.5,
  0,
  -1,
  null,
  true,
  false,
  '10.0.0.1',
  '10.000.0.01',
  '11.0.0.1',
  '10.0.0.256',
  ['xyz', 'abc'],
  ['xyz', ['abc']],
  [],
  [null],
  { abc: 'abc' },
  "a'b\\c%_",
  "x'b\\c%_",
  "q'%_\\z",
  'a%c',
];

const base = {
  eventVersion: '1.08',
  eventSource: 'cloudtrail.amazonaws.com',
  eventName: 'UpdateTrail',
  eventType: 'AwsApiCall',
  awsRegion: 'us-east-1',
  recipientAccountId: '111122223333',
  eventTime: '2026-01-02T03:04:05Z',
  userIdentity: { type: 'IAMUser', accountId: '111122223333' },
};

const RECORDS: Record<string, unknown>[] = [
  ...X_VALUES.map((x) => ({ ...base, requestParameters: { x } })),
  { ...base, requestParameters: null },
  { ...base, requestParameters: { y: 1 } },
  { ...base, requestParameters: { 'a.b': 'v' } },
  { ...base, requestParameters: { a: { b: 'v' } } },
  { ...base, requestParameters: { a: [{ b: 'w' }, { b: 'v' }] } },
  { ...base, eventName: 'StopLogging' },
  { ...base, readOnly: true },
  { ...base, readOnly: false },
  { ...base, eventSource: 'signin.amazonaws.com', eventType: 'AwsConsoleSignIn' },
  { ...base, awsRegion: 'eu-west-1', recipientAccountId: '444455556666' },
  { ...base, userIdentity: { type: 'AWSAccount' } },
  { ...base, userIdentity: { type: 'AssumedRole', sessionContext: { sessionIssuer: { type: 'Root' } } } },
  { ...base, resources: [{ ARN: 'arn:aws:iam::1:role/x' }, { ARN: 'arn:aws:s3:::bucket' }] },
  { ...base, resources: [{ ARN: 'arn:aws:iam::1:role/x' }] },
];

describe('compileCatalogQuery (duckdb dialect), operator by operator against the matcher', () => {
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
    await connection.run(duckdbCreateTable('t'));
    await connection.run(
      duckdbInsert(
        't',
        RECORDS.map((record, i) => ({ ...recordToRow(record), eventid: String(i) })),
      ),
    );
  });
  afterAll(() => {
    connection?.closeSync();
    instance?.closeSync();
  });

  it.each(Object.entries(PATTERNS))('%s matches the records the matcher matches', async (id, pattern) => {
    // Prepare
    const expected = RECORDS.flatMap((record, i) =>
      matchesPattern(pattern, recordToEvent(record)) ? [String(i)] : [],
    );
    const query = compileCatalogQuery([detectionOf(id, pattern)], {}, { dialect: 'duckdb', table: 't' });
    // Act
    const rows = (await connection.runAndReadAll(query.sql)).getRowObjectsJson();
    // Assess
    expect(query.unsupported).toStrictEqual([]);
    expect(rows.map((row) => String(row.eventid)).sort()).toStrictEqual(expected.sort());
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(RECORDS.length);
  });

  it('gives the highest severity of the stateless modifiers, and names the stateful ones', async () => {
    // Prepare
    const detection = {
      ...detectionOf('sev', { detail: { eventName: ['StopLogging', 'UpdateTrail'] } }),
      severityModifiers: [
        { severity: 'critical', reason: 'r', threshold: { count: 5, withinMinutes: 15, per: 'account' } },
        { severity: 'low', reason: 'r', match: { detail: { eventName: ['StopLogging'] } } },
      ],
    } as unknown as Detection;
    const query = compileCatalogQuery([detection], {}, { dialect: 'duckdb', table: 't' });
    // Act
    const rows = (await connection.runAndReadAll(query.sql)).getRowObjectsJson();
    // Assess
    const severities = new Set(rows.map((row) => `${row.eventname}:${row.rootwatch_severity}`));
    expect([...severities].sort()).toStrictEqual(['StopLogging:low', 'UpdateTrail:high']);
    expect(query.leftToReplay.map((left) => left.detection)).toStrictEqual(['*', 'sev']);
    expect(query.leftToReplay[1]?.modifier).toMatch(/threshold/);
  });
});

describe('compileCatalogQuery, what it cannot compile', () => {
  it.each([
    ['a field the table lacks', { detail: { eventContext: { x: ['y'] } } }, /no column for detail\.eventContext/],
    [
      'a struct field the table lacks',
      { detail: { userIdentity: { sessionContext: { assumedRoot: ['true'] } } } },
      /sessionContext\.assumedRoot/,
    ],
    ['an IPv6 CIDR', onX([{ cidr: '2001:db8::/32' }]), /IPv6/],
    ['an IPv6 literal', onX(['2001:db8::1']), /IPv6/],
    ['two fields in one array', { detail: { requestParameters: { a: { b: ['1'], c: ['2'] } } } }, /one array element/],
  ])('names %s with the reason and leaves the branch out', (_, pattern, reason) => {
    // Act
    const query = compileCatalogQuery(
      [detectionOf('d', { detail: { $or: [{ eventName: ['A'] }, pattern.detail as Record<string, unknown>] } })],
      {},
      { dialect: 'athena', table: 't' },
    );
    // Assess
    expect(query.unsupported).toHaveLength(1);
    expect(query.unsupported[0]?.detection).toBe('d');
    expect(query.unsupported[0]?.reason).toMatch(/^patterns\[0\] branch 2 of 2: /);
    expect(query.unsupported[0]?.reason).toMatch(reason);
    expect(query.sql).toContain("'A'");
  });
});

describe('escaping', () => {
  it('doubles single quotes in string literals', () => {
    expect(quoteString("it's '; DROP TABLE x; --")).toBe("'it''s ''; DROP TABLE x; --'");
  });
  it("escapes LIKE's characters", () => {
    expect(likeEscape('100%_\\x')).toBe('100\\%\\_\\\\x');
  });
  it('writes every non-alphanumeric character of a regular expression literally', () => {
    expect(regexLiteral('a.b*]^-\\')).toBe('a[.]b[*][\\]][\\^][\\-][\\\\]');
  });
  it('refuses a table name that is not table or database.table', () => {
    expect(() => compileCatalogQuery([], {}, { dialect: 'athena', table: 'x"; DROP TABLE y; --' })).toThrow(
      /table name/,
    );
  });
  it('quotes hostile parameter values in the athena query', () => {
    // Act
    const query = compileCatalogQuery([detectionOf('d', onX(["o'hara"]))], {}, { dialect: 'athena', table: 't' });
    // Assess
    expect(query.sql).toContain("'o''hara'");
    expect(query.sql).not.toContain("'o'hara'");
  });
});

describe('the scope', () => {
  it('becomes partition predicates and precise eventtime, account and region predicates', () => {
    // Act
    const { sql } = compileCatalogQuery(
      [detectionOf('d', onX(['abc']))],
      {
        sinceMs: Date.UTC(2026, 0, 1),
        untilMs: Date.UTC(2026, 1, 1),
        accounts: ['111122223333'],
        regions: ['us-east-1'],
      },
      { dialect: 'athena', table: 'db.cloudtrail_logs' },
    );
    // Assess
    expect(sql).toContain(`"timestamp" >= '2026/01/01'`);
    expect(sql).toContain(`"timestamp" <= '2026/02/01'`);
    expect(sql).toContain(
      `try(from_iso8601_timestamp("eventtime")) < from_iso8601_timestamp('2026-02-01T00:00:00.000Z')`,
    );
    expect(sql).toContain(`"account" IN ('111122223333')`);
    expect(sql).toContain(`"region" IN ('us-east-1')`);
    expect(sql).toContain('FROM "db"."cloudtrail_logs"');
  });
});

describe('cloudTrailTableDdl', () => {
  it('projects an organization trail: injected accounts, enumerated regions, days from the first one', () => {
    // Act
    const ddl = cloudTrailTableDdl({
      bucket: 'org-trail',
      prefix: 'logs',
      organization: 'o-abcdefghij',
      table: 'security.cloudtrail_logs',
      since: '2024/01/01',
      regions: ['us-east-1', 'eu-west-1'],
    });
    // Assess
    expect(ddl).toContain('CREATE EXTERNAL TABLE `security`.`cloudtrail_logs` (');
    expect(ddl).toContain("LOCATION 's3://org-trail/logs/AWSLogs/o-abcdefghij/'");
    expect(ddl).toContain(
      "'storage.location.template'='s3://org-trail/logs/AWSLogs/o-abcdefghij/$" +
        '{account}/CloudTrail/$' +
        '{region}/$' +
        "{timestamp}'",
    );
    expect(ddl).toContain("'projection.account.type'='injected'");
    expect(ddl).toContain("'projection.region.values'='us-east-1,eu-west-1'");
    expect(ddl).toContain("'projection.timestamp.range'='2024/01/01,NOW'");
    expect(ddl).toContain('`useridentity` STRUCT<type: STRING, principalid: STRING');
    expect(ddl).toContain('PARTITIONED BY (`account` STRING, `region` STRING, `timestamp` STRING)');
  });

  it.each([
    ['a bucket with a quote', { bucket: "b'x" }, /--bucket/],
    ['a prefix with a quote', { prefix: "p'x" }, /--prefix "p'x": has a character other than/],
    ['a prefix going up', { prefix: '../x' }, /--prefix "\.\.\/x": has a "\.\." folder/],
    ['a prefix with a "." folder', { prefix: 'logs/./x' }, /--prefix "logs\/\.\/x": has a "\." folder/],
    ['a prefix with two slashes together', { prefix: 'a//b' }, /--prefix "a\/\/b": has an empty folder/],
    ['an empty prefix', { prefix: '' }, /--prefix "": has an empty folder/],
    ['a wildcard prefix', { prefix: '*' }, /--prefix "\*": has a character other than letters, digits/],
    ['a prefix with a line break', { prefix: 'a\nb' }, /--prefix "a\\nb": has a character other than/],
    ['a prefix over 200 characters', { prefix: 'a'.repeat(201) }, /--prefix "a{201}": longer than 200 characters/],
    ['a bad organization', { organization: 'org' }, /--organization/],
    ['no regions', { regions: [] }, /--regions/],
  ])('refuses %s', (_, change, message) => {
    const options = { bucket: 'b-ucket', table: 't', since: '2024/01/01', regions: ['us-east-1'], ...change };
    expect(() => cloudTrailTableDdl(options)).toThrow(message);
  });

  it('takes a prefix of several folders of letters, digits, dots, hyphens and underscores', () => {
    // Act
    const ddl = cloudTrailTableDdl({
      bucket: 'b-ucket',
      prefix: 'Logs/org_1/v2.0-trail',
      table: 't',
      since: '2024/01/01',
      regions: ['us-east-1'],
    });
    // Assess
    expect(ddl).toContain("LOCATION 's3://b-ucket/Logs/org_1/v2.0-trail/AWSLogs/'");
  });
});

describe('runAthenaCommand', () => {
  const capture = () => {
    const out: string[] = [];
    const err: string[] = [];
    const stderr = { write: (text: string) => err.push(text) } as unknown as NodeJS.WritableStream;
    return { out, err, io: { stdout: (text: string) => out.push(text), stderr } };
  };

  it('prints the query with a header naming what is left to replay', async () => {
    // Prepare
    const { out, err, io } = capture();
    // Act
    const code = await runAthenaCommand(['--accounts', '111122223333', '--param', 'trailBuckets=my-trail-bucket'], io);
    // Assess
    expect(code).toBe(0);
    const text = out.join('');
    expect(text).toMatch(/^-- rootwatch athena: \d+ detections over cloudtrail_logs/);
    expect(text).toContain('-- left to replay (severity): root-console-sign-in-failure: severityModifiers[1]');
    expect(text).toContain("'my-trail-bucket'");
    expect(err.join('')).toContain('root-console-sign-in: left to replay:');
  });

  it('prints the DDL for --ddl', async () => {
    // Prepare
    const { out, io } = capture();
    // Act
    const code = await runAthenaCommand(['--ddl', '--bucket', 'trail-bucket', '--regions', 'us-east-1'], io);
    // Assess
    expect(code).toBe(0);
    expect(out.join('')).toContain("LOCATION 's3://trail-bucket/AWSLogs/'");
  });

  /** 2026-06-15 12:00 UTC: the clock of the tests that depend on the year. */
  const JUNE_2026 = Date.UTC(2026, 5, 15, 12);

  it('warns in the header and on stderr that a query without --since scans every day of the table', async () => {
    // Prepare
    const { out, err, io } = capture();
    // Act
    const code = await runAthenaCommand(['--accounts', '111122223333'], io);
    // Assess
    expect(code).toBe(0);
    const lines = out.join('').split('\n');
    expect(lines[1]).toBe(
      '-- no --since: the query scans every day of cloudtrail_logs, and Athena bills by the data scanned; --since 30d (or a date, 2026-01-01) reads only those days.',
    );
    expect(err.join('')).toContain(
      'rootwatch: no --since: the query scans every day of cloudtrail_logs, and Athena bills by the data scanned; --since 30d',
    );
  });

  it.each([
    ['with --since', ['--since', '30d']],
    ['for DuckDB', ['--dialect', 'duckdb']],
  ])('says nothing of the whole table %s', async (_, args) => {
    // Prepare
    const { out, err, io } = capture();
    // Act
    const code = await runAthenaCommand(['--accounts', '111122223333', ...args], io);
    // Assess
    expect(code).toBe(0);
    expect(out.join('')).not.toContain('no --since');
    expect(err.join('')).not.toContain('no --since');
  });

  it('projects from --since-year up to this year (the clock injected)', async () => {
    // Prepare
    const { out, io } = capture();
    const args = ['--ddl', '--bucket', 'trail-bucket', '--regions', 'us-east-1', '--since-year', '2026'];
    // Act
    const code = await runAthenaCommand(args, { ...io, now: () => JUNE_2026 });
    // Assess
    expect(code).toBe(0);
    expect(out.join('')).toContain("'projection.timestamp.range'='2026/01/01,NOW'");
    await expect(runAthenaCommand(args, { ...io, now: () => Date.UTC(2025, 11, 31, 23, 59) })).rejects.toThrow(
      '--since-year must be a year from 2013 to 2025 (got "2026")',
    );
  });

  it.each([
    [['--prefix', '../x'], /--prefix "\.\.\/x": has a "\.\." folder/],
    [['--prefix', 'a//b'], /--prefix "a\/\/b": has an empty folder/],
    [['--prefix', '*'], /--prefix "\*": has a character other than/],
    [['--prefix', '/'], /--prefix "": has an empty folder/],
    [['--since-year', '2099'], /--since-year must be a year from 2013 to 2026 \(got "2099"\)/],
    [['--since-year', '2012'], /--since-year must be a year from 2013/],
    [['--since-year', '2024.0'], /--since-year must be a year from 2013/],
  ])('refuses the DDL with %j as a usage error naming the value', async (args, message) => {
    // Prepare
    const { out, io } = capture();
    // Act
    const run = runAthenaCommand(['--ddl', '--bucket', 'my-org-trail', '--regions', 'us-east-1', ...args], {
      ...io,
      now: () => JUNE_2026,
    });
    // Assess
    await expect(run).rejects.toThrow(UsageError);
    await expect(run).rejects.toThrow(message);
    expect(out).toEqual([]);
  });

  it.each([
    [['--ddl', '--regions', 'us-east-1'], /--bucket/],
    [['--bucket', 'b-ucket'], /--bucket goes with --ddl/],
    [['--ddl', '--bucket', 'b-ucket', '--regions', 'us-east-1', '--since', '2026-01-01'], /--since-year/],
    [['--dialect', 'mysql'], /--dialect/],
    [['--since', 'yesterday'], /--since/],
  ])('refuses %j as a usage error', async (args, message) => {
    const { io } = capture();
    await expect(runAthenaCommand(args, io)).rejects.toThrow(message);
  });
});
