/**
 * The input limits (io/input/limits.ts) against the attacks the issue names, at small scale by lowering the limits: a
 * gzip bomb, JSON nested 5,000 deep, a string of many MB, a file of too many records, and a pretty-printed log file
 * far bigger than what is held whole. Each breach is one error naming the file, the position, the limit and its flag;
 * the rest of the input is still read; nothing is held whole.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDetections } from '../../functions/io/detections.js';
import { type InputItem, type ReadInputOptions, readInputBatches } from '../../functions/io/input/read-input.js';
import { runCliCaptured } from '../helpers/cli.js';
import { readSample } from '../helpers/samples.js';

const MIB = 1024 * 1024;
let dir: string;

const record = (eventName: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  eventVersion: '1.08',
  userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/alice' },
  eventTime: '2025-04-01T12:00:00Z',
  eventSource: 'iam.amazonaws.com',
  eventName,
  awsRegion: 'us-east-1',
  ...extra,
});
const log = (records: unknown[]): string => JSON.stringify({ Records: records });

const write = (name: string, content: string | Buffer): string => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

/** `record <position> <eventName>` or `error <message>` per item, the temp dir left out. */
const read = async (paths: string[], options: ReadInputOptions = {}): Promise<string[]> => {
  const lines: string[] = [];
  for await (const batch of readInputBatches(paths, options)) {
    for (const item of batch) lines.push(describe_(item));
  }
  return lines;
};
const describe_ = (item: InputItem): string =>
  item.kind === 'error'
    ? `error ${item.error.message.replaceAll(`${dir}/`, '')}`
    : item.kind === 'record'
      ? `record ${item.position} ${String(item.record.eventName)}`
      : `event ${item.position}`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rootwatch-limits-'));
  mkdirSync(join(dir, 'sub'), { recursive: true });
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('input limits', () => {
  it('stops a gzip bomb of zeros at the decompressed size limit, and reads the next file', async () => {
    const bomb = write('bomb.json.gz', gzipSync(Buffer.alloc(50 * MIB)));
    const next = write('next.json', log([record('After')]));

    expect(await read([bomb, next], { limits: { maxFileBytes: 10 * MIB } })).toEqual([
      'error bomb.json.gz: holds more than 10 MiB of text (gunzipped, if gzip): the rest of the file is not read (--max-file-bytes)',
      'record Records[0] After',
    ]);
  });

  it('stops a log file past the decompressed size limit where it got to, the records before it standing', async () => {
    const records = Array.from({ length: 100_000 }, (_, i) => record(`E${i}`));
    const big = write('big-log.json.gz', gzipSync(log(records)));
    const next = write('next-log.json', log([record('After')]));

    const items = await read([big, next], { limits: { maxFileBytes: 10 * MIB } });

    const error = items.findIndex((line) => line.startsWith('error'));
    expect(error).toBeGreaterThan(1000);
    expect(items.slice(0, error)).toEqual(records.slice(0, error).map((_, i) => `record Records[${i}] E${i}`));
    expect(items.slice(error)).toEqual([
      `error big-log.json.gz (Records[${error}]): holds more than 10 MiB of text (gunzipped, if gzip): the rest of the file is not read (--max-file-bytes)`,
      'record Records[0] After',
    ]);
  });

  it('reports a record nested 5,000 deep at its position, with the default limit, and reads on', async () => {
    const deep = JSON.stringify(record('Deep', { requestParameters: 'NEST' })).replace(
      '"NEST"',
      `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`,
    );
    const trail = write(
      'deep.json',
      `{"Records":[${JSON.stringify(record('Before'))},${deep},${JSON.stringify(record('After'))}]}`,
    );
    const lines = write(
      'deep.jsonl',
      `${JSON.stringify(record('Before'))}\n${deep}\n${JSON.stringify(record('After'))}\n`,
    );

    expect(await read([trail, lines])).toEqual([
      'record Records[0] Before',
      'error deep.json (Records[1]): nested deeper than 64 levels: skipped (--max-depth)',
      'record Records[2] After',
      'record line 1 Before',
      'error deep.jsonl (line 2): nested deeper than 64 levels: skipped (--max-depth)',
      'record line 3 After',
    ]);
  });

  it('costs only the record too deep when log files follow one another (cat), from a file or stdin', async () => {
    const deep = JSON.stringify(record('Deep', { requestParameters: 'NEST' })).replace(
      '"NEST"',
      `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`,
    );
    const joined = `${log([record('First')])}{"Records":[${deep},${JSON.stringify(record('After'))}]}`;
    const file = write('cat.json', joined);
    const expected = (name: string) => [
      'record line 1, value 1, Records[0] First',
      `error ${name} (line 1, value 2, Records[0]): nested deeper than 64 levels: skipped (--max-depth)`,
      'record line 1, value 2, Records[1] After',
    ];

    expect(await read([file])).toEqual(expected('cat.json'));
    expect(
      await read(['-'], {
        stdin: Readable.from([gzipSync(log([record('First')])), gzipSync(joined.slice(joined.indexOf('}{') + 1))]),
      }),
    ).toEqual(expected('<stdin>'));
  });

  it('reports a root record nested 5,000 deep in a log file as CloudTrail writes it, read with the pre-filter', async () => {
    // The compact shape and a record the pre-filter passes: the fast path of quick-scan.ts, which must not parse it.
    const root = { userIdentity: { type: 'Root', arn: 'arn:aws:iam::111122223333:root' } };
    const deep = JSON.stringify(record('Deep', { ...root, requestParameters: 'NEST' })).replace(
      '"NEST"',
      `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`,
    );
    const trail = write(
      'deep-root.json',
      `{"Records":[${JSON.stringify(record('Before', root))},${deep},${JSON.stringify(record('After', root))}]}`,
    );
    const patterns = loadDetections().flatMap((detection) => detection.patterns);

    expect(await read([trail], { patterns, workers: 0 })).toEqual([
      'record Records[0] Before',
      'error deep-root.json (Records[1]): nested deeper than 64 levels: skipped (--max-depth)',
      'record Records[2] After',
    ]);
  });

  it('reads what a compact log file does not hold alone as without the pre-filter, with workers and without', async () => {
    // Tried as an attacker would against the fast path: each file once was read short (a record lost or not reported).
    const patterns = loadDetections().flatMap((detection) => detection.patterns);
    const quiet = JSON.stringify(record('ListBuckets', { eventSource: 's3.amazonaws.com' }));
    const stop = JSON.stringify(record('StopLogging', { eventSource: 'cloudtrail.amazonaws.com' }));
    const lookup = JSON.stringify({ Events: [{ EventId: 'e1', EventName: 'StopLogging', CloudTrailEvent: stop }] });
    const deep = quiet.replace('}', ',"requestParameters":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":1}}}}}}}}}');
    const files = {
      'then-lookup-events.json': `{"Records":[${quiet}]}${lookup}`,
      'object-after-records.json': `{"Records":[${quiet}],"x":[{"a":1},${stop}]}`,
      'stray-bracket.json': `{"Records":[${quiet.replace('}', ',"requestParameters":]}')},${stop}]}`,
      'empty-object.json': `{"Records":[${quiet},{},${stop}]}`,
      'nested-source.json': `{"Records":[${quiet.replace('"eventSource"', '"requestParameters":{"eventSource"').replace(',"eventName"', '},"eventName"')},${stop}]}`,
      'nested-start.json': `{"Records":[${quiet.replace('}', ',"requestParameters":{"l":[{"a":1},{"eventVersion":"1","eventName":"GetObject","eventSource":"s3.amazonaws.com"}]}}')},${stop}]}`,
      'deep-quiet.json': `{"Records":[${deep},${stop}]}`,
      'event-shaped.json': `{"Records":[{"detail-type":"AWS API Call via CloudTrail","eventName":"x","eventSource":"x","detail":${stop}}]}`,
    };
    for (const [name, text] of Object.entries(files)) {
      const path = write(name, text);
      const limits = { maxDepth: 8 };
      const plain = await read([path], { limits });
      // The pre-filter only leaves out records no detection can match: the rest, errors included, is the same.
      const relevant = plain.filter((line) => !line.includes('ListBuckets') && !line.endsWith(' GetObject'));
      for (const workers of [0, 2]) {
        expect(await read([path], { patterns, workers, limits }), `${name}, ${workers} workers`).toEqual(relevant);
      }
    }
    // The alert the first file hides is read.
    expect(await read([join(dir, 'then-lookup-events.json')], { patterns })).toEqual([
      'record line 1, value 2, Events[0].CloudTrailEvent StopLogging',
    ]);
  });

  it('gives a one-line log file named as JSON Lines the same positions with the pre-filter as without', async () => {
    const patterns = loadDetections().flatMap((detection) => detection.patterns);
    const path = write('one-line.jsonl', `{"Records":[{"eventName":"x"},${JSON.stringify(record('StopLogging'))}]}\n`);
    const expected = [
      'error one-line.jsonl (line 1, Records[0]): not a CloudTrail record or EventBridge event: missing eventSource',
      'record line 1, Records[1] StopLogging',
    ];
    expect(await read([path])).toEqual(expected);
    for (const workers of [0, 2]) expect(await read([path], { patterns, workers }), `${workers}`).toEqual(expected);
  });

  it('reports a record that is not valid JSON at its position and keeps the others, on every path', async () => {
    // A token in it (`"Root"`, an escape) gets it parsed; it once cost the whole file, the root record before it too.
    const patterns = loadDetections().flatMap((detection) => detection.patterns);
    const root = JSON.stringify(record('ListBuckets', { userIdentity: { type: 'Root' } }));
    const broken = [
      '{"eventName":"x","eventSource":"s","a":"\\u0041","b":tru}',
      '{"eventName":"x","eventSource":"s","a":"Root","b":tru}',
    ];
    for (const [index, bad] of broken.entries()) {
      for (const [shape, text] of [
        ['compact', `{"Records":[${root},${bad}]}`],
        ['spaced', `{"Records": [${root},${bad}]}`],
      ] as const) {
        const path = write(`broken-${index}-${shape}.json`, text);
        const error = expect.stringMatching(
          new RegExp(`^error broken-${index}-${shape}\\.json \\(Records\\[1\\]\\): not valid JSON: `),
        );
        for (const options of [{ patterns, workers: 0 }, { patterns, workers: 2 }, {}]) {
          // The scanner decodes `\u0041` to a string that passes nothing: a record with no token is skipped unread,
          // broken or not (README, the pre-filter); the fast path parses any record with a `\u` escape.
          const unread = index === 0 && shape === 'spaced' && 'patterns' in options;
          expect(await read([path], options), `${bad} ${shape} ${options.workers ?? 'no pre-filter'}`).toEqual(
            unread ? ['record Records[0] ListBuckets'] : ['record Records[0] ListBuckets', error],
          );
        }
      }
    }
  });

  it('costs a record with broken structure only itself, read whole, from workers or streamed', async () => {
    // A mismatched bracket, a string cut short: once the whole small file (every alert in it) was one error, and a
    // streamed one lost every record after the damage.
    const patterns = loadDetections().flatMap((detection) => detection.patterns);
    // Root records, which the pre-filter lets through, so that every one read is an item.
    const records = Array.from({ length: 60_000 }, (_, i) =>
      JSON.stringify(record(`E${i}`, { userIdentity: { type: 'Root' } })),
    );
    records[10] = '{"eventVersion":"1.08","eventName":"x","b":[1,}}';
    records[50_000] = '{"eventVersion":"1.08","eventName":"x","note":"cut sh';
    const text = `{"Records":[${records.join(',')}]}`;
    const expectRead = (items: string[], what: string) => {
      expect(
        items.filter((line) => line.startsWith('error')),
        what,
      ).toEqual([
        expect.stringMatching(/\(Records\[10\]\): not valid JSON: mismatched "}" on line 1; reading goes on/),
        expect.stringMatching(/\(Records\[50000\]\): not valid JSON: unexpected text after a string on line 1;/),
      ]);
      const read = items.filter((line) => line.startsWith('record'));
      expect(read, what).toHaveLength(59_998);
      expect(read.at(-1), what).toBe('record Records[59999] E59999');
    };
    const small = write('broken-small.json.gz', gzipSync(text));
    for (const options of [{}, { patterns, workers: 0 }, { patterns, workers: 2 }]) {
      expectRead(await read([small], options), `read whole ${JSON.stringify(options.workers)}`);
    }
    const pieces = Array.from({ length: Math.ceil(text.length / 65_536) }, (_, i) =>
      text.slice(i * 65_536, (i + 1) * 65_536),
    );
    expectRead(await read(['-'], { stdin: Readable.from(pieces) }), 'streamed');
  });

  it('keeps the records before damage after the Records array, and reads on after damage that closed it early', async () => {
    const r = (name: string) => JSON.stringify(record(name, { userIdentity: { type: 'Root' } }));
    const cases: [string, string, string[]][] = [
      ['trailer.json', `{"Records":[${r('A')}] "x":1}`, ['record Records[0] A', 'error']],
      [
        'trailing-comma.json',
        `{"Records":[${r('A')},${r('B')},]}`,
        ['record Records[0] A', 'record Records[1] B', 'error'],
      ],
      // A cut string, then a nested object that starts like a record, whose `]}` closes Records early.
      [
        'closed-early.json',
        `{"Records":[${r('A')},{"eventVersion":"1","x":"cu,"y":[{"eventVersion":"1"}]},${r('C')},${r('D')}]}`,
        ['record Records[0] A', 'error', 'error', 'error', 'record Records[3] C', 'record Records[4] D'],
      ],
      // One record a line, commas first, one of them cut: not JSON Lines.
      [
        'comma-first.json',
        `{"Records":[\n${r('A')}\n,${r('B')}\n,{"eventVersion":"1","x":"cu\n,${r('D')}\n]}`,
        ['record Records[0] A', 'record Records[1] B', 'error', 'record Records[3] D'],
      ],
    ];
    for (const [name, text, expected] of cases) {
      const items = await read([write(name, text)]);
      expect(
        items.map((line) => (line.startsWith('error') ? 'error' : line)),
        `${name}: ${items.join(' | ')}`,
      ).toEqual(expected);
    }
  });

  it('reads the log file after one whose damage closed Records early, however far on it starts', async () => {
    // A damaged gzip member's text: its Records array closed by what the damage made of it, then text that is no
    // JSON. Once, reading stopped there ("the rest of the file is not read") unless the next log file was in the same
    // piece of text: the members after it, intact, were lost, and the damaged member's gzip fault never named.
    const damaged = `{"Records":[${JSON.stringify(record('A'))}],"x":"cu,"y":1}`;
    const next = log([record('C')]);
    const filler = ' '.repeat(200_000);
    const expected = [
      'record line 1, Records[0] A',
      'error <stdin> (line 1, Records[1]): not valid JSON: unexpected text after a string on line 1; reading goes on at the next record',
      // As when both come in one piece: the first value on line 2.
      'record line 2, value 1, Records[0] C',
    ];
    for (const pieces of [
      [`${damaged}${filler}\n`, next],
      [damaged, `${filler}\n${next}`],
    ]) {
      expect(await read(['-'], { stdin: Readable.from(pieces) })).toEqual(expected);
    }
    const members = [gzipSync(`${damaged}${filler}\n`), gzipSync(next)];
    expect(await read(['-'], { stdin: Readable.from(members) })).toEqual(expected);
  });

  it('reads the records of a log file whose "[" is lost, and the log files after it, on every path', async () => {
    // Once JSON.parse's message alone, every record lost, and the intact log file after it in the same stream too.
    const first = `{"Records":${JSON.stringify(record('A'))},${JSON.stringify(record('B'))}]}`;
    const text = `${first}\n${log([record('C')])}`;
    const message = (file: string, position: string) =>
      `error ${file} (${position}): not valid JSON: "[" missing after "Records" on line 1; reading goes on at the next record`;
    const after = ['record line 1, Records[0] A', 'record line 1, Records[1] B', 'record line 2, Records[0] C'];
    for (const [name, content] of [
      ['lost-bracket.json', text],
      ['lost-bracket.json.gz', gzipSync(text)],
    ] as const) {
      const items = await read([write(name, content)], { workers: 0 });
      expect(items, name).toEqual([message(name, 'line 1, Records[0]'), ...after]);
      expect(await read([write(name, content)]), `${name}, workers`).toEqual(items);
    }
    expect(await read(['-'], { stdin: Readable.from([text.slice(0, 40), text.slice(40)]) })).toEqual([
      message('<stdin>', 'line 1, Records[0]'),
      ...after,
    ]);
  });

  it('costs a record whose closing brace is missing only itself, and never holds the rest of a stream', async () => {
    // Once, the records after it nested inside it, brackets matching, until the array's end: the whole stream was
    // held, then past 32 MiB dropped, and every record it swallowed lost with it. Its damage shows at the next
    // record's "{", where a key should be.
    const root = (id: string) => JSON.stringify(record(id, { userIdentity: { type: 'Root' } }));
    const padding = JSON.stringify(record('Padding', { requestParameters: { key: 'k'.repeat(450) } }));
    const pieces = (cutShort: string) => [
      `{"Records":[${root('A')},${cutShort}${root('C')}`,
      ...Array.from({ length: 80 }, () => `,${padding}`.repeat(1000)),
      `,${root('D')}]}`,
    ];
    const items = await read(['-'], { stdin: Readable.from(pieces(`${root('B').slice(0, -1)},`)) });
    expect(items.filter((line) => line.startsWith('record')).length).toBe(80_003);
    expect(items.filter((line) => !line.endsWith(' Padding'))).toEqual([
      'record Records[0] A',
      'error <stdin> (Records[1]): not valid JSON: unexpected "{" where a key should be on line 1; reading goes on at the next record',
      'record Records[2] C',
      'record Records[80003] D',
    ]);
    // Cut short into an array whose elements the records after it are, without a comma between: valid structure to
    // the end. Past 32 MiB it is no longer held, nor searched for records (a valid record's nested objects could fake
    // them): what it swallowed is lost with it, in its one error.
    const swallowed = await read(['-'], { stdin: Readable.from(pieces(`${root('B').slice(0, -1)},"x":[`)) });
    expect(swallowed).toEqual([
      'record Records[0] A',
      'error <stdin> (Records[1]): is longer than 32 MiB, or its closing brace is missing: skipped (a record may be twice --max-string-bytes)',
      expect.stringMatching(/^error <stdin> \(Records\[2\]\): not valid JSON: /),
    ]);
    // A valid record that long, holding record-shaped objects: one error, no record made of its insides.
    const nested = JSON.stringify({
      eventVersion: '1.08',
      items: [{ eventVersion: '1.08', userIdentity: { type: 'Root' } }],
    });
    const big = `{"eventVersion":"1.08","eventName":"Big","eventSource":"s","list":[${`${nested},`.repeat(450_000)}1]}`;
    const chunks = Array.from({ length: Math.ceil(big.length / 65_536) }, (_, i) =>
      big.slice(i * 65_536, (i + 1) * 65_536),
    );
    const valid = [`{"Records":[${root('A')},`, ...chunks, `,${root('C')}]}`];
    expect(await read(['-'], { stdin: Readable.from(valid) })).toEqual([
      'record Records[0] A',
      'error <stdin> (Records[1]): is longer than 32 MiB, or its closing brace is missing: skipped (a record may be twice --max-string-bytes)',
      'record Records[2] C',
    ]);
  });

  it('reports a record holding a 20 MB string, streamed or read whole, never holding it, and reads on', async () => {
    const huge = JSON.stringify(record('Huge', { userAgent: 'x'.repeat(20 * MIB) }));
    const text = `{"Records":[${JSON.stringify(record('Before'))},${huge},${JSON.stringify(record('After'))}]}`;
    const gzipped = write('huge.json.gz', gzipSync(text));
    const expected = (file: string) => [
      'record Records[0] Before',
      `error ${file} (Records[1]): holds a string longer than 1 MiB: skipped (--max-string-bytes)`,
      'record Records[2] After',
    ];

    expect(await read([gzipped], { limits: { maxStringBytes: MIB } })).toEqual(expected('huge.json.gz'));
    const pieces = Array.from({ length: Math.ceil(text.length / 65_536) }, (_, i) =>
      text.slice(i * 65_536, (i + 1) * 65_536),
    );
    expect(await read(['-'], { stdin: Readable.from(pieces), limits: { maxStringBytes: MIB } })).toEqual(
      expected('<stdin>'),
    );
    // A line of JSON Lines is dropped as it streams once it breaks the limit, never held whole.
    const lines = write(
      'huge.jsonl',
      [JSON.stringify(record('Before')), huge, JSON.stringify(record('After'))].join('\n'),
    );
    expect(await read([lines], { limits: { maxStringBytes: MIB } })).toEqual([
      'record line 1 Before',
      'error huge.jsonl (line 2): holds a string longer than 1 MiB: skipped (--max-string-bytes)',
      'record line 3 After',
    ]);
  });

  it("never holds a JSON Lines line longer than a record may be, nor the blanks after a line's record", async () => {
    const root = (id: string) => JSON.stringify(record(id, { userIdentity: { type: 'Root' } }));
    const tooLong =
      'is longer than 32 MiB, or its closing brace is missing: skipped (a record may be twice --max-string-bytes)';
    // A record of 3.5 million small keys (40 MB): scanning it once took minutes (every key searched the rest of the
    // line for a backslash); past 32 MiB it is one error, and the lines after it are read.
    const keys = Array.from({ length: 3_500_000 }, (_, key) => `"k${key}":${key}`).join(',');
    const big = `{"eventVersion":"1.08","eventName":"Big","requestParameters":{${keys}}}`;
    const path = write('keys.jsonl.gz', gzipSync([root('Before'), big, root('After')].join('\n')));
    expect(await read([path])).toEqual([
      'record line 1 Before',
      `error keys.jsonl.gz (line 2): ${tooLong}`,
      'record line 3 After',
    ]);
    // Under 32 MiB the same record is read (300,000 keys, 5 MB).
    const smaller = `{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"Keys","requestParameters":{${keys.slice(0, keys.indexOf('"k300000"') - 1)}}}`;
    const readable = write('some-keys.jsonl.gz', gzipSync([root('Before'), smaller, root('After')].join('\n')));
    expect(await read([readable])).toEqual(['record line 1 Before', 'record line 2 Keys', 'record line 3 After']);
    // 40 MiB of spaces after a record on its line are not held: the record is read, and the next line.
    const padded = write('padded.jsonl.gz', gzipSync(`${root('Padded')}${' '.repeat(40 * MIB)}\n${root('After')}`));
    expect(await read([padded])).toEqual(['record line 1 Padded', 'record line 2 After']);
    // 40 MiB of other text after it make the line one error that says so (as a short one does), and reading goes on.
    const junk = write('junk.jsonl.gz', gzipSync(`${root('Junk')}${'x'.repeat(40 * MIB)}\n${root('After')}`));
    expect(await read([junk])).toEqual([
      'error junk.jsonl.gz (line 1): is longer than 32 MiB, most of it text after its JSON value: skipped',
      'record line 2 After',
    ]);
  });

  it("never holds one of a long line's values past 32 MiB, nor junk after them, and reads the lines after", async () => {
    const root = (id: string, extra: Record<string, unknown> = {}) =>
      JSON.stringify(record(id, { userIdentity: { type: 'Root' }, ...extra }));
    // Past 8 MiB, a line of values one after another is split into them as it streams: once, a value of hundreds of
    // MB among them was held whole ("Invalid string length"), and the lines after it were lost.
    const padded = root('Padded', { requestParameters: { pad: 'p'.repeat(9 * MIB) } });
    const huge = `{"k":[${'1,'.repeat(20 * MIB)}1]}`;
    const path = write(
      'values.jsonl.gz',
      gzipSync([root('Before'), `${padded}${root('Second')}${huge}`, root('After')].join('\n')),
    );
    expect(await read([path])).toEqual([
      'record line 1 Before',
      'record line 2, value 1 Padded',
      'record line 2, value 2 Second',
      'error values.jsonl.gz (line 2, value 3): is longer than 32 MiB, or its closing brace is missing: skipped (a record may be twice --max-string-bytes)',
      'record line 3 After',
    ]);
    // Junk after the values: its first MiB is kept for the error, the rest passed over.
    const junk = write(
      'values-junk.jsonl.gz',
      gzipSync([`${padded}${root('Second')}${'x'.repeat(40 * MIB)}`, root('After')].join('\n')),
    );
    expect(await read([junk])).toEqual([
      'record line 1, value 1 Padded',
      'record line 1, value 2 Second',
      expect.stringMatching(/^error values-junk\.jsonl\.gz \(line 1, value 3\): not valid JSON: /),
      'record line 2 After',
    ]);
  });

  it('reports hundreds of thousands of non-records in Records one by one, streamed or not, without overflowing', async () => {
    // Once `out.push(...items)` with them all as arguments: "Maximum call stack size exceeded", and the run aborted.
    const text = `{"Records":[${JSON.stringify(record('First'))},${'1,'.repeat(200_000)}${JSON.stringify(record('Last'))}]}`;
    const path = write('ones.json', text);
    for (const items of [await read([path]), await read(['-'], { stdin: Readable.from([text]) })]) {
      expect(items).toHaveLength(200_002);
      expect(items[0]).toBe('record Records[0] First');
      expect(items[1]).toMatch(/^error (ones\.json|<stdin>) \(Records\[1\]\): /);
      expect(items.at(-1)).toBe('record Records[200001] Last');
    }
  });

  it('keeps a record followed by blank lines past the size limit, and names the line where reading stopped', async () => {
    const root = JSON.stringify(record('ConsoleLogin', { userIdentity: { type: 'Root' } }));
    for (const blank of ['\n', '   \n']) {
      const path = write('blank-after.json', `${root}\n${blank.repeat(6000)}`);
      const items = await read([path], { limits: { maxFileBytes: 4096 } });
      expect(items, JSON.stringify(blank)).toEqual([
        'record document ConsoleLogin',
        expect.stringMatching(
          /^error blank-after\.json \(line \d+\): holds more than 4 KiB of text \(gunzipped, if gzip\): the rest of the file is not read \(--max-file-bytes\)$/,
        ),
      ]);
    }
  });

  it('reads past millions of empty lines, read whole or streamed, every line number true', async () => {
    // A gzip of a few hundred KB of newlines once held one array entry per line and crashed Node.
    const blank = (count: number) => '\n'.repeat(count);
    const root = JSON.stringify(record('StopLogging', { userIdentity: { type: 'Root' } }));
    const lines = `${blank(3_000_000)}${root}\n${blank(2_000_000)}{"eventName":\n${root}${blank(1_000_000)}`;
    const pretty = `${blank(3_000_000)}${JSON.stringify({ Records: [record('A'), record('B')] }, null, 2)}${blank(2_000_000)}`;
    const expected = [
      'record line 3000001 StopLogging',
      expect.stringMatching(/^error empty-lines\.jsonl\.gz \(line 5000002\): not valid JSON: /),
      'record line 5000003 StopLogging',
    ];
    // Under 64 MiB the file is read whole; past it (padded with empty lines), streamed.
    for (const padding of [0, 70 * MIB]) {
      const path = write('empty-lines.jsonl.gz', gzipSync(lines + blank(padding)));
      expect(await read([path]), `padding ${padding}`).toEqual(expected);
      const document = write('empty-lines.json.gz', gzipSync(pretty + blank(padding)));
      expect(await read([document]), `padding ${padding}`).toEqual(['record Records[0] A', 'record Records[1] B']);
    }
    // Nothing but empty lines or spaces: no record, no error, and the next file is read.
    const after = write('after.json', log([record('After')]));
    for (const byte of ['\n', ' ']) {
      const path = write('nothing.json.gz', gzipSync(Buffer.alloc(70 * MIB, byte)));
      expect(await read([path, after]), JSON.stringify(byte)).toEqual(['record Records[0] After']);
    }
  });

  it('holds a record that AWS tool output carries as a JSON string to the depth and string limits', async () => {
    const deep = JSON.stringify(
      record('Deep', { requestParameters: JSON.parse(`${'{"a":'.repeat(100)}1${'}'.repeat(100)}`) }),
    );
    const long = JSON.stringify(record('Long', { userAgent: 'x'.repeat(4096) }));
    const fine = JSON.stringify(record('Fine'));
    const lookup = write(
      'lookup.json',
      JSON.stringify({ Events: [deep, long, fine].map((json, i) => ({ EventId: `e${i}`, CloudTrailEvent: json })) }),
    );
    const logs = write(
      'filter-log-events.json',
      JSON.stringify({ events: [deep, long, fine].map((message, i) => ({ timestamp: i, message })) }),
    );
    const limits = { maxDepth: 64, maxStringBytes: 8192 };
    expect(await read([lookup, logs], { limits: { ...limits, maxStringBytes: 1e6 } })).toEqual([
      'error lookup.json (Events[0].CloudTrailEvent): nested deeper than 64 levels: skipped (--max-depth)',
      'record Events[1].CloudTrailEvent Long',
      'record Events[2].CloudTrailEvent Fine',
      'error filter-log-events.json (events[0].message): nested deeper than 64 levels: skipped (--max-depth)',
      'record events[1].message Long',
      'record events[2].message Fine',
    ]);
    // A subscription payload is gzipped: a record's 200 KB string is a few hundred bytes of base64.
    const huge = JSON.stringify(record('Huge', { userAgent: 'x'.repeat(200_000) }));
    const payload = { messageType: 'DATA_MESSAGE', logEvents: [huge, fine].map((message, id) => ({ id, message })) };
    const data = write('payload.txt', gzipSync(JSON.stringify(payload)).toString('base64'));
    expect(await read([data], { limits: { maxStringBytes: 100_000 } })).toEqual([
      'error payload.txt (logEvents[0].message): holds a string longer than 100,000 bytes: skipped (--max-string-bytes)',
      'record logEvents[1].message Fine',
    ]);
  });

  it('skips a record of more values than any record holds, without parsing it, on every path', async () => {
    // Once JSON.parse read a record of 10 million `{}` (30 MB, under the 32 MiB a record may be): 13 s and 1 GB.
    const root = (id: string, values: number) =>
      JSON.stringify(
        record(id, { userIdentity: { type: 'Root' }, requestParameters: { list: Array(values).fill(0) } }),
      );
    const many = root('Many', 1_048_577);
    const most = root('Most', 1_048_000);
    const message =
      'holds more than 1,048,576 values, too many to parse: skipped (a record may hold one per 32 characters of twice --max-string-bytes)';
    const logFile = `{"Records":[${many},${most}]}`;
    const expected = (position: (i: number) => string) => [
      `error ${position(0)}: ${message}`,
      `record ${position(1)} Most`,
    ];
    expect(await read([write('many.json', logFile)], { workers: 0 })).toEqual(
      expected((i) => (i === 0 ? `many.json (Records[${i}])` : `Records[${i}]`)),
    );
    expect(await read(['-'], { stdin: Readable.from([logFile.slice(0, 70_000), logFile.slice(70_000)]) })).toEqual(
      expected((i) => (i === 0 ? `<stdin> (Records[${i}])` : `Records[${i}]`)),
    );
    expect(await read([write('many.jsonl', `${many}\n${most}\n`)])).toEqual(
      expected((i) => (i === 0 ? `many.jsonl (line ${i + 1})` : `line ${i + 1}`)),
    );
  });

  it('stops a file past the records limit, and reads the next', async () => {
    const many = write('many.json', log(Array.from({ length: 250 }, (_, i) => record(`E${i}`))));
    const lines = write('many.jsonl', Array.from({ length: 5 }, (_, i) => JSON.stringify(record(`L${i}`))).join('\n'));

    const items = await read([many, lines], { limits: { maxRecords: 3 } });

    expect(items).toEqual([
      'record Records[0] E0',
      'record Records[1] E1',
      'record Records[2] E2',
      'error many.json (Records[3]): holds more than 3 records: the rest of the file is not read (--max-records)',
      'record line 1 L0',
      'record line 2 L1',
      'record line 3 L2',
      'error many.jsonl (line 4): holds more than 3 records: the rest of the file is not read (--max-records)',
    ]);
  });
});

