import { availableParallelism } from 'node:os';
import { createAlertPipeline } from '../app/alert-pipeline.js';
import { createFoldFlusher } from '../app/digest.js';
import { createEnricher } from '../app/enrich.js';
import type { FoldTimer, GeoLookup } from '../app/ports.js';
import type { Detection } from '../core/detection.js';
import { type CloudTrailEvent, parseEvent, recordToEvent } from '../core/event.js';
import { cleanLine, groupDigits } from '../core/render/text.js';
import { SEVERITIES, type Severity } from '../core/severity.js';
import { InputError, toError, UsageError } from '../errors.js';
import { createAccountNames } from '../io/accounts.js';
import type { InputLimits } from '../io/input/limits.js';
import { readInputBatches } from '../io/input/read-input.js';
import { createTrailBucket, type S3Access } from '../io/input/s3-client.js';
import { createGeoLookup } from '../io/ip/geo-lookup.js';
import { logger } from '../io/logger.js';
import { createMemorySessions } from '../io/memory-sessions.js';
import { createMemoryState } from '../io/memory-state.js';
import { createProgressBar } from '../io/progress.js';
import {
  createSessionPrinter,
  createStdoutSink,
  type Format,
  SESSION_FORMATS,
  type SessionFormat,
} from '../io/stdout-sink.js';
import { inScope, isScoped, type LogScope } from './scope.js';

interface ReplayOptions {
  paths: string[];
  format: Format;
  minSeverity: Severity;
  detections: readonly Detection[];
  /** Runbook links as the deployed alerter makes them (runbookBaseUrl); undefined: none. */
  runbookBaseUrl?: string | undefined;
  /** Account id → name, as the `accountNames` parameter gives the deployed alerter (`--account-names FILE`). */
  accountNames?: Record<string, string>;
  stdout: (text: string) => void;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdin?: NodeJS.ReadableStream;
  /**
   * Fold root sessions as the deployed alerter does (the default): a session's first alert and its escalations are
   * printed as alerts, the rest as digests. False (`--no-fold`): every alerting event printed as an alert of its own.
   */
  fold?: boolean;
  /**
   * Print one row (table) or JSON object (ndjson, json) per root session instead of alerts and digests (`--sessions`).
   * Folds, whatever `fold` says: the sessions are the folding's.
   */
  sessions?: boolean;
  /** Milliseconds since some origin, for the summary's rate; injectable for tests. */
  now?: () => number;
  /**
   * Worker threads that read, gunzip and scan small files (default: os.availableParallelism()); 0 reads everything
   * on the main thread. What replay prints is the same either way.
   */
  workers?: number;
  /** The limits each input file is read under, over DEFAULT_LIMITS (io/input/limits.ts; `--max-depth` etc.). */
  limits?: Partial<InputLimits>;
  /**
   * What of the logs to look at (`--since`, `--until`, `--accounts`, `--regions`): a record outside is counted
   * (ReplaySummary.outOfScope) and not alerted, whatever path it came from; an `s3://` path's listing is pruned by it
   * (io/input/s3-input.ts).
   */
  scope?: LogScope;
  /** Profile and region for `s3://` paths (`--profile`, `--region`); default: the AWS SDK's chain. */
  s3?: S3Access;
  /** GETs in flight at once for `s3://` paths (`--concurrency`, 1 to 64; default 8). */
  concurrency?: number;
}

/**
 * The errors at a position (a record, a line) printed per file; the rest are counted in the summary's unreadable, and
 * one line after them says how many were left out.
 */
const SHOWN_ERRORS_PER_FILE = 20;
/**
 * How an error that stopped reading a file ends (a limit, damage again and again): always shown, past the cap too,
 * since what it says is that records are missing.
 */
const STOPPED_READING = /the rest of the (file|input) is not read( \([^)]*\))?$/;

