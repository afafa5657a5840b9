/**
 * Replay previews exactly what the deployed alerter sends: every catalog sample (and a sign-in from a
 * public address the IP databases know) goes once through the alert pipeline as the alert function
 * wires it, on local AWS, and once through `rootwatch replay`; the alert documents, e-mails and Slack
 * messages must be identical.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../functions/cli.js';
import { recordToEvent } from '../../functions/core/event.js';
import { createLocalNotifier, createLocalPipeline } from '../../functions/local/alerter.js';
import { type LocalAws, publishedOf, sqsEventOf, startLocalAws } from '../../functions/local/aws.js';
import { type SlackServer, startSlackServer } from '../../functions/local/slack-server.js';
import { detections } from '../helpers/pipeline.js';
import { readSample, SAMPLES_DIR } from '../helpers/samples.js';

const RUNBOOKS = 'https://runbooks.example/rootwatch/';
const ACCOUNT_NAMES = { '111122223333': 'prod-payments' };

/** Every sample the catalog expects to alert, once, plus the same sign-in from Google's public resolver. */
const records = (() => {
  const fixtures = [
    ...new Set(detections.flatMap((d) => d.samples.filter((s) => s.expect === 'match').map((s) => s.fixture))),
  ];
  const signIn = readSample('root-console-sign-in-no-mfa.json');
  return [
    ...fixtures.map((fixture) => ({ name: fixture, record: readSample(fixture) })),
    {
      name: 'sign-in from a public address',
      record: { ...signIn, eventID: '0f4cb7c2-1d0a-4e0b-9a51-5f7d0c2e9a01', sourceIPAddress: '8.8.8.8' },
    },
  ];
})();

let aws: LocalAws;
let slack: SlackServer;
let dir: string;
/** What the deployed pipeline sent, by eventID. */
const deployed = {
  documents: new Map<string, unknown>(),
  emails: new Map<string, string>(),
  slack: [] as string[],
};

const replay = async (format: string): Promise<string> => {
  let stdout = '';
  const code = await runCli(
    // The deployment the samples are tested as (the pipeline's catalog, loaded without parameters, takes the same).
    [
      'replay',
      '--format',
      format,
      '--account-names',
      join(dir, 'names.json'),
      '--config',
      join(SAMPLES_DIR, 'parameters.yml'),
      join(dir, 'records'),
    ],
    {
      stdout: (text) => {
        stdout += text;
      },
      stderr: new Writable({ write: (_chunk, _encoding, done) => done() }),
      env: { ROOTWATCH_RUNBOOK_BASE_URL: RUNBOOKS },
    },
  );
  expect(code).toBe(0);
  return stdout;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rootwatch-parity-'));
  writeFileSync(join(dir, 'names.json'), JSON.stringify(ACCOUNT_NAMES));
  const recordsDir = join(dir, 'records');
  mkdirSync(recordsDir);
  for (const [i, { record }] of records.entries()) {
    writeFileSync(join(recordsDir, `${String(i).padStart(3, '0')}.json`), JSON.stringify({ Records: [record] }));
  }

  aws = await startLocalAws('rootwatch-parity');
  slack = await startSlackServer();
  const pipeline = createLocalPipeline(aws, { detections, runbookBaseUrl: RUNBOOKS, accountNames: ACCOUNT_NAMES });
  for (const [i, { record }] of records.entries()) {
    const outcome = await pipeline.process(recordToEvent(record), `parity-${i}`);
    expect(outcome.status).toBe('delivered');
  }
  for (const published of (await aws.drain(aws.subscriberQueueUrl)).map(publishedOf)) {
    const document = JSON.parse(published.structure.sqs ?? '{}') as { eventID: string };
    deployed.documents.set(document.eventID, document);
    deployed.emails.set(document.eventID, `Subject: ${published.Subject}\n\n${published.structure.email}`);
  }
  const notifier = createLocalNotifier(aws, {
    detections,
    webhookUrl: slack.url,
    postOptions: { allowInsecureLocalhost: true },
  });
  expect((await notifier(sqsEventOf(await aws.drain(aws.slackQueueUrl)))).batchItemFailures).toEqual([]);
  deployed.slack.push(...slack.requests.map((request) => JSON.stringify(request.body)));
}, 120_000);

afterAll(async () => {
  await slack?.close();
  await aws?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('replay and the deployed pipeline', () => {
  it('alert on every sample, each once', () => {
    expect(deployed.documents.size).toBe(records.length);
    expect(deployed.slack).toHaveLength(records.length);
  });

  it('produce identical alert documents (--format ndjson)', async () => {
    const lines = (await replay('ndjson')).trimEnd().split('\n');
    const replayed = new Map(
      lines.map((line) => [(JSON.parse(line) as { eventID: string }).eventID, JSON.parse(line)]),
    );
    expect(replayed).toStrictEqual(deployed.documents);
  });

  it('produce identical e-mails (--format email)', async () => {
    const blocks = (await replay('email')).split(/^---\n/m).filter((block) => block !== '');
    const replayed = new Map(
      blocks.map((block) => [/^Event ID: "([^"]+)"$/m.exec(block)?.[1] ?? '?', block.replace(/\n$/, '')]),
    );
    expect(replayed).toStrictEqual(new Map([...deployed.emails].map(([id, mail]) => [id, mail.replace(/\n$/, '')])));
  });

  it('produce identical Slack messages (--format slack)', async () => {
    const lines = (await replay('slack')).trimEnd().split('\n');
    expect([...lines].sort()).toStrictEqual([...deployed.slack].sort());
  });

  it('show the client, country and network where the data knows them', () => {
    const publicSignIn = deployed.documents.get('0f4cb7c2-1d0a-4e0b-9a51-5f7d0c2e9a01') as { source: unknown };
    expect(publicSignIn.source).toMatchObject({
      ip: '8.8.8.8',
      country: 'US',
      asn: 15169,
      org: expect.stringMatching(/Google/),
      client: 'Firefox 62 on macOS',
    });
    expect(deployed.emails.get('0f4cb7c2-1d0a-4e0b-9a51-5f7d0c2e9a01')).toContain(
      'From where: IP "8.8.8.8", country "US", network "AS15169 Google LLC", client "Firefox 62 on macOS"',
    );
  });
});
