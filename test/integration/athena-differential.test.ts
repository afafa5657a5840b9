import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogScope } from '../../functions/commands/scope.js';
import { inScope } from '../../functions/commands/scope.js';
import { compileCatalogQuery } from '../../functions/core/athena/compile.js';
import { duckdbCreateTable, duckdbInsert, recordToRow } from '../../functions/core/athena/rows.js';
import { isCentralizedRootSession, matchDetections, scoreMatches } from '../../functions/core/classify.js';
import type { Detection } from '../../functions/core/detection.js';
import { type CloudTrailEvent, recordToEvent } from '../../functions/core/event.js';
import { DEFAULT_DETECTIONS_DIR, loadDetections } from '../../functions/io/detections.js';
import { CLOUDTRAIL_RECORD_FILES, corpusAvailable, readCorpus } from '../helpers/corpus.js';
import { readSampleRecord } from '../helpers/samples.js';

/*
 * The differential test of issue 12: the catalog compiled to SQL (duckdb dialect) over a table of Athena's CloudTrail
 * shape (recordToRow), against the matcher (matchDetections over recordToEvent), for every corpus record and every
 * catalog sample. A row is told apart by its eventid, which the test sets to its index: no pattern reads eventID
 * (checked below), so the matcher's verdicts do not change.
 */

interface Case {
  readonly where: string;
  readonly record: Record<string, unknown>;
  readonly event: CloudTrailEvent;
}

/** Every record the test compares: the corpus's (when present) and the samples', with the event the matcher sees. */
const loadCases = (): { cases: Case[]; unreadable: string[] } => {
  const records: { where: string; record: unknown }[] = [
    ...(corpusAvailable
      ? CLOUDTRAIL_RECORD_FILES.flatMap((file) =>
          readCorpus<{ record: unknown }>(file).map((row, i) => ({ where: `${file}:${i + 1}`, record: row.record })),
        )
      : []),
    ...readdirSync(join(DEFAULT_DETECTIONS_DIR, 'samples'))
      .filter((name) => name.endsWith('.json'))
      .sort()
      .map((name) => ({ where: `events/samples/${name}`, record: readSampleRecord(name) })),
  ];
  const cases: Case[] = [];
  const unreadable: string[] = [];
  for (const { where, record } of records) {
    try {
      cases.push({ where, record: record as Record<string, unknown>, event: recordToEvent(record) });
    } catch {
      unreadable.push(where);
    }
  }
  return { cases, unreadable };
};

interface Verdict {
  readonly detections: readonly string[];
  readonly severity: string | null;
}

/** What the matcher gives: the ids in catalog order, and the highest severity of the stateless modifiers. */
const expectedVerdict = (event: CloudTrailEvent, detections: readonly Detection[]): Verdict => {
  const matched = matchDetections(event, detections);
  return {
    detections: matched.map((detection) => detection.id),
    severity: scoreMatches(event, matched)[0]?.severity ?? null,
  };
};

const TABLE = 'cloudtrail_logs';

/** Loads the cases into a fresh table, runs the compiled query, and returns each case's verdict by index. */
const runQuery = async (
  connection: DuckDBConnection,
  cases: readonly Case[],
  detections: readonly Detection[],
  scope: LogScope,
): Promise<Map<number, Verdict>> => {
  await connection.run(`DROP TABLE IF EXISTS ${TABLE}`);
  await connection.run(duckdbCreateTable(TABLE));
  const rows = cases.map(({ record }, i) => ({ ...recordToRow(record), eventid: String(i) }));
  for (let start = 0; start < rows.length; start += 200) {
    await connection.run(duckdbInsert(TABLE, rows.slice(start, start + 200)));
  }
  const query = compileCatalogQuery(detections, scope, { dialect: 'duckdb', table: TABLE });
  const result = await connection.runAndReadAll(query.sql);
  const verdicts = new Map<number, Verdict>();
  for (const row of result.getRowObjectsJson()) {
    verdicts.set(Number(row.eventid), {
      detections: row.rootwatch_detections as string[],
      severity: row.rootwatch_severity as string | null,
    });
  }
  return verdicts;
};