interface ReplaySummary {
  /** Records read: those parsed, and those counted but skipped unparsed because no detection could match them. */
  records: number;
  /** Alerts printed (or, with `sessions`, that would have been): first alerts, escalations, and with no folding all. */
  alerts: number;
  /** Whether sessions were folded: false with `fold: false`. */
  folding: boolean;
  /** Digests printed (or that would have been). */
  digests: number;
  /** Events in those digests. */
  folded: number;
  /** Sessions printed, with `sessions`. */
  sessions?: number;
  errors: number;
  /**
   * Events a detection matched that the scope (ReplayOptions.scope) left out: what would have alerted (or folded)
   * without the scope. Records no detection matches are not counted, in scope or out. Absent unscoped.
   */
  outOfScope?: number;
  /** Alerts by severity (digests not counted). */
  bySeverity: Record<Severity, number>;
  seconds: number;
}

/** Who takes folds in replay: one process, so one owner. */
const OWNER = 'replay';

/** Replay's fold timer: none. Folds come due in event time, and the replay loop flushes them (dueFolds). */
const NO_TIMER: FoldTimer = { schedule: async () => {} };

/** The most addresses whose answers replay keeps: a trail's alerts come from a few addresses per session. */
const MAX_REMEMBERED_ADDRESSES = 10_000;

/** A geo lookup that answers an address it was asked before from memory (the databases do not change in a replay). */
const remembered = (lookup: GeoLookup): GeoLookup => {
  const answers = new Map<string, ReturnType<GeoLookup>>();
  return (ip) => {
    let answer = answers.get(ip);
    if (answer === undefined) {
      if (answers.size >= MAX_REMEMBERED_ADDRESSES) answers.clear();
      answer = lookup(ip);
      answers.set(ip, answer);
    }
    return answer;
  };
};

/**
 * What the alert function adds, less what needs the network (Organizations, the IAM alias): country and
 * network from the bundled IP databases, names from the given map. No time budget: replay prints the
 * same facts however busy the machine.
 */
const createReplayEnricher = (accountNames: Record<string, string> = {}) =>
  createEnricher({
    geo: remembered(createGeoLookup()),
    accountNames: createAccountNames({ names: accountNames }),
    timeoutMs: Number.POSITIVE_INFINITY,
  });

/**
 * `rootwatch replay`: the alert pipeline over CloudTrail input, with state in memory (one alert per
 * eventID, threshold counts in event time) and a stdout sink in the chosen format, so what it prints is
 * what the deployed alerter would send. Records that match no detection never leave the synchronous
 * path. A bad file or record is reported on stderr with where it was and skipped; the exit code is 1
 * if any input could not be read, else 0. A path `s3://BUCKET[/PREFIX]` is read from a trail's bucket
 * (io/input/s3-input.ts: listed along CloudTrail's key layout, pruned by `scope`; an object or folder that cannot be
 * read is reported as `s3://bucket/key: <reason>`, like a file); a record outside `scope`, from any path, is counted
 * and not alerted. Throws ConfigError when S3 is to be read without credentials or a region.
 *
 * Root sessions are folded as the deployed alerter folds them (app/alert-pipeline.ts, the session step), with the
 * session state in memory (io/memory-sessions.ts) and the event's time for arrival: before each alerting event, the
 * folds whose window (FOLD_WINDOW_MS from their first event) closed by its event time are flushed as digests
 * (app/digest.ts, to the same sink), a fold reaching FOLD_MAX_EVENTS at once, and whatever is open at the end of the
 * input. So last year's logs print the first alerts, escalations and digests the live system would have sent, had
 * the events arrived when they happened. With `fold: false` every alerting event prints as an alert of its own; with
 * `sessions`, a summary per session instead (a `--format` of table, ndjson or json: UsageError otherwise).
 */
