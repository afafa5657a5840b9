/**
 * Fuzzing the whole pipeline with fast-check. Whatever arrives, the alert handler's path (route, parse, the one
 * pipeline, every renderer) either alerts or rejects the input with a structured AlerterError, and `rootwatch
 * replay` never crashes: it reports what it cannot read and exits 0 or 1.
 *
 * - Arbitrary JSON, and JSON shaped like an EventBridge event around a CloudTrail record with arbitrary values.
 * - Real records (the catalog's samples; the shared corpus when present) with fields removed, retyped
 *   (string ↔ number ↔ object ↔ array ↔ null) or replaced by hostile strings (Slack mentions and links, mrkdwn,
 *   CRLF, U+FFFF, U+202E, 10 KB strings) or nesting deeper than any encoder takes.
 * - Bursts of one root session, some events changed so: every eventID ends in exactly one alert or digest, or in a
 *   structured rejection (root sessions on, as deployed; state, sessions and fold timer in memory).
 * Every alert and digest is rendered as each destination gets it: the SNS message (e-mail and JSON copies), the Slack
 * queue's body read back as the notifier reads it, the Slack payload (which must never carry a live mention or link).
 * The inputs the fuzzing found are kept below as tests of their own.
 *
 * The runs use a fixed seed (FUZZ_SEED to change it); fast-check prints the seed, the path and the counterexample of
 * a failure, so `FUZZ_SEED=<seed>` reproduces it.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AlertOutcome, createAlertPipeline } from '../functions/app/alert-pipeline.js';
import { createFoldFlusher } from '../functions/app/digest.js';
import { createEnricher } from '../functions/app/enrich.js';
import type { DigestSink, Sink } from '../functions/app/ports.js';
import { replay } from '../functions/commands/replay.js';
import { type Alert, AlertSchema } from '../functions/core/alert-document.js';
import { type Digest, DigestSchema } from '../functions/core/digest-document.js';
import { parseEvent } from '../functions/core/event.js';
import { isHeartbeatEvent, parseHeartbeatEvent } from '../functions/core/heartbeat.js';
import { renderDigestEmail, renderDigestSlack, renderDigestSns } from '../functions/core/render/digest.js';
import { renderEmail } from '../functions/core/render/email.js';
import { renderSlackMessage } from '../functions/core/render/slack.js';
import { renderSnsMessage } from '../functions/core/render/sns.js';
import { toXmlSafeJson } from '../functions/core/render/text.js';
import { AlerterError } from '../functions/errors.js';
import { createAccountNames } from '../functions/io/accounts.js';
import { loadDetections } from '../functions/io/detections.js';
import { createGeoLookup } from '../functions/io/ip/geo-lookup.js';
import { logger } from '../functions/io/logger.js';
import { createMemorySessions } from '../functions/io/memory-sessions.js';
import { createMemoryState } from '../functions/io/memory-state.js';
import { FORMATS, type Format } from '../functions/io/stdout-sink.js';
import { corpusAvailable, readCorpus } from './helpers/corpus.js';
import { arbitraryJson, hostileString, type Path, variantOf, variants, variantText } from './helpers/fault-inputs.js';
import { envelopeOf } from './helpers/pipeline.js';
import { PRINTABLE_ASCII_SUBJECT } from './helpers/render-alerts.js';
import { isEnvelope, readSample, SAMPLES_DIR } from './helpers/samples.js';

/** The seed of every property here: fixed, so a run is repeatable; FUZZ_SEED explores others. */
const SEED = Number(process.env.FUZZ_SEED ?? 20_251_010);
/** Runs per property: a few hundred inputs through the pipeline take seconds even on a busy machine. */
const params = (numRuns: number) => ({ seed: SEED, numRuns });

const detections = loadDetections();
const RUNBOOKS = 'https://runbooks.example/';
/** One lookup for every run: the IP databases load once (public addresses in the corpus reach them). */
const geo = createGeoLookup();

