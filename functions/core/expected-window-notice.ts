import { type ExpectedWindow, ExpectedWindowSchema } from './expected-window.js';
import { SEVERITIES } from './severity.js';
import * as z from './zod.js';

/*
 * The announcement of a break-glass window (`rootwatch expect`), apart from core/expected-window.ts: the alert function
 * reads windows but never announces one, so its bundle does not carry this schema.
 */

/** `schema` of the announcement of a window declared or ended. */
const NOTICE_SCHEMA = 'rootwatch.expected-window/v1';

/** What was announced: the window declared, or ended before its `until`. */
const NOTICE_EVENTS = ['declared', 'ended'] as const;

/**
 * The announcement of a window, declared or ended early (`rootwatch expect`), to the same destinations as alerts: the
 * SNS topic (e-mail text, and this document for JSON subscribers, with the attribute `document: expected-window`) and
 * the Slack queue, whose notifier posts it. Its own `schema`, so that nothing that reads alerts mistakes it for one.
 */
const ExpectedWindowNoticeSchema = z
  .object({
    schema: z.literal(NOTICE_SCHEMA),
    noticeID: z
      .string()
      .check(
        z.regex(/^w-[0-9a-f]{8}-(declared|ended)$/),
        z.describe('"<window id>-declared" or "-ended": the Slack notifier posts each once'),
      ),
    event: z.enum(NOTICE_EVENTS),
    severity: z.enum(SEVERITIES).check(z.describe('medium: for people to know, and to question if unplanned')),
    window: ExpectedWindowSchema,
  })
  .check(
    z.meta({
      title: 'rootwatch expected-window notice',
      description: 'A break-glass window declared or ended early with rootwatch expect.',
    }),
  );

/** An announcement of a window (see ExpectedWindowNoticeSchema). */
type ExpectedWindowNotice = z.infer<typeof ExpectedWindowNoticeSchema>;

/**
 * The announcement of `window`, `declared` or `ended` (with its endedAt and endedBy).
 *
 * @example
 * import type { ExpectedWindow } from './expected-window.js';
 *
 * declare const window: ExpectedWindow;
 * noticeOf('declared', window).noticeID; // e.g. "w-3f9a2c1e-declared"
 */
const noticeOf = (event: ExpectedWindowNotice['event'], window: ExpectedWindow): ExpectedWindowNotice => ({
  schema: NOTICE_SCHEMA,
  noticeID: `${window.id}-${event}`,
  event,
  severity: 'medium',
  window,
});

export type { ExpectedWindowNotice };
export { ExpectedWindowNoticeSchema, NOTICE_SCHEMA, noticeOf };
