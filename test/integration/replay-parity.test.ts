/**
 * Replay previews exactly what the deployed alerter sends: every catalog sample (and a sign-in from a
 * public address the IP databases know) goes once through the alert pipeline as the alert function
 * wires it, on local AWS, root sessions folded (session state in dynalite, the fold timer on the digest
 * queue, its messages handed to the digest function), and once through `rootwatch replay`; the alert and
 * digest documents, e-mails and Slack messages must be identical. Replay's clock is the events' time (a
 * fold is flushed once event time passes its window), so the live path here gets the same clock: each
 * timer message is handed to the digest function when the events reach the time its fold's window closes.
 * Then a burst of one session, its timers delivered at the end, as the live system sends it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Message } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertOutcome } from '../../functions/app/alert-pipeline.js';
import { runCli } from '../../functions/cli.js';
import { recordToEvent } from '../../functions/core/event.js';
import { FOLD_WINDOW_MS } from '../../functions/core/session.js';
import { createLocalDigests, createLocalNotifier, createLocalPipeline } from '../../functions/local/alerter.js';
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

/**
 * 30 root API calls of one console session (its temporary key ASIAPARITYBURST00001), two seconds apart from one
 * address; the 12th creates an access key (critical, a new detection: the session escalates).
 */
const burst = Array.from({ length: 30 }, (_, i) => {
  const base = readSample(i === 12 ? 'root-create-access-key.json' : 'root-api-call-put-bucket-versioning.json');
  return {
    ...base,
    ...(i === 12 ? {} : { eventName: ['ListBuckets', 'GetBucketAcl', 'PutBucketVersioning'][i % 3] }),
    eventID: `parity-burst-${String(i).padStart(2, '0')}`,
    eventTime: new Date(Date.UTC(2025, 6, 1, 12, 0, 0) + i * 2000).toISOString().replace('.000Z', 'Z'),
    sourceIPAddress: '203.0.113.50',
    userIdentity: { ...(base.userIdentity as object), accessKeyId: 'ASIAPARITYBURST00001' },
  };
});

let aws: LocalAws;
let slack: SlackServer;
let dir: string;

/** What the deployed wiring sent, by eventID (an alert) or digestID (a digest). */
interface Sent {
  documents: Map<string, { eventID?: string; digestID?: string; eventIDs?: string[] }>;
  emails: Map<string, string>;
  slack: string[];
}

/** The id of a document: an alert's eventID, a digest's digestID. */
const idOf = (document: { eventID?: string; digestID?: string }): string =>
  document.digestID ?? document.eventID ?? '?';

/**
 * What the topic and the Slack webhook got since the last call: the topic's messages as its JSON and e-mail
 * subscribers see them, and the Slack queues (the priority lane first) handed to the notifier as deployed.
 */
const collect = async (): Promise<Sent> => {
  const sent: Sent = { documents: new Map(), emails: new Map(), slack: [] };
  for (const published of (await aws.drain(aws.subscriberQueueUrl)).map(publishedOf)) {
    const document = JSON.parse(published.structure.sqs ?? '{}') as { eventID?: string; digestID?: string };
    sent.documents.set(idOf(document), document);
    sent.emails.set(idOf(document), `Subject: ${published.Subject}\n\n${published.structure.email}`);
  }
  const notifier = createLocalNotifier(aws, {
    detections,
    webhookUrl: slack.url,
    postOptions: { allowInsecureLocalhost: true },
    lanes: true,
  });
  slack.requests.length = 0;
  for (const [queueUrl, queueArn] of [
    [aws.slackPriorityQueueUrl, aws.slackPriorityQueueArn],
    [aws.slackQueueUrl, aws.slackQueueArn],
  ] as const) {
    const messages = await aws.drain(queueUrl);
    if (messages.length === 0) continue;
    expect((await notifier(sqsEventOf(messages, 1, undefined, queueArn))).batchItemFailures).toEqual([]);
  }
  sent.slack.push(...slack.requests.map((request) => JSON.stringify(request.body)));
  return sent;
};

/** The samples through the deployed wiring, with the events' clock for the fold timers. */
let deployed: Sent;
const outcomes: AlertOutcome[] = [];

/** Replay of `path` in `format`, with the account names and deploy parameters the deployed side has. */
const replay = async (format: string, path = join(dir, 'records')): Promise<string> => {
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
      path,
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

/** Replay's documents by id (--format ndjson). */
const replayedDocuments = async (path?: string) =>
  new Map(
    (await replay('ndjson', path))
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { eventID?: string; digestID?: string })
      .map((document) => [idOf(document), document]),
  );

/** Replay's e-mails by the id their body names (an alert's "Event ID", a digest's "Digest ID"). */
const replayedEmails = async (path?: string) =>
  new Map(
    (await replay('email', path))
      .split(/^---\n/m)
      .filter((block) => block !== '')
      .map((block) => [/^(?:Event|Digest) ID: "([^"]+)"$/m.exec(block)?.[1] ?? '?', block.replace(/\n$/, '')]),
  );

