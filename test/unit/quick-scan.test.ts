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
      'pretty-printed': JSON.stringify({ Records: plain.map((r) => JSON.parse(r)) }, null, 2),
      truncated: logFile(plain).slice(0, -10),
      'a key after Records': `${logFile(plain).slice(0, -1)},"x":1}`,
      'a space between records': `{"Records":[${plain.join(', ')}]}`,
      'a string in Records': logFile([...plain, '"x"']),
      'an empty Records': '{"Records":[]}',
    };
    for (const [name, text] of Object.entries(cases))
      expect(quickScan(text, prefilter, DEFAULT_LIMITS), name).toBe(undefined);
    expect(quickScan(logFile(plain), undefined, DEFAULT_LIMITS)).toBe(undefined);
    expect(quickScan(logFile(plain), prefilter, { ...DEFAULT_LIMITS, maxRecords: 1 })).toBe(undefined);
  });

  it('reads records whatever their first key, and a nested object that starts with eventVersion as part of its record', () => {
    const first = JSON.stringify({
      eventName: 'StopLogging',
      eventSource: 'cloudtrail.amazonaws.com',
      eventVersion: '1',
    });
    const nested = record({
      requestParameters: { items: [{ a: 1 }, { eventVersion: 'x', eventName: 'StopLogging' }] },
    });
    const scan = quickScan(logFile([record({}), first, nested]), prefilter, DEFAULT_LIMITS);
    expect(scan?.entries.map((entry) => entry.index)).toEqual([1]);
    expect(scan?.skipped).toBe(2);
  });

  // Found by trying to blind the fast path (each was read wrongly or silently counted before).
  describe('text that is not exactly one compact log file goes to the scanner', () => {
    const listBuckets = record({});
    const stopLogging = record({ eventName: 'StopLogging', eventSource: 'cloudtrail.amazonaws.com' });
    const cases: Record<string, string> = {
      // A log file, then CloudTrail's LookupEvents output in the same file: the alert is in the second document.
      'a second document after the log file': `${logFile([listBuckets])}${JSON.stringify({ Events: [{ EventId: 's1', CloudTrailEvent: stopLogging }] })}`,
      'an object after Records': `${logFile([listBuckets]).slice(0, -1)},"x":[{"a":1},${stopLogging}]}`,
      'a stray ] inside a record': logFile([listBuckets.replace('}', ',"requestParameters":]}'), stopLogging]),
      'a } closing an array': logFile([listBuckets.replace('}', ',"a":[1}}'), stopLogging]),
      'a record that never closes': `{"Records":[${listBuckets.slice(0, -1)}]}`,
      'a newline inside the records': logFile([listBuckets, stopLogging]).replace('"eventVersion"', '\n"eventVersion"'),
    };
    for (const [name, text] of Object.entries(cases)) {
      it(name, () => {
        expect(quickScan(text, prefilter, DEFAULT_LIMITS)).toBe(undefined);
      });
    }
    it('a newline between tokens', () => {
      expect(
        quickScan(
          logFile([listBuckets, stopLogging]).replace(',"eventName"', ',\n"eventName"'),
          prefilter,
          DEFAULT_LIMITS,
        ),
      ).toBe(undefined);
    });
  });

  it('parses, never skips, what does not read as a record, so that it is reported', () => {
    const notRecords = [
      '{}',
      '{"a":{}}',
      '{"eventVersion":"1.08","eventName":"ListBuckets","requestParameters":{"eventSource":"s3.amazonaws.com"}}',
      '{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","requestParameters":{"eventName":"ListBuckets"}}',
      '{"eventVersion":"1.08","eventName":"ListBuckets","eventSource":1}',
      '{"eventVersion":"1.08","eventName":["ListBuckets"],"eventSource":"s3.amazonaws.com"}',
      '{"eventVersion":"1.08","a\\"eventName":"ListBuckets","eventSource":"s3.amazonaws.com"}',
      '{"eventVersion":"1.08","eventName":"ListBuckets","eventSource":"s3.amazonaws.com","eventSource":2}',
      '{"eventVersion":"1.08","eventName":"ListBuckets","eventName":"StopLogging","eventSource":"s3.amazonaws.com"}',
      // An EventBridge event is read by its detail (records.ts toItem), whatever its own fields say.
      '{"detail-type":"AWS API Call via CloudTrail","eventName":"x","eventSource":"x","detail":{"eventName":"StopLogging","eventSource":"cloudtrail.amazonaws.com"}}',
      '{"detail-type":"x","detail":{},"eventName":"x","eventSource":"s"}',
      // An escape JSON does not have.
      '{"eventVersion":"1.08","eventName":"ListBuckets","eventSource":"s3.amazonaws.com","a":"\\q"}',
    ];
    const scan = quickScan(logFile([record({}), ...notRecords]), prefilter, DEFAULT_LIMITS);
    expect(scan?.skipped).toBe(1);
    expect(scan?.entries.map((entry) => entry.text)).toEqual(notRecords);
  });

  it('skips a record within the limits and leaves one past them, skipped or not, to the scanner', () => {
    let deep: unknown = 1;
    for (let level = 0; level < 10; level++) deep = { a: deep };
    // The record is level 1, requestParameters 2, its innermost object 11.
    const text = logFile([record({ requestParameters: deep }), record({})]);
    expect(quickScan(text, prefilter, { ...DEFAULT_LIMITS, maxDepth: 11 })?.skipped).toBe(2);
    expect(quickScan(text, prefilter, { ...DEFAULT_LIMITS, maxDepth: 10 })).toBe(undefined);
    expect(scanText(text, 'trail.json', prefilter, { ...DEFAULT_LIMITS, maxDepth: 10 })).toMatchObject({
      entries: [{ index: 0, verdict: 'deep' }],
    });
    // A limit raised far past any record costs no more than the default.
    expect(quickScan(text, prefilter, { ...DEFAULT_LIMITS, maxDepth: 2 ** 31 })?.skipped).toBe(2);
    const long = logFile([record({ note: 'x'.repeat(40) }), record({})]);
    expect(quickScan(long, prefilter, { ...DEFAULT_LIMITS, maxStringBytes: 40 })?.skipped).toBe(2);
    expect(quickScan(long, prefilter, { ...DEFAULT_LIMITS, maxStringBytes: 39 })).toBe(undefined);
    expect(scanText(long, 'trail.json', prefilter, { ...DEFAULT_LIMITS, maxStringBytes: 39 })).toMatchObject({
      entries: [{ index: 0, verdict: 'long' }],
    });
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

  it('reads the top-level eventName only, and parses a record whose eventName it cannot read raw', () => {
    const nested = record({ requestParameters: { eventName: 'StopLogging' } });
    const escaped = record({ eventName: 'List"Buckets' });
    const scan = quickScan(logFile([record({}), nested, escaped]), prefilter, DEFAULT_LIMITS);
    expect(scan?.entries.map((entry) => entry.index)).toEqual([2]);
    const spaced = record({}).replace('"eventName":"ListBuckets"', '"eventName" : "ListBuckets"');
    expect(quickScan(logFile([record({}), spaced]), prefilter, DEFAULT_LIMITS)).toBe(undefined);
  });

  it('does not parse a record for a token of an eventName field found elsewhere in it', () => {
    const elsewhere = record({ requestParameters: { note: 'StopLogging' } });
    const own = record({ eventName: 'StopLogging', eventSource: 'cloudtrail.amazonaws.com' });
    const scan = quickScan(logFile([elsewhere, own]), prefilter, DEFAULT_LIMITS);
    expect(scan?.entries.map((entry) => entry.index)).toEqual([1]);
  });
});