/** The fields the pipeline reads, where a change matters most: mutations pick them half the time. */
const HOT_PATHS: readonly Path[] = [
  ['eventID'],
  ['eventName'],
  ['eventSource'],
  ['eventType'],
  ['eventTime'],
  ['awsRegion'],
  ['recipientAccountId'],
  ['sourceIPAddress'],
  ['userAgent'],
  ['errorCode'],
  ['errorMessage'],
  ['requestParameters'],
  ['responseElements'],
  ['additionalEventData'],
  ['userIdentity'],
  ['userIdentity', 'type'],
  ['userIdentity', 'arn'],
  ['userIdentity', 'accountId'],
  ['userIdentity', 'accessKeyId'],
  ['userIdentity', 'invokedBy'],
  ['userIdentity', 'sessionContext'],
];
/** The same fields inside an EventBridge event, and the envelope's own. */
const HOT_ENVELOPE_PATHS: readonly Path[] = [
  ...HOT_PATHS.map((path) => ['detail', ...path]),
  ['detail'],
  ['id'],
  ['account'],
  ['region'],
  ['time'],
  ['source'],
  ['detail-type'],
  ['resources'],
];

// ── what the alert function does with an event, and what each destination makes of an alert ───────────────────

/** What became of one input. */
type Handled =
  | { kind: 'rejected'; error: AlerterError }
  | { kind: 'heartbeat' }
  | { kind: 'outcome'; outcome: AlertOutcome; alerts: Alert[] };

/**
 * The alert function's wiring, in memory: the one pipeline with root sessions on (as deployed), state and sessions in
 * memory, a fold timer that records which folds are due, the fold flusher, and destinations (SNS and the Slack queue)
 * that record each alert and digest they are given.
 */
const createAlerter = () => {
  const alerts: Alert[] = [];
  const digests: Digest[] = [];
  const record = (name: string): Sink & DigestSink => ({
    name,
    send: async (alert) => {
      if (name === 'sns') alerts.push(alert);
    },
    sendDigest: async (digest) => {
      if (name === 'sns') digests.push(digest);
    },
  });
  const sinks = [record('sns'), record('slack-queue')];
  const state = createMemoryState();
  const sessions = createMemorySessions();
  const timers = new Set<string>();
  const flush = createFoldFlusher({ sessions, state, sinks });
  const pipeline = createAlertPipeline({
    detections,
    minSeverity: 'info',
    runbookBaseUrl: RUNBOOKS,
    state,
    enrich: createEnricher({
      geo,
      accountNames: createAccountNames({ names: { '111122223333': 'prod-payments' } }),
      timeoutMs: Number.POSITIVE_INFINITY,
    }),
    sinks,
    sessions: { state: sessions, timer: { schedule: async (foldId) => void timers.add(foldId) }, flush },
  });

  /**
   * One raw event, as functions/alert.ts routes it (a heartbeat its own way, anything else parsed and given to the
   * pipeline). Anything thrown that is not an AlerterError escapes: the property fails on it.
   */
  const handle = async (raw: unknown): Promise<Handled> => {
    const before = alerts.length;
    try {
      if (isHeartbeatEvent(raw)) {
        parseHeartbeatEvent(raw);
        return { kind: 'heartbeat' };
      }
      const outcome = await pipeline.process(parseEvent(raw), `fuzz-${before}`);
      return { kind: 'outcome', outcome, alerts: alerts.slice(before) };
    } catch (error) {
      if (error instanceof AlerterError) return { kind: 'rejected', error };
      throw error;
    }
  };

  /** Every fold whose timer was set, flushed as its timer message would (the flusher skips one already flushed). */
  const flushAll = async () => {
    for (const foldId of timers) await flush(foldId, 'fold-timer');
  };

  return { handle, flushAll, alerts, digests };
};

/** One raw event through a fresh alerter: a session of its own, so it alerts (or is rejected) on its own. */
const handle = (raw: unknown): Promise<Handled> => createAlerter().handle(raw);

/** Every string in a JSON value. */
const stringsIn = (value: unknown): string[] => {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(stringsIn);
  return [];
};