const withoutFinalNewline = (emails: Map<string, string>) =>
  new Map([...emails].map(([id, mail]) => [id, mail.replace(/\n$/, '')]));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rootwatch-parity-'));
  writeFileSync(join(dir, 'names.json'), JSON.stringify(ACCOUNT_NAMES));
  const recordsDir = join(dir, 'records');
  mkdirSync(recordsDir);
  for (const [i, { record }] of records.entries()) {
    writeFileSync(join(recordsDir, `${String(i).padStart(3, '0')}.json`), JSON.stringify({ Records: [record] }));
  }
  writeFileSync(join(dir, 'burst.json'), JSON.stringify({ Records: burst }));

  aws = await startLocalAws('rootwatch-parity');
  slack = await startSlackServer();
  const pipeline = createLocalPipeline(aws, {
    detections,
    runbookBaseUrl: RUNBOOKS,
    accountNames: ACCOUNT_NAMES,
    sessions: true,
  });
  const digests = createLocalDigests(aws, { detections });
  // Timer messages set while handling an event fire FOLD_WINDOW_MS after it, in event time (replay's clock).
  const pending: { dueMs: number; message: Message }[] = [];
  const deliverDue = async (nowMs: number) => {
    const due = pending.filter((timer) => timer.dueMs <= nowMs).sort((a, b) => a.dueMs - b.dueMs);
    for (const timer of due) pending.splice(pending.indexOf(timer), 1);
    if (due.length === 0) return;
    const { result } = await digests.deliverTimers(due.map((timer) => timer.message));
    expect(result.batchItemFailures).toEqual([]);
  };
  for (const [i, { record }] of records.entries()) {
    const event = recordToEvent(record);
    const timeMs = Date.parse(event.time);
    if (!Number.isNaN(timeMs)) await deliverDue(timeMs);
    outcomes.push(await pipeline.process(event, `parity-${i}`));
    for (const message of await aws.drain(aws.digestQueueUrl)) {
      pending.push({ dueMs: Number.isNaN(timeMs) ? Number.POSITIVE_INFINITY : timeMs + FOLD_WINDOW_MS, message });
    }
  }
  await deliverDue(Number.POSITIVE_INFINITY);
  deployed = await collect();
}, 180_000);

afterAll(async () => {
  await slack?.close();
  await aws?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('replay and the deployed pipeline', () => {
  it('account for every sample once, in an alert or a digest, and post each of them to Slack once', () => {
    const documents = [...deployed.documents.values()];
    const accounted = documents.flatMap((document) => document.eventIDs ?? [idOf(document)]);
    expect(accounted.toSorted()).toStrictEqual(records.map(({ record }) => String(record.eventID)).toSorted());
    expect(outcomes.map((outcome) => outcome.status).filter((s) => s !== 'delivered' && s !== 'folded')).toEqual([]);
    // The samples share sessions (one role's tampering, one root console session, …): some are folded.
    expect(documents.filter((document) => document.eventIDs !== undefined).length).toBeGreaterThan(0);
    expect(deployed.slack).toHaveLength(documents.length);
  });

  it('produce identical alert and digest documents (--format ndjson)', async () => {
    expect(await replayedDocuments()).toStrictEqual(deployed.documents);
  });

  it('produce identical e-mails (--format email)', async () => {
    expect(await replayedEmails()).toStrictEqual(withoutFinalNewline(deployed.emails));
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

describe('a folded burst of one root session, replayed and live', () => {
  it('gives the same first alert, the same escalation, and a digest of the same events', async () => {
    // Prepare: the live path as deployed; the fold's timer message handed to the digest function at the end.
    const pipeline = createLocalPipeline(aws, {
      detections,
      runbookBaseUrl: RUNBOOKS,
      accountNames: ACCOUNT_NAMES,
      sessions: true,
    });

    // Act
    const statuses: string[] = [];
    for (const [i, record] of burst.entries()) {
      statuses.push((await pipeline.process(recordToEvent(record), `parity-burst-${i}`)).status);
    }
    const timers = await createLocalDigests(aws, { detections }).deliverTimers();
    const live = await collect();
    const replayed = await replayedDocuments(join(dir, 'burst.json'));

    // Assess: the live path sent the first alert, the escalation and one digest of the other 28 events.
    expect(timers.messages).toHaveLength(1);
    expect(timers.result.batchItemFailures).toEqual([]);
    expect(statuses.filter((status) => status === 'delivered')).toHaveLength(2);
    const byKind = (documents: Map<string, unknown>) => {
      const all = [...documents.values()] as Array<{
        schema: string;
        eventID?: string;
        eventIDs?: string[];
        session?: { first: boolean; escalation?: { reason: string } };
      }>;
      return {
        first: all.find((d) => d.session?.first === true),
        escalation: all.find((d) => d.session?.escalation !== undefined),
        digests: all.filter((d) => d.schema === 'rootwatch.digest/v1'),
      };
    };
    const [a, b] = [byKind(live.documents), byKind(replayed)];
    expect(a.first?.eventID).toBe('parity-burst-00');
    expect(a.escalation?.eventID).toBe('parity-burst-12');
    expect(a.escalation?.session?.escalation?.reason).toBe(
      'severity high → critical; new detection root-access-key-created',
    );
    expect(a.digests.map((digest) => digest.eventIDs)).toStrictEqual([
      burst.map((record) => record.eventID).filter((id) => id !== 'parity-burst-00' && id !== 'parity-burst-12'),
    ]);
    // Replay printed the same three documents, whole.
    expect(b.first).toStrictEqual(a.first);
    expect(b.escalation).toStrictEqual(a.escalation);
    expect(b.digests).toStrictEqual(a.digests);
    expect(replayed).toStrictEqual(live.documents);
    // And the same e-mails and Slack messages.
    expect(await replayedEmails(join(dir, 'burst.json'))).toStrictEqual(withoutFinalNewline(live.emails));
    expect((await replay('slack', join(dir, 'burst.json'))).trimEnd().split('\n').sort()).toStrictEqual(
      [...live.slack].sort(),
    );
  }, 120_000);
});
