import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../functions/errors.js';
import {
  type InputItem,
  type InputProgress,
  type ReadInputOptions,
  readInputBatches,
} from '../../functions/io/input/read-input.js';
import { detections } from '../helpers/pipeline.js';

/** The items one by one, as the batches deliver them. */
async function* readInput(paths: string[], options: ReadInputOptions = {}): AsyncGenerator<InputItem> {
  for await (const batch of readInputBatches(paths, options)) yield* batch;
}

const record = (eventName: string): Record<string, unknown> => ({
  eventVersion: '1.08',
  eventSource: 'signin.amazonaws.com',
  eventName,
  eventTime: '2024-05-01T12:00:00Z',
  userIdentity: { type: 'Root', arn: 'arn:aws:iam::123456789012:root' },
});
const event = (eventName: string): Record<string, unknown> => ({
  version: '0',
  id: `id-${eventName}`,
  'detail-type': 'AWS Console Sign In via CloudTrail',
  source: 'aws.signin',
  account: '123456789012',
  detail: record(eventName),
});
const ndjson = (values: unknown[]): string => `${values.map((value) => JSON.stringify(value)).join('\n')}\n`;

let root: string;
/** Writes a file under the temp dir (creating its directories) and returns its path. */
const write = (relativePath: string, content: string | Buffer): string => {
  const path = join(root, relativePath);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  return path;
};

const collect = async (paths: string[], options?: ReadInputOptions): Promise<InputItem[]> => {
  const items: InputItem[] = [];
  for await (const item of readInput(paths, options)) items.push(item);
  return items;
};

/** One line per item: `record <position> <eventName>`, `event <position> <eventName>` or `error <message>`. */
const summary = (items: InputItem[]): string[] =>
  items.map((item) => {
    if (item.kind === 'error') return `error ${item.error.message}`;
    if (item.kind === 'record') return `record ${item.position} ${String(item.record.eventName)}`;
    return `event ${item.position} ${String((item.event.detail as Record<string, unknown>).eventName)}`;
  });

