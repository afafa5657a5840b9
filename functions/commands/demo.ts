import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Detection } from '../core/detection.js';
import { recordToEvent } from '../core/event.js';
import type { SlackMessage } from '../core/render/slack.js';
import { DEFAULT_RUNBOOK_BASE_URL } from '../io/config.js';
import { DEFAULT_DETECTIONS_DIR, loadDetections } from '../io/detections.js';
import { logger } from '../io/logger.js';

interface DemoIo {
  stdout: (text: string) => void;
  stderr: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
}

/** The alert on-call most needs to recognise comes first; the rest follow in catalog order. */
const FIRST = 'root-console-sign-in';

/** The sample records the catalog expects to alert, each once, root sign-ins first. */
const alertingSamples = (detections: readonly Detection[], dir: string) => {
  const seen = new Set<string>();
  return [...detections]
    .sort((a, b) => Number(b.id === FIRST) - Number(a.id === FIRST))
    .flatMap((detection) => detection.samples.filter((sample) => sample.expect === 'match'))
    .filter((sample) => !seen.has(sample.fixture) && seen.add(sample.fixture))
    .map((sample) => ({
      name: sample.name,
      record: JSON.parse(readFileSync(join(dir, 'samples', sample.fixture), 'utf8')) as Record<string, unknown>,
    }));
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

/**
 * `npm start`: the sample events through the alert pipeline and the Slack notifier, wired as the
 * deployed functions wire them but to local stand-ins for AWS (fauxqs for SNS and SQS, dynalite for
 * DynamoDB) and a local Slack webhook, all started in this process. Prints what e-mail subscribers and
 * the Slack channel receive. With SLACK_WEBHOOK_URL set, the Slack messages go to that real webhook.
 * Resolves to the exit status: 1 when a Slack message was refused or left queued.
 */
const runDemo = async (io: DemoIo, options: { all?: boolean } = {}): Promise<number> => {
  const [
    { publishedOf, sqsEventOf, startLocalAws },
    { startSlackServer },
    { createLocalNotifier, createLocalPipeline },
  ] = await Promise.all([import('../local/aws.js'), import('../local/slack-server.js'), import('../local/alerter.js')]);
  logger.setLogLevel('SILENT');
  const aws = await startLocalAws('rootwatch-demo');
  const localSlack = await startSlackServer();
  try {
    const detections = loadDetections();
    const realWebhook = io.env.SLACK_WEBHOOK_URL;
    const samples = alertingSamples(detections, DEFAULT_DETECTIONS_DIR);
    io.stderr.write(
      `rootwatch demo: ${samples.length} sample CloudTrail events through the alert pipeline ` +
        `(local SNS/SQS: fauxqs, DynamoDB: dynalite, Slack: ${realWebhook ? 'your webhook' : 'a local webhook'})\n`,
    );
    const pipeline = createLocalPipeline(aws, {
      detections,
      runbookBaseUrl: DEFAULT_RUNBOOK_BASE_URL,
      accountNames: DEMO_ACCOUNT_NAMES,
    });
    for (const [i, sample] of samples.entries()) {
      await pipeline.process(recordToEvent(sample.record), `demo-${i}`);
    }

    const emails = (await aws.drain(aws.subscriberQueueUrl)).map(publishedOf).map((published) => ({
      subject: published.Subject ?? '',
      body: published.structure.email ?? '',
    }));
    const notifier = createLocalNotifier(aws, {
      detections,
      webhookUrl: realWebhook ?? localSlack.url,
      minIntervalMs: realWebhook ? 1100 : 0,
      postOptions: { allowInsecureLocalhost: !realWebhook },
    });
    const queued = await aws.drain(aws.slackQueueUrl);
    const result = await notifier(sqsEventOf(queued));
    const dead = await aws.drain(aws.slackDlqUrl);

    const shown = options.all ? emails.length : 3;
    const slackMessages = localSlack.requests.map((request) => request.body as SlackMessage);
    for (let i = 0; i < Math.min(shown, emails.length); i += 1) {
      const email = emails[i];
      const slack = slackMessages[i];
      if (slack) io.stdout(`${rule(`Slack, message ${i + 1}`)}${describeSlack(slack)}\n`);
      if (email) io.stdout(`${rule(`E-mail ${i + 1}`)}Subject: ${email.subject}\n\n${email.body}\n`);
    }
    if (emails.length > shown) {
      io.stdout(`${rule(`and ${emails.length - shown} more e-mails (rootwatch demo --all shows them whole)`)}`);
      for (const email of emails.slice(shown)) io.stdout(`Subject: ${email.subject}\n`);
    }
    io.stdout(
      `\n${emails.length} e-mails published to SNS; ${realWebhook ? queued.length - dead.length : slackMessages.length} Slack messages posted` +
        `${realWebhook ? ' to your webhook' : ' to the local webhook'}; ${dead.length} dead-lettered.\n`,
    );
    for (const message of dead) {
      io.stderr.write(
        `rootwatch demo: Slack refused an alert: ${message.MessageAttributes?.reason?.StringValue ?? '?'}\n`,
      );
    }
    return dead.length > 0 || result.batchItemFailures.length > 0 ? 1 : 0;
  } finally {
    await localSlack.close();
    await aws.stop();
  }
};

export { runDemo };