const replay = async (options: ReplayOptions): Promise<{ exitCode: 0 | 1; summary: ReplaySummary }> => {
  if (options.sessions && !(SESSION_FORMATS as readonly string[]).includes(options.format)) {
    throw new UsageError(`--sessions prints ${SESSION_FORMATS.join(', ')} (got --format ${options.format})`);
  }
  const now = options.now ?? (() => performance.now());
  const started = now();
  // stdout is for alerts: the pipeline's per-alert info lines stay out; warnings go to stderr.
  logger.pinLogLevel('WARN');
  const folding = options.fold !== false || options.sessions === true;
  // With --sessions, the alerts and digests are counted, not printed: the sessions are.
  const sink = options.sessions
    ? { name: 'stdout', send: async () => {}, sendDigest: async () => {}, end: () => {} }
    : createStdoutSink(options.format, options.stdout, options.detections);
  const state = createMemoryState();
  const sessions = folding ? createMemorySessions() : undefined;
  const summary: ReplaySummary = {
    records: 0,
    alerts: 0,
    folding,
    digests: 0,
    folded: 0,
    errors: 0,
    bySeverity: Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>,
    seconds: 0,
  };
  const flushFold = sessions ? createFoldFlusher({ sessions, state, sinks: [sink] }) : undefined;
  const flush = async (foldId: string) => {
    const outcome = await (flushFold as NonNullable<typeof flushFold>)(foldId, OWNER);
    if (outcome.status === 'flushed') {
      summary.digests += 1;
      summary.folded += outcome.count;
    }
    return outcome;
  };
  const pipeline = createAlertPipeline({
    detections: options.detections,
    minSeverity: options.minSeverity,
    runbookBaseUrl: options.runbookBaseUrl,
    state,
    // The state is in memory: it answers or throws, never hangs.
    stateTimeoutMs: Number.POSITIVE_INFINITY,
    enrich: createReplayEnricher(options.accountNames),
    sinks: [sink],
    ...(sessions ? { sessions: { state: sessions, timer: NO_TIMER, flush } } : {}),
  });
  const progress = createProgressBar(options.stderr);
  const scope = options.scope !== undefined && isScoped(options.scope) ? options.scope : undefined;
  if (scope) summary.outOfScope = 0;
  // Errors at a position in the file errorFile: past SHOWN_ERRORS_PER_FILE they are counted, not printed (a bit
  // flipped in a gzip member breaks every record after it), and one line then says how many were left out.
  let errorFile: string | undefined;
  let shownInFile = 0;
  let hiddenInFile = 0;
  const noteHidden = () => {
    if (hiddenInFile > 0) {
      options.stderr.write(
        `rootwatch: ${cleanLine(errorFile ?? '')}: ${groupDigits(hiddenInFile)} more unreadable ${hiddenInFile === 1 ? 'record' : 'records'} not shown (the first ${SHOWN_ERRORS_PER_FILE} of a file are)\n`,
      );
    }
    hiddenInFile = 0;
  };
  const report = (error: Error) => {
    summary.errors += 1;
    progress.clear();
    if (error instanceof InputError) {
      if (error.file !== errorFile) {
        noteHidden();
        errorFile = error.file;
        shownInFile = 0;
      }
      if (error.position === undefined) noteHidden();
      else if (shownInFile >= SHOWN_ERRORS_PER_FILE && !STOPPED_READING.test(error.message)) {
        hiddenInFile += 1;
        return;
      } else shownInFile += 1;
    }
    // One line, no control or bidi characters: the message quotes the input, which may be hostile (render/text.ts).
    options.stderr.write(`rootwatch: ${cleanLine(error.message)}\n`);
  };
  /** Flushes the folds the timer would have flushed by now; a digest that cannot be printed is reported, not fatal. */
  const flushAll = async (foldIds: readonly string[]) => {
    if (foldIds.length > 0) progress.clear();
    for (const foldId of foldIds) {
      try {
        await flush(foldId);
      } catch (error) {
        report(new Error(`the digest of fold ${foldId} could not be printed: ${toError(error).message}`));
      }
    }
  };

  for await (const batch of readInputBatches(options.paths, {
    ...(options.stdin ? { stdin: options.stdin } : {}),
    onProgress: (p) => progress.update(p, summary.records),
    // Records that no detection's pattern can match are counted, never parsed (core/event-pattern/tokens.ts).
    patterns: options.detections.flatMap((detection) => detection.patterns),
    onSkipped: (count) => {
      summary.records += count;
    },
    workers: options.workers ?? availableParallelism(),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(scope ? { scope } : {}),
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.paths.some((path) => path.startsWith('s3://')) ? { s3: createTrailBucket(options.s3) } : {}),
    onNotice: (message) => {
      progress.clear();
      options.stderr.write(`rootwatch: ${cleanLine(message)}\n`);
    },
  })) {
    for (const item of batch) {
      if (item.kind === 'error') {
        report(item.error);
        continue;
      }
      summary.records += 1;
      let event: CloudTrailEvent;
      try {
        event = item.kind === 'record' ? recordToEvent(item.record) : parseEvent(item.event);
      } catch (error) {
        report(new InputError(item.file, item.position, toError(error).message, { cause: error }));
        continue;
      }
      // One record that cannot be matched, built or printed (a crafted field of hundreds of MB) is reported with where
      // it was, and the rest of the input is still read: it never stops the replay.
      try {
        const matched = pipeline.match(event);
        if (matched.length === 0) continue;
        if (scope && !inScope(scope, event)) {
          summary.outOfScope = (summary.outOfScope ?? 0) + 1;
          continue;
        }
        // What the fold timer would have flushed by the time this event arrived (arrival = event time).
        const timeMs = Date.parse(event.time);
        if (sessions && !Number.isNaN(timeMs)) await flushAll(sessions.dueFolds(timeMs));
        progress.clear();
        const outcome = await pipeline.alert(event, matched, OWNER);
        if (outcome.status !== 'delivered') continue;
        summary.alerts += 1;
        summary.bySeverity[outcome.severity] += 1;
      } catch (error) {
        report(new InputError(item.file, item.position, `could not be processed: ${toError(error).message}`));
      }
    }
  }
  noteHidden();
  if (sessions) await flushAll(sessions.openFolds());
  if (options.sessions && sessions) {
    const printer = createSessionPrinter(options.format as SessionFormat, options.stdout);
    const all = sessions.sessions();
    for (const session of all) printer.write(session);
    printer.end();
    summary.sessions = all.length;
  }
  sink.end();
  progress.clear();
  summary.seconds = (now() - started) / 1000;
  return { exitCode: summary.errors > 0 ? 1 : 0, summary };
};