/** Slack markup that acts: a mention (`<!channel>`, `<!here>`, `<@U…>`, `<!subteam^…>`) or a link (`<http…>`). */
const LIVE_SLACK_MARKUP = /<[!@#]|<https?:|<mailto:/i;

/**
 * Renders an alert as every destination gets it, and checks what each must hold: SNS's message within its limit
 * with each protocol's copy; the Slack queue's body read back by the notifier's schema (else the notifier would
 * dead-letter a real alert); the Slack payload without live markup in any text.
 */
const expectRenderable = (alert: Alert): void => {
  const sns = renderSnsMessage(alert, detections);
  const copies = JSON.parse(sns.Message) as Record<string, string>;
  expect(Object.keys(copies).sort()).toEqual(['default', 'email', 'email-json', 'https', 'lambda', 'sqs']);
  expect(JSON.parse(copies.sqs ?? '{}').schema).toBe(alert.schema);

  const email = renderEmail(alert, detections);
  expect(email.subject).toMatch(PRINTABLE_ASCII_SUBJECT);
  expect(email.body.length).toBeGreaterThan(0);

  const queued = AlertSchema.safeParse(JSON.parse(toXmlSafeJson(alert)));
  expect(queued.error?.issues.slice(0, 3), 'the Slack queue body is an alert document').toBeUndefined();
  const slack = renderSlackMessage(queued.data as Alert, detections);
  for (const text of stringsIn(slack)) expect(text).not.toMatch(LIVE_SLACK_MARKUP);
};

/**
 * Renders a digest as every destination gets it: SNS (e-mail and JSON copies), the Slack queue's body read back by the
 * notifier's schema, and the Slack payload without live markup.
 */
const expectDigestRenderable = (digest: Digest): void => {
  const sns = renderDigestSns(digest, detections);
  expect(JSON.parse(JSON.parse(sns.Message).sqs).schema).toBe(digest.schema);
  expect(renderDigestEmail(digest, detections).subject).toMatch(PRINTABLE_ASCII_SUBJECT);
  const queued = DigestSchema.safeParse(JSON.parse(toXmlSafeJson(digest)));
  expect(queued.error?.issues.slice(0, 3), 'the Slack queue body is a digest document').toBeUndefined();
  for (const text of stringsIn(renderDigestSlack(queued.data as Digest, detections))) {
    expect(text).not.toMatch(LIVE_SLACK_MARKUP);
  }
};

/** How many inputs ended in each way, to show a property did not pass by rejecting everything. */
const tally = () => {
  const counts = { rejected: 0, heartbeat: 0, alerted: 0, quiet: 0 };
  return {
    counts,
    count(handled: Handled) {
      if (handled.kind !== 'outcome') counts[handled.kind] += 1;
      else counts[handled.outcome.status === 'delivered' ? 'alerted' : 'quiet'] += 1;
    },
  };
};

/** The property every input must hold: a structured rejection, or an outcome whose alerts all render. */
const expectHandled = async (raw: unknown, counts: ReturnType<typeof tally>): Promise<void> => {
  const handled = await handle(raw);
  counts.count(handled);
  if (handled.kind === 'rejected') {
    expect(handled.error.name).toMatch(/Error$/);
    expect(handled.error.message.length).toBeGreaterThan(0);
    return;
  }
  if (handled.kind !== 'outcome') return;
  const { outcome, alerts } = handled;
  if (outcome.status !== 'delivered') {
    expect(alerts).toEqual([]);
    return;
  }
  expect(outcome.sinks).toEqual(['sns', 'slack-queue']);
  expect(alerts.map((alert) => alert.eventID)).toEqual([outcome.eventID]);
  expectRenderable(alerts[0] as Alert);
};

// ── inputs ─────────────────────────────────────────────────────────────────────────────────────────────────────

/** A value that is often right and sometimes anything: for the fields a record shaped by hand carries. */
const mostly = <T>(usual: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 12, arbitrary: usual },
    { weight: 1, arbitrary: arbitraryJson },
    { weight: 1, arbitrary: hostileString },
  );