describe('quickScan against the scanner, on log files broken at random (fast-check)', () => {
  /** Whether a record's text is a record replay reads that no detection matches; `not JSON` for a broken one. */
  const skippable = (text: string): boolean | 'not JSON' => {
    let value: { eventName?: unknown; eventSource?: unknown; detail?: unknown };
    try {
      value = JSON.parse(text);
    } catch {
      return 'not JSON';
    }
    if (typeof value.eventName !== 'string' || typeof value.eventSource !== 'string') return false;
    // An EventBridge event is read by its detail: never skipped for its own fields.
    if ('detail' in value || 'detail-type' in value) return false;
    try {
      const event = recordToEvent(value);
      return !detections.some((detection) => detection.matches(event));
    } catch {
      return false;
    }
  };
  const call = fc.constantFrom(
    ['ListBuckets', 's3.amazonaws.com'],
    ['StopLogging', 'cloudtrail.amazonaws.com'],
    ['ConsoleLogin', 'signin.amazonaws.com'],
    ['GetObject', 's3.amazonaws.com'],
  );
  const leaf = fc.oneof(
    fc.string({ maxLength: 8 }),
    fc.constantFrom('Root', 'a/b', 'eventName', 'x"y', 'Success'),
    fc.integer(),
    fc.constant(null),
  );
  const nested = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, leaf, tie('object'), fc.array(tie('value'), { maxLength: 3 })),
    object: fc.dictionary(
      fc.constantFrom('eventName', 'eventSource', 'eventVersion', 'a', 'type', 'detail'),
      tie('value'),
      {
        maxKeys: 3,
      },
    ),
  })).value;
  const element = fc.oneof(
    {
      arbitrary: fc
        .tuple(
          call,
          fc.dictionary(fc.constantFrom('requestParameters', 'userIdentity', 'note', 'detail', 'detail-type'), nested, {
            maxKeys: 3,
          }),
        )
        .map(([[eventName, eventSource], fields]) => record({ eventName, eventSource, ...fields })),
      weight: 8,
    },
    { arbitrary: nested.map((value) => JSON.stringify(value)), weight: 1 },
  );
  /** Text a damaged or concatenated file may hold, put in at a random place. */
  const insert = fc.constantFrom(
    '{',
    '}',
    '[',
    ']',
    '"',
    '\\',
    ',',
    ':',
    ' ',
    '\n',
    '},{"eventVersion":"1"',
    '}]}{"Records":[',
    '\\u0041',
    '\\/',
    '"eventName":"StopLogging",',
    '{"eventVersion":"1.08","eventName":"ListBuckets","eventSource":"s3.amazonaws.com"},',
  );
  const file = fc
    .tuple(
      fc.array(element, { minLength: 1, maxLength: 6 }),
      fc.oneof(fc.constant([]), fc.array(fc.tuple(fc.nat(), insert), { minLength: 1, maxLength: 2 })),
      fc.option(fc.constantFrom('{}', '[]', ' ', '\n', '{"Events":[]}', `{"Records":[${record({})}]}`)),
    )
    .map(([elements, inserts, after]) => {
      let text = logFile(elements);
      for (const [at, piece] of inserts) {
        const place = at % (text.length + 1);
        text = text.slice(0, place) + piece + text.slice(place);
      }
      return text + (after ?? '');
    });

  it('never decides otherwise than the scanner: the same records, every one it parses parsed, and nothing broken skipped', () => {
    let quickRead = 0;
    fc.assert(
      fc.property(file, fc.integer({ min: 3, max: 10 }), fc.integer({ min: 12, max: 80 }), (text, depth, length) => {
        const limits = { ...DEFAULT_LIMITS, maxDepth: depth, maxStringBytes: length };
        const quick = quickScan(text, prefilter, limits);
        if (quick === undefined) return;
        quickRead++;
        const full = scanText(text, 'trail.json', prefilter, limits);
        expect(full.kind, text).toBe('scanned');
        if (full.kind !== 'scanned') return;
        expect(full.stopped, text).toBe(undefined);
        expect(
          full.entries.map((entry) => [entry.container, entry.value, entry.verdict]),
          text,
        ).toEqual(full.entries.map(() => ['Records', 1, 'parse']));
        expect(quick.entries.length + quick.skipped, text).toBe(full.entries.length + full.skipped);
        const parsed = parsedBy(quick);
        for (const entry of full.entries) {
          const quickText = parsed.get(entry.index);
          if (quickText !== undefined) expect(quickText, text).toBe(entry.text);
          // The scanner tests every token on every string; quickScan tests an eventName token on the top-level
          // eventName only. So it may skip more: a record that no detection matches, or one whose members are out of
          // order (a key in an array), which neither reads closer than its strings and brackets.
          else expect(skippable(entry.text ?? ''), `Records[${entry.index}] of ${text}`).not.toBe(false);
        }
        // What quickScan parses more (a token in a key, an escape) is one record's text, whole.
        for (const entry of quick.entries) expect(entry.text, text).toMatch(/^\{.*\}$/s);
      }),
      { numRuns: 3000 },
    );
    // Most files with nothing put in are read the quick way; broken ones mostly are not.
    expect(quickRead).toBeGreaterThan(250);
  });
});