/**
 * The summary line: "1,234 records, 5 alerts (critical 2, high 3), 2 digests (40 events folded), 0 unreadable, 0.4 s
 * (3,085 records/s)"; without folding no digest count; with `--sessions`, ", 3 sessions" after the digests; with
 * matching events the scope left out, ", 12 matching events outside the scope (not alerted)" before the unreadable count.
 *
 * @example
 * formatSummary({ records: 10, alerts: 2, folding: true, digests: 1, folded: 8, errors: 0, seconds: 0.5,
 *   bySeverity: { info: 0, low: 0, medium: 0, high: 2, critical: 0 } });
 * // "10 records, 2 alerts (high 2), 1 digest (8 events folded), 0 unreadable, 0.5 s (20 records/s)"
 */
const formatSummary = (summary: ReplaySummary): string => {
  const counts = SEVERITIES.toReversed()
    .filter((s) => summary.bySeverity[s] > 0)
    .map((s) => `${s} ${groupDigits(summary.bySeverity[s])}`);
  const rate = summary.seconds > 0 ? Math.round(summary.records / summary.seconds) : summary.records;
  const n = groupDigits;
  const plural = (value: number, one: string, many = `${one}s`) => `${n(value)} ${value === 1 ? one : many}`;
  const digests = summary.folding
    ? `, ${plural(summary.digests, 'digest')} (${plural(summary.folded, 'event')} folded)`
    : '';
  const sessions = summary.sessions === undefined ? '' : `, ${plural(summary.sessions, 'session')}`;
  const outside = summary.outOfScope
    ? `, ${plural(summary.outOfScope, 'matching event')} outside the scope (not alerted)`
    : '';
  return (
    `${plural(summary.records, 'record')}, ${plural(summary.alerts, 'alert')}` +
    `${counts.length > 0 ? ` (${counts.join(', ')})` : ''}${digests}${sessions}${outside}, ${n(summary.errors)} unreadable, ` +
    `${summary.seconds.toFixed(1)} s (${n(rate)} records/s)`
  );
};

export { formatSummary, replay };