/** Something like a CloudTrail record: the fields rootwatch reads, each usually plausible, sometimes not. */
const recordish = fc.record(
  {
    eventName: mostly(
      fc.constantFrom('ConsoleLogin', 'CreateAccessKey', 'PutBucketPolicy', 'AssumeRoot', 'GetCallerIdentity'),
    ),
    eventSource: mostly(
      fc.constantFrom('signin.amazonaws.com', 'iam.amazonaws.com', 's3.amazonaws.com', 'sts.amazonaws.com'),
    ),
    eventType: mostly(fc.constantFrom('AwsApiCall', 'AwsConsoleSignIn', 'AwsServiceEvent')),
    eventID: mostly(fc.uuid()),
    eventTime: mostly(fc.date({ noInvalidDate: true }).map((date) => date.toISOString())),
    awsRegion: mostly(fc.constantFrom('us-east-1', 'eu-west-1', 'us-gov-west-1', 'cn-north-1')),
    recipientAccountId: mostly(fc.constant('111122223333')),
    sourceIPAddress: mostly(fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('AWS Internal', 'iam.amazonaws.com'))),
    userAgent: mostly(fc.string()),
    errorCode: mostly(fc.constantFrom('AccessDenied', 'Failed authentication')),
    userIdentity: mostly(
      fc.record(
        {
          type: mostly(fc.constantFrom('Root', 'IAMUser', 'AssumedRole')),
          arn: mostly(fc.constant('arn:aws:iam::111122223333:root')),
          accountId: mostly(fc.constant('111122223333')),
          invokedBy: mostly(fc.constant('cloudformation.amazonaws.com')),
        },
        { requiredKeys: ['type'] },
      ),
    ),
    requestParameters: arbitraryJson,
    responseElements: mostly(fc.constant({ ConsoleLogin: 'Success' })),
    additionalEventData: mostly(fc.constant({ MFAUsed: 'No' })),
  },
  { requiredKeys: ['eventName', 'eventSource', 'userIdentity'] },
);

/** An EventBridge event around a record-like detail, its envelope's fields usually right. */
const eventish = fc.record(
  {
    version: mostly(fc.constant('0')),
    id: mostly(fc.uuid()),
    'detail-type': mostly(fc.constantFrom('AWS API Call via CloudTrail', 'AWS Console Sign In via CloudTrail')),
    source: mostly(fc.constantFrom('aws.iam', 'aws.signin', 'aws.s3', 'rootwatch.heartbeat')),
    account: mostly(fc.constant('111122223333')),
    time: mostly(fc.constant('2025-06-01T08:00:00Z')),
    region: mostly(fc.constant('us-east-1')),
    resources: mostly(fc.constant([])),
    detail: fc.oneof({ weight: 4, arbitrary: recordish }, { weight: 1, arbitrary: arbitraryJson }),
  },
  { requiredKeys: ['detail'] },
);

/** The catalog's samples, by file name, as stored (a CloudTrail record, or a whole EventBridge event). */
const samples: Record<string, Record<string, unknown>> = Object.fromEntries(
  readdirSync(SAMPLES_DIR)
    .filter((name) => name.endsWith('.json'))
    .map((name) => [name, readSample(name)]),
);

/** Each sample as the alert function receives it: an EventBridge event. */
const sampleEvents = Object.fromEntries(
  Object.entries(samples).map(([name, sample]) => [name, isEnvelope(sample) ? sample : envelopeOf(sample)]),
);

/** The corpus's records (CloudTrail records from AWS's documentation, Panther, Stratus Red Team, …), by origin. */
const corpusRecords = (): Record<string, Record<string, unknown>> => {
  const files = [
    'cloudtrail/aws-docs-records.jsonl',
    'cloudtrail/elastic-integrations-records.jsonl',
    'cloudtrail/panther-rule-tests.jsonl',
    'cloudtrail/panther-scenario-compromised-root-creds.jsonl',
    'cloudtrail/panther-other-cloudtrail-records.jsonl',
    'cloudtrail/stratus-red-team-detonation-records.jsonl',
  ];
  return Object.fromEntries(
    files.flatMap((file) =>
      readCorpus<{ record?: unknown }>(file).flatMap((row, i) =>
        typeof row.record === 'object' && row.record !== null
          ? [[`${file}:${i + 1}`, row.record as Record<string, unknown>]]
          : [],
      ),
    ),
  );
};

/** A corpus record as an EventBridge event, when it is a record AWS could deliver at all. */
const asEvent = (record: Record<string, unknown>): Record<string, unknown> | undefined => {
  try {
    return envelopeOf(record) as unknown as Record<string, unknown>;
  } catch {
    return undefined;
  }
};

// ── the alert function ─────────────────────────────────────────────────────────────────────────────────────────

