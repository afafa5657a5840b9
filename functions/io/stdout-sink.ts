import type { DigestSink, Sink } from '../app/ports.js';
import { type Alert, accountLabelOf } from '../core/alert-document.js';
import type { Detection } from '../core/detection.js';
import { type Digest, sortedCounts, timeSpanOf } from '../core/digest-document.js';
import { renderDigestEmail, renderDigestSlack } from '../core/render/digest.js';
import { type Email, renderEmail } from '../core/render/email.js';
import { renderSlackMessage } from '../core/render/slack.js';
import { cleanLine } from '../core/render/text.js';
import type { SessionSummary } from './memory-sessions.js';

const FORMATS = ['table', 'ndjson', 'json', 'slack', 'email'] as const;
type Format = (typeof FORMATS)[number];

/** The formats `--sessions` prints in: a line per session, or a JSON object per session. */
const SESSION_FORMATS = ['table', 'ndjson', 'json'] as const;
type SessionFormat = (typeof SESSION_FORMATS)[number];

/** How many event names and sources a session shows (`--sessions`); the rest are counted. */
const SESSION_TOP = 5;
/** How many event names a digest's table row shows. */
const DIGEST_ROW_NAMES = 3;

/** Writes alerts and digests to stdout in one output format, one at a time, so a long replay streams. */
interface StdoutSink extends Sink, DigestSink {
  /** Closes the output (the JSON array's bracket); call once, after the last alert or digest. */
  end(): void;
}

/** A table column: its header, its width (0: the last column, as long as its text) and its value. */
interface Column<T> {
  header: string;
  width: number;
  value: (item: T) => string;
}

/**
 * One cell: the text on one line without control or bidi characters (an attacker-controlled field must not move the
 * terminal's cursor or reorder what it shows: render/text.ts, cleanLine), cut with "…" or padded to `width`.
 */
const cell = (text: string, width: number): string => {
  // Clean only what can show: a crafted field may be hundreds of MB (the last column is cut at 4,096 characters).
  const clean = cleanLine(text.slice(0, width === 0 ? 4096 : 2 * width + 2));
  if (width === 0) return clean;
  return clean.length > width ? `${clean.slice(0, width - 1)}…` : clean.padEnd(width);
};

const tableRow = <T>(columns: readonly Column<T>[], values: string[]): string =>
  values
    .map((value, i) => cell(value, columns[i]?.width ?? 0))
    .join('  ')
    .trimEnd();

/** A table: its header before the first row. */
const createTable = <T>(columns: readonly Column<T>[], out: (text: string) => void) => {
  let headerDone = false;
  return (item: T) => {
    if (!headerDone)
      out(
        `${tableRow(
          columns,
          columns.map((c) => c.header),
        )}\n`,
      );
    headerDone = true;
    out(
      `${tableRow(
        columns,
        columns.map((c) => c.value(item)),
      )}\n`,
    );
  };
};

/** "ListBuckets 12, GetBucketAcl 8, +3 more": the first `top` counts, most first, and how many more names there are. */
const topCounts = (counts: Record<string, number>, top: number): string => {
  const sorted = sortedCounts(counts);
  const shown = sorted.slice(0, top).map(([name, count]) => `${name} ${count}`);
  return [...shown, ...(sorted.length > top ? [`+${sorted.length - top} more`] : [])].join(', ');
};

/** What a digest's table row says in its last column: detections, time span, and the top event names. */
const digestDetails = (digest: Digest): string =>
  [
    Object.keys(digest.detections).join(', '),
    timeSpanOf(digest.firstEventTime, digest.lastEventTime),
    topCounts(digest.eventNames, DIGEST_ROW_NAMES),
  ].join(' · ');

/**
 * An alert row; a digest row has the same columns: its first event time, severity, account, region, "digest: N
 * events", actor type, the address most of its events came from, and its detections, span and top event names.
 */