/** The same, with the file name dropped from record and event lines and the temp dir from error lines. */
const read = async (paths: string[], options?: ReadInputOptions): Promise<string[]> =>
  summary(await collect(paths, options)).map((line) => line.replaceAll(`${root}/`, ''));

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'rootwatch-read-input-'));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('readInput', () => {
  it('reads a CloudTrail log file as CloudTrail writes it to S3', async () => {
    const path = write(
      's3/trail.json',
      JSON.stringify({ Records: [record('ConsoleLogin'), record('GetSessionToken')] }),
    );

    const items = await collect([path]);

    expect(items[0]).toEqual({ kind: 'record', record: record('ConsoleLogin'), file: path, position: 'Records[0]' });
    expect(summary(items)).toEqual(['record Records[0] ConsoleLogin', 'record Records[1] GetSessionToken']);
  });

  it('reads a gzipped CloudTrail log file', async () => {
    const path = write('s3/trail.json.gz', gzipSync(JSON.stringify({ Records: [record('ConsoleLogin')] })));

    expect(await read([path])).toEqual(['record Records[0] ConsoleLogin']);
  });

  it('detects gzip by its magic bytes, not by the file name', async () => {
    const gzipped = write('names/gzipped.json', gzipSync(JSON.stringify({ Records: [record('ConsoleLogin')] })));
    const plain = write('names/plain.json.gz', JSON.stringify({ Records: [record('GetSessionToken')] }));

    expect(await read([gzipped, plain])).toEqual([
      'record Records[0] ConsoleLogin',
      'record Records[0] GetSessionToken',
    ]);
  });

  it('reads a pretty-printed Records file as one document, not as JSON Lines', async () => {
    const path = write(
      'pretty/trail.json',
      JSON.stringify({ Records: [record('ConsoleLogin'), record('Logout')] }, null, 2),
    );

    expect(await read([path])).toEqual(['record Records[0] ConsoleLogin', 'record Records[1] Logout']);
  });

  it('reads a file holding one CloudTrail record or one EventBridge event at position document', async () => {
    const one = write('single/record.json', JSON.stringify(record('ConsoleLogin'), null, 2));
    const other = write('single/event.json', JSON.stringify(event('ConsoleLogin')));

    const items = await collect([one, other]);

    expect(summary(items)).toEqual(['record document ConsoleLogin', 'event document ConsoleLogin']);
    expect(items[1]).toEqual({ kind: 'event', event: event('ConsoleLogin'), file: other, position: 'document' });
  });

  it('reads an array of records and events, single-line or pretty-printed', async () => {
    const values = [record('ConsoleLogin'), event('CreateAccessKey'), record('Logout')];
    const compact = write('arrays/compact.json', JSON.stringify(values));
    const pretty = write('arrays/pretty.json', JSON.stringify(values, null, 2));
    const expected = ['record [0] ConsoleLogin', 'event [1] CreateAccessKey', 'record [2] Logout'];

    expect(await read([compact])).toEqual(expected);
    expect(await read([pretty])).toEqual(expected);
  });

  it('reads JSON Lines of records, events and Records objects, ignoring blank lines', async () => {
    const lines = [
      JSON.stringify(record('ConsoleLogin')),
      '',
      JSON.stringify(event('CreateAccessKey')),
      '   ',
      JSON.stringify({ Records: [record('GetSessionToken'), record('Logout')] }),
    ];
    const path = write('lines/mixed.jsonl', `${lines.join('\r\n')}\r\n`);

    expect(await read([path])).toEqual([
      'record line 1 ConsoleLogin',
      'event line 3 CreateAccessKey',
      'record line 5, Records[0] GetSessionToken',
      'record line 5, Records[1] Logout',
    ]);
  });

  it('reads gzipped JSON Lines', async () => {
    const path = write('lines/records.ndjson.gz', gzipSync(ndjson([record('ConsoleLogin'), record('Logout')])));

    expect(await read([path])).toEqual(['record line 1 ConsoleLogin', 'record line 2 Logout']);
  });

  it('reports a bad line in JSON Lines and goes on with the following lines', async () => {
    const good = ndjson([record('ConsoleLogin')]);
    const path = write('lines/bad-line.jsonl', `${good}{"eventName": "Trunc\n${good}not json at all\n${good}`);

    const items = await read([path]);

    expect(items).toEqual([
      'record line 1 ConsoleLogin',
      expect.stringMatching(/^error lines\/bad-line\.jsonl \(line 2\): not valid JSON: /),
      'record line 3 ConsoleLogin',
      expect.stringMatching(/^error lines\/bad-line\.jsonl \(line 4\): not valid JSON: /),
      'record line 5 ConsoleLogin',
    ]);
  });

  it('reads JSON Lines whose first line is bad', async () => {
    const path = write('lines/bad-first.jsonl', `{"Records": [\n${ndjson([record('ConsoleLogin'), record('Logout')])}`);

    expect(await read([path])).toEqual([
      expect.stringMatching(/^error lines\/bad-first\.jsonl \(line 1\): not valid JSON: /),
      'record line 2 ConsoleLogin',
      'record line 3 Logout',
    ]);
  });

  it('reads JSON values printed one after another, as jq prints them', async () => {
    const pretty = [record('ConsoleLogin'), event('CreateAccessKey')].map((value) => JSON.stringify(value, null, 2));
    const path = write('jq/records.json', `${pretty.join('\n')}\n`);

    expect(await read([path])).toEqual(['record line 1 ConsoleLogin', 'event line 11 CreateAccessKey']);
  });

  it('reports a Records entry that is not a CloudTrail record and reads the others', async () => {
    const { eventName: _, ...nameless } = record('ConsoleLogin');
    const path = write(
      'bad-records/trail.json',
      JSON.stringify({ Records: [record('ConsoleLogin'), 'ConsoleLogin', nameless, null, record('Logout')] }),
    );

    const items = await collect([path]);

    expect(summary(items).map((line) => line.replaceAll(`${root}/`, ''))).toEqual([
      'record Records[0] ConsoleLogin',
      'error bad-records/trail.json (Records[1]): not a CloudTrail record or EventBridge event: expected an object, found string',
      'error bad-records/trail.json (Records[2]): not a CloudTrail record or EventBridge event: missing eventName',
      'error bad-records/trail.json (Records[3]): not a CloudTrail record or EventBridge event: expected an object, found null',
      'record Records[4] Logout',
    ]);
    const error = items[2]?.kind === 'error' ? items[2].error : undefined;
    expect(error).toBeInstanceOf(InputError);
    expect(error?.file).toBe(path);
    expect(error?.position).toBe('Records[2]');
  });

  it('reports an EventBridge event whose detail is not a CloudTrail record', async () => {
    const finding = { 'detail-type': 'GuardDuty Finding', detail: { severity: 8 } };
    const path = write(
      'bad-events/events.jsonl',
      ndjson([finding, { 'detail-type': 'x', detail: 'y' }, event('Logout')]),
    );

    expect(await read([path])).toEqual([
      'error bad-events/events.jsonl (line 1): an EventBridge event whose detail is not a CloudTrail record: detail missing eventName',
      'error bad-events/events.jsonl (line 2): not a CloudTrail record or EventBridge event: an EventBridge event needs a string detail-type and an object detail',
      'event line 3 Logout',
    ]);
  });

  it('reports Records that is not an array', async () => {
    const path = write('bad-records/not-array.json', JSON.stringify({ Records: { eventName: 'ConsoleLogin' } }));

    expect(await read([path])).toEqual([
      'error bad-records/not-array.json: Records is object, expected an array of CloudTrail records',
    ]);
  });

  it('reports an empty .gz file, which CloudTrail never writes, and reads an empty file of another name as no record', async () => {
    const gzipped = write('empty/cut.json.gz', '');
    const plain = write('empty/nothing.json', '');
    const next = write('empty/next.json', JSON.stringify({ Records: [record('Logout')] }));

    expect(await read([gzipped, plain, next])).toEqual([
      'error empty/cut.json.gz: empty, though named .gz: CloudTrail writes no empty log file, so a copy or download was cut short (nothing read)',
      'record Records[0] Logout',
    ]);
    // Found by a directory walk too.
    expect(await read([join(root, 'empty')])).toEqual([
      expect.stringMatching(/^error empty\/cut\.json\.gz: empty, though named \.gz: /),
      'record Records[0] Logout',
    ]);
  });

  it('reports a truncated .json.gz as one error and goes on with the next path', async () => {
    const gzipped = gzipSync(JSON.stringify({ Records: [record('ConsoleLogin'), record('Logout')] }));
    const truncated = write('truncated/trail.json.gz', gzipped.subarray(0, gzipped.length - 30));
    const next = write('truncated/next.json', JSON.stringify({ Records: [record('GetSessionToken')] }));

    expect(await read([truncated, next])).toEqual([
      'error truncated/trail.json.gz (Records[0]): corrupt or truncated gzip data: unexpected end of file: its compressed data is cut short',
      'record Records[0] GetSessionToken',
    ]);
  });

  it('keeps the complete records of a small log file whose gzip is cut, and names where reading stopped', async () => {
    const records = Array.from({ length: 50 }, (_, index) => record(`Event${index}`));
    const gzipped = gzipSync(JSON.stringify({ Records: records }));
    // Only the trailer (CRC-32 and size) missing: zcat recovers every record, and so does replay.
    const trailerless = write('truncated/trailer.json.gz', gzipped.subarray(0, gzipped.length - 4));
    const items = await read([trailerless]);

    expect(items.slice(0, -1)).toEqual(records.map((_, index) => `record Records[${index}] Event${index}`));
    expect(items.at(-1)).toMatch(
      /^error truncated\/trailer\.json\.gz( \(Records\[50\]\))?: corrupt or truncated gzip data: /,
    );
  });

  it('keeps the lines read before a truncated gzipped JSON Lines file ends', async () => {
    const lines = Array.from({ length: 2000 }, (_, index) => record(`Event${index}`));
    const gzipped = gzipSync(ndjson(lines));
    const path = write('truncated/records.jsonl.gz', gzipped.subarray(0, Math.floor(gzipped.length / 2)));

    const items = await read([path]);

    const last = items.at(-1);
    expect(last).toMatch(/^error truncated\/records\.jsonl\.gz \(line \d+\): corrupt or truncated gzip data: /);
    expect(items.slice(0, -1).every((line) => line.startsWith('record line '))).toBe(true);
    expect(items.length).toBeGreaterThan(100);
    expect(last).toContain(`(line ${items.length})`);
  });

  it('reports a path that does not exist and goes on with the next path', async () => {
    const next = write('missing/next.json', JSON.stringify(record('ConsoleLogin')));

    expect(await read([join(root, 'missing/nope.json'), next])).toEqual([
      'error missing/nope.json: no such file or directory',
      'record document ConsoleLogin',
    ]);
  });

  it.skipIf(process.getuid?.() === 0)('reports a file it may not read', async () => {
    const path = write('denied/trail.json', JSON.stringify(record('ConsoleLogin')));
    chmodSync(path, 0o000);

    expect(await read([path])).toEqual(['error denied/trail.json: permission denied']);
  });

  // An empty file yields nothing and no error: it is valid JSON Lines holding no records, as a
  // filter (jq, grep) that matched nothing writes; an error for each would bury real ones.
  it('yields nothing for an empty or blank file', async () => {
    const empty = write('empty/empty.json', '');
    const blank = write('empty/blank.jsonl', '\n  \n\n');
    const emptyGzip = write('empty/empty.json.gz', gzipSync(''));

    expect(await read([empty, blank, emptyGzip])).toEqual([]);
  });

  it('reports a file that is not JSON as one error', async () => {
    const text = write('garbage/notes.json', 'these are\nmy notes\nabout the incident\n');
    const binary = write('garbage/archive.json', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x0a, 0x00, 0xff, 0xfe]));
    const truncated = write(
      'garbage/truncated.json',
      JSON.stringify({ Records: [record('ConsoleLogin')] }, null, 2).slice(0, 200),
    );

    const items = await read([text, binary, truncated]);

    expect(items).toHaveLength(3);
    expect(items[0]).toMatch(/^error garbage\/notes\.json: not valid JSON or JSON Lines: /);
    expect(items[1]).toMatch(/^error garbage\/archive\.json: not valid JSON or JSON Lines: /);
    // A log file cut short: the records before the cut stand (none here), the cut one is the error.
    expect(items[2]).toMatch(
      /^error garbage\/truncated\.json \(Records\[0\]\): not valid JSON: this record never closes/,
    );
  });

  it('reads a named file whatever its extension', async () => {
    const path = write('named/export.log', ndjson([record('ConsoleLogin'), record('Logout')]));

    expect(await read([path])).toEqual(['record line 1 ConsoleLogin', 'record line 2 Logout']);
  });

  it('gives line positions in a one-line file named as JSON Lines', async () => {
    const lines = write('one-line/records.jsonl', ndjson([{ Records: [record('ConsoleLogin')] }]));
    const json = write('one-line/records.json', ndjson([{ Records: [record('ConsoleLogin')] }]));

    expect(await read([lines, json])).toEqual([
      'record line 1, Records[0] ConsoleLogin',
      'record Records[0] ConsoleLogin',
    ]);
  });

  it('says so when a folder holds no file it reads, or files it skips beside them, never passing over in silence', async () => {
    write('notice/nothing/app.log', 'not read\n');
    write('notice/nothing/2024/trail.log.gz', gzipSync('not read\n'));
    mkdirSync(join(root, 'notice/nothing/2025'), { recursive: true });
    mkdirSync(join(root, 'notice/empty'), { recursive: true });
    const full = write('notice/full/trail.json', JSON.stringify({ Records: [record('ConsoleLogin')] }));
    // Beside a log file, files skipped for their names are named too, the first three of them.
    const mixed = write('notice/mixed/trail.json', JSON.stringify({ Records: [record('Logout')] }));
    for (const name of ['a.log', 'b.json.bz2', 'c.txt', 'd/e.csv']) write(`notice/mixed/${name}`, 'not read\n');
    const notices: string[] = [];

    const items = await read(
      [
        join(root, 'notice/nothing'),
        join(root, 'notice/empty'),
        dirname(full),
        join(root, 'notice/nothing'),
        dirname(mixed),
      ],
      {
        onNotice: (message) => notices.push(message.replaceAll(`${root}/`, '')),
      },
    );

    expect(items).toEqual(['record Records[0] ConsoleLogin', 'record Records[0] Logout']);
    expect(notices).toEqual([
      'notice/nothing: no log file (.json, .jsonl, .ndjson, each optionally .gz) in this folder or below; 2 other files are skipped for their names (notice/nothing/2024/trail.log.gz, notice/nothing/app.log; name a file to read it whatever its name)',
      'notice/empty: no log file (.json, .jsonl, .ndjson, each optionally .gz) in this folder or below',
      'notice/mixed: 4 files are skipped for their names (notice/mixed/a.log, notice/mixed/b.json.bz2, notice/mixed/c.txt, …; name a file to read it whatever its name)',
    ]);
  });

  it('walks a directory tree in sorted order, taking only JSON, JSON Lines and their gzips', async () => {
    const trail = (name: string): string => JSON.stringify({ Records: [record(name)] });
    write('tree/2024/05/02/b.json.gz', gzipSync(trail('B')));
    write('tree/2024/05/02/a.json', trail('A'));
    write('tree/2024/05/10/c.jsonl', ndjson([record('C')]));
    write('tree/2024/05/10/d.ndjson', ndjson([record('D')]));
    write('tree/2024/05/10/e.jsonl.gz', gzipSync(ndjson([record('E')])));
    write('tree/2024/05/10/f.ndjson.gz', gzipSync(ndjson([record('F')])));
    write('tree/2024/04/30/z.JSON', trail('Z'));
    write('tree/top.json', trail('Top'));
    write('tree/README.md', '# not input');
    write('tree/2024/05/02/a.json.txt', trail('Ignored'));
    write('tree/2024/05/02/.DS_Store', Buffer.from([0, 0, 0, 1, 0x42, 0x75, 0x64, 0x31]));
    write('tree/2024/05/02/.hidden.json', trail('Ignored'));
    write('tree/.git/config.json', trail('Ignored'));
    write(
      'tree/CloudTrail-Digest/digest.json.gz',
      gzipSync(JSON.stringify({ awsAccountId: '123456789012', digestStartTime: '2024-05-01T00:00:00Z', logFiles: [] })),
    );

    expect(await read([join(root, 'tree')])).toEqual([
      'record Records[0] Z',
      'record Records[0] A',
      'record Records[0] B',
      'record line 1 C',
      'record line 1 D',
      'record line 1 E',
      'record line 1 F',
      'record Records[0] Top',
    ]);
  });

  it('follows symbolic links in a directory without reading a directory twice', async () => {
    write('links/real/trail.json', JSON.stringify(record('ConsoleLogin')));
    symlinkSync(join(root, 'links'), join(root, 'links/real/loop'));
    symlinkSync(join(root, 'links/real/trail.json'), join(root, 'links/real/via-link.json'));
    symlinkSync(join(root, 'links/nowhere.json'), join(root, 'links/real/broken.json'));

    expect(await read([join(root, 'links')])).toEqual([
      'error links/real/broken.json: no such file or directory',
      'record document ConsoleLogin',
      'record document ConsoleLogin',
    ]);
  });

  it('reports a digest file named on its own', async () => {
    const path = write(
      'digest/digest.json',
      JSON.stringify({ digestStartTime: '2024-05-01T00:00:00Z', logFiles: [{ s3Object: 'x' }] }),
    );

    expect(await read([path])).toEqual(['error digest/digest.json: a CloudTrail digest file, which holds no records']);
  });

  it('reads stdin for the path -', async () => {
    const lines = ndjson([record('ConsoleLogin'), event('CreateAccessKey'), 'oops']);
    const stdin = Readable.from([Buffer.from(lines.slice(0, 50)), Buffer.from(lines.slice(50))]);

    const items = await collect(['-'], { stdin });

    expect(summary(items)).toEqual([
      'record line 1 ConsoleLogin',
      'event line 2 CreateAccessKey',
      'error <stdin> (line 3): not a CloudTrail record or EventBridge event: expected an object, found string',
    ]);
    expect(items[0]).toMatchObject({ file: '<stdin>' });
  });

  it('reads a gzipped CloudTrail log file from stdin', async () => {
    const gzipped = gzipSync(JSON.stringify({ Records: [record('ConsoleLogin')] }));
    const stdin = Readable.from([gzipped.subarray(0, 1), gzipped.subarray(1)]);

    expect(await read(['-'], { stdin })).toEqual(['record Records[0] ConsoleLogin']);
  });

  it('reports a second - as an error, since stdin can be read only once', async () => {
    const stdin = Readable.from([ndjson([record('ConsoleLogin'), record('Logout')])]);

    expect(await read(['-', '-'], { stdin })).toEqual([
      'record line 1 ConsoleLogin',
      'record line 2 Logout',
      'error <stdin>: stdin can be read only once',
    ]);
  });

  // Small regular files are read and gunzipped whole, everything else is streamed: both must give
  // the same items. stdin is always streamed, here in 7-byte pieces that split lines and characters.
  it('reads a small file whole exactly as it streams it', async () => {
    const pretty = JSON.stringify({ Records: [record('ConsoleLogin'), record('Logout')] }, null, 2);
    const contents: Record<string, string | Buffer> = {
      'log file': JSON.stringify({ Records: [record('ConsoleLogin'), 'oops', record('Logout')] }),
      'pretty, BOM, CRLF': `\uFEFF${pretty.replaceAll('\n', '\r\n')}`,
      'JSON Lines without a last newline': `\n${ndjson([record('A'), event('B')])}\n  \n${JSON.stringify(record('C'))}`,
      'JSON Lines with a bad first line': `{"Records": [\n${ndjson([record('ConsoleLogin'), record('Logout')])}`,
      'jq output': `${[record('A'), event('B')].map((value) => JSON.stringify(value, null, 2)).join('\n')}\n`,
      'not UTF-8 nor ASCII': Buffer.concat([
        Buffer.from(`${JSON.stringify(record('Ünïcødé ✓ 🔑'))}\n{"eventName": "`),
        Buffer.from([0xff, 0xc3]),
        Buffer.from('", "eventSource": "x"}\n'),
      ]),
      garbage: 'these are\nmy notes\n',
      truncated: pretty.slice(0, 200),
      digest: JSON.stringify({ digestStartTime: '2024-05-01T00:00:00Z', logFiles: [] }),
      'log files one after another': `${JSON.stringify({ Records: [record('A')] })}${JSON.stringify({ Records: ['oops', record('B')] })}`,
      'lookup-events pages': `${lookupPage([record('A')], 'token')}\n${lookupPage([record('B')])}`,
      'a subscription payload as base64': subscriptionData(payload([JSON.stringify(record('A')), 'START'])),
      'not CloudTrail input': JSON.stringify({ Items: [] }),
      'a BOM alone': '\uFEFF',
      empty: '',
    };
    const pieces = (bytes: Buffer): Buffer[] =>
      Array.from({ length: Math.ceil(bytes.length / 7) }, (_, index) => bytes.subarray(index * 7, index * 7 + 7));

    for (const [index, [name, content]] of Object.entries(contents).entries()) {
      const bytes = Buffer.from(content);
      for (const [suffix, data] of [
        ['json', bytes],
        ['json.gz', gzipSync(bytes)],
      ] as const) {
        const path = write(`whole/${index}.${suffix}`, data);
        const whole = summary(await collect([path])).map((line) => line.replaceAll(path, 'FILE'));
        const streamed = summary(await collect(['-'], { stdin: Readable.from(pieces(data)) })).map((line) =>
          line.replaceAll('<stdin>', 'FILE'),
        );
        expect(whole, `${name} (${suffix})`).toEqual(streamed);
      }
    }
  });

  it('reads a gzip file of several members, as `cat a.gz b.gz` writes it', async () => {
    const text = JSON.stringify({ Records: [record('ConsoleLogin'), record('Logout')] });
    const path = write('members/trail.json.gz', Buffer.concat([gzipSync(text.slice(0, 40)), gzipSync(text.slice(40))]));

    expect(await read([path])).toEqual(['record Records[0] ConsoleLogin', 'record Records[1] Logout']);
  });

  it('reads a folder of small gzipped log files in order, a corrupt one among them', async () => {
    const trail = (name: string): Buffer => gzipSync(JSON.stringify({ Records: [record(name), record(`${name}2`)] }));
    const corrupt = trail('C');
    write('folder/a.json.gz', trail('A'));
    write('folder/b.json.gz', trail('B'));
    write('folder/c.json.gz', corrupt.subarray(0, corrupt.length - 30));
    write('folder/d.json.gz', Buffer.concat([trail('D'), Buffer.from('garbage')]));
    write('folder/e.json.gz', trail('E'));
    const progress: InputProgress[] = [];

    const items = await read([join(root, 'folder')], { onProgress: (p) => progress.push(p) });

    expect(items).toEqual([
      'record Records[0] A',
      'record Records[1] A2',
      'record Records[0] B',
      'record Records[1] B2',
      'error folder/c.json.gz (Records[0]): corrupt or truncated gzip data: unexpected end of file: its compressed data is cut short',
      // Data after a complete member costs only itself (zlib alone gave "incorrect header check" and no record).
      'record Records[0] D',
      'record Records[1] D2',
      expect.stringMatching(
        /^error folder\/d\.json\.gz: damaged gzip data, every intact member read \(bytes [\d,]+–[\d,]+ after 1 intact member: not gzip: skipped\)$/,
      ),
      'record Records[0] E',
      'record Records[1] E2',
    ]);
    expect(progress.map((p) => p.filesRead)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('streams a small gzip file that unpacks to more than it is worth holding whole', async () => {
    // 65 MiB of blank lines, then one record: under 100 KiB gzipped.
    const blank = `${' '.repeat(1024 * 1024 - 1)}\n`.repeat(65);
    const path = write('bomb/trail.json.gz', gzipSync(`${blank}${JSON.stringify(record('ConsoleLogin'))}\n`));
    expect(statSync(path).size).toBeLessThan(1024 * 1024);

    expect(await read([path])).toEqual(['record document ConsoleLogin']);
  });

  it('reports progress over the regular files, after each file and inside big ones', async () => {
    const small = write('progress/small.json', JSON.stringify({ Records: [record('ConsoleLogin')] }));
    const lines = Array.from({ length: 12_000 }, (_, index) => record(`Event${index}`));
    const big = write('progress/big.jsonl', ndjson(lines));
    const bytesTotal = statSync(small).size + statSync(big).size;
    expect(statSync(big).size).toBeGreaterThan(2 * 1024 * 1024);
    const progress: InputProgress[] = [];

    const items = await collect([small, '-', big], { stdin: Readable.from([]), onProgress: (p) => progress.push(p) });

    expect(items).toHaveLength(12_001);
    expect(progress[0]).toEqual({ bytesRead: 0, bytesTotal, filesRead: 0, filesTotal: 3 });
    expect(progress.at(-1)).toEqual({ bytesRead: bytesTotal, bytesTotal, filesRead: 3, filesTotal: 3 });
    expect(progress.filter((p) => p.filesRead === 2).length).toBeGreaterThanOrEqual(3);
    for (const [index, p] of progress.entries()) {
      expect(p.bytesRead).toBeLessThanOrEqual(bytesTotal);
      expect(p.bytesRead).toBeGreaterThanOrEqual(progress[index - 1]?.bytesRead ?? 0);
    }
  });

  it('stops reading when the caller stops early', async () => {
    const path = write('early/records.jsonl', ndjson(Array.from({ length: 100 }, (_, index) => record(`E${index}`))));

    const seen: InputItem[] = [];
    for await (const item of readInput([path])) {
      seen.push(item);
      if (seen.length === 3) break;
    }

    expect(summary(seen)).toEqual(['record line 1 E0', 'record line 2 E1', 'record line 3 E2']);
  });
});

/** `aws cloudtrail lookup-events` output, as the AWS CLI prints it (indented by 4): one result per record. */
const lookupPage = (records: Record<string, unknown>[], nextToken?: string): string =>
  JSON.stringify(
    {
      Events: records.map((value, index) => ({
        EventId: `id-${index}`,
        EventName: value.eventName,
        ReadOnly: 'false',
        EventTime: '2024-05-01T14:00:00+02:00',
        EventSource: value.eventSource,
        Username: 'root',
        Resources: [],
        CloudTrailEvent: JSON.stringify(value),
      })),
      ...(nextToken === undefined ? {} : { NextToken: nextToken }),
    },
    null,
    4,
  );

/** A CloudWatch Logs subscription payload, decoded, carrying one log event per message. */
const payload = (messages: string[], messageType = 'DATA_MESSAGE'): Record<string, unknown> => ({
  messageType,
  owner: '123456789012',
  logGroup: 'aws-cloudtrail-logs-123456789012',
  logStream: '123456789012_CloudTrail_us-east-1',
  subscriptionFilters: ['rootwatch'],
  logEvents: messages.map((message, index) => ({ id: `${index}`, timestamp: 1714564800000 + index, message })),
});
/** A payload as a subscription delivers it: base64 of gzip. */
const subscriptionData = (value: unknown): string => gzipSync(JSON.stringify(value)).toString('base64');
const lambdaEvent = (data: string): Record<string, unknown> => ({ awslogs: { data } });

/** A stdin that gives `bytes` in pieces and counts how many it has given. */
const countedStdin = (bytes: Buffer, pieceBytes: number): { stdin: Readable; given: () => number; total: number } => {
  let given = 0;
  const total = Math.ceil(bytes.length / pieceBytes);
  async function* pieces(): AsyncGenerator<Buffer> {
    for (let index = 0; index < total; index++) {
      given++;
      yield bytes.subarray(index * pieceBytes, (index + 1) * pieceBytes);
    }
  }
  return { stdin: Readable.from(pieces()), given: () => given, total };
};

describe('readInput: aws cloudtrail lookup-events output', () => {
  it('reads each result’s CloudTrailEvent as a record', async () => {
    const path = write('lookup/events.json', lookupPage([record('ConsoleLogin'), record('CreateAccessKey')], 'token'));

    const items = await collect([path]);

    expect(summary(items)).toEqual([
      'record Events[0].CloudTrailEvent ConsoleLogin',
      'record Events[1].CloudTrailEvent CreateAccessKey',
    ]);
    expect(items[0]).toEqual({
      kind: 'record',
      record: record('ConsoleLogin'),
      file: path,
      position: 'Events[0].CloudTrailEvent',
    });
  });

  it('reads pages one after another, as --max-items and --starting-token print them', async () => {
    const first = lookupPage([record('ConsoleLogin'), record('Logout')], 'token');
    const second = lookupPage([record('CreateAccessKey')]);
    const stdin = Readable.from([`${first}\n${second}\n`]);
    const compact = write(
      'lookup/compact.json',
      `${JSON.stringify(JSON.parse(first))}${JSON.stringify(JSON.parse(second))}`,
    );

    expect(await read(['-'], { stdin })).toEqual([
      'record line 1, Events[0].CloudTrailEvent ConsoleLogin',
      'record line 1, Events[1].CloudTrailEvent Logout',
      `record line ${first.split('\n').length + 1}, Events[0].CloudTrailEvent CreateAccessKey`,
    ]);
    expect(await read([compact])).toEqual([
      'record line 1, value 1, Events[0].CloudTrailEvent ConsoleLogin',
      'record line 1, value 1, Events[1].CloudTrailEvent Logout',
      'record line 1, value 2, Events[0].CloudTrailEvent CreateAccessKey',
    ]);
  });

  it('reports a result whose CloudTrailEvent is not a JSON record, with its position, and reads the others', async () => {
    const page = JSON.parse(
      lookupPage([record('ConsoleLogin'), record('B'), record('C'), record('D'), record('Logout')]),
    );
    page.Events[1].CloudTrailEvent = '{"eventName": "Trunc';
    page.Events[2].CloudTrailEvent = '"a string"';
    page.Events[3].CloudTrailEvent = 42;
    page.Events.splice(4, 0, { EventId: 'no-record' }, 'oops');
    const path = write('lookup/bad.json', JSON.stringify(page, null, 4));

    const items = await read([path]);

    expect(items).toEqual([
      'record Events[0].CloudTrailEvent ConsoleLogin',
      expect.stringMatching(
        /^error lookup\/bad\.json \(Events\[1\]\.CloudTrailEvent\): not a CloudTrail record as JSON: Unterminated string/,
      ),
      'error lookup/bad.json (Events[2].CloudTrailEvent): not a CloudTrail record or EventBridge event: expected an object, found string',
      'error lookup/bad.json (Events[3]): CloudTrailEvent is number, expected the record as a JSON string',
      'error lookup/bad.json (Events[4]): a lookup-events result without CloudTrailEvent',
      'error lookup/bad.json (Events[5]): expected a lookup-events result (an object with CloudTrailEvent), found string',
      'record Events[6].CloudTrailEvent Logout',
    ]);
  });

  it('reads the results on their own, as --query Events and jq -c .Events[] print them', async () => {
    const results = JSON.parse(lookupPage([record('ConsoleLogin'), record('Logout')])).Events;
    const array = write('lookup/query.json', JSON.stringify(results, null, 4));
    const lines = write('lookup/results.jsonl', ndjson(results));

    expect(await read([array, lines])).toEqual([
      'record [0].CloudTrailEvent ConsoleLogin',
      'record [1].CloudTrailEvent Logout',
      'record line 1, CloudTrailEvent ConsoleLogin',
      'record line 2, CloudTrailEvent Logout',
    ]);
  });

  it('reports Events that is not an array', async () => {
    const path = write('lookup/not-array.json', JSON.stringify({ Events: { CloudTrailEvent: '{}' } }));

    expect(await read([path])).toEqual([
      'error lookup/not-array.json: Events is object, expected an array of lookup-events results',
    ]);
  });
});

describe('readInput: CloudWatch Logs output of a trail’s log group', () => {
  it('reads aws logs filter-log-events output, each message as a record or event', async () => {
    const output = {
      events: [
        {
          logStreamName: 's',
          timestamp: 1,
          message: JSON.stringify(record('ConsoleLogin')),
          ingestionTime: 2,
          eventId: 'a',
        },
        {
          logStreamName: 's',
          timestamp: 3,
          message: JSON.stringify(event('CreateAccessKey')),
          ingestionTime: 4,
          eventId: 'b',
        },
      ],
      searchedLogStreams: [{ logStreamName: 's', searchedCompletely: true }],
    };
    const path = write('logs/filter.json', JSON.stringify(output, null, 4));

    const items = await collect([path]);

    expect(summary(items)).toEqual([
      'record events[0].message ConsoleLogin',
      'event events[1].message CreateAccessKey',
    ]);
    expect(items[0]).toMatchObject({ kind: 'record', record: record('ConsoleLogin') });
  });

  it('reads aws logs get-log-events pages one after another', async () => {
    const page = (names: string[], token: string): string =>
      JSON.stringify(
        {
          events: names.map((name, index) => ({
            timestamp: index,
            message: JSON.stringify(record(name)),
            ingestionTime: index,
          })),
          nextForwardToken: `f/${token}`,
          nextBackwardToken: `b/${token}`,
        },
        null,
        4,
      );
    const first = page(['ConsoleLogin', 'Logout'], '1');
    const stdin = Readable.from([`${first}\n${page(['GetSessionToken'], '2')}`]);

    expect(await read(['-'], { stdin })).toEqual([
      'record line 1, events[0].message ConsoleLogin',
      'record line 1, events[1].message Logout',
      `record line ${first.split('\n').length + 1}, events[0].message GetSessionToken`,
    ]);
  });

  it('reports a log event whose message is not a record, and reads the others', async () => {
    const output = {
      events: [
        { timestamp: 1, message: JSON.stringify(record('ConsoleLogin')) },
        { timestamp: 2, message: 'START RequestId: 6234bffe Version: $LATEST' },
        { timestamp: 3, message: '{"awsRegion": "us-east-1"}' },
        { timestamp: 4 },
        { timestamp: 5, message: JSON.stringify(record('Logout')) },
      ],
    };
    const path = write('logs/bad.json', JSON.stringify(output));

    expect(await read([path])).toEqual([
      'record events[0].message ConsoleLogin',
      expect.stringMatching(/^error logs\/bad\.json \(events\[1\]\.message\): not a CloudTrail record as JSON: /),
      'error logs/bad.json (events[2].message): not a CloudTrail record or EventBridge event: missing eventName',
      'error logs/bad.json (events[3]): a log event whose message is undefined, expected a CloudTrail record as a JSON string',
      'record events[4].message Logout',
    ]);
  });
});

describe('readInput: CloudWatch Logs subscription payloads', () => {
  it('reads a payload as a subscription delivers it to Lambda: base64 of gzip under awslogs.data', async () => {
    const data = subscriptionData(payload([JSON.stringify(record('ConsoleLogin')), JSON.stringify(event('Logout'))]));
    const path = write('subscription/lambda-event.json', JSON.stringify(lambdaEvent(data), null, 2));

    expect(await read([path])).toEqual([
      'record awslogs.data, logEvents[0].message ConsoleLogin',
      'event awslogs.data, logEvents[1].message Logout',
    ]);
  });

  it('reads a payload decoded, and its base64 text on its own', async () => {
    const value = payload([JSON.stringify(record('ConsoleLogin'))]);
    const decoded = write('subscription/decoded.json', JSON.stringify(value, null, 2));
    const base64 = write('subscription/data.b64', `${subscriptionData(value)}\n`);

    expect(await read([decoded, base64])).toEqual([
      'record logEvents[0].message ConsoleLogin',
      'record logEvents[0].message ConsoleLogin',
    ]);
  });

  it('skips CONTROL_MESSAGE payloads silently: they hold no records', async () => {
    const control = {
      ...payload([]),
      messageType: 'CONTROL_MESSAGE',
      logEvents: [{ id: '', timestamp: 1, message: 'CWL CONTROL MESSAGE: Checking health of destination Firehose.' }],
    };
    const lines = [
      lambdaEvent(subscriptionData(payload([JSON.stringify(record('ConsoleLogin'))]))),
      lambdaEvent(subscriptionData(control)),
      lambdaEvent(subscriptionData(payload([JSON.stringify(record('Logout'))]))),
    ];
    const path = write('subscription/events.jsonl', ndjson(lines));
    const alone = write('subscription/control.json', JSON.stringify(lambdaEvent(subscriptionData(control))));

    expect(await read([path, alone])).toEqual([
      'record line 1, awslogs.data, logEvents[0].message ConsoleLogin',
      'record line 3, awslogs.data, logEvents[0].message Logout',
    ]);
  });

  it('reads payloads as Firehose writes them to S3: gzip members one after another', async () => {
    const members = [
      payload([JSON.stringify(record('ConsoleLogin')), JSON.stringify(record('GetSessionToken'))]),
      { ...payload([]), messageType: 'CONTROL_MESSAGE' },
      payload([JSON.stringify(record('Logout'))]),
    ].map((value) => gzipSync(JSON.stringify(value)));
    const path = write('subscription/firehose-object', Buffer.concat(members));

    expect(await read([path])).toEqual([
      'record line 1, value 1, logEvents[0].message ConsoleLogin',
      'record line 1, value 1, logEvents[1].message GetSessionToken',
      'record line 1, value 3, logEvents[0].message Logout',
    ]);
  });

  it('reports a corrupt payload with its position, and goes on with the next', async () => {
    const good = (name: string): Record<string, unknown> =>
      lambdaEvent(subscriptionData(payload([JSON.stringify(record(name))])));
    const gzipped = gzipSync(JSON.stringify(payload([JSON.stringify(record('X'))])));
    const lines = [
      good('ConsoleLogin'),
      lambdaEvent('this is not base64!'),
      lambdaEvent(Buffer.from('{"messageType": "DATA_MESSAGE"}').toString('base64')),
      lambdaEvent(gzipped.subarray(0, gzipped.length - 12).toString('base64')),
      lambdaEvent(gzipSync('START RequestId').toString('base64')),
      lambdaEvent(subscriptionData({ ...payload([]), messageType: 'DATA' })),
      lambdaEvent(subscriptionData({ ...payload([]), logEvents: 'none' })),
      { awslogs: {} },
      good('Logout'),
      // zlib stops without a word at a zero byte after the gzip data: what follows is named, not dropped.
      lambdaEvent(Buffer.concat([gzipped, Buffer.alloc(1), gzipped]).toString('base64')),
    ];
    const path = write('subscription/corrupt.jsonl', ndjson(lines));

    expect(await read([path])).toEqual([
      'record line 1, awslogs.data, logEvents[0].message ConsoleLogin',
      'error subscription/corrupt.jsonl (line 2, awslogs.data): not base64 text (a subscription payload is base64 of gzip)',
      'error subscription/corrupt.jsonl (line 3, awslogs.data): not gzip data once base64-decoded (a subscription payload is base64 of gzip)',
      'error subscription/corrupt.jsonl (line 4, awslogs.data): corrupt or truncated gzip data: unexpected end of file',
      expect.stringMatching(
        /^error subscription\/corrupt\.jsonl \(line 5, awslogs\.data\): not valid JSON once unpacked: /,
      ),
      'error subscription/corrupt.jsonl (line 6, awslogs.data): a subscription payload whose messageType is "DATA", expected DATA_MESSAGE or CONTROL_MESSAGE',
      'error subscription/corrupt.jsonl (line 7, awslogs.data): logEvents is string, expected an array of log events',
      'error subscription/corrupt.jsonl (line 8): awslogs.data is missing: expected a subscription payload in base64',
      'record line 9, awslogs.data, logEvents[0].message Logout',
      `error subscription/corrupt.jsonl (line 10, awslogs.data): data after the gzip data (from byte ${gzipped.length}) is not read`,
    ]);
  });
});

describe('readInput: log files one after another', () => {
  const trail = (...names: string[]): string => JSON.stringify({ Records: names.map((name) => record(name)) });

  it('reads log files concatenated on stdin, as cat a.json b.json writes them', async () => {
    const joined = Readable.from([`${trail('A', 'A2')}${trail('B')}`]);
    const separated = Readable.from([`${trail('A', 'A2')}\n${trail('B')}\n`]);

    expect(await read(['-'], { stdin: joined })).toEqual([
      'record line 1, value 1, Records[0] A',
      'record line 1, value 1, Records[1] A2',
      'record line 1, value 2, Records[0] B',
    ]);
    expect(await read(['-'], { stdin: separated })).toEqual([
      'record line 1, Records[0] A',
      'record line 1, Records[1] A2',
      'record line 2, Records[0] B',
    ]);
  });

  it('reads gzipped log files concatenated on stdin, as cat *.json.gz writes them, past one that is not a log file', async () => {
    const files = [trail('A'), '{"Items": []}', trail('C', 'C2'), `${trail('D')}\n`, trail('E')];
    const stdin = Readable.from([Buffer.concat(files.map((text) => gzipSync(text)))]);

    expect(await read(['-'], { stdin })).toEqual([
      'record line 1, value 1, Records[0] A',
      expect.stringMatching(/^error <stdin> \(line 1, value 2\): not CloudTrail input: /),
      'record line 1, value 3, Records[0] C',
      'record line 1, value 3, Records[1] C2',
      'record line 1, value 4, Records[0] D',
      'record line 2, Records[0] E',
    ]);
  });

  it('reports a bad value among them and goes on with the next', async () => {
    const stdin = Readable.from([`${trail('A')} {"Records": [oops]}${trail('C')}`]);

    expect(await read(['-'], { stdin })).toEqual([
      'record line 1, value 1, Records[0] A',
      expect.stringMatching(/^error <stdin> \(line 1, value 2, Records\[0\]\): not valid JSON: /),
      'record line 1, value 3, Records[0] C',
    ]);
  });

  // Log files end without a newline: a day of them on stdin is one line of hundreds of MiB, more
  // than a string may hold. Past 8 MiB it is split into its files as it streams.
  it('splits a long line of log files into them as it streams, never holding it whole', async () => {
    const names = Array.from({ length: 10_000 }, (_, index) => `Event${index}`);
    const file = trail(...names);
    const text = Buffer.from(Array.from({ length: 8 }, () => file).join(''));
    expect(text.length).toBeGreaterThan(12 * 1024 * 1024);
    const input = countedStdin(text, 256 * 1024);

    let givenAtFirstItem = 0;
    const positions = new Map<string, number>();
    for await (const item of readInput(['-'], { stdin: input.stdin })) {
      if (givenAtFirstItem === 0) givenAtFirstItem = input.given();
      expect(item.kind).toBe('record');
      const value = item.kind === 'record' ? item.position.replace(/, Records\[\d+\]$/, '') : '';
      positions.set(value, (positions.get(value) ?? 0) + 1);
    }

    expect(givenAtFirstItem).toBeLessThan(input.total);
    expect([...positions]).toEqual(Array.from({ length: 8 }, (_, index) => [`line 1, value ${index + 1}`, 10_000]));
  });

  it('reads every log file around one whose gzip is cut short, as cat writes a partial download among others', async () => {
    const file = gzipSync(trail(...Array.from({ length: 3000 }, (_, index) => `Event${index}`)));
    const lost = gzipSync(trail('Lost'));
    // Cut in its trailer, at the end of its deflate data, and in its middle: zlib read the next member's header as
    // the rest of it, and the log file after it was lost.
    for (const cut of [1, 10, 20, Math.floor(lost.length / 2)]) {
      const stdin = Readable.from([Buffer.concat([file, file, lost.subarray(0, lost.length - cut), file])]);

      const items = await read(['-'], { stdin });

      const records = items.filter((line) => line.startsWith('record ') && !line.endsWith(' Lost'));
      expect(records, `cut ${cut}`).toHaveLength(9000);
      expect(items.at(-1), `cut ${cut}`).toMatch(
        /^error <stdin>: damaged gzip data, every intact member read \(bytes 19,000–[\d,]+ after 2 intact members: a member /,
      );
    }
  });
});

describe('readInput: a shape it does not read', () => {
  it('names the shapes it reads', async () => {
    const object = write('unknown/trail.json', JSON.stringify({ Items: [record('ConsoleLogin')] }));
    const scalar = write('unknown/number.json', '42');
    const lines = write('unknown/mixed.jsonl', ndjson([record('ConsoleLogin'), { Items: [] }, record('Logout')]));

    expect(await read([object, scalar, lines])).toEqual([
      'error unknown/trail.json: not CloudTrail input: expected CloudTrail records ({"Records":[…]}, a record, an array or NDJSON of records), EventBridge events, aws cloudtrail lookup-events output ({"Events":[…CloudTrailEvent]}), or CloudWatch Logs output (filter-log-events, get-log-events, a subscription payload)',
      expect.stringMatching(/^error unknown\/number\.json: not CloudTrail input: expected CloudTrail records /),
      'record line 1 ConsoleLogin',
      expect.stringMatching(/^error unknown\/mixed\.jsonl \(line 2\): not CloudTrail input: /),
      'record line 3 Logout',
    ]);
  });
});

describe('readInput: damaged gzip data', () => {
  /** A gzipped log file whose records are named TAG0, TAG1, … */
  const member = (tag: string, count: number): Buffer =>
    gzipSync(JSON.stringify({ Records: Array.from({ length: count }, (_, index) => record(`${tag}${index}`)) }));
  const names = (tag: string, count: number): string[] => Array.from({ length: count }, (_, index) => `${tag}${index}`);
  const pieces = (bytes: Buffer, size: number): Buffer[] =>
    Array.from({ length: Math.ceil(bytes.length / size) }, (_, index) =>
      bytes.subarray(index * size, (index + 1) * size),
    );
  /** The items of `bytes` read as a file (whole, when small) and streamed on stdin in `size`-byte pieces: both. */
  const readBoth = async (name: string, bytes: Buffer, size = 4096): Promise<[string[], string[]]> => {
    const path = write(`damaged/${name}`, bytes);
    const whole = (await read([path])).map((line) => line.replaceAll(`damaged/${name}`, 'FILE'));
    const stdin = Readable.from(pieces(bytes, size));
    const streamed = (await read(['-'], { stdin })).map((line) => line.replaceAll('<stdin>', 'FILE'));
    return [whole, streamed];
  };
  const recordNames = (items: string[]): string[] =>
    items.filter((line) => line.startsWith('record ')).map((line) => line.slice(line.lastIndexOf(' ') + 1));

  it('reads every record of a log file with data after its gzip member, read whole or streamed', async () => {
    const a = member('A', 20);
    const [whole, streamed] = await readBoth('trailing.json.gz', Buffer.concat([a, Buffer.from('not gzip\n')]));

    // zlib alone made this file one "incorrect header check" error, and no record.
    expect(recordNames(whole)).toEqual(names('A', 20));
    expect(whole.at(-1)).toBe(
      `error FILE: damaged gzip data, every intact member read (bytes ${a.length.toLocaleString('en-US')}–${(a.length + 8).toLocaleString('en-US')} after 1 intact member: not gzip: skipped)`,
    );
    expect(whole).toHaveLength(21);
    expect(streamed).toEqual(whole);
  });

  it('keeps the last records of a streamed file before data after its member', async () => {
    // Past 1 MiB gzipped, so streamed: zlib lost the text of the last piece it inflated with the error.
    const pad = (index: number) =>
      [1, 2, 3, 4].map((round) => createHash('sha256').update(`${round}:${index}`).digest('base64')).join('');
    const records = Array.from({ length: 12_000 }, (_, index) => ({
      ...record(`B${index}`),
      requestParameters: { pad: pad(index) },
    }));
    const big = gzipSync(JSON.stringify({ Records: records }));
    expect(big.length).toBeGreaterThan(1024 * 1024);
    const path = write('damaged/big.json.gz', Buffer.concat([big, Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02])]));

    const items = await read([path]);

    expect(recordNames(items)).toEqual(names('B', 12_000));
    expect(items.at(-1)).toBe(
      `error damaged/big.json.gz (Records[12000]): corrupt or truncated gzip data: unexpected end of file in gzip member 2 (from byte ${big.length.toLocaleString('en-US')}): inside a member header`,
    );
  });

  it("reads the members after a zero byte, where Node's gunzip stops without a word", async () => {
    const joined = Buffer.concat([member('A', 2), Buffer.alloc(1), member('C', 2), Buffer.alloc(512)]);
    const [whole, streamed] = await readBoth('zero.json.gz', joined, 7);

    expect(whole).toEqual([
      'record line 1, value 1, Records[0] A0',
      'record line 1, value 1, Records[1] A1',
      'record line 1, value 2, Records[0] C0',
      'record line 1, value 2, Records[1] C1',
    ]);
    expect(streamed).toEqual(whole);
  });

  it('reads gzip whose first byte is damaged on stdin, or under a name that does not say gzip, as a .gz file', async () => {
    // Found by helper-71: once read as text, every intact member lost, and the error said "not valid JSON".
    const first = member('A', 2);
    // Two bits: too far from a header to be read as one (one bit is, below), the member is skipped.
    first[0] = (first[0] as number) ^ 0x81;
    const bytes = Buffer.concat([first, member('B', 2), member('C', 2)]);
    for (const name of ['flipped.json.gz', 'flipped.json']) {
      const [whole, streamed] = await readBoth(name, bytes, 100);
      expect(recordNames(whole), name).toEqual(['B0', 'B1', 'C0', 'C1']);
      expect(whole.at(-1), name).toMatch(/^error FILE: damaged gzip data, every intact member read \(bytes 0–/);
      expect(streamed, name).toEqual(whole);
    }
    // Text is still text: a JSON file whose first byte is not text, without a member's bytes, is not read as gzip
    // (the stray byte reads as a damaged log file header).
    const [text] = await readBoth('bom.json', Buffer.from(`\u0001${JSON.stringify({ Records: [record('T0')] })}`));
    expect(recordNames(text)).toEqual(['T0']);
    expect(text.join('\n')).not.toMatch(/gzip/);
  });

  it('never breaks the text of a log file split into members with a line the damage did not make', async () => {
    // Found by helper-71: after a member whose check alone failed, or after junk between members, a line break was
    // put between members' texts: inside a record, or inside a string, when the log file went on in the next member.
    const text = JSON.stringify({ Records: [record('A0'), record('A1')] }).replace(
      '"A1"',
      '"A1","userAgent":"[S3Console/0.4]"',
    );
    const at = text.indexOf('"[S3Console') + 1;
    const split = [gzipSync(text.slice(0, at)), gzipSync(text.slice(at, at + 30)), gzipSync(text.slice(at + 30))];
    const crc = Buffer.from(split[0] as Buffer);
    crc[crc.length - 8] = (crc[crc.length - 8] as number) ^ 1;
    const junk = Buffer.from('junk!!!!');
    for (const [what, bytes] of [
      ['a failed check', Buffer.concat([crc, split[1] as Buffer, split[2] as Buffer])],
      ['junk between members', Buffer.concat([split[0] as Buffer, junk, split[1] as Buffer, split[2] as Buffer])],
    ] as const) {
      const [whole, streamed] = await readBoth('split.json.gz', bytes, 50);
      expect(recordNames(whole), what).toEqual(['A0', 'A1']);
      expect(
        whole.filter((line) => line.startsWith('error')),
        what,
      ).toEqual([expect.stringMatching(/^error FILE: damaged gzip data, every intact member read/)]);
      expect(streamed, what).toEqual(whole);
    }
  });

  it('reads a member whose header has one bit flipped in its first four bytes, and names it', async () => {
    // Found by helper-71: such a member was skipped whole ("not gzip"), its deflate data intact.
    for (const [at, bit] of [
      [0, 0x01],
      [1, 0x80],
      [2, 0x04],
      [3, 0x20],
    ] as const) {
      for (const place of ['first', 'middle'] as const) {
        const b = member('B', 2);
        b[at] = (b[at] as number) ^ bit;
        const parts = place === 'first' ? [b, member('C', 1)] : [member('A', 1), b, member('C', 1)];
        const [whole, streamed] = await readBoth(`flipped-header-${at}.json.gz`, Buffer.concat(parts), 64);
        const what = `byte ${at} ${place}`;
        expect(recordNames(whole), what).toEqual([...(place === 'first' ? [] : ['A0']), 'B0', 'B1', 'C0']);
        expect(whole.at(-1), what).toMatch(/a member header with one bit flipped: read as the member it is\)$/);
        expect(streamed, what).toEqual(whole);
      }
    }
  });

  it('reads the members around a corrupt one, and names its bytes', async () => {
    const [a, b, c] = [member('A', 3), member('B', 3), member('C', 3)];
    for (let at = 30; at < 60; at++) b[at] = (b[at] as number) ^ 0x5a;
    const [whole, streamed] = await readBoth('middle.json.gz', Buffer.concat([a, b, c]), 100);
    const from = a.length.toLocaleString('en-US');
    const to = (a.length + b.length - 1).toLocaleString('en-US');

    expect(recordNames(whole)).toEqual([...names('A', 3), ...names('C', 3)]);
    expect(whole.at(-1)).toMatch(
      new RegExp(
        `^error FILE: damaged gzip data, every intact member read \\(bytes ${from}–${to} after 1 intact member: a member that does not inflate \\([a-z ]+\\): its text up to the damage was read, the rest skipped\\)$`,
      ),
    );
    expect(streamed).toEqual(whole);
  });

  it('names a member that fails its CRC-32 check, whose text is read, and reads on', async () => {
    const a = member('A', 2);
    a[a.length - 8] = (a[a.length - 8] as number) ^ 1;
    const [whole, streamed] = await readBoth('crc.json.gz', Buffer.concat([a, member('C', 1)]));

    expect(whole).toEqual([
      // Its text is whole (only its check failed), and may go on in the next member: no line ends it.
      'record line 1, value 1, Records[0] A0',
      'record line 1, value 1, Records[1] A1',
      'record line 1, value 2, Records[0] C0',
      `error FILE: damaged gzip data, every intact member read (bytes 0–${(a.length - 1).toLocaleString('en-US')}: a member that fails its CRC-32 or size check: its text was read and may be damaged)`,
    ]);
    expect(streamed).toEqual(whole);
  });

  it('reads the member after one damaged in its last bytes, whose text runs on into the next member', async () => {
    // B inflates on into C's header, and its text goes on after its own `]}` on the same line: that used to stop the
    // file there, with C's records and the gzip fault unreported.
    const [a, b, c] = [member('A', 3), member('B', 3), member('C', 3)];
    // Its text can even repeat B's records (back-references into B's window): they are B's own, read again.
    for (const damaged of [b.subarray(0, b.length - 10), b.subarray(0, b.length - 9)]) {
      const [whole, streamed] = await readBoth('last-bytes.json.gz', Buffer.concat([a, damaged, c]), 64);

      expect(recordNames(whole)).toEqual(expect.arrayContaining([...names('A', 3), ...names('C', 3)]));
      expect(whole.at(-1)).toMatch(/^error FILE: damaged gzip data, every intact member read \(bytes /);
      expect(streamed).toEqual(whole);
    }
  });

  it('reads a member cut short anywhere up to the next, none of the next member read as its text', async () => {
    // The cut member inflates on into the next member's bytes: their garbage once made records (alerts of no event,
    // counted twice with the next member's), the damage named bytes of the intact member, and a log file cut after a
    // record took the next log file for one of its records.
    const a = member('A', 200);
    const lines = gzipSync(ndjson(names('A', 200).map(record)));
    for (const [shape, cutMember] of [
      ['log file', a],
      ['JSON Lines', lines],
    ] as const) {
      for (const fraction of [0.2, 0.5, 0.8, 0.95, 0.99]) {
        const cut = Math.floor(cutMember.length * fraction);
        const [whole, streamed] = await readBoth(
          'cut-then-intact.json.gz',
          Buffer.concat([cutMember.subarray(0, cut), member('B', 3)]),
        );
        const found = recordNames(whole);
        const context = `${shape}, cut at ${fraction}`;

        // A's records from the first on, none twice, then all of B's: nothing else.
        expect(found, context).toEqual([...names('A', found.length - 3), ...names('B', 3)]);
        // One fault, ending where B starts.
        expect(whole.at(-1), context).toMatch(
          new RegExp(
            `^error FILE: damaged gzip data, every intact member read \\(bytes 0–${(cut - 1).toLocaleString('en-US')}: [^;]*\\)$`,
          ),
        );
        expect(streamed, context).toEqual(whole);
      }
    }
  });

  it('reads log files with junk between them, as the text of a damaged member leaves it', async () => {
    const trail = (tag: string) => JSON.stringify({ Records: [record(`${tag}0`), record(`${tag}1`)] });
    const stdin = Readable.from([`${trail('A')}y+++"x\u0001${trail('B')}\n1\n${trail('C')}`]);

    const items = await read(['-'], { stdin });

    expect(recordNames(items)).toEqual(['A0', 'A1', 'B0', 'B1', 'C0', 'C1']);
    expect(items.filter((line) => line.startsWith('error'))).toEqual([
      'error <stdin> (line 1, value 1, Records[2]): not valid JSON: unexpected "y" on line 1; reading goes on at the next record',
      'error <stdin> (line 1, value 2, Records[2]): not valid JSON: unexpected "1" on line 2; reading goes on at the next record',
    ]);
  });

  it('reads the log files after a value that never closes or breaks among them', async () => {
    const trail = (tag: string) => JSON.stringify({ Records: [record(`${tag}0`), record(`${tag}1`)] });
    for (const junk of ['{\n', '{"a":1', '{"eventVersion":"1.08","x":"ab']) {
      const items = await read(['-'], { stdin: Readable.from([`${trail('A')}${junk}${trail('B')}${trail('C')}`]) });

      expect(recordNames(items), junk).toEqual(['A0', 'A1', 'B0', 'B1', 'C0', 'C1']);
      expect(
        items.filter((line) => line.startsWith('error')),
        junk,
      ).toEqual([
        expect.stringMatching(
          // `{` then a log file reads as a log file whose header has a `{` too many.
          /^error <stdin> \(line 1, value 2(, Records\[0\])?\): not valid JSON: .*; reading goes on at the next record$/,
        ),
      ]);
    }
  });

  it('reads the records of a log file whose header is damaged, and the log files after it, however laid out', async () => {
    // Once the log file was one error ("not CloudTrail input"), or, first in its file, the whole file was: one byte
    // of a header lost every record of every log file after it on the same line or in the gzip members after it.
    const logFile = (tag: string) => JSON.stringify({ Records: [record(`${tag}0`), record(`${tag}1`)] });
    for (const damage of [
      '{""Records":[',
      '{"Recrds":[',
      '{"records":[',
      '{"Records:[',
      '{Records":[',
      '{"Re cords":[',
      // Its `{` lost, or its first two bytes (found by helper-72: the whole input was one error).
      '"Records":[',
      'Records":[',
    ]) {
      const first = logFile('A').replace('{"Records":[', damage);
      const texts = [`${first}${logFile('B')}${logFile('C')}`, `${first}\n${logFile('B')}\n${logFile('C')}\n`];
      const layouts: [string, Buffer][] = [
        ['same-line.json', Buffer.from(texts[0] as string)],
        ['lines.json', Buffer.from(texts[1] as string)],
        ['members.json.gz', Buffer.concat([gzipSync(first), member('B', 2), member('C', 2)])],
      ];
      for (const [name, bytes] of layouts) {
        const [whole, streamed] = await readBoth(name, bytes, 64);
        expect(recordNames(whole), `${damage} ${name}`).toEqual(['A0', 'A1', 'B0', 'B1', 'C0', 'C1']);
        expect(
          whole.filter((line) => line.startsWith('error')),
          `${damage} ${name}`,
        ).toEqual([
          expect.stringMatching(
            /Records\[0\]\): not valid JSON: a damaged "\{"Records":\[" on line 1; reading goes on/,
          ),
        ]);
        expect(streamed, `${damage} ${name}`).toEqual(whole);
      }
      // The first record's start lost with the header's end: read from the next record.
      const cutStart = `${logFile('A').replace('{"Records":[{"ev', '{"Records"')}${logFile('B')}`;
      expect(recordNames(await read(['-'], { stdin: Readable.from([cutStart]) }))).toEqual(['A1', 'B0', 'B1']);
      // In the middle: only its own header is lost.
      const middle = `${logFile('A')}\n${logFile('B').replace('{"Records":[', damage)}\n${logFile('C')}\n`;
      expect(recordNames(await read(['-'], { stdin: Readable.from([middle]) })), damage).toEqual([
        'A0',
        'A1',
        'B0',
        'B1',
        'C0',
        'C1',
      ]);
    }
  });

  it('reads JSON Lines whose first two lines are broken line by line, a pretty-printed document still as one', async () => {
    // Found by helper-71: once the whole file was one error ("not valid JSON or JSON Lines"), every intact line lost.
    const lines = ['A0', 'A1', 'A2', 'A3'].map((name) => JSON.stringify(record(name)));
    lines[0] = (lines[0] as string).slice(0, -1);
    lines[1] = (lines[1] as string).slice(0, -1);
    for (const name of ['broken-first.jsonl', 'broken-first.json']) {
      const [whole, streamed] = await readBoth(name, Buffer.from(`${lines.join('\n')}\n`));
      expect(recordNames(whole), name).toEqual(['A2', 'A3']);
      expect(
        whole.filter((line) => line.startsWith('error')).map((line) => line.slice(0, line.indexOf(':', 12))),
        name,
      ).toEqual(['error FILE (line 1)', 'error FILE (line 2)']);
      expect(streamed, name).toEqual(whole);
    }
    // A broken pretty-printed document with objects nested in it is one error, as before.
    const pretty = JSON.stringify({ Events: [{ a: 1 }, { b: 2 }] }, null, 2).replace('"a": 1', '"a": 1,,');
    const [document] = await readBoth('pretty.json', Buffer.from(pretty));
    expect(document.filter((line) => line.startsWith('error'))).toHaveLength(1);
  });

  it('reads the log files after a damaged first member holding JSON Lines', async () => {
    const lines = gzipSync(`${JSON.stringify(record('L0'))}\n${JSON.stringify(record('L1'))}\n`);
    const damaged = Buffer.from(lines);
    damaged[damaged.length - 20] = (damaged[damaged.length - 20] as number) ^ 0x10;
    const [whole, streamed] = await readBoth(
      'jsonl-first.json.gz',
      Buffer.concat([damaged, member('B', 2), member('C', 2)]),
    );

    expect(recordNames(whole)).toEqual(expect.arrayContaining(['B0', 'B1', 'C0', 'C1']));
    expect(whole.at(-1)).toMatch(/^error FILE: damaged gzip data, every intact member read \(bytes 0–/);
    expect(streamed).toEqual(whole);
  });

  it('names the faults before a cut last member once, beside the cut', async () => {
    const b = member('B', 2);
    const bytes = Buffer.concat([member('A', 2), Buffer.from('junk'), b.subarray(0, b.length - 20)]);
    const path = write('damaged/cut-after-junk.json.gz', bytes);

    const errors = (await read([path])).filter((line) => line.startsWith('error'));

    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(
      /corrupt or truncated gzip data: unexpected end of file in gzip member 2 \(from byte [\d,]+\): its compressed data is cut short$/,
    );
    expect(errors[1]).toMatch(
      /damaged gzip data, every intact member read \(bytes [\d,]+–[\d,]+ after 1 intact member: not gzip: skipped\)$/,
    );
  });

  it('reads past junk full of false member headers, in time linear in its size', async () => {
    const fakes = (pattern: number[], bytes: number) =>
      Buffer.alloc(bytes).map((_, index) => pattern[index % 4] as number);
    for (const pattern of [
      [0x1f, 0x8b, 0x08, 0x00], // a header whose deflate data fails at once
      [0x1f, 0x8b, 0x08, 0x08], // a header whose file name never ends
      [0x1f, 0x8b, 0x08, 0x0a], // the same with a header CRC (FHCRC)
      [0x1f, 0x8b, 0x08, 0x18], // a name and a comment
    ]) {
      const [whole, streamed] = await readBoth(
        'fakes.json.gz',
        Buffer.concat([member('A', 2), fakes(pattern, 256 * 1024), member('C', 2)]),
      );

      expect(recordNames(whole)).toEqual(['A0', 'A1', 'C0', 'C1']);
      expect(whole.at(-1)).toMatch(
        /^error FILE: damaged gzip data, every intact member read \(bytes [\d,]+–[\d,]+ after 1 intact member: /,
      );
      expect(streamed).toEqual(whole);
    }
  });

  it('reads every member after many that fail their CRC-32 check, and counts only intact ones as intact', async () => {
    const failing = Array.from({ length: 5 }, (_, index) => {
      const bytes = member(`F${index}-`, 1);
      bytes[bytes.length - 6] = (bytes[bytes.length - 6] as number) ^ 1;
      return bytes;
    });
    const [whole] = await readBoth('crc-many.json.gz', Buffer.concat([...failing, member('Z', 2)]));

    expect(recordNames(whole)).toEqual(['F0-0', 'F1-0', 'F2-0', 'F3-0', 'F4-0', 'Z0', 'Z1']);
    expect(whole.at(-1)).toMatch(
      /^error FILE: damaged gzip data, every intact member read \(bytes 0–\d+: a member that fails its CRC-32 or size check: .*; bytes [\d,]+–[\d,]+: a member that fails .*; 2 more\)$/,
    );
  });

  it('reads a member whose file name is longer than 64 KiB, whole and streamed alike', async () => {
    const a = member('A', 2);
    // FNAME (flag 0x08): a zero-terminated name after the fixed 10 bytes (RFC 1952 section 2.3.1).
    const named = Buffer.concat([
      a.subarray(0, 3),
      Buffer.from([0x08]),
      a.subarray(4, 10),
      Buffer.alloc(100_000, 0x61),
      Buffer.alloc(1),
      a.subarray(10),
    ]);
    const [whole, streamed] = await readBoth('long-name.json.gz', Buffer.concat([named, member('C', 1)]));

    expect(whole).toEqual([
      'record line 1, value 1, Records[0] A0',
      'record line 1, value 1, Records[1] A1',
      'record line 1, value 2, Records[0] C0',
    ]);
    expect(streamed).toEqual(whole);
  });

  it('reads a .gz file damaged before its first member: junk, zero padding, a flipped magic byte', async () => {
    const [a, c] = [member('A', 2), member('C', 2)];
    const flipped = Buffer.from(a);
    flipped[0] = 0x1e;
    const cases: Array<[string, Buffer, string[]]> = [
      ['junk', Buffer.concat([Buffer.from('this is no gzip\n'), a, c]), ['A0', 'A1', 'C0', 'C1']],
      ['zeros', Buffer.concat([Buffer.alloc(512), a, c]), ['A0', 'A1', 'C0', 'C1']],
      // One bit from a header: read as the member it is.
      ['flipped', Buffer.concat([flipped, c]), ['A0', 'A1', 'C0', 'C1']],
      // Further from one: skipped.
      ['mangled', Buffer.concat([Buffer.from(flipped).fill(0x42, 1, 2), c]), ['C0', 'C1']],
    ];
    for (const [name, bytes, expected] of cases) {
      const path = write(`damaged/start-${name}.json.gz`, bytes);
      const items = await read([path]);

      expect(recordNames(items), name).toEqual(expected);
      if (name !== 'zeros')
        expect(items.at(-1), name).toMatch(
          /^error damaged\/start-\w+\.json\.gz: damaged gzip data, every intact member read \(bytes 0–/,
        );
    }
    // A .gz name alone makes no gzip: plain JSON under it is read as text.
    const plain = write('damaged/plain.json.gz', JSON.stringify({ Records: [record('P')] }));
    expect(await read([plain])).toEqual(['record Records[0] P']);
  });

  // Log files concatenated (cat *.json.gz), any of them cut short, corrupted or followed by junk, read as a file and
  // as stdin in pieces of any size: every record of every member left intact is read, and a cut one is named.
  it('reads every intact member of any damaged concatenation', async () => {
    const damage = fc.oneof(
      fc.constant({ kind: 'none' as const }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.double({ min: 0, max: 0.98, noNaN: true }) }),
      fc.record({
        kind: fc.constant('flip' as const),
        at: fc.double({ min: 0, max: 0.99, noNaN: true }),
        length: fc.integer({ min: 1, max: 40 }),
      }),
      fc.record({ kind: fc.constant('junk' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ records: fc.integer({ min: 1, max: 3 }), damage }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 5000 }),
        async (members, size) => {
          const parts: Buffer[] = [];
          const intact: string[] = [];
          const cut = false;
          for (const [index, { records, damage }] of members.entries()) {
            const bytes = member(`M${index}R`, records);
            if (damage.kind === 'none' || damage.kind === 'junk') intact.push(...names(`M${index}R`, records));
            // The input's first two bytes stay the gzip magic bytes: without them it is read as text.
            const first = index === 0 ? 2 : 0;
            if (damage.kind === 'cut')
              parts.push(bytes.subarray(0, Math.max(first, Math.floor(damage.at * bytes.length))));
            else if (damage.kind === 'flip') {
              const start = Math.max(first, Math.floor(damage.at * bytes.length));
              for (let at = start; at < Math.min(bytes.length, start + damage.length); at++)
                bytes[at] = (bytes[at] as number) ^ 0xa5;
              parts.push(bytes);
            } else parts.push(bytes);
            if (damage.kind === 'junk') parts.push(Buffer.from(damage.bytes));
          }
          const [whole, streamed] = await readBoth(`property-${run++}.json.gz`, Buffer.concat(parts), size);

          for (const items of [whole, streamed]) {
            const read = new Set(recordNames(items));
            expect(intact.filter((name) => !read.has(name))).toEqual([]);
            if (cut) expect(items.some((line) => line.startsWith('error FILE'))).toBe(true);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

// CloudTrail writes no log file with members beside Records; one crafted so (`{"Records":[],"eventName":…}`) was read as
// an empty log file and its record silently lost, unless it stood inside a compact log file.
describe('readInput: a record given a Records member', () => {
  const stopLogging = { ...record('StopLogging'), eventSource: 'cloudtrail.amazonaws.com' };
  const crafted = { Records: [], ...stopLogging };
  const shapes: Record<string, { file: string; content: string | Buffer; items: string[] }> = {
    compact: { file: 'compact.json', content: JSON.stringify(crafted), items: ['record document StopLogging'] },
    'pretty-printed': {
      file: 'pretty.json',
      content: JSON.stringify(crafted, null, 2),
      items: ['record document StopLogging'],
    },
    gzipped: {
      file: 'gzipped.json.gz',
      content: gzipSync(JSON.stringify(crafted)),
      items: ['record document StopLogging'],
    },
    'JSON Lines': {
      file: 'lines.jsonl',
      content: ndjson([crafted, crafted]),
      items: ['record line 1 StopLogging', 'record line 2 StopLogging'],
    },
    'beside records of its own, spaced': {
      file: 'beside.json',
      content: JSON.stringify({ Records: [record('ConsoleLogin')], ...stopLogging }).replaceAll(',"', ', "'),
      items: ['record Records[0] ConsoleLogin', 'record document StopLogging'],
    },
    'after a second Records array': {
      file: 'second.json',
      content: `{"Records":[${JSON.stringify(record('ConsoleLogin'))}],"Records":[],${JSON.stringify(stopLogging).slice(1)}`,
      items: ['record Records[0] ConsoleLogin', 'record document StopLogging'],
    },
    'whose Records is not an array': {
      file: 'not-array.json',
      content: JSON.stringify({ Records: 'x', ...stopLogging }),
      items: [
        'error records-member/not-array.json: Records is string, expected an array of CloudTrail records',
        'record document StopLogging',
      ],
    },
    'beside lookup-events output in Events': {
      file: 'events.json',
      content: JSON.stringify({
        Records: [],
        Events: [{ EventId: 'e', CloudTrailEvent: JSON.stringify(stopLogging) }],
      }),
      items: ['record Events[0].CloudTrailEvent StopLogging'],
    },
    'beside a CloudWatch Logs subscription payload': {
      file: 'log-events.json',
      content: JSON.stringify({
        Records: [],
        messageType: 'DATA_MESSAGE',
        logEvents: [{ id: '1', timestamp: 1, message: JSON.stringify(stopLogging) }],
      }),
      items: ['record logEvents[0].message StopLogging'],
    },
    'inside the Records of a record, pretty-printed': {
      file: 'nested.json',
      content: JSON.stringify({ Records: [{ ...record('ListBuckets'), Records: [stopLogging] }] }, null, 2),
      items: ['record Records[0] ListBuckets', 'record Records[0].Records[0] StopLogging'],
    },
    'inside the Records of an array element and of an EventBridge detail': {
      file: 'nested-array.json',
      content: JSON.stringify([
        { ...record('ListBuckets'), Records: [stopLogging] },
        { ...event('ListBuckets'), detail: { ...record('ListBuckets'), Records: [stopLogging] } },
      ]),
      items: [
        'record [0] ListBuckets',
        'record [0].Records[0] StopLogging',
        'event [1] ListBuckets',
        'record [1].detail.Records[0] StopLogging',
      ],
    },
    'an EventBridge event that carries a record of its own': {
      file: 'event-and-record.json',
      content: JSON.stringify({ ...stopLogging, 'detail-type': 'Foo', source: 'x', detail: record('ListBuckets') }),
      items: ['event document ListBuckets', 'record document StopLogging'],
    },
    'members that are not a record': {
      file: 'other.json',
      content: JSON.stringify({ Records: [record('ConsoleLogin')], note: 'Root', size: 1 }),
      items: ['record Records[0] ConsoleLogin'],
    },
  };
  const patterns = detections.flatMap((detection) => detection.patterns);
  for (const [name, { file, content, items }] of Object.entries(shapes)) {
    it(`${name}: read the same with the catalog's pre-filter and without`, async () => {
      const path = write(`records-member/${file}`, content);

      expect(await read([path])).toEqual(items);
      expect(await read([path], { patterns })).toEqual(items);
    });
  }

  it('is read the same on worker threads, every shape in one directory', async () => {
    for (const [name, { file, content }] of Object.entries(shapes))
      write(`records-member-dir/${name}/${file}`, content);
    const dir = join(root, 'records-member-dir');

    const inThread = await read([dir], { patterns, workers: 0 });
    const onWorkers = await read([dir], { patterns, workers: 2 });

    expect(onWorkers).toEqual(inThread);
    expect(inThread.filter((line) => line.endsWith(' StopLogging'))).toHaveLength(14);
  });

  it('members past the string limit are reported, not passed over', async () => {
    const path = write(
      'records-member/long.json',
      JSON.stringify({ Records: [], ...stopLogging, requestParameters: { name: 'x'.repeat(2000) } }),
    );

    expect(await read([path], { patterns, limits: { maxStringBytes: 1000 } })).toEqual([
      'error records-member/long.json: holds a string longer than 1,000 bytes: skipped (--max-string-bytes)',
    ]);
  });
});