describe('the alert function on arbitrary input', () => {
  it('rejects arbitrary JSON with an AlerterError, or handles it', async () => {
    const counts = tally();
    await fc.assert(
      fc.asyncProperty(arbitraryJson, (raw) => expectHandled(raw, counts)),
      params(300),
    );
    expect(counts.counts.rejected).toBeGreaterThan(0);
  });

  it('alerts on, or rejects with an AlerterError, events shaped like CloudTrail events with arbitrary values', async () => {
    const counts = tally();
    await fc.assert(
      fc.asyncProperty(eventish, (raw) => expectHandled(raw, counts)),
      params(400),
    );
    expect(counts.counts.alerted, JSON.stringify(counts.counts)).toBeGreaterThan(0);
    expect(counts.counts.rejected, JSON.stringify(counts.counts)).toBeGreaterThan(0);
  });

  it('alerts on, or rejects with an AlerterError, every catalog sample with fields removed, retyped or hostile', async () => {
    const counts = tally();
    await fc.assert(
      fc.asyncProperty(variants(sampleEvents, HOT_ENVELOPE_PATHS), (variant) =>
        expectHandled(variantOf(sampleEvents, variant), counts),
      ),
      params(500),
    );
    // Most variants of match samples still alert: the property is not passing on rejections alone.
    expect(counts.counts.alerted, JSON.stringify(counts.counts)).toBeGreaterThan(100);
  });

  it.skipIf(!corpusAvailable)(
    'alerts on, or rejects with an AlerterError, corpus records with fields removed, retyped or hostile',
    async () => {
      const events = Object.fromEntries(
        Object.entries(corpusRecords()).flatMap(([name, record]) => {
          const event = asEvent(record);
          return event ? [[name, event]] : [];
        }),
      );
      expect(Object.keys(events).length).toBeGreaterThan(500);
      const counts = tally();
      await fc.assert(
        fc.asyncProperty(variants(events, HOT_ENVELOPE_PATHS), (variant) =>
          expectHandled(variantOf(events, variant), counts),
        ),
        params(500),
      );
      expect(counts.counts.alerted + counts.counts.quiet, JSON.stringify(counts.counts)).toBeGreaterThan(100);
    },
  );

  it('keeps every hostile string out of Slack markup wherever it sits in a root sign-in', async () => {
    const record = readSample('root-console-sign-in-no-mfa.json');
    const counts = tally();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Path>(
          ['userAgent'],
          ['sourceIPAddress'],
          ['userIdentity', 'arn'],
          ['errorMessage'],
          ['eventName'],
          ['awsRegion'],
          ['eventID'],
          ['additionalEventData', 'MFAUsed'],
          ['requestParameters'],
        ),
        hostileString,
        async (path, value) => {
          // The envelope EventBridge built for the sign-in, its record then changed in one place.
          const event = envelopeOf(record) as unknown as { detail: Record<string, unknown> };
          const [head, tail] = path as [string, string | undefined];
          const detail = { ...event.detail };
          if (tail === undefined) detail[head] = value;
          else detail[head] = { ...(detail[head] as object | undefined), [tail]: value };
          await expectHandled({ ...event, detail }, counts);
        },
      ),
      params(300),
    );
    expect(counts.counts.alerted, JSON.stringify(counts.counts)).toBeGreaterThan(150);
  });
});

// ── a root session's burst ─────────────────────────────────────────────────────────────────────────────────────

/** The root samples a burst is made of: one root session's calls, each event of it sometimes changed. */
const BURST_BASES = [
  'root-create-access-key.json',
  'root-api-call-put-bucket-versioning.json',
  'root-password-updated.json',
  'root-console-sign-in-no-mfa.json',
];

