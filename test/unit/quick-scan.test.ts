import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recordToEvent } from '../../functions/core/event.js';
import { catalogPrefilter } from '../../functions/core/event-pattern/tokens.js';
import { loadDetections } from '../../functions/io/detections.js';
import { DEFAULT_LIMITS } from '../../functions/io/input/limits.js';
import { quickScan } from '../../functions/io/input/quick-scan.js';
import { scanText } from '../../functions/io/input/scanned.js';

const detections = loadDetections();
const prefilter = catalogPrefilter(detections);
if (prefilter === undefined) throw new Error('the catalog has no pre-filter');

const logFile = (records: readonly string[]): string => `{"Records":[${records.join(',')}]}`;
const record = (fields: Record<string, unknown>): string =>
  JSON.stringify({ eventVersion: '1.08', eventName: 'ListBuckets', eventSource: 's3.amazonaws.com', ...fields });

/** Records to parse, by index in Records, as each path gives them. */
const parsedBy = (scan: { entries: readonly { index: number; text?: string }[] }): Map<number, string | undefined> =>
  new Map(scan.entries.map((entry) => [entry.index, entry.text]));

describe('quickScan (a compact CloudTrail log file by record starts and one search)', () => {
  it('hands on the records holding a token and counts the others skipped', () => {
    const text = logFile([
      record({ userIdentity: { type: 'IAMUser' } }),
      record({ userIdentity: { type: 'Root' } }),
      record({ eventName: 'StopLogging', eventSource: 'cloudtrail.amazonaws.com' }),
      record({ requestParameters: { note: 'Roots and StopLoggingX are not tokens' } }),
    ]);
    const scan = quickScan(text, prefilter, DEFAULT_LIMITS);
    expect(scan?.skipped).toBe(2);
    expect(scan?.entries.map((entry) => entry.index)).toEqual([1, 2]);
    expect(scan?.entries.map((entry) => JSON.parse(entry.text ?? 'null').eventName)).toEqual([
      'ListBuckets',
      'StopLogging',
    ]);
  });

  it('parses a record that spells a value with \\u or \\/ escapes, whatever it spells', () => {
    const escaped = record({ userIdentity: { type: 'Ro' } }).replace('"Ro"', '"\\u0052oot"');
    const slashed = record({ requestParameters: { path: 'a/b' } }).replace('a/b', 'a\\/b');
    const scan = quickScan(logFile([record({}), escaped, slashed]), prefilter, DEFAULT_LIMITS);
    expect(scan?.entries.map((entry) => entry.index)).toEqual([1, 2]);
    expect(JSON.parse(scan?.entries[0]?.text ?? 'null').userIdentity.type).toBe('Root');
  });

  it('parses a record without a string eventName and eventSource, so that what is wrong is reported', () => {
    const broken = JSON.stringify({ eventVersion: '1.08', eventName: 'ListBuckets' });
    const scan = quickScan(logFile([record({}), broken]), prefilter, DEFAULT_LIMITS);
    expect(scan?.entries.map((entry) => entry.index)).toEqual([1]);
  });

  it('gives the file to the scanner when its shape is not the one it reads', () => {
    const plain = [record({}), record({ userIdentity: { type: 'Root' } })];
    const cases = {
      'another first key': `{"Records":[${JSON.stringify({ eventName: 'A', eventSource: 'b', eventVersion: '1' })}]}`,
      'pretty-printed': JSON.stringify({ Records: plain.map((r) => JSON.parse(r)) }, null, 2),
      truncated: logFile(plain).slice(0, -10),
      'a key after Records': `${logFile(plain).slice(0, -1)},"x":1}`,
    };
    for (const [name, text] of Object.entries(cases))
      expect(quickScan(text, prefilter, DEFAULT_LIMITS), name).toBe(undefined);
    // A nested `{"eventVersion":` splits its record in two pieces, neither one value: the scanner reads the file.
    const nested = logFile([
      record({ requestParameters: { items: [{ a: 1 }, { eventVersion: 'x' }] }, userIdentity: { type: 'Root' } }),
    ]);
    expect(quickScan(nested, prefilter, DEFAULT_LIMITS)).toBe(undefined);
    // So does a record that does not start with eventVersion: it is read as part of the one before it.
    const unordered = logFile([record({}), JSON.stringify({ eventName: 'StopLogging', eventVersion: '1.08' })]);
    expect(quickScan(unordered, prefilter, DEFAULT_LIMITS)).toBe(undefined);
    expect(quickScan(logFile(plain), undefined, DEFAULT_LIMITS)).toBe(undefined);
    expect(quickScan(logFile(plain), prefilter, { ...DEFAULT_LIMITS, maxRecords: 1 })).toBe(undefined);
  });

  it('gives the file to the scanner when a record to parse is past the depth or string limit, so it is reported', () => {
    let deep: unknown = 'x';
    for (let level = 0; level < 100; level++) deep = { deep };
    const tooDeep = logFile([record({}), record({ userIdentity: { type: 'Root' }, requestParameters: deep })]);
    expect(quickScan(tooDeep, prefilter, DEFAULT_LIMITS)).toBe(undefined);
    expect(scanText(tooDeep, 'trail.json', prefilter, DEFAULT_LIMITS)).toMatchObject({
      kind: 'scanned',
      entries: [{ index: 1, verdict: 'deep' }],
    });
    const long = logFile([record({ userIdentity: { type: 'Root' }, note: 'x'.repeat(100) })]);
    expect(quickScan(long, prefilter, { ...DEFAULT_LIMITS, maxStringBytes: 50 })).toBe(undefined);
    expect(quickScan(long, prefilter, DEFAULT_LIMITS)?.entries.map((entry) => entry.index)).toEqual([0]);
  });

  it('hands on a record to parse exactly when the scanner finds it within the limits, at and around them', () => {
    const limits = { ...DEFAULT_LIMITS, maxDepth: 6, maxStringBytes: 30 };
    let checked = 0;
    for (let depth = 0; depth <= 9; depth++) {
      for (let length = 24; length <= 34; length++) {
        let nested: unknown = 'x'.repeat(length);
        for (let level = 0; level < depth; level++) nested = level % 2 === 0 ? { n: nested } : [nested];
        const text = logFile([record({}), record({ userIdentity: { type: 'Root' }, requestParameters: nested })]);
        const full = scanText(text, 'trail.json', prefilter, limits);
        const verdict = full.kind === 'scanned' ? full.entries.find((entry) => entry.index === 1)?.verdict : undefined;
        const quick = quickScan(text, prefilter, limits);
        if (verdict === 'parse')
          expect(
            quick?.entries.map((entry) => entry.index),
            `${depth}, ${length}`,
          ).toEqual([1]);
        else expect(quick, `${depth}, ${length}: ${verdict}`).toBe(undefined);
        checked += verdict === 'parse' ? 1 : 0;
      }
    }
    // Both sides of both limits are reached.
    expect(checked).toBeGreaterThan(10);
    expect(checked).toBeLessThan(110);
  });

  it('parses every record a detection of the catalog matches, wherever its tokens stand (fast-check)', () => {
    const strings = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom('Root', 'StopLogging', 'rootwatch-alert', 'AssumeRoot', 'Success', 'root', 'ROOT', 'a/b', 'é"\\'),
    );
    const value = fc.oneof(strings, fc.integer(), fc.constant(null), fc.array(strings, { maxLength: 3 }));
    const nested = fc.dictionary(fc.constantFrom('type', 'name', 'arn', 'eventName', 'ConsoleLogin'), value, {
      maxKeys: 3,
    });
    const extra = fc.dictionary(
      fc.constantFrom('requestParameters', 'responseElements', 'note', 'errorCode'),
      fc.oneof(value, nested),
      { maxKeys: 3 },
    );
    // Calls the catalog watches, and others, from the services that make them.
    const call = fc.constantFrom(
      ['ListBuckets', 's3.amazonaws.com'],
      ['StopLogging', 'cloudtrail.amazonaws.com'],
      ['ConsoleLogin', 'signin.amazonaws.com'],
      ['CreateAccessKey', 'iam.amazonaws.com'],
      ['DeactivateMFADevice', 'iam.amazonaws.com'],
      ['AssumeRoot', 'sts.amazonaws.com'],
      ['UpdateFunctionConfiguration20150331v2', 'lambda.amazonaws.com'],
    );
    const generated = fc
      .tuple(call, extra, fc.boolean(), fc.boolean(), fc.boolean())
      .map(([[eventName, eventSource], fields, root, success, spelled]) => {
        const identity = root
          ? { type: 'Root', arn: 'arn:aws:iam::111122223333:root' }
          : { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/alice' };
        const signIn = success ? { responseElements: { ConsoleLogin: 'Success' } } : {};
        const text = record({ eventName, eventSource, userIdentity: identity, ...fields, ...signIn });
        // Some records spell their identity type or event name with \u escapes.
        return spelled
          ? text
              .replace('"Root"', '"R\\u006f\\u006ft"')
              .replace(`"${eventName}"`, `"\\u00${eventName.charCodeAt(0).toString(16)}${eventName.slice(1)}"`)
          : text;
      });
    let matched = 0;
    fc.assert(
      fc.property(fc.array(generated, { minLength: 1, maxLength: 12 }), (records) => {
        const scan = quickScan(logFile(records), prefilter, DEFAULT_LIMITS);
        if (scan === undefined) return;
        expect(scan.entries.length + scan.skipped).toBe(records.length);
        const parsed = parsedBy(scan);
        records.forEach((text, index) => {
          let event: ReturnType<typeof recordToEvent>;
          try {
            event = recordToEvent(JSON.parse(text));
          } catch {
            return; // not a record replay reads (userIdentity a string…): never matched, reported when parsed
          }
          if (!detections.some((detection) => detection.matches(event))) return;
          matched++;
          expect(parsed.get(index), `Records[${index}]`).toBe(text);
        });
      }),
      { numRuns: 400 },
    );
    // The property is about matched records: enough of them must have been made.
    expect(matched).toBeGreaterThan(300);
  });

  it('parses a record exactly when its own eventName passes an eventName token or a string passes the others (fast-check)', () => {
    const search = prefilter.search;
    if (search === undefined) throw new Error('the catalog has no record search');
    const strings = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom('Root', 'rootwatch-alert', 'Success', 'a/b', 'AssumeRoot', 'StopLogging', 'ConsoleLogin'),
    );
    const fields = fc.dictionary(
      fc.constantFrom('userIdentity', 'requestParameters', 'note'),
      fc.dictionary(fc.constantFrom('type', 'name', 'Root'), strings, { maxKeys: 2 }),
      { maxKeys: 3 },
    );
    const eventName = fc.constantFrom('ListBuckets', 'StopLogging', 'ConsoleLogin', 'AssumeRoot', 'Root');
    /** Every string of a parsed value, keys too, as JSON writes it. */
    const written = (value: unknown): string[] => {
      if (typeof value === 'string') return [JSON.stringify(value)];
      if (Array.isArray(value)) return value.flatMap(written);
      if (value !== null && typeof value === 'object') {
        return Object.entries(value).flatMap(([key, item]) => [JSON.stringify(key), ...written(item)]);
      }
      return [];
    };
    const anywhere = (value: unknown): boolean =>
      search.anywhere !== null &&
      written(value).some((text) => {
        (search.anywhere as RegExp).lastIndex = 0;
        return (search.anywhere as RegExp).test(text);
      });
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(eventName, fields).map(([name, extra]) => record({ ...extra, eventName: name })),
          { minLength: 1, maxLength: 12 },
        ),
        (records) => {
          const text = logFile(records);
          const quick = quickScan(text, prefilter, DEFAULT_LIMITS);
          if (quick === undefined) return;
          const parsed = parsedBy(quick);
          records.forEach((recordText, index) => {
            if (/\\[u/]/.test(recordText)) return; // an escape: parsed whatever it spells
            const value = JSON.parse(recordText) as { eventName: string };
            const expected = search.eventName(value.eventName, 0, value.eventName.length) || anywhere(value);
            expect(parsed.has(index), `Records[${index}] ${recordText}`).toBe(expected);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('parses a record with a second "eventName", or one it cannot read, whatever it names', () => {
    const nested = record({ requestParameters: { eventName: 'ListBuckets' } });
    const spaced = record({}).replace('"eventName":"ListBuckets"', '"eventName" : "ListBuckets"');
    const escaped = record({ eventName: 'List"Buckets' });
    const scan = quickScan(logFile([record({}), nested, spaced, escaped]), prefilter, DEFAULT_LIMITS);
    expect(scan?.entries.map((entry) => entry.index)).toEqual([1, 2, 3]);
  });

  it('does not parse a record for a token of an eventName field found elsewhere in it', () => {
    const elsewhere = record({ requestParameters: { note: 'StopLogging' } });
    const own = record({ eventName: 'StopLogging', eventSource: 'cloudtrail.amazonaws.com' });
    const scan = quickScan(logFile([elsewhere, own]), prefilter, DEFAULT_LIMITS);
    expect(scan?.entries.map((entry) => entry.index)).toEqual([1]);
  });
});
