/**
 * core/athena/row-reader.ts: a record goes into AWS's CloudTrail table as CloudTrail's SerDe reads it (rows.ts
 * recordToRow), comes out of Athena as runnableQuery asks for it (complex columns as the JSON text of
 * `json_format(CAST(col AS JSON))`: struct fields by their lower-case names, NULL fields as null; the rest as text;
 * NULL as no VarCharValue), and is read back into the record — equal to the original in every field the table has.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createAthenaRowReader, runnableQuery } from '../../functions/core/athena/row-reader.js';
import { type RowValue, recordToRow } from '../../functions/core/athena/rows.js';
import { CLOUDTRAIL_COLUMNS, type ColumnType } from '../../functions/core/athena/table.js';
import { EventParseError } from '../../functions/errors.js';
import { tableView } from '../helpers/athena-server.js';
import { CLOUDTRAIL_RECORD_FILES, corpusAvailable, readCorpus } from '../helpers/corpus.js';
import { readSampleRecord, SAMPLES_DIR } from '../helpers/samples.js';

/** The result header runnableQuery's query gives: the table's data columns, then the query's two. */
const HEADER = [...CLOUDTRAIL_COLUMNS.map((column) => column.name), 'rootwatch_detections', 'rootwatch_severity'];

const isComplex = (type: ColumnType) => type.kind === 'struct' || type.kind === 'array' || type.kind === 'map';

/**
 * The cells Athena returns for a record's row under runnableQuery: a complex column's JSON text (Trino's CAST of a
 * ROW to JSON keys it by the field names, lower case in the catalog, NULL fields as null), a text column's string, a
 * NULL as undefined (a Datum without VarCharValue).
 */
const athenaCells = (record: unknown, detections: string[], severity: string): (string | undefined)[] => {
  const row = recordToRow(record);
  const cells = CLOUDTRAIL_COLUMNS.map((column) => {
    const value = row[column.name] as RowValue;
    if (value === null || value === undefined) return undefined;
    return isComplex(column.type) ? JSON.stringify(value) : (value as string);
  });
  return [...cells, JSON.stringify(detections), severity];
};

const samples = readdirSync(SAMPLES_DIR)
  .filter((name) => name.endsWith('.json'))
  .map((name) => ({ where: `events/samples/${name}`, record: readSampleRecord(name) }));
const corpus = corpusAvailable
  ? CLOUDTRAIL_RECORD_FILES.flatMap((file) =>
      readCorpus<{ record: Record<string, unknown> }>(file).map((row, i) => ({
        where: `${file}:${i + 1}`,
        record: row.record,
      })),
    )
  : [];