describe('a root session’s burst on arbitrary input', () => {
  it('puts every eventID in exactly one alert or digest, or rejects it with an AlerterError', async () => {
    // A burst of one root session: 2 to 30 events of one root sample, two seconds apart, each with an eventID of its
    // own (one in ten delivered twice), some with fields removed, retyped or hostile (which may move them to another
    // session, or make them unreadable).
    let folded = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...BURST_BASES),
        fc.array(
          fc.record({
            // The changes are planned on one sample and applied to the event's own: paths missing in it are skipped.
            change: fc.option(
              variants({ event: envelopeOf(readSample('root-create-access-key.json')) }, HOT_ENVELOPE_PATHS),
              {
                nil: undefined,
                freq: 4,
              },
            ),
            twice: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
          }),
          { minLength: 2, maxLength: 30 },
        ),
        async (base, plan) => {
          // Prepare: the session's events, as EventBridge delivers them.
          const sample = readSample(base);
          const start = Date.parse('2025-06-01T08:00:00Z');
          const events = plan.flatMap(({ change, twice }, i) => {
            const event = envelopeOf({
              ...sample,
              eventID: `burst-${i}`,
              eventTime: new Date(start + i * 2_000).toISOString().replace('.000Z', 'Z'),
            });
            const raw = change ? variantOf({ event }, change) : event;
            return twice ? [raw, raw] : [raw];
          });
          const alerter = createAlerter();

          // Act
          const handled = [];
          for (const raw of events) handled.push(await alerter.handle(raw));
          await alerter.flushAll();

          // Assess: each outcome is accounted for exactly once, in an alert or a digest.
          const alerted = new Set<string>();
          const foldedIds = new Set<string>();
          for (const result of handled) {
            if (result.kind !== 'outcome') continue;
            const { outcome } = result;
            if (outcome.status === 'delivered') {
              expect(alerted.has(outcome.eventID) || foldedIds.has(outcome.eventID), outcome.eventID).toBe(false);
              alerted.add(outcome.eventID);
            }
            if (outcome.status === 'folded') {
              expect(alerted.has(outcome.eventID) || foldedIds.has(outcome.eventID), outcome.eventID).toBe(false);
              foldedIds.add(outcome.eventID);
            }
          }
          expect(alerter.alerts.map((alert) => alert.eventID).sort()).toEqual([...alerted].sort());
          const inDigests = alerter.digests.flatMap((digest) => digest.eventIDs);
          expect(inDigests.sort()).toEqual([...foldedIds].sort());
          for (const digest of alerter.digests) {
            expect(digest.count).toBe(digest.eventIDs.length);
            expectDigestRenderable(digest);
          }
          for (const alert of alerter.alerts) expectRenderable(alert);
          folded += foldedIds.size;
        },
      ),
      params(60),
    );
    // Bursts of one session fold: the property saw digests, not only alerts.
    expect(folded).toBeGreaterThan(0);
  });
});

// ── replay ─────────────────────────────────────────────────────────────────────────────────────────────────────

let dir: string;
let files = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rootwatch-fuzz-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** What replay printed, and how it ended. */
const runReplay = async (content: string | Buffer, format: Format, viaStdin: boolean) => {
  let stdout = '';
  let stderr = '';
  const path = join(dir, `input-${++files}.jsonl`);
  if (!viaStdin) writeFileSync(path, content);
  // Replay sets the log level for a terminal; here the logger stays silent, as for every other test.
  const level = vi.spyOn(logger, 'setLogLevel').mockImplementation(() => undefined);
  try {
    const result = await replay({
      paths: [viaStdin ? '-' : path],
      format,
      minSeverity: 'info',
      detections,
      runbookBaseUrl: RUNBOOKS,
      stdout: (text) => {
        stdout += text;
      },
      stderr: new Writable({
        write: (chunk, _encoding, done) => {
          stderr += String(chunk);
          done();
        },
      }),
      ...(viaStdin ? { stdin: Readable.from([Buffer.from(content)]) } : {}),
    });
    return { ...result, stdout, stderr };
  } finally {
    level.mockRestore();
  }
};

/**
 * Replay's input, from records given as JSON text: JSON Lines (with lines that are no JSON among them), a CloudTrail
 * log file (`{"Records": [...]}`), or bytes that are neither.
 */
const replayInput = (records: fc.Arbitrary<string>) =>
  fc.oneof(
    fc
      .array(fc.oneof({ weight: 3, arbitrary: records }, { weight: 1, arbitrary: fc.string() }), {
        minLength: 1,
        maxLength: 8,
      })
      .map((lines) => lines.join('\n')),
    fc.array(records, { maxLength: 8 }).map((texts) => `{"Records":[${texts.join(',')}]}`),
    fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  );

