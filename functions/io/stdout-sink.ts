import type { Sink } from '../app/ports.js';
import type { Alert } from '../core/alert-document.js';
import type { Detection } from '../core/detection.js';
import { renderEmail } from '../core/render/email.js';
import { renderSlackMessage } from '../core/render/slack.js';

const FORMATS = ['table', 'ndjson', 'json', 'slack', 'email'] as const;
type Format = (typeof FORMATS)[number];

/** Writes alerts to stdout in one output format, one at a time, so a long replay streams. */
interface StdoutSink extends Sink {
  /** Closes the output (the JSON array's bracket); call once, after the last alert. */
  end(): void;
}

const COLUMNS = [
  { header: 'TIME', width: 20, value: (a: Alert) => a.eventTime },
  { header: 'SEVERITY', width: 8, value: (a: Alert) => a.severity.toUpperCase() },
  { header: 'ACCOUNT', width: 12, value: (a: Alert) => a.account.id },
  { header: 'REGION', width: 14, value: (a: Alert) => a.region },
  { header: 'EVENT', width: 28, value: (a: Alert) => `${a.eventName}${a.outcome.result === 'failure' ? ' ✗' : ''}` },
  { header: 'ACTOR', width: 12, value: (a: Alert) => a.actor.type },
  { header: 'SOURCE', width: 15, value: (a: Alert) => a.source.ip ?? a.source.host ?? '' },
  { header: 'DETECTIONS', width: 0, value: (a: Alert) => a.detections.join(', ') },
] as const;

/** Control characters from attacker-controlled fields must not move the terminal's cursor. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

const cell = (text: string, width: number): string => {
  const clean = text.replace(CONTROL, ' ');
  if (width === 0) return clean;
  return clean.length > width ? `${clean.slice(0, width - 1)}…` : clean.padEnd(width);
};

const tableRow = (values: string[]): string =>
  values
    .map((value, i) => cell(value, COLUMNS[i]?.width ?? 0))
    .join('  ')
    .trimEnd();

/**
 * Replay's sink: alerts as `format` on `out`. `slack` and `email` print exactly what the deployed
 * pipeline sends: one Slack payload (JSON) a line, or each e-mail as "Subject: …", a blank line, the
 * body and a line "---"; `ndjson` one alert document a line; `json` an array; `table` a row per alert.
 */
const createStdoutSink = (
  format: Format,
  out: (text: string) => void,
  detections: readonly Detection[],
): StdoutSink => {
  const sink = (write: (alert: Alert) => void, end = () => {}): StdoutSink => ({
    name: 'stdout',
    send: async (alert) => write(alert),
    end,
  });
  switch (format) {
    case 'slack':
      return sink((alert) => out(`${JSON.stringify(renderSlackMessage(alert, detections))}\n`));
    case 'email':
      return sink((alert) => {
        const { subject, body } = renderEmail(alert, detections);
        out(`Subject: ${subject}\n\n${body.endsWith('\n') ? body : `${body}\n`}---\n`);
      });
    case 'ndjson':
      return sink((alert) => out(`${JSON.stringify(alert)}\n`));
    case 'json': {
      let count = 0;
      return sink(
        (alert) => out(`${count++ === 0 ? '[\n' : ',\n'}${JSON.stringify(alert, null, 2)}`),
        () => out(count === 0 ? '[]\n' : '\n]\n'),
      );
    }
    case 'table': {
      let headerDone = false;
      return sink((alert) => {
        if (!headerDone) out(`${tableRow(COLUMNS.map((c) => c.header))}\n`);
        headerDone = true;
        out(`${tableRow(COLUMNS.map((c) => c.value(alert)))}\n`);
      });
    }
  }
};

export type { Format };
export { createStdoutSink, FORMATS };
