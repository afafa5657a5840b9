import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StringPrefilter } from '../../functions/core/event-pattern/tokens.js';
import { DEFAULT_LIMITS } from '../../functions/io/input/limits.js';
import { toItem } from '../../functions/io/input/records.js';
import { RecordScanner, type ScanLimits, type ScannedEntry, valueVerdict } from '../../functions/io/input/scan.js';
import { backslashFrom, valuesOver } from '../../functions/io/input/values.js';

/** A pre-filter passing the given strings exactly, and any string starting with one of `prefixes`. */
const prefilterOf = (exact: readonly string[], prefixes: readonly string[] = []): StringPrefilter => {
  const set = new Set(exact);
  const value = (text: string): boolean => set.has(text) || prefixes.some((prefix) => text.startsWith(prefix));
  return { value, raw: (text, start, end) => value(text.slice(start, end)), search: undefined };
};

const LIMITS: ScanLimits = DEFAULT_LIMITS;

/** Scans `pieces` one after another; the entries and why scanning stopped. */
const scan = (
  pieces: readonly string[],
  options: { prefilter?: StringPrefilter; limits?: ScanLimits; multiValue?: boolean } = {},
) => {
  const entries: ScannedEntry[] = [];
  const scanner = new RecordScanner({
    prefilter: options.prefilter,
    limits: options.limits ?? LIMITS,
    emit: (entry) => entries.push(entry),
  });
  scanner.multiValue = options.multiValue ?? false;
  for (const piece of pieces) scanner.push(piece);
  scanner.end();
  return { entries, stop: scanner.stop };
};

/** `container[index] verdict` per entry, for short assertions. */
const brief = (entries: readonly ScannedEntry[]): string[] =>
  entries.map((entry) => `${entry.container}[${entry.index}] ${entry.verdict}`);

/** A text cut into pieces at the given offsets. */
const cut = (text: string, offsets: readonly number[]): string[] => {
  const at = [...new Set(offsets.map((offset) => offset % (text.length + 1)))].sort((a, b) => a - b);
  return [...at, text.length].map((end, index) => text.slice(index === 0 ? 0 : at[index - 1], end));
};

const record = (eventName: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  eventVersion: '1.08',
  userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/alice' },
  eventSource: 'iam.amazonaws.com',
  eventName,
  ...extra,
});