/** The property replay holds on any input: it ends, exits 0 or 1 as it reported, and prints what it read. */
const expectReplayHolds = async (content: string | Buffer, format: Format, viaStdin: boolean) => {
  const { exitCode, summary, stdout, stderr } = await runReplay(content, format, viaStdin);
  expect([0, 1]).toContain(exitCode);
  expect(exitCode).toBe(summary.errors > 0 ? 1 : 0);
  expect(summary.alerts).toBeLessThanOrEqual(summary.records);
  for (const line of stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('\r'))) {
    expect(line).toMatch(/^rootwatch: /);
  }
  const lines = stdout.split('\n').filter((line) => line !== '');
  // Replay folds root sessions: what it prints is the alerts and the digests.
  const printed = summary.alerts + summary.digests;
  if (format === 'ndjson') {
    expect(lines).toHaveLength(printed);
    for (const line of lines) {
      const document = JSON.parse(line) as { schema?: string };
      const schema = document.schema === 'rootwatch.digest/v1' ? DigestSchema : AlertSchema;
      expect(schema.safeParse(document).success).toBe(true);
    }
  }
  if (format === 'slack') {
    expect(lines).toHaveLength(printed);
    for (const line of lines) {
      for (const text of stringsIn(JSON.parse(line))) expect(text).not.toMatch(LIVE_SLACK_MARKUP);
    }
  }
  if (format === 'json') expect(JSON.parse(stdout)).toHaveLength(printed);
  return summary;
};

describe('rootwatch replay on arbitrary input', () => {
  it('never crashes on arbitrary JSON or bytes, from a file or stdin, in every format', async () => {
    await fc.assert(
      fc.asyncProperty(
        replayInput(arbitraryJson.map((value) => JSON.stringify(value) ?? 'null')),
        fc.constantFrom(...FORMATS),
        fc.boolean(),
        async (content, format, viaStdin) => {
          await expectReplayHolds(content, format, viaStdin);
        },
      ),
      params(40),
    );
  });

  it('never crashes on catalog samples with fields removed, retyped or hostile, and reports the unreadable ones', async () => {
    const records = Object.fromEntries(
      Object.entries(samples).map(([name, sample]) => [name, isEnvelope(sample) ? sample.detail : sample]),
    ) as Record<string, unknown>;
    let alerts = 0;
    await fc.assert(
      fc.asyncProperty(
        replayInput(variants(records, HOT_PATHS).map((variant) => variantText(records, variant))),
        fc.constantFrom(...FORMATS),
        fc.boolean(),
        async (content, format, viaStdin) => {
          alerts += (await expectReplayHolds(content, format, viaStdin)).alerts;
        },
      ),
      params(40),
    );
    // Variants of match samples still alert: replay printed alerts, not only reports.
    expect(alerts).toBeGreaterThan(0);
  });
});

// ── what the fuzzing found, one input each ──────────────────────────────────────────────────────────────────────

describe('inputs the fuzzing found', () => {
  const signIn = readSample('root-console-sign-in-no-mfa.json');

  it.each([
    ['eventID', { eventID: 'deb1e1f9-\ud800' }],
    ['awsRegion', { awsRegion: 'us-east-1\ud800' }],
  ])(
    'alerts on, or rejects with an AlerterError, a root sign-in whose %s holds a lone surrogate',
    async (_, change) => {
      // A lone surrogate is valid in JSON text ("\ud800") and in a JavaScript string, but encodeURIComponent throws
      // URIError on it (the CloudTrail link is built from eventID and region).
      const event = envelopeOf(signIn) as unknown as { detail: Record<string, unknown> };
      await expectHandled({ ...event, detail: { ...event.detail, ...change } }, tally());
    },
  );

  it('alerts on, or rejects with an AlerterError, a record without eventID that nests 5,000 levels deep', async () => {
    // Without eventID the event's id is a hash of the record's JSON text, and JSON.stringify overflows the stack here.
    let deep: unknown = 'bottom';
    for (let i = 0; i < 5_000; i += 1) deep = { a: deep };
    const event = envelopeOf(signIn) as unknown as { detail: Record<string, unknown> };
    const { eventID: _, ...detail } = event.detail;
    await expectHandled({ ...event, detail: { ...detail, additionalEventData: deep } }, tally());
  });

  it('replays a record whose eventID holds a lone surrogate without crashing', async () => {
    const record = JSON.stringify({ ...signIn, eventID: 'deb1e1f9-\ud800' });
    await expectReplayHolds(record, 'ndjson', false);
  });

  it('reports a file that is not JSON on one stderr line, without the file’s line breaks or escape sequences', async () => {
    // The JSON parser's message quotes the start of the text; a report that passes it on lets a crafted file
    // write lines (and terminal escape sequences) of its own on the responder's terminal.
    const { stderr } = await runReplay('#\n!\u001b[2J\u001b[31mforged line', 'table', false);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^rootwatch: /);
    expect(stderr).not.toContain('\u001b');
  });
});