describe('a pretty-printed log file bigger than what is held whole', () => {
  // 40,000 records pretty-printed: about 19 MB, past the 8 MiB a stream is held to tell its shape.
  const records = Array.from({ length: 40_000 }, (_, i) =>
    record(`E${i}`, { requestParameters: { userName: `user-${i}`, tags: [{ key: 'team', value: 'a\\"b' }] } }),
  );
  const text = JSON.stringify({ Records: records }, null, 2);

  it('streams from a file, every record at its position', async () => {
    expect(text.length).toBeGreaterThan(16 * MIB);
    const path = write('sub/pretty.json', text);

    const items = await read([path]);

    expect(items).toEqual(records.map((_, i) => `record Records[${i}] E${i}`));
  });

  it('streams from stdin, the first records out long before the input ends, in many batches', async () => {
    const pieceChars = 64 * 1024;
    const total = Math.ceil(text.length / pieceChars);
    let given = 0;
    async function* pieces(): AsyncGenerator<string> {
      for (let i = 0; i < total; i++) {
        given++;
        yield text.slice(i * pieceChars, (i + 1) * pieceChars);
      }
    }
    let givenAtFirst = 0;
    let batches = 0;
    let count = 0;
    for await (const batch of readInputBatches(['-'], { stdin: Readable.from(pieces()) })) {
      if (givenAtFirst === 0) givenAtFirst = given;
      batches++;
      for (const item of batch) {
        expect(item.kind === 'record' && item.position).toBe(`Records[${count}]`);
        count++;
      }
    }

    expect(count).toBe(records.length);
    // Held only until its shape is known (8 MiB), then record by record as the pieces come.
    expect(givenAtFirst).toBeLessThan(total / 2);
    expect(batches).toBeGreaterThan(total / 4);
  });
});