const COLUMNS: readonly Column<Alert | Digest>[] = [
  { header: 'TIME', width: 20, value: (a) => ('digestID' in a ? a.firstEventTime : a.eventTime) },
  { header: 'SEVERITY', width: 8, value: (a) => a.severity.toUpperCase() },
  { header: 'ACCOUNT', width: 12, value: (a) => a.account.id },
  { header: 'REGION', width: 14, value: (a) => a.region },
  {
    header: 'EVENT',
    width: 28,
    value: (a) =>
      'digestID' in a
        ? `digest: ${a.count} event${a.count === 1 ? '' : 's'}`
        : `${a.eventName}${a.outcome.result === 'failure' ? ' ✗' : ''}`,
  },
  { header: 'ACTOR', width: 12, value: (a) => a.actor.type },
  {
    header: 'SOURCE',
    width: 15,
    value: (a) => ('digestID' in a ? (a.sources[0]?.ip ?? '') : (a.source.ip ?? a.source.host ?? '')),
  },
  { header: 'DETECTIONS', width: 0, value: (a) => ('digestID' in a ? digestDetails(a) : a.detections.join(', ')) },
];

const emailText = ({ subject, body }: Email): string =>
  `Subject: ${subject}\n\n${body.endsWith('\n') ? body : `${body}\n`}---\n`;

/**
 * Replay's sink: alerts and digests as `format` on `out`. `slack` and `email` print exactly what the deployed
 * pipeline sends: one Slack payload (JSON) a line (an alert's, or a digest's: render/digest.ts), or each e-mail as
 * "Subject: …", a blank line, the body and a line "---"; `ndjson` one document a line (an alert, or a digest: tell
 * them apart by `schema`); `json` an array of them; `table` a row per alert and per digest ("digest: N events").
 *
 * @example
 * import { loadDetections } from './detections.js';
 *
 * const sink = createStdoutSink('ndjson', (text) => process.stdout.write(text), loadDetections());
 * sink.end();
 */
const createStdoutSink = (
  format: Format,
  out: (text: string) => void,
  detections: readonly Detection[],
): StdoutSink => {
  const sink = (write: (document: Alert | Digest) => void, end = () => {}): StdoutSink => ({
    name: 'stdout',
    send: async (alert) => write(alert),
    sendDigest: async (digest) => write(digest),
    end,
  });
  switch (format) {
    case 'slack':
      return sink((document) =>
        out(
          `${JSON.stringify('digestID' in document ? renderDigestSlack(document, detections) : renderSlackMessage(document, detections))}\n`,
        ),
      );
    case 'email':
      return sink((document) =>
        out(
          emailText(
            'digestID' in document ? renderDigestEmail(document, detections) : renderEmail(document, detections),
          ),
        ),
      );
    case 'ndjson':
      return sink((document) => out(`${JSON.stringify(document)}\n`));
    case 'json': {
      let count = 0;
      return sink(
        (document) => out(`${count++ === 0 ? '[\n' : ',\n'}${JSON.stringify(document, null, 2)}`),
        () => out(count === 0 ? '[]\n' : '\n]\n'),
      );
    }
    case 'table':
      return sink(createTable(COLUMNS, out));
  }
};

/** A session as `--sessions` prints it in JSON: its summary with the event names and sources cut to the top five. */
interface SessionDocument {
  session: { key: string };
  account: SessionSummary['account'];
  actor: SessionSummary['actor'];
  region: string;
  firstEventTime: string;
  lastEventTime: string;
  severity: SessionSummary['severity'];
  /** Alerting events: `alerts + folded`. */
  count: number;
  alerts: number;
  folded: number;
  /** The five most frequent event names with their counts. */
  eventNames: Record<string, number>;
  /** Present when there were more names: how many, and how many events they account for. */
  moreEventNames?: { names: number; count: number };
  /** The five address and client pairs most events came from. */
  sources: SessionSummary['sources'];
  moreSources?: { sources: number; count: number };
  /** Every detection with its count. */
  detections: Record<string, number>;
}

const sum = (counts: readonly number[]): number => counts.reduce((total, count) => total + count, 0);

/**
 * The JSON object `--sessions` prints for a session: account, actor, credential kind (`actor.credential`), first and
 * last event time, counts (total, alerted on their own, folded), highest severity, every detection with its count, and
 * the top five event names and sources (the rest summed in `moreEventNames` and `moreSources`).
 */