/** Each case where the query and the matcher disagree, as a line naming the record. */
const disagreements = (
  cases: readonly Case[],
  detections: readonly Detection[],
  verdicts: ReadonlyMap<number, Verdict>,
  scope: LogScope = {},
): string[] =>
  cases.flatMap(({ where, event }, i) => {
    const expected = inScope(scope, event) ? expectedVerdict(event, detections) : { detections: [], severity: null };
    const actual = verdicts.get(i) ?? { detections: [], severity: null };
    const problems: string[] = [];
    if (JSON.stringify(actual.detections) !== JSON.stringify(expected.detections)) {
      problems.push(
        `${where}: SQL ${JSON.stringify(actual.detections)}, matcher ${JSON.stringify(expected.detections)}`,
      );
    } else if (
      expected.detections.length > 0 &&
      !isCentralizedRootSession(event) &&
      actual.severity !== expected.severity
    ) {
      problems.push(`${where}: SQL severity ${actual.severity}, matcher ${expected.severity}`);
    }
    return problems;
  });

describe('the catalog compiled to SQL, against the matcher (DuckDB)', () => {
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  const { cases, unreadable } = loadCases();

  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
  });
  afterAll(() => {
    connection?.closeSync();
    instance?.closeSync();
  });

  it('reads no eventID in any pattern (the test marks rows with it)', () => {
    // Prepare
    const detections = loadDetections();
    // Act
    const text = JSON.stringify(detections.map((detection) => [detection.patterns, detection.severityModifiers]));
    // Assess
    expect(text).not.toMatch(/eventID|"id"/);
  });

  it('gives every record and sample the detections and severity the matcher gives', async () => {
    // Prepare
    const detections = loadDetections();
    // Act
    const verdicts = await runQuery(connection, cases, detections, {});
    // Assess
    const matching = cases.filter(({ event }) => matchDetections(event, detections).length > 0).length;
    console.info(
      `athena differential: ${cases.length} records (${unreadable.length} unreadable skipped), ${matching} matching, ${verdicts.size} rows returned`,
    );
    expect(disagreements(cases, detections, verdicts)).toStrictEqual([]);
    expect(verdicts.size).toBe(matching);
    expect(matching).toBeGreaterThan(50);
  });

  it('agrees with the deployment parameters set to hostile values', async () => {
    // Prepare: values with quotes, backslashes and LIKE's characters, and the samples' own values.
    const detections = loadDetections(undefined, {
      trailBuckets: ["it's-a-bucket", 'back\\slash', '100%_trail', 'rootwatch-demo-trail'],
      trailKeyArns: ["arn:aws:kms:us-east-1:111122223333:key/'; DROP TABLE x; --"],
      trailLogGroups: ['%', '_'],
      slackWebhookParameter: ["/rootwatch/o'hara"],
    });
    // Act
    const verdicts = await runQuery(connection, cases, detections, {});
    // Assess
    expect(disagreements(cases, detections, verdicts)).toStrictEqual([]);
  });

  it('agrees within a scope of time, accounts and regions', async () => {
    // Prepare
    const detections = loadDetections();
    const matching = cases.filter(({ event }) => matchDetections(event, detections).length > 0);
    const accounts = [...new Set(matching.map(({ event }) => event.account))].filter((a) => /^\d{12}$/.test(a));
    const scope: LogScope = {
      sinceMs: Date.UTC(2019, 0, 1),
      untilMs: Date.UTC(2024, 0, 1),
      accounts: accounts.slice(0, Math.max(1, Math.floor(accounts.length / 2))),
      regions: ['us-east-1', 'us-west-2'],
    };
    // Act
    const verdicts = await runQuery(connection, cases, detections, scope);
    // Assess
    expect(disagreements(cases, detections, verdicts, scope)).toStrictEqual([]);
    const inside = matching.filter(({ event }) => inScope(scope, event)).length;
    console.info(`athena differential, scoped: ${inside} of ${matching.length} matching records inside the scope`);
    expect(inside).toBeGreaterThan(0);
    expect(inside).toBeLessThan(matching.length);
  });
});