describe('rootwatch replay: limit flags', () => {
  it('reads with the limits given, and names each breach on one line, without a stack trace', async () => {
    const deep = JSON.stringify(readSample('root-create-access-key.json')).replace(
      /}$/,
      `,"x":${'['.repeat(5000)}${']'.repeat(5000)}}`,
    );
    const path = write('cli-deep.jsonl', `${deep}\n${JSON.stringify(readSample('root-create-access-key.json'))}\n`);

    const { code, stdout, stderr } = await runCliCaptured(['replay', '--format', 'ndjson', '--max-depth', '100', path]);

    expect(code).toBe(1);
    expect(stderr).toContain(`rootwatch: ${path} (line 1): nested deeper than 100 levels: skipped (--max-depth)\n`);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stdout.trim().split('\n')).toHaveLength(1);
  });

  it.each([
    [['--max-depth', '0'], /--max-depth must be a whole number from 1 \(got "0"\)/],
    [['--max-records', '1e6'], /--max-records must be a whole number from 1/],
    [['--max-file-bytes', '2T'], /--max-file-bytes must be a whole number of bytes from 1, optionally with K, M or G/],
    [['--max-string-bytes', '0x10'], /--max-string-bytes must be/],
    [['--workers', 'many'], /--workers must be a whole number from 0 to 256/],
    // parseArgs takes "-1" for an option and calls the argument ambiguous: the message says what to write instead.
    [
      ['--max-depth', '-1'],
      /rootwatch: --max-depth takes a value, and the argument after it starts with "-": give a value that starts with "-" as --max-depth=VALUE\n/,
    ],
    [['--max-depth=-1'], /--max-depth must be a whole number from 1 \(got "-1"\)/],
    [['-', '-'], /rootwatch: - \(stdin\) is given more than once: stdin can be read only once\n/],
  ])('refuses %j', async (flags, message) => {
    const { code, stderr } = await runCliCaptured(['replay', ...flags, dir]);

    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  it('names a flag that took the only path as its value, not the missing path', async () => {
    const path = write('cli-path.json', log([record('A')]));

    for (const flag of ['--max-depth', '--max-records', '--max-file-bytes', '--workers']) {
      const { code, stderr } = await runCliCaptured(['replay', flag, path]);

      expect(code, flag).toBe(2);
      expect(stderr, flag).toContain(`rootwatch: ${flag} must be a whole number`);
      expect(stderr, flag).toContain(`(got "${path}")`);
    }
  });

  it('takes K, M and G suffixes for byte limits', async () => {
    const path = write('cli-small.json', log([record('A')]));

    const { code, stderr } = await runCliCaptured([
      'replay',
      '--max-file-bytes',
      '2GiB',
      '--max-string-bytes',
      '64K',
      '--max-records',
      '5',
      '--workers',
      '0',
      path,
    ]);

    expect(stderr).toMatch(/1 record, 0 alerts/);
    expect(code).toBe(0);
  });
});