describe('RecordScanner', () => {
  it('splits a CloudTrail log file into its records, compact or pretty-printed, with their text', () => {
    const records = [record('CreateUser'), 'oops', null, record('DeleteUser')];
    for (const text of [JSON.stringify({ Records: records }), JSON.stringify({ Records: records }, null, 2)]) {
      const { entries, stop } = scan([text]);

      expect(stop).toBeUndefined();
      expect(brief(entries)).toEqual(['Records[0] parse', 'Records[1] parse', 'Records[2] parse', 'Records[3] parse']);
      expect(entries.map((entry) => JSON.parse(entry.text as string))).toEqual(records);
    }
  });

  it('skips a record none of whose values passes the pre-filter, in Records always, elsewhere only a record or event', () => {
    const prefilter = prefilterOf(['DeleteUser']);
    const log = JSON.stringify({ Records: [record('CreateUser'), record('DeleteUser'), { eventName: 'CreateUser' }] });
    const array = JSON.stringify([
      record('CreateUser'),
      { version: '0', 'detail-type': 'AWS API Call via CloudTrail', detail: record('CreateUser') },
      { eventName: 'CreateUser', eventVersion: '1.08', eventSource: 'iam.amazonaws.com' },
      'CreateUser',
    ]);

    // An element that does not read as a record (no eventSource) is parsed, so that its error is reported.
    expect(brief(scan([log], { prefilter }).entries)).toEqual([
      'Records[0] skip',
      'Records[1] parse',
      'Records[2] parse',
    ]);
    // An array element is skipped only when its first key says it is a record (eventVersion) or an event (version).
    expect(brief(scan([array], { prefilter }).entries)).toEqual([
      'array[0] skip',
      'array[1] skip',
      'array[2] parse',
      'array[3] parse',
    ]);
  });

  it('tests values, not keys, and decodes a value holding escapes before testing it', () => {
    const prefilter = prefilterOf(['Root', 'a"b']);
    const texts = [
      '{"Records":[{"eventVersion":"1","Root":"x","eventName":"A","eventSource":"B"}]}',
      '{"Records":[{"eventVersion":"1","t":"R\\u006fot","eventName":"A","eventSource":"B"}]}',
      '{"Records":[{"eventVersion":"1","t":"a\\"b","eventName":"A","eventSource":"B"}]}',
      '{"Records":[{"eventVersion":"1","t":"a\\\\","event\\u004eame":"A","eventSource":"B"}]}',
    ];

    expect(texts.map((text) => brief(scan([text], { prefilter }).entries)[0])).toEqual([
      'Records[0] skip',
      'Records[0] parse',
      'Records[0] parse',
      'Records[0] skip',
    ]);
  });

  it('gives the same entries however the text is cut into pieces', () => {
    const prefilter = prefilterOf(['DeleteUser', 'x\\"y\u00e9\ud83d\udd11']);
    const text = `\uFEFF${JSON.stringify(
      {
        Records: [
          record('CreateUser', { requestParameters: { policy: '{"Statement":[{"Effect":"Allow"}]}' } }),
          record('DeleteUser'),
          record('PutUserPolicy', { note: 'x\\"y\u00e9\ud83d\udd11', list: [[], {}, [1, 'a\\'], true] }),
        ],
      },
      null,
      1,
    )}\n`;
    const whole = scan([text], { prefilter });

    expect(brief(whole.entries)).toEqual(['Records[0] skip', 'Records[1] parse', 'Records[2] parse']);
    for (let size = 1; size <= 7; size++) {
      const pieces = Array.from({ length: Math.ceil(text.length / size) }, (_, i) =>
        text.slice(i * size, (i + 1) * size),
      );
      expect(scan(pieces, { prefilter }), `pieces of ${size}`).toEqual(whole);
    }
  });

  it('reports a record nested too deep or holding a string too long, without its text, and reads on', () => {
    const limits = { ...LIMITS, maxDepth: 5, maxStringBytes: 100 };
    // 5,000 levels: more than JSON.stringify can write, so written by hand.
    const deep = JSON.stringify(record('A', { a: 'DEEP' })).replace('"DEEP"', `${'['.repeat(5000)}${']'.repeat(5000)}`);
    const text = `{"Records":[${deep},${JSON.stringify(record('B', { s: 'x'.repeat(101) }))},${JSON.stringify(record('C'))}]}`;

    const { entries, stop } = scan(cut(text, [10, 700, 5000, 10_100]), { limits });

    expect(stop).toBeUndefined();
    expect(brief(entries)).toEqual(['Records[0] deep', 'Records[1] long', 'Records[2] parse']);
    expect(entries[0]?.text).toBeUndefined();
    expect(JSON.parse(entries[2]?.text as string)).toEqual(record('C'));
  });

  it('stops at the records limit, saying where', () => {
    const scanner = new RecordScanner({ limits: { ...LIMITS, maxRecords: 2 }, emit: () => {} });
    scanner.push(JSON.stringify({ Records: [record('A'), record('B'), record('C')] }));
    scanner.end();

    expect(scanner.stop).toEqual({ kind: 'records' });
    expect([scanner.container, scanner.index, scanner.entries]).toEqual(['Records', 2, 2]);
  });

  it('says what it does not read: another shape, text after the value, broken structure', () => {
    expect(scan(['{"Events":[]}']).stop).toEqual({ kind: 'shape' });
    expect(scan([`${JSON.stringify(record('A'))}\n${JSON.stringify(record('B'))}`]).stop).toEqual({ kind: 'shape' });
    expect(scan(['  \n ']).stop).toEqual({ kind: 'shape' });
    expect(scan(['{"Records":[]}{"Records":[]}']).stop).toEqual({ kind: 'trailing' });
    expect(scan(['[{"a":1}]{"a":[}']).stop).toEqual({ kind: 'trailing' });
    expect(scan(['{"a":[}']).stop).toEqual({ kind: 'shape' });
    // Among values read one after another (log files, cat), a broken one is an error of its own, and reading goes on
    // at the next log file, in whatever piece it comes (none here).
    const second = scan(['[{"a":1}]{"a":[}'], { multiValue: true });
    expect(second.stop).toBeUndefined();
    expect(brief(second.entries)).toEqual(['array[0] parse', 'value[0] broken']);
    // Members after Records (none in a log file) are read to the object's close, a `}` in a string not counted.
    const members = scan(['{"Records":[{"a":1}],"x":{"y":"}"}}\n']);
    expect(members.stop).toBeUndefined();
    expect(members.entries.at(-1)).toMatchObject({ container: 'members', verdict: 'parse', text: '{"x":{"y":"}"}}' });
  });

  it('reads a second Records array too, which JSON.parse would keep alone, hiding the first', () => {
    const [a, b] = [JSON.stringify(record('A')), JSON.stringify(record('B'))];
    const text = `{"Records":[${a}], \n "Records" : [${b}],"x":{"y":1}}`;
    const whole = scan([text]);
    expect(whole.stop).toBeUndefined();
    // Then the members beside them, as an object of their own (read as a record only if they look like one).
    expect(whole.entries.map((entry) => [entry.container, entry.text])).toEqual([
      ['Records', a],
      ['Records', b],
      ['members', '{"x":{"y":1}}'],
    ]);
    for (let at = 1; at < text.length; at++) expect(scan([text.slice(0, at), text.slice(at)]), `${at}`).toEqual(whole);
  });

  it('gives the members beside Records as an object of their own, in pieces split anywhere', () => {
    const prefilter = prefilterOf(['DeleteUser']);
    const [a, b] = [JSON.stringify(record('A')), JSON.stringify(record('DeleteUser')).slice(1)];
    const passing = `{"Records":[${a}], ${b}`;
    const whole = scan([passing], { prefilter });
    expect(brief(whole.entries)).toEqual(['Records[0] skip', 'members[1] parse']);
    expect(JSON.parse(whole.entries[1]?.text as string)).toEqual(record('DeleteUser'));
    for (let at = 1; at < passing.length; at++) {
      expect(scan([passing.slice(0, at), passing.slice(at)], { prefilter }), `${at}`).toEqual(whole);
    }
    // None passes: given all the same, since what they hold may be encoded out of the pre-filter's sight.
    const quiet = scan([`{"Records":[${a}],${JSON.stringify(record('B')).slice(1)}`], { prefilter });
    expect(brief(quiet.entries)).toEqual(['Records[0] skip', 'members[1] parse']);
    // Past a limit, or longer than a record may be: reported, not held.
    const big = `{"Records":[],"eventName":"DeleteUser","pad":"${'x'.repeat(200)}"}`;
    const limits = { ...LIMITS, maxStringBytes: 50 };
    expect(brief(scan([big], { prefilter, limits }).entries)).toEqual(['members[0] long']);
    // 34 MiB of members, past maxRecordChars (32 MiB), given 1 MiB at a time.
    const huge = `{"Records":[],"eventName":"DeleteUser","pad":[${'"x",'.repeat(34 * 262_144)}"x"]}`;
    const pieces = Array.from({ length: Math.ceil(huge.length / 2 ** 20) }, (_, k) =>
      huge.slice(k * 2 ** 20, (k + 1) * 2 ** 20),
    );
    expect(brief(scan(pieces, { prefilter }).entries)).toEqual(['members[0] big']);
  });

  it('costs a record with broken structure only itself: reading goes on at the next record start', () => {
    const [a, b] = [JSON.stringify(record('A')), JSON.stringify(record('B'))];
    const cases: [string, string, string][] = [
      ['a mismatched bracket', `{"Records":[${a},{"eventVersion":"1","x":[1,}},${b}]}`, 'mismatched "}" on line 1'],
      [
        'a stray bracket',
        `{"Records":[${a},{"eventVersion":"1","x":1}}},${b}]}`,
        'unexpected "}" in an array on line 1',
      ],
      ['a string cut short', `{"Records":[${a},{"eventVersion":"1","x":"cu,${b}]}`, 'unexpected text after a string'],
      // Shown at the next record's `{`, where a key should be: the record cut short costs only itself.
      [
        'a record without its last brace',
        `{"Records":[${a},${a.slice(0, -1)},${b}]}`,
        'unexpected "{" where a key should be on line 1',
      ],
      ['two commas', `{"Records":[${a},,${b}]}`, 'unexpected "," in an array on line 1'],
      ['an array of records', `[${a},{"eventVersion":"1","x":[}],${b}]`, 'mismatched "}" on line 1'],
    ];
    for (const [what, text, message] of cases) {
      const { entries, stop } = scan([text]);
      expect(stop, what).toBeUndefined();
      const container = text.startsWith('[') ? 'array' : 'Records';
      // Damage between records breaks none: the error takes the next record's index, which the record keeps.
      const between = message.includes('in an array');
      const expected = between
        ? ['0 parse', ...(what === 'a stray bracket' ? ['1 parse', '2 broken', '2 parse'] : ['1 broken', '1 parse'])]
        : ['0 parse', '1 broken', '2 parse'];
      expect(brief(entries), what).toEqual(
        expected.map((entry) => `${container}[${entry.split(' ')[0]}] ${entry.split(' ')[1]}`),
      );
      expect(entries.find((entry) => entry.verdict === 'broken')?.message, what).toContain(message);
      expect(JSON.parse(entries.at(-1)?.text as string), what).toEqual(record('B'));
    }
  });

  it('shows damage that would make the records after it its own insides at the record, however cut', () => {
    // Pairing brackets alone read each of these as a record that swallows the ones after it, its damage showing only
    // at the array's end (or never): every record after it read again from there, or lost once it was too long to hold.
    const [a, b] = [JSON.stringify(record('A')), JSON.stringify(record('B'))];
    const cases: [string, string, string][] = [
      ['its last brace missing', `${a.slice(0, -1)},${b}`, 'unexpected "{" where a key should be'],
      ['an array opened at its end', `${a.slice(0, -1)},"x":[,${b}`, 'unexpected ","'],
      ['a key inside an array', '{"eventVersion":"1","a":[1,"b":2]}', 'unexpected key inside an array'],
      ['a key where a value should be', '{"eventVersion":"1","a":"b":"c"}', 'unexpected key where a value should be'],
      ['an object after a value in an array', '{"eventVersion":"1","a":[1{"b":2}]}', 'unexpected "{" after a value'],
      [
        'an array after a literal',
        `{"eventVersion":"1","readOnly":true[${b}]}`,
        'unexpected "[" where a key should be',
      ],
      ['a key without its value', '{"eventVersion":"1","a",{"b":2}}', 'unexpected string where a key should be'],
      // A gzip member's text after a bit flip: a back-reference copied the wrong bytes into a nested object.
      [
        'text copied into an object',
        '{"eventVersion":"1","items":[{"value":"v2131:role/i-2128","sessionContext36-x","eventID":"q"}]}',
        'unexpected string where a key should be',
      ],
      ['a string after a value in an array', '{"eventVersion":"1","a":[1"b"]}', 'unexpected string after a value'],
    ];
    for (const [what, broken, message] of cases) {
      for (const indent of [undefined, 2]) {
        const before = JSON.stringify(record('Before'), null, indent);
        const after = JSON.stringify(record('After'), null, indent);
        const text = `{"Records":[${before},${broken},${after}]}`;
        for (const offsets of [[], [text.indexOf(broken) + broken.length - 3], [5, 40, 77, 200]]) {
          const { entries, stop } = scan(cut(text, offsets));
          const label = `${what}, indent ${indent}, cut at ${offsets.join(' ')}`;
          expect(stop, label).toBeUndefined();
          expect(brief(entries).slice(0, 2), label).toEqual(['Records[0] parse', 'Records[1] broken']);
          expect(entries[1]?.message, label).toContain(message);
          expect(JSON.parse(entries.at(-1)?.text as string), label).toEqual(record('After'));
        }
      }
    }
  });

  it('reads to the end of a large log file with records cut short, each costing only itself', () => {
    // Once each cut record was read to the array's end and the text after it read again: ten in 12 MB made the
    // scanner stop ("broken structure again and again"), the rest of the file and the log files after it unread.
    const records = Array.from({ length: 60_000 }, (_, i) => {
      const text = JSON.stringify(record(`E${i}`, { requestParameters: { note: 'n'.repeat(150) } }));
      return i % 6000 === 3 ? text.slice(0, -1) : text;
    });
    const text = `{"Records":[${records.join(',')}]}\n${JSON.stringify({ Records: [record('Next')] })}`;
    const pieces = Array.from({ length: Math.ceil(text.length / 65_536) }, (_, i) =>
      text.slice(i * 65_536, (i + 1) * 65_536),
    );
    const { entries, stop } = scan(pieces, { multiValue: true });
    expect(stop).toBeUndefined();
    expect(entries.filter((entry) => entry.verdict === 'broken').map((entry) => entry.index)).toEqual(
      Array.from({ length: 10 }, (_, k) => k * 6000 + 3),
    );
    expect(entries.filter((entry) => entry.verdict === 'parse')).toHaveLength(59_991);
    expect(JSON.parse(entries.at(-1)?.text as string).eventName).toBe('Next');
  });

  it('ends a file cut short with a broken entry, the records before it and any whole one in the cut part standing', () => {
    const [a, b] = [JSON.stringify(record('A')), JSON.stringify(record('B'))];
    const inside = scan([`{"Records":[${a},${b.slice(0, 40)}`]);
    expect(brief(inside.entries)).toEqual(['Records[0] parse', 'Records[1] broken']);
    expect(inside.entries[1]?.message).toMatch(/^this record never closes/);
    const between = scan([`{"Records":[${a},`]);
    expect(brief(between.entries)).toEqual(['Records[0] parse', 'Records[1] broken']);
    expect(between.entries[1]?.message).toMatch(/^the text ends before the log file closes/);
    expect(brief(scan([`{"Records":[${a}]`]).entries)).toEqual(['Records[0] parse', 'Records[1] broken']);
    // A record cut short with whole ones after it in the text (a cut string turns the quotes after it inside out).
    const swallowed = scan([`{"Records":[${a},{"eventVersion":"1","x":"cu,${b},${b}`]);
    expect(brief(swallowed.entries)).toEqual([
      'Records[0] parse',
      'Records[1] broken',
      'Records[2] parse',
      'Records[3] parse',
      'Records[4] broken',
    ]);
    expect(swallowed.entries[1]?.message).toMatch(/^unexpected text after a string on line 1/);
    for (const entry of [inside, between, swallowed]) expect(entry.stop).toBeUndefined();
  });

  it('reads on after broken structure at the true line, in a pretty-printed file and into the next log file', () => {
    const pretty = JSON.stringify({ Records: [record('A'), record('X', { b: [1, 2] }), record('B')] }, null, 2);
    const broken = pretty.replace(/"b": \[\n\s*1,\n\s*2\n\s*\]/, '"b": [1,}');
    expect(broken).not.toBe(pretty);
    const { entries } = scan([broken]);
    expect(brief(entries)).toEqual(['Records[0] parse', 'Records[1] broken', 'Records[2] parse']);
    const line = broken.split('\n').findIndex((text) => text.includes('[1,}')) + 1;
    expect(entries[1]?.message).toBe(`mismatched "}" on line ${line}; reading goes on at the next record`);
    // Damage in the first of two log files one after another: the second is read as a value of its own.
    const first = JSON.stringify({ Records: [record('A'), { eventVersion: '1', x: 'cut' }] }).replace('"cut"', '"cu');
    const second = JSON.stringify({ Records: [record('B')] });
    const two = scan([`${first}\n${second}`], { multiValue: true });
    expect(two.entries.map((e) => `${e.value} ${e.valueLine} ${e.container}[${e.index}] ${e.verdict}`)).toEqual([
      '1 1 Records[0] parse',
      '1 1 Records[1] broken',
      '2 2 Records[0] parse',
    ]);
  });

  it('tells a string cut short, a missing brace or comma, and an event array from the record in its detail', () => {
    const [a, b] = [JSON.stringify(record('A')), JSON.stringify(record('B', { say: 'a "quoted" word' }))];
    const cases: [string, string, string[]][] = [
      // The quotes after a cut string pair the wrong way: text follows what reads as a string, at once.
      [
        'a cut string, then escaped quotes',
        `{"Records":[${a},{"eventVersion":"1","x":"cu,${b},${a}]}`,
        ['0 parse', '1 broken', '2 parse', '3 parse'],
      ],
      [
        'a missing opening brace',
        `{"Records":[${a},"eventVersion":"1","x":1},${b}]}`,
        ['0 parse', '1 broken', '2 parse'],
      ],
      ['a missing comma', `{"Records":[${a}\n${b}]}`, ['0 parse', '1 broken', '1 parse']],
    ];
    for (const [what, text, expected] of cases) {
      const { entries, stop } = scan([text]);
      expect(stop, what).toBeUndefined();
      expect(brief(entries), what).toEqual(expected.map((entry) => `Records[${entry.replace(' ', '] ')}`));
    }
    const event = (id: string, resources: string) =>
      `{"version":"0","id":"${id}","detail-type":"AWS API Call via CloudTrail","source":"aws.cloudtrail","resources":${resources},"detail":${a}}`;
    const deep = scan([`{"Records":[${a},{"eventVersion":"1","x":${'['.repeat(70)},${b},${a}]}`]);
    expect(brief(deep.entries)).toEqual([
      'Records[0] parse',
      'Records[1] broken',
      'Records[2] parse',
      'Records[3] parse',
    ]);
    const events = scan([`[${event('1', '[]')},${event('2', '[}')},${event('3', '[]')}]`]);
    expect(brief(events.entries)).toEqual(['array[0] parse', 'array[1] broken', 'array[2] parse']);
    expect(JSON.parse(events.entries[2]?.text as string).id).toBe('3');
  });

  it('reads on to the end past thousands of broken records, each costing only itself', () => {
    // A bit flipped in a gzip member breaks every tenth record after it. Once, each broken record counted the rest of
    // its piece as scanned again, and the scanner stopped thousands of records early, the file's end never reached.
    const records = Array.from({ length: 30_000 }, (_, i) =>
      i % 10 === 5 ? `{"eventVersion":"1.08","n":${i},"s":"ab"c"}` : `{"eventVersion":"1.08","n":${i},"s":"abc"}`,
    );
    const text = `{"Records":[${records.join(',')}]}`;
    const pieces = Array.from({ length: Math.ceil(text.length / 65_536) }, (_, i) =>
      text.slice(i * 65_536, (i + 1) * 65_536),
    );
    const { entries, stop } = scan(pieces);
    expect(stop).toBeUndefined();
    expect(entries.filter((entry) => entry.verdict === 'broken')).toHaveLength(3000);
    expect(entries.filter((entry) => entry.verdict === 'parse')).toHaveLength(27_000);
    expect(entries.at(-1)).toMatchObject({ index: 29_999, verdict: 'parse' });
  });

  it('stops reading on, in linear time, when every record after the damage is broken too', () => {
    // Each record opens an array it never closes, and the next record is its element: each holds the ones after it
    // and, within a depth limit raised that far, runs to the end of the text, which would be scanned again and again
    // from each record start.
    const text = `{"Records":[${Array.from({ length: 3000 }, (_, i) => `{"eventVersion":"1","n":${i},"a":[`).join('')}`;
    const { entries, stop } = scan([text], { limits: { ...LIMITS, maxDepth: 100_000 } });
    expect(stop).toMatchObject({ kind: 'syntax', message: expect.stringMatching(/^broken structure again and again/) });
    expect(entries.length).toBeGreaterThan(10);
    expect(entries.length).toBeLessThan(3000);
  });

  it('never takes valid JSON for broken structure, however it is laid out and cut', () => {
    // Any JSON values in the records (strings with quotes, backslashes, colons, brackets; nested arrays of objects),
    // any indentation, cut anywhere: every record comes out whole, as JSON.parse reads it.
    const extra = fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 4 });
    fc.assert(
      fc.property(
        fc.array(extra, { minLength: 1, maxLength: 5 }),
        fc.constantFrom(undefined, 2, '\t', ' \n '),
        fc.array(fc.nat(), { maxLength: 10 }),
        (extras, indent, offsets) => {
          const records = extras.map((fields, i) => ({ ...record(`E${i}`), fields }));
          const text = JSON.stringify({ Records: records }, null, indent as string | number | undefined);
          const { entries, stop } = scan(cut(text, offsets));
          expect(stop).toBeUndefined();
          expect(entries.map((entry) => entry.verdict)).toEqual(records.map(() => 'parse'));
          // As JSON.parse reads the whole text (a generated -0 is written, and read back, as 0).
          expect(entries.map((entry) => JSON.parse(entry.text as string))).toEqual(JSON.parse(text).Records);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('reads broken structure the same whatever pieces the text comes in', () => {
    const [a, b] = [JSON.stringify(record('A')), JSON.stringify(record('B', { note: 'x'.repeat(200) }))];
    const texts = [
      `{"Records":[${a},{"eventVersion":"1","x":[1,}},${b},${a}]}`,
      `{"Records":[${a},{"eventVersion":"1","x":"cu,${b},${a}]}`,
      `{\n  "Records": [\n    ${a},\n    {"eventVersion":"1",\n "x":[}\n}, ${b}\n]}\n${JSON.stringify({ Records: [a] })}`,
      `[${a},,${b}]`,
      // Too deep and broken: once dropped when the limit broke, its text is searched for the records it swallowed.
      `{"Records":[${a},{"eventVersion":"1","x":${'['.repeat(70)},${b},${a}]}`,
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...texts),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.boolean(),
        (text, offsets, filtered) => {
          const prefilter = filtered ? prefilterOf(['A']) : undefined;
          const whole = scan([text], { prefilter, multiValue: true });
          const pieces = scan(cut(text, offsets), { prefilter, multiValue: true });
          expect(pieces.entries).toEqual(whole.entries);
          expect(pieces.stop).toEqual(whole.stop);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('with multiValue ends a log file cut after a record where the next log file starts, however cut into pieces', () => {
    // A log file cut after a record's `,` (a damaged gzip member), then the next log file: once read as its record.
    const text = `{"Records":[${JSON.stringify(record('A'))},\n${JSON.stringify({ Records: [record('B'), record('C')] })}`;
    const expected = [
      ['Records', 0, 1, 'parse'],
      ['Records', 1, 1, 'broken'],
      ['Records', 0, 2, 'parse'],
      ['Records', 1, 2, 'parse'],
    ];
    for (let cut = 0; cut <= text.length; cut++) {
      const { entries, stop } = scan([text.slice(0, cut), text.slice(cut)], { multiValue: true });
      expect(stop, `cut at ${cut}`).toBeUndefined();
      expect(
        entries.map((e) => [e.container, e.index, e.value, e.verdict]),
        `cut at ${cut}`,
      ).toEqual(expected);
    }
    expect(scan([text], { multiValue: true }).entries[1]?.message).toBe(
      'a log file starts on line 2 where a record should: the one before it is cut short; reading goes on at the next record',
    );
  });

  it('with multiValue reads values one after another, with the line each starts on', () => {
    const text = `${JSON.stringify({ Records: [record('A')] })}${JSON.stringify([record('B')])}\n${JSON.stringify(record('C'))}`;

    const { entries, stop } = scan([text], { multiValue: true });

    expect(stop).toBeUndefined();
    expect(
      entries.map((e) => [e.container, e.index, e.value, e.valueLine, e.valueOnLine, e.sharesLine, e.verdict]),
    ).toEqual([
      ['Records', 0, 1, 1, 1, false, 'parse'],
      ['array', 0, 2, 1, 2, true, 'parse'],
      ['value', 0, 3, 2, 1, false, 'parse'],
    ]);
  });
});

describe('backslashFrom', () => {
  it('finds the first backslash at or after a position, whatever was searched before', () => {
    const text = 'ab\\cd\\\\e';
    expect([0, 2, 3, 5, 6, 7, 9].map((from) => backslashFrom(text, from, -7))).toEqual([2, 2, 5, 5, 6, -7, -7]);
    // Searching a longer text first leaves nothing behind that a search of another text sees.
    expect(backslashFrom(`${'x'.repeat(100)}\\`, 50, -7)).toBe(100);
    expect(backslashFrom('x\\', 0, -7)).toBe(1);
    expect(backslashFrom('', 0, -7)).toBe(-7);
  });
});

describe('valuesOver', () => {
  it('counts the commas between values, not those in strings, escaped quotes and all', () => {
    const values = (n: number) => `[${Array(n).fill('{}').join(',')}]`;
    expect(valuesOver(values(10), 9)).toBe(true);
    expect(valuesOver(values(10), 10)).toBe(false);
    // 10 values, 9 commas between them; 20 in its strings, half of them after an escaped quote.
    const text = JSON.stringify([...Array(9).fill(1), 'a,b\\",c'.repeat(10)]);
    expect(text).toContain('\\\\\\",c');
    expect(valuesOver(text, 10)).toBe(false);
    expect(valuesOver(text, 9)).toBe(true);
    expect(valuesOver('[1,2,3]', 2)).toBe(true);
    expect(valuesOver('[1,2,3]', 3)).toBe(false);
    // A text too short to hold more: not counted.
    expect(valuesOver('[1,2,3]', 4)).toBe(false);
  });
});

describe('valueVerdict', () => {
  const prefilter = prefilterOf(['Root']);

  it('skips one record or event none of whose values passes, and parses anything else', () => {
    expect(valueVerdict(JSON.stringify(record('A')), prefilter, LIMITS)).toBe('skip');
    expect(valueVerdict(JSON.stringify({ ...record('A'), t: 'Root' }), prefilter, LIMITS)).toBe('parse');
    expect(valueVerdict(JSON.stringify({ Records: [record('A')] }), prefilter, LIMITS)).toBe('parse');
    expect(valueVerdict(`${JSON.stringify(record('A'))}{}`, prefilter, LIMITS)).toBe('parse');
    expect(valueVerdict(JSON.stringify(record('A')), undefined, LIMITS)).toBe('parse');
    expect(valueVerdict('not json', prefilter, LIMITS)).toBe('parse');
  });

  it('says deep or long for a value breaking those limits', () => {
    expect(valueVerdict(`{"a":${'['.repeat(70)}${']'.repeat(70)}}`, prefilter, LIMITS)).toBe('deep');
    expect(valueVerdict(`{"a":"${'x'.repeat(101)}"}`, prefilter, { ...LIMITS, maxStringBytes: 100 })).toBe('long');
  });
});

// ── The scanner's half of the pre-filter's guarantee ─────────────────────────────────────────────────────────────
// The tokens engineer proves: a record a detection matches has a string value that passes the pre-filter. Here: the
// scanner parses a record exactly when some string value of it (decoded, at any depth) passes value().

/** Every string value of a parsed JSON value, at any depth (keys left out: patterns test values only). */
const stringValues = (value: unknown): string[] => {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringValues);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(stringValues);
  return [];
};

/** Strings drawn from a few tokens and their neighbours, escapes, unicode (surrogate pairs), quotes and backslashes. */
const TOKENS = ['Root', 'StopLogging', 'rootwatch-', 'a"b', 'back\\slash', 'é✓', '🔑'];
const text = fc.oneof(
  fc.constantFrom(...TOKENS),
  fc.constantFrom(...TOKENS).map((token) => `${token}x`),
  fc.constantFrom(...TOKENS).map((token) => token.slice(1)),
  fc.string({ maxLength: 6, unit: 'binary' }),
  fc.string({ maxLength: 6 }),
);
const jsonish = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    text,
    fc.integer(),
    fc.constantFrom(true, false, null),
    tie('array'),
    tie('object'),
  ),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(text, tie('value'), { maxKeys: 4 }),
}));
/** Records and events, mostly well-formed (string eventName and eventSource), some not. */
const recordArbitrary = fc
  .tuple(
    fc.dictionary(text, jsonish.value, { maxKeys: 5 }),
    fc.constantFrom('eventVersion', 'version'),
    fc.record({ eventName: fc.oneof(text, jsonish.value), eventSource: text }, { requiredKeys: [] }),
    fc.boolean(),
  )
  .map(([fields, first, names, asEvent]) =>
    asEvent
      ? { [first]: '0', 'detail-type': 'AWS API Call via CloudTrail', ...fields, detail: { ...names, ...fields } }
      : { [first]: '1.08', ...names, ...fields },
  );

/**
 * JSON text of a value, escaping some characters (\uXXXX, or \/) as other writers do; `indent` pretty-prints;
 * `spaced` puts a space before every `:` `,` `}` `]` (the scanner's fast path wants one of them right after a string).
 */
const writeJson = (value: unknown, indent: string, escapeEvery: number, spaced = false): string => {
  const json = JSON.stringify(value, null, indent);
  if (escapeEvery === 0 && !spaced) return json;
  let out = '';
  let inString = false;
  let count = 0;
  for (let i = 0; i < json.length; i++) {
    const char = json[i] as string;
    if (inString && char === '\\') {
      // An escape JSON.stringify wrote (\n, \", \uXXXX for a lone surrogate) is kept whole.
      const length = json[i + 1] === 'u' ? 6 : 2;
      out += json.slice(i, i + length);
      i += length - 1;
      continue;
    }
    if (char === '"') inString = !inString;
    else if (!inString && spaced && ':,}]'.includes(char)) out += ' ';
    else if (inString && escapeEvery > 0 && ++count % escapeEvery === 0) {
      out += char === '/' ? '\\/' : `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
      continue;
    }
    out += char;
  }
  return out;
};

describe('RecordScanner: property', () => {
  it('parses a record exactly when one of its string values, decoded, passes the pre-filter', () => {
    fc.assert(
      fc.property(
        fc.array(recordArbitrary, { minLength: 1, maxLength: 4 }),
        fc.subarray(TOKENS),
        fc.constantFrom('', ' ', '\t', '  '),
        fc.nat({ max: 5 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.boolean(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: -2, max: 2 })), { maxLength: 3 }),
        (records, tokens, indent, escapeEvery, offsets, spaced, nearEscapes) => {
          const passes = prefilterOf(
            tokens,
            tokens.filter((token) => token.endsWith('-')),
          );
          // raw() is given only a string's content without backslashes (escapes are decoded and go to value()).
          const prefilter: StringPrefilter = {
            search: undefined,
            value: passes.value,
            raw: (t, start, end) => {
              if (t.slice(start, end).includes('\\')) throw new Error(`raw() given escapes: ${t.slice(start, end)}`);
              return passes.raw(t, start, end);
            },
          };
          // Skipped: none of its string values passes, and it reads as a record or event (else its error is due).
          const expected = records.map((r) =>
            stringValues(r).some((s) => prefilter.value(s)) || toItem(r, 'f', 'p').kind === 'error' ? 'parse' : 'skip',
          );
          const recordTexts = records.map((r) => writeJson(r, indent, escapeEvery, spaced));
          const log = `{${indent ? '\n' : ''}"Records" : [${recordTexts.join(`,${indent ? '\n' : ''}`)}]}`;
          // Pieces cut anywhere, and also just before, at or after a backslash (an escape split between pieces).
          const backslashes = [...log.matchAll(/\\/g)].map((match) => match.index);
          const nearCuts =
            backslashes.length === 0
              ? []
              : nearEscapes.map(([k, d]) => Math.max(0, (backslashes[k % backslashes.length] as number) + d));

          const { entries, stop } = scan(cut(log, [...offsets, ...nearCuts]), { prefilter });

          expect(stop).toBeUndefined();
          expect(entries.map((entry) => entry.verdict)).toEqual(expected);
          for (const [index, entry] of entries.entries()) {
            if (entry.verdict === 'parse') expect(JSON.parse(entry.text as string)).toEqual(records[index]);
          }
          // The same record on its own (a line of JSON Lines, an element of an array): skipped only when its first
          // key says it is a record or an event (an integer-like key, which JavaScript puts first, may precede it).
          const alone = records.map((r, i) =>
            ['eventVersion', 'version'].includes(Object.keys(r)[0] as string) ? expected[i] : 'parse',
          );
          expect(recordTexts.map((t) => valueVerdict(t, prefilter, LIMITS))).toEqual(alone);
          expect(scan([`[${recordTexts.join(',')}]`], { prefilter }).entries.map((e) => e.verdict)).toEqual(alone);
        },
      ),
      { numRuns: 400 },
    );
  });
});