describe('createAthenaRowReader', () => {
  const read = createAthenaRowReader(HEADER);

  it.each(samples)('reads back $where as the table holds it', ({ record }) => {
    // Act
    const match = read(athenaCells(record, ['root-api-call'], 'high'));

    // Assess
    expect(match.record).toStrictEqual(tableView(record));
    expect(match).toMatchObject({ detections: ['root-api-call'], severity: 'high' });
  });

  it.skipIf(!corpusAvailable)('reads back every corpus record as the table holds it', () => {
    // Prepare
    expect(corpus.length).toBeGreaterThan(500);
    const differing: string[] = [];

    // Act
    for (const { where, record } of corpus) {
      const match = read(athenaCells(record, [], 'info'));
      if (JSON.stringify(match.record) !== JSON.stringify(tableView(record))) differing.push(where);
    }

    // Assess
    expect(differing).toStrictEqual([]);
  });

  it('gives a record equal to the original where the original has only the fields the table has', () => {
    // Prepare: a root sign-in, every field a column or struct field of the table.
    const record = {
      eventVersion: '1.08',
      userIdentity: {
        type: 'Root',
        principalId: '111122223333',
        arn: 'arn:aws:iam::111122223333:root',
        accountId: '111122223333',
        sessionContext: { attributes: { mfaAuthenticated: 'false', creationDate: '2024-05-01T10:00:00Z' } },
        webIdFederationData: undefined,
      },
      eventTime: '2024-05-01T10:00:00Z',
      eventSource: 'signin.amazonaws.com',
      eventName: 'ConsoleLogin',
      awsRegion: 'us-east-1',
      sourceIPAddress: '203.0.113.7',
      userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7), key=value, {braces}',
      requestParameters: null,
      responseElements: { ConsoleLogin: 'Success' },
      additionalEventData: { LoginTo: 'https://console.aws.amazon.com/', MobileVersion: 'No', MFAUsed: 'No' },
      eventID: '3a1f0c2e-0000-4000-8000-000000000001',
      readOnly: false,
      resources: [{ ARN: 'arn:aws:iam::111122223333:root', accountId: '111122223333', type: 'AWS::IAM::User' }],
      eventType: 'AwsConsoleSignIn',
      recipientAccountId: '111122223333',
      eventCategory: 'Management',
      tlsDetails: {
        tlsVersion: 'TLSv1.3',
        cipherSuite: 'TLS_AES_128_GCM_SHA256',
        clientProvidedHostHeader: 'signin.aws.amazon.com',
      },
    };
    const { webIdFederationData: _absent, ...identity } = record.userIdentity;
    const { requestParameters: _null, ...expected } = { ...record, userIdentity: identity };

    // Act
    const match = read(athenaCells(record, ['root-console-sign-in'], 'critical'));

    // Assess
    expect(match.record).toStrictEqual(expected);
  });

  it("keeps a federated user's attribute map as it is, keys and all", () => {
    // Prepare
    const record = {
      eventName: 'AssumeRoleWithWebIdentity',
      eventSource: 'sts.amazonaws.com',
      userIdentity: {
        type: 'WebIdentityUser',
        sessionContext: {
          webIdFederationData: {
            federatedProvider: 'arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com',
            attributes: { 'token.actions.githubusercontent.com:sub': 'repo:org/repo:ref=refs/heads/main, x=y' },
          },
        },
      },
    };

    // Act
    const match = read(athenaCells(record, [], 'info'));

    // Assess
    expect(match.record).toStrictEqual(record);
  });

  it('takes the header in any order and leaves out the partition columns', () => {
    // Prepare
    const reader = createAthenaRowReader([
      'rootwatch_severity',
      'region',
      'eventname',
      'rootwatch_detections',
      'eventsource',
    ]);

    // Act
    const match = reader(['high', 'eu-west-1', 'StopLogging', '["audit-trail-tampering"]', 'cloudtrail.amazonaws.com']);

    // Assess
    expect(match).toStrictEqual({
      record: { eventName: 'StopLogging', eventSource: 'cloudtrail.amazonaws.com' },
      detections: ['audit-trail-tampering'],
      severity: 'high',
    });
  });

  it("refuses a struct in Athena's text form, naming the column", () => {
    // Prepare: what Athena returns for a struct column selected as it is (not JSON: values unquoted).
    const cells: (string | undefined)[] = HEADER.map((name) =>
      name === 'useridentity' ? '{type=Root, principalid=111122223333, arn=arn:aws:iam::111122223333:root}' : undefined,
    );
    cells[HEADER.indexOf('rootwatch_detections')] = '[]';

    // Act
    const act = () => read(cells);

    // Assess
    expect(act).toThrow(EventParseError);
    expect(act).toThrow(/^useridentity is not JSON text: \{type=Root/);
  });

  it('refuses a struct column holding JSON of another shape, naming the field', () => {
    // Prepare
    const cells: (string | undefined)[] = HEADER.map(() => undefined);
    cells[HEADER.indexOf('useridentity')] = '{"type":"Root","sessioncontext":["not","an","object"]}';
    cells[HEADER.indexOf('rootwatch_detections')] = '[]';

    // Act and Assess
    expect(() => read(cells)).toThrow('userIdentity.sessionContext: expected a JSON object, got ["not","an","object"]');
  });

  it('refuses detection ids that are not a JSON array of strings', () => {
    // Prepare
    const cells: (string | undefined)[] = HEADER.map(() => undefined);
    cells[HEADER.indexOf('rootwatch_detections')] = '[root-api-call]';

    // Act and Assess
    expect(() => read(cells)).toThrow('rootwatch_detections is not JSON text: [root-api-call]');
  });

  it('refuses a header without rootwatch_detections', () => {
    expect(() => createAthenaRowReader(['eventname'])).toThrow('the result has no column rootwatch_detections');
  });
});

describe('runnableQuery', () => {
  it("selects complex columns as JSON text in Athena's dialect, the rest as they are, in event time order", () => {
    // Act
    const sql = runnableQuery('SELECT 1', 'athena');

    // Assess
    expect(sql).toContain('json_format(CAST("useridentity" AS JSON)) AS "useridentity"');
    expect(sql).toContain('json_format(CAST("resources" AS JSON)) AS "resources"');
    expect(sql).toContain('json_format(CAST("rootwatch_detections" AS JSON)) AS "rootwatch_detections"');
    expect(sql).toContain(' "eventname", ');
    expect(sql).not.toContain('"timestamp"');
    expect(sql).toMatch(
      /FROM \(SELECT 1\) AS rootwatch_matches ORDER BY "eventtime" NULLS LAST, "eventid" NULLS LAST$/,
    );
  });

  it("uses to_json in DuckDB's dialect", () => {
    expect(runnableQuery('SELECT 1', 'duckdb')).toContain('CAST(to_json("tlsdetails") AS VARCHAR) AS "tlsdetails"');
  });
});
