/**
 * The per-event pipeline time of the alert function without network, for the replay bench: for each sample of the
 * catalog (events/samples/) that alerts, as the EventBridge event the Lambda is handed (JSON text), the steps the
 * alert function runs in process:
 * parse (JSON.parse + parseEvent) → match (matchDetections) → score (scoreMatches) → build (buildAlert, no
 * enrichment) → render (renderSlackMessage, and renderSnsMessage, which renders the e-mail and the JSON document).
 * State, enrichment (account names, IP data) and delivery are ports and left out: they are I/O.
 */
import { readdirSync } from 'node:fs';
import { buildAlert } from '../../functions/core/alert-document.js';
import { matchDetections, scoreMatches } from '../../functions/core/classify.js';
import { parseEvent } from '../../functions/core/event.js';
import { renderSlackMessage } from '../../functions/core/render/slack.js';
import { renderSnsMessage } from '../../functions/core/render/sns.js';
import { loadDetections } from '../../functions/io/detections.js';
import { readSampleEvent, SAMPLES_DIR } from '../helpers/samples.js';

/** What measurePipeline measured: per-event times in milliseconds. */
interface PipelineTime {
  /** Alerting samples timed. */
  events: number;
  /** Timed passes over all of them (after WARM_UP untimed ones). */
  passes: number;
  medianMs: number;
  p99Ms: number;
}

const WARM_UP = 20;

/** The value at quantile `q` (0–1) of sorted `values` (nearest rank). */
const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;

/**
 * Times each alerting sample through parse → match → score → build → render, `passes` times (default 200, after
 * WARM_UP untimed passes), and gives the median and p99 of all the per-event times. The catalog is loaded with the
 * samples' parameters (events/samples/parameters.yml), as the samples are tested.
 */
const measurePipeline = (passes = 200): PipelineTime => {
  const detections = loadDetections();
  const texts = readdirSync(SAMPLES_DIR)
    .filter((file) => file.endsWith('.json'))
    .map((file) => readSampleEvent(file))
    .filter((event) => matchDetections(event, detections).length > 0)
    .map((event) => JSON.stringify(event));
  const once = (text: string): void => {
    const event = parseEvent(JSON.parse(text));
    const matches = scoreMatches(event, matchDetections(event, detections));
    const alert = buildAlert(event, matches, { runbookBaseUrl: 'https://runbooks.example/' });
    renderSlackMessage(alert, detections);
    renderSnsMessage(alert, detections);
  };
  for (let pass = 0; pass < WARM_UP; pass++) for (const text of texts) once(text);
  const times: number[] = [];
  for (let pass = 0; pass < passes; pass++) {
    for (const text of texts) {
      const start = performance.now();
      once(text);
      times.push(performance.now() - start);
    }
  }
  times.sort((a, b) => a - b);
  return { events: texts.length, passes, medianMs: quantile(times, 0.5), p99Ms: quantile(times, 0.99) };
};

export type { PipelineTime };
export { measurePipeline, quantile };