const sessionDocumentOf = (summary: SessionSummary): SessionDocument => {
  const names = sortedCounts(summary.eventNames);
  const moreNames = names.slice(SESSION_TOP);
  const moreSources = summary.sources.slice(SESSION_TOP);
  return {
    session: { key: summary.key },
    account: summary.account,
    actor: summary.actor,
    region: summary.region,
    firstEventTime: summary.firstEventTime,
    lastEventTime: summary.lastEventTime,
    severity: summary.severity,
    count: summary.count,
    alerts: summary.alerts,
    folded: summary.folded,
    eventNames: Object.fromEntries(names.slice(0, SESSION_TOP)),
    ...(moreNames.length > 0
      ? { moreEventNames: { names: moreNames.length, count: sum(moreNames.map(([, count]) => count)) } }
      : {}),
    sources: summary.sources.slice(0, SESSION_TOP),
    ...(moreSources.length > 0
      ? { moreSources: { sources: moreSources.length, count: sum(moreSources.map((source) => source.count)) } }
      : {}),
    detections: summary.detections,
  };
};

/** "203.0.113.50 aws-cli 2.27.0 (30)"; "unknown source (2)" without address and client. */
const sourceText = (source: SessionSummary['sources'][number]): string =>
  `${[source.ip, source.client].filter((part) => part !== undefined && part !== '').join(' ') || 'unknown source'} (${source.count})`;

/** The last column of a session's row: its detections, its top event names and its top sources, with counts. */
const sessionDetails = (summary: SessionSummary): string => {
  const more = summary.sources.length - SESSION_TOP;
  return [
    topCounts(summary.detections, Number.POSITIVE_INFINITY),
    topCounts(summary.eventNames, SESSION_TOP),
    `from ${[...summary.sources.slice(0, SESSION_TOP).map(sourceText), ...(more > 0 ? [`+${more} more`] : [])].join(', ')}`,
  ].join(' · ');
};

const SESSION_COLUMNS: readonly Column<SessionSummary>[] = [
  { header: 'FIRST', width: 20, value: (s) => s.firstEventTime },
  { header: 'LAST', width: 20, value: (s) => s.lastEventTime },
  { header: 'SEVERITY', width: 8, value: (s) => s.severity.toUpperCase() },
  { header: 'ACCOUNT', width: 28, value: (s) => accountLabelOf(s.account) },
  { header: 'ACTOR', width: 50, value: (s) => s.actor.arn ?? s.actor.type },
  { header: 'CREDENTIAL', width: 13, value: (s) => s.actor.credential ?? '-' },
  { header: 'EVENTS', width: 6, value: (s) => String(s.count) },
  { header: 'DETECTIONS · EVENT NAMES · SOURCES', width: 0, value: sessionDetails },
];

/** Writes `--sessions` output: a session at a time. */
interface SessionPrinter {
  write(summary: SessionSummary): void;
  /** Closes the output (the JSON array's bracket); call once, after the last session. */
  end(): void;
}

/**
 * `--sessions` output on `out`: `table` a row per session (first and last event time, highest severity, account,
 * actor ARN, credential kind, events, then detections, the top five event names and the top five sources with their
 * counts), `ndjson` a JSON object per session a line (sessionDocumentOf), `json` an array of them.
 *
 * @example
 * const printer = createSessionPrinter('ndjson', (text) => process.stdout.write(text));
 * printer.end();
 */
const createSessionPrinter = (format: SessionFormat, out: (text: string) => void): SessionPrinter => {
  switch (format) {
    case 'ndjson':
      return { write: (summary) => out(`${JSON.stringify(sessionDocumentOf(summary))}\n`), end: () => {} };
    case 'json': {
      let count = 0;
      return {
        write: (summary) =>
          out(`${count++ === 0 ? '[\n' : ',\n'}${JSON.stringify(sessionDocumentOf(summary), null, 2)}`),
        end: () => out(count === 0 ? '[]\n' : '\n]\n'),
      };
    }
    case 'table':
      return { write: createTable(SESSION_COLUMNS, out), end: () => {} };
  }
};

export type { Format, SessionDocument, SessionFormat };
export { createSessionPrinter, createStdoutSink, FORMATS, SESSION_FORMATS };
