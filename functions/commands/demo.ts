import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Detection } from '../core/detection.js';
import { recordToEvent } from '../core/event.js';
import type { SlackMessage } from '../core/render/slack.js';
import { DEFAULT_DETECTIONS_DIR, loadDetections } from '../io/detections.js';
import { logger } from '../io/logger.js';
import type { publishedOf } from '../local/aws.js';

interface DemoIo {
  stdout: (text: string) => void;
  stderr: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
}

/** The alert on-call most needs to recognise comes first; the rest follow in catalog order. */
const FIRST = 'root-console-sign-in';

/** `2022-11-10T16:24:34Z` as CloudTrail writes times: whole seconds, no milliseconds. */
const cloudTrailTime = (ms: number): string =>
  new Date(Math.round(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/**
 * A burst sample's arrivals (`repeat: { count, everyMinutes }` in its detection file): its record `count` times,
 * `everyMinutes` apart from its own eventTime on, each with an eventID of its own (`<eventID>-repeat-1`, …), as the
 * catalog's tests send them. Throws when the record has no eventTime to start from.
 */
const repeatedRecords = (
  record: Record<string, unknown>,
  repeat: { count: number; everyMinutes: number },
  fixture: string,
): Record<string, unknown>[] => {
  const start = Date.parse(String(record.eventTime));
  if (Number.isNaN(start)) throw new TypeError(`events/samples/${fixture}: a repeated sample needs an eventTime`);
  return Array.from({ length: repeat.count }, (_, i) => ({
    ...record,
    eventID: `${String(record.eventID)}-repeat-${i + 1}`,
    eventTime: cloudTrailTime(start + i * repeat.everyMinutes * 60_000),
  }));
};

/** A record the demo sends, and whether it is one of a burst sample's arrivals. */
interface Arrival {
  record: Record<string, unknown>;
  burst: boolean;
}

/**
 * The sample records the catalog expects to alert, root sign-ins first: each fixture once, and each fixture that a
 * sample repeats (`repeat:`, a burst that proves a threshold) once more as that burst, where its first repeating
 * sample stands: the first of its arrivals alerts or escalates, the rest is folded into a digest.
 */
const alertingRecords = (detections: readonly Detection[], dir: string): Arrival[] => {
  const seen = new Set<string>();
  const bursts = new Set<string>();
  const read = (fixture: string) =>
    JSON.parse(readFileSync(join(dir, 'samples', fixture), 'utf8')) as Record<string, unknown>;
  return [...detections]
    .sort((a, b) => Number(b.id === FIRST) - Number(a.id === FIRST))
    .flatMap((detection) => detection.samples.filter((sample) => sample.expect === 'match'))
    .flatMap((sample): Arrival[] => {
      if (sample.repeat && !bursts.has(sample.fixture)) {
        bursts.add(sample.fixture);
        return repeatedRecords(read(sample.fixture), sample.repeat, sample.fixture).map((record) => ({
          record,
          burst: true,
        }));
      }
      if (sample.repeat || seen.has(sample.fixture)) return [];
      seen.add(sample.fixture);
      return [{ record: read(sample.fixture), burst: false }];
    });
};

/** A Slack message as text, block by block, the way the channel shows it (mrkdwn left as sent). */
const describeSlack = (message: SlackMessage): string => {
  const lines: string[] = [];
  for (const block of message.blocks as unknown as Array<Record<string, unknown>>) {
    const text = (block.text as { text?: string } | undefined)?.text;
    if (block.type === 'header') lines.push(`▌ ${text}`);
    if (block.type === 'section') {
      if (text) lines.push(`  ${text.replace(/\n/g, '\n  ')}`);
      for (const field of (block.fields as Array<{ text: string }> | undefined) ?? []) {
        lines.push(`  ${field.text.replace(/\n/, ': ')}`);
      }
    }
    if (block.type === 'context') {
      lines.push(`  ${(block.elements as Array<{ text?: string }>).map((e) => e.text ?? '').join(' ')}`);
    }
    if (block.type === 'actions') {
      for (const button of block.elements as Array<{ text: { text: string }; url?: string }>) {
        lines.push(`  [${button.text.text}] ${button.url ?? ''}`);
      }
    }
  }
  return lines.join('\n');
};

const rule = (title: string) => `\n── ${title} ${'─'.repeat(Math.max(0, 76 - title.length))}\n`;

/** Account names the demo's samples show, as the `accountNames` parameter would give them. */
const DEMO_ACCOUNT_NAMES = { '111122223333': 'demo-production', '444455556666': 'demo-member' };

/** What the topic published: an alert's or a digest's e-mail, and the document's id (eventID or digestID). */
interface Published {
  kind: 'alert' | 'digest';
  id: string;
  subject: string;
  body: string;
  /** Events in the digest. */
  count: number;
  /** The digest's eventIDs; an alert's own. */
  eventIDs: string[];
}

/** The SNS messages as the topic's subscribers got them, in order: e-mail text and the document's id. */
const publishedMessages = (messages: ReturnType<typeof publishedOf>[]): Published[] =>
  messages.map((published) => {
    const document = JSON.parse(published.structure.sqs ?? '{}') as {
      digestID?: string;
      eventID?: string;
      count?: number;
      eventIDs?: string[];
    };
    return {
      kind: document.digestID === undefined ? 'alert' : 'digest',
      id: document.digestID ?? document.eventID ?? '',
      subject: published.Subject ?? '',
      body: published.structure.email ?? '',
      count: document.digestID === undefined ? 1 : (document.count ?? 0),
      eventIDs: document.eventIDs ?? (document.eventID === undefined ? [] : [document.eventID]),
    };
  });

/**
 * `npm start`: the sample events through the alert pipeline, the digest function and the Slack notifier, wired as
 * the deployed functions wire them (root sessions folded, the priority Slack lane) but to local stand-ins for AWS
 * (fauxqs for SNS and SQS, dynalite for DynamoDB) and a local Slack webhook, all started in this process. The events
 * arrive one after another; at the end the folds' timers are delivered to the digest function (the five minutes SQS
 * would hold them are skipped), so each root session's rest goes out as one digest. Prints what e-mail subscribers
 * and the Slack channel receive: the first three messages and a digest whole (a burst sample's, else the first; with
 * `all`, every message), then a count of alerts, digests and the events folded into them. With SLACK_WEBHOOK_URL set, the Slack messages go to that real
 * webhook. Resolves to the exit status: 1 when a Slack message was refused or left queued, or a digest failed.
 */
const runDemo = async (io: DemoIo, options: { all?: boolean } = {}): Promise<number> => {
  const [
    { publishedOf, sqsEventOf, startLocalAws },
    { startSlackServer },
    { createLocalDigests, createLocalNotifier, createLocalPipeline },
  ] = await Promise.all([import('../local/aws.js'), import('../local/slack-server.js'), import('../local/alerter.js')]);
  logger.setLogLevel('SILENT');
  const aws = await startLocalAws('rootwatch-demo');
  const localSlack = await startSlackServer();
  try {
    const detections = loadDetections();
    const realWebhook = io.env.SLACK_WEBHOOK_URL;
    const arrivals = alertingRecords(detections, DEFAULT_DETECTIONS_DIR);
    io.stderr.write(
      `rootwatch demo: ${arrivals.length} sample CloudTrail events through the alert pipeline, root sessions folded ` +
        `(local SNS/SQS: fauxqs, DynamoDB: dynalite, Slack: ${realWebhook ? 'your webhook' : 'a local webhook'})\n`,
    );
    const pipeline = createLocalPipeline(aws, {
      detections,
      accountNames: DEMO_ACCOUNT_NAMES,
      sessions: true,
    });
    for (const [i, { record }] of arrivals.entries()) {
      await pipeline.process(recordToEvent(record), `demo-${i}`);
    }
    // The folds' windows close: their timer messages reach the digest function, which sends each fold as a digest.
    const timers = await createLocalDigests(aws, { detections }).deliverTimers();

    const published = publishedMessages((await aws.drain(aws.subscriberQueueUrl)).map(publishedOf));
    const notifier = createLocalNotifier(aws, {
      detections,
      webhookUrl: realWebhook ?? localSlack.url,
      minIntervalMs: realWebhook ? 1100 : 0,
      postOptions: { allowInsecureLocalhost: !realWebhook },
      lanes: true,
    });
    // The priority lane first, as the notifier drains it; one message at a time, to tell which post is whose.
    const queued = [
      ...(await aws.drain(aws.slackPriorityQueueUrl)).map((message) => ({ message, arn: aws.slackPriorityQueueArn })),
      ...(await aws.drain(aws.slackQueueUrl)).map((message) => ({ message, arn: aws.slackQueueArn })),
    ];
    const slackById = new Map<string, SlackMessage>();
    let failures = 0;
    for (const { message, arn } of queued) {
      const before = localSlack.requests.length;
      failures += (await notifier(sqsEventOf([message], 1, undefined, arn))).batchItemFailures.length;
      const posted = localSlack.requests[before];
      if (posted) {
        const document = JSON.parse(message.Body ?? '{}') as { digestID?: string; eventID?: string };
        slackById.set(document.digestID ?? document.eventID ?? '', posted.body as SlackMessage);
      }
    }
    const dead = await aws.drain(aws.slackDlqUrl);

    // Shown whole besides the first three: the digest of a burst sample (the catalog's repeated failed sign-ins).
    const burstIds = new Set(arrivals.filter((a) => a.burst).map((a) => String(a.record.eventID)));
    const burstDigest = published.findIndex(
      (item) => item.kind === 'digest' && item.eventIDs.some((id) => burstIds.has(id)),
    );
    const firstDigest = burstDigest >= 0 ? burstDigest : published.findIndex((item) => item.kind === 'digest');
    const shown = options.all
      ? published.map((_, i) => i)
      : [...new Set([0, 1, 2, ...(firstDigest >= 0 ? [firstDigest] : [])])].filter((i) => i < published.length);
    for (const i of shown) {
      const item = published[i] as Published;
      const slack = slackById.get(item.id);
      if (slack) io.stdout(`${rule(`Slack, message ${i + 1}`)}${describeSlack(slack)}\n`);
      io.stdout(`${rule(`E-mail ${i + 1}`)}Subject: ${item.subject}\n\n${item.body}\n`);
    }
    const rest = published.filter((_, i) => !shown.includes(i));
    if (rest.length > 0) {
      io.stdout(`${rule(`and ${rest.length} more e-mails (rootwatch demo --all shows them whole)`)}`);
      for (const item of rest) io.stdout(`Subject: ${item.subject}\n`);
    }
    const alerts = published.filter((item) => item.kind === 'alert').length;
    const digests = published.filter((item) => item.kind === 'digest');
    const folded = digests.reduce((sum, digest) => sum + digest.count, 0);
    const posted = realWebhook ? queued.length - dead.length - failures : slackById.size;
    io.stdout(
      `\n${published.length} e-mails published to SNS (${alerts} alerts, ${digests.length} digests of ${folded} ` +
        `folded events); ${posted} Slack messages posted${realWebhook ? ' to your webhook' : ' to the local webhook'}; ` +
        `${dead.length} dead-lettered.\n`,
    );
    for (const message of dead) {
      io.stderr.write(
        `rootwatch demo: Slack refused a message: ${message.MessageAttributes?.reason?.StringValue ?? '?'}\n`,
      );
    }
    if (timers.result.batchItemFailures.length > 0) {
      io.stderr.write(`rootwatch demo: ${timers.result.batchItemFailures.length} digests could not be sent\n`);
    }
    return dead.length > 0 || failures > 0 || timers.result.batchItemFailures.length > 0 ? 1 : 0;
  } finally {
    await localSlack.close();
    await aws.stop();
  }
};

export { runDemo };
