import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { ExpectedWindowNotice } from '../core/expected-window-notice.js';
import { renderNoticeSns } from '../core/render/expected-window.js';
import { toXmlSafeJson } from '../core/render/text.js';
import { toError } from '../errors.js';
import { sdk } from './aws-clients.js';

/** @aws-sdk/client-sns and client-sqs, imported on first use rather than at module load (io/aws-clients.ts, "Loading"). */

/** A destination that did not take the notice, named as the alert sinks are ("sns", "slack-queue"). */
interface NoticeFailure {
  sink: 'sns' | 'slack-queue';
  error: Error;
}

interface NoticeDestinations {
  sns: SNSClient;
  /** The stage's alert topic, rootwatch-<stage>-alerts. */
  topicArn: string;
  sqs: SQSClient;
  /** The stage's (normal) Slack queue, rootwatch-<stage>-slack: its notifier posts the notice. */
  slackQueueUrl: string;
}

/**
 * Announces break-glass windows where alerts go, as the alert sinks (io/sinks.ts) send alerts: the SNS topic (the
 * e-mail text and the notice document, render/expected-window.ts) and the Slack queue (the notice document as JSON SQS
 * accepts, with the message attributes `kind: expected-window`, `noticeID` and `severity`), whose notifier posts it
 * at Slack's pace (app/slack-notifier.ts reads rootwatch.expected-window/v1). Both are tried; resolves to the ones that
 * failed (none: announced everywhere).
 *
 * @example
 * import { SNSClient } from '@aws-sdk/client-sns';
 * import { SQSClient } from '@aws-sdk/client-sqs';
 * import type { ExpectedWindow } from '../core/expected-window.js';
 * import { noticeOf } from '../core/expected-window-notice.js';
 *
 * declare const window: ExpectedWindow;
 * const announce = createNoticeAnnouncer({
 *   sns: new SNSClient({}),
 *   topicArn: 'arn:aws:sns:us-east-1:111122223333:rootwatch-prod-alerts',
 *   sqs: new SQSClient({}),
 *   slackQueueUrl: 'https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-prod-slack',
 * });
 * await announce(noticeOf('declared', window)); // [] when the topic and the queue both took it
 */
const createNoticeAnnouncer =
  (destinations: NoticeDestinations) =>
  async (notice: ExpectedWindowNotice): Promise<NoticeFailure[]> => {
    const sends: [NoticeFailure['sink'], () => Promise<unknown>][] = [
      [
        'sns',
        async () =>
          destinations.sns.send(
            new (await sdk.sns()).PublishCommand({ TopicArn: destinations.topicArn, ...renderNoticeSns(notice) }),
          ),
      ],
      [
        'slack-queue',
        async () =>
          destinations.sqs.send(
            new (await sdk.sqs()).SendMessageCommand({
              QueueUrl: destinations.slackQueueUrl,
              MessageBody: toXmlSafeJson(notice),
              MessageAttributes: {
                kind: { DataType: 'String', StringValue: 'expected-window' },
                noticeID: { DataType: 'String', StringValue: notice.noticeID },
                severity: { DataType: 'String', StringValue: notice.severity },
              },
            }),
          ),
      ],
    ];
    const settled = await Promise.allSettled(sends.map(([, send]) => send()));
    return settled.flatMap((result, index) =>
      result.status === 'rejected' ? [{ sink: sends[index]?.[0] ?? 'sns', error: toError(result.reason) }] : [],
    );
  };

export type { NoticeFailure };
export { createNoticeAnnouncer };
