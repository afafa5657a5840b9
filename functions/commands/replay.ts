import { createAlertPipeline } from '../app/alert-pipeline.js';
import { createEnricher } from '../app/enrich.js';
import type { Detection } from '../core/detection.js';
import { type CloudTrailEvent, parseEvent, recordToEvent } from '../core/event.js';
import { cleanLine } from '../core/render/text.js';
import { SEVERITIES, type Severity } from '../core/severity.js';
import { InputError, toError } from '../errors.js';
import { createAccountNames } from '../io/accounts.js';
import { readInputBatches } from '../io/input/read-input.js';
import { createGeoLookup } from '../io/ip/geo-lookup.js';
import { logger } from '../io/logger.js';
import { createMemoryState } from '../io/memory-state.js';
import { createProgressBar } from '../io/progress.js';
import { createStdoutSink, type Format } from '../io/stdout-sink.js';

interface ReplayOptions {
  paths: string[];
  format: Format;
  minSeverity: Severity;
  detections: readonly Detection[];
  runbookBaseUrl: string;
  /** Account id → name, as the `accountNames` parameter gives the deployed alerter (`--account-names FILE`). */
  accountNames?: Record<string, string>;
  stdout: (text: string) => void;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdin?: NodeJS.ReadableStream;
  /** Milliseconds since some origin, for the summary's rate; injectable for tests. */
  now?: () => number;
}

interface ReplaySummary {
  records: number;
  alerts: number;
  errors: number;
  bySeverity: Record<Severity, number>;
  seconds: number;
}

/**
 * What the alert function adds, less what needs the network (Organizations, the IAM alias): country and
 * network from the bundled IP databases, names from the given map. No time budget: replay prints the
 * same facts however busy the machine.
 */
const createReplayEnricher = (accountNames: Record<string, string> = {}) =>
  createEnricher({
    geo: createGeoLookup(),
    accountNames: createAccountNames({ names: accountNames }),
    timeoutMs: Number.POSITIVE_INFINITY,
  });

/**
 * `rootwatch replay`: the alert pipeline over CloudTrail input, with state in memory (one alert per
 * eventID, threshold counts in event time) and a stdout sink in the chosen format, so what it prints is
 * what the deployed alerter would send. Records that match no detection never leave the synchronous
 * path. A bad file or record is reported on stderr with where it was and skipped; the exit code is 1
 * if any input could not be read, else 0.
 */
const replay = async (options: ReplayOptions): Promise<{ exitCode: 0 | 1; summary: ReplaySummary }> => {
  const now = options.now ?? (() => performance.now());
  const started = now();
  // stdout is for alerts: the pipeline's per-alert info lines stay out; warnings go to stderr.
  logger.setLogLevel('WARN');
  const sink = createStdoutSink(options.format, options.stdout, options.detections);
  const pipeline = createAlertPipeline({
    detections: options.detections,
    minSeverity: options.minSeverity,
    runbookBaseUrl: options.runbookBaseUrl,
    state: createMemoryState(),
    enrich: createReplayEnricher(options.accountNames),
    sinks: [sink],
  });
  const progress = createProgressBar(options.stderr);
  const summary: ReplaySummary = {
    records: 0,
    alerts: 0,
    errors: 0,
    bySeverity: Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>,
    seconds: 0,
  };
  const report = (error: InputError) => {
    summary.errors += 1;
    progress.clear();
    // One line, no control or bidi characters: the message quotes the input, which may be hostile (render/text.ts).
    options.stderr.write(`rootwatch: ${cleanLine(error.message)}\n`);
  };

  for await (const batch of readInputBatches(options.paths, {
    ...(options.stdin ? { stdin: options.stdin } : {}),
    onProgress: (p) => progress.update(p, summary.records),
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
      const matched = pipeline.match(event);
      if (matched.length === 0) continue;
      const outcome = await pipeline.alert(event, matched, 'replay');
      if (outcome.status !== 'delivered') continue;
      summary.alerts += 1;
      summary.bySeverity[outcome.severity] += 1;
    }
  }
  sink.end();
  progress.clear();
  summary.seconds = (now() - started) / 1000;
  return { exitCode: summary.errors > 0 ? 1 : 0, summary };
};

/** "1,234 records, 5 alerts (critical 2, high 3), 0 unreadable, 0.4 s (3,085 records/s)" */
const formatSummary = (summary: ReplaySummary): string => {
  const counts = SEVERITIES.toReversed()
    .filter((s) => summary.bySeverity[s] > 0)
    .map((s) => `${s} ${summary.bySeverity[s]}`);
  const rate = summary.seconds > 0 ? Math.round(summary.records / summary.seconds) : summary.records;
  const n = (value: number) => value.toLocaleString('en-US');
  return (
    `${n(summary.records)} records, ${n(summary.alerts)} alerts` +
    `${counts.length > 0 ? ` (${counts.join(', ')})` : ''}, ${n(summary.errors)} unreadable, ` +
    `${summary.seconds.toFixed(1)} s (${n(rate)} records/s)`
  );
};

export { formatSummary, replay };
