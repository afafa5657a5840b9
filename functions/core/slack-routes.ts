import { SEVERITIES, type Severity, severityRank } from './severity.js';

/*
 * Extra Slack channels, chosen per message: the serverless.yml parameter slackRoutes, e.g.
 *
 *   slackRoutes: 'critical=/rootwatch/prod/slack-paging, medium+&kind:alert|drift=/rootwatch/prod/slack-review'
 *
 * Comma-separated entries `SELECTOR=PARAMETER`: PARAMETER names the SSM SecureString that holds the route's incoming-
 * webhook URL (as slackWebhookParameter does for the default channel, which keeps getting everything); SELECTOR is `*`
 * (every message) or conditions joined by `&`, all of which must hold:
 *   critical | high+    severity, exactly or that one "and above" (info, low, medium, high, critical)
 *   kind:alert|digest   what the message is, any of: alert, digest (a root session's folded rest), drift (the guard's
 *                       findings); heartbeats are never posted
 *   detection:a|b       the message names any of these detection ids (an alert's detections, a digest's counts)
 * Each condition at most once per entry. A message matching several entries of one parameter is posted there once.
 * Pure: the notifier (app/slack-notifier.ts) asks routeParametersOf for each message; io/config.ts validates the
 * parameter with parseSlackRoutes at packaging (resources/parameters.cjs) and on a cold start.
 */

/** What a queued Slack message is, as a route's `kind:` names it. */
const SLACK_ROUTE_KINDS = ['alert', 'digest', 'drift'] as const;
type SlackRouteKind = (typeof SLACK_ROUTE_KINDS)[number];

/** One entry of slackRoutes, parsed. A condition left out matches any message. */
interface SlackRoute {
  /** The selector as written (`medium+&kind:alert`), for logs and messages. */
  selector: string;
  /** The SSM SecureString parameter holding the route's webhook URL, e.g. `/rootwatch/prod/slack-paging`. */
  parameter: string;
  /** The severity the message must have: exactly `severity`, or it or above when `andAbove`. */
  severity?: { severity: Severity; andAbove: boolean };
  /** The kinds of message it takes. */
  kinds?: readonly SlackRouteKind[];
  /** Detection ids, any of which the message must name. */
  detections?: readonly string[];
}

/** The facts of a message a route is matched on. */
interface RoutedMessage {
  kind: SlackRouteKind;
  severity: Severity;
  /** An alert's `detections`; a digest's detection ids (the keys of its `detections` counts). */
  detections: readonly string[];
}

/** At most this many entries: each adds a webhook post per matching message, at the notifier's pace. */
const MAX_SLACK_ROUTES = 10;

/** An SSM parameter name as slackWebhookParameter takes it (io/config.ts): "/" then letters, digits, _ . - /. */
const PARAMETER_NAME = /^\/[\w.\-/]{1,1023}$/;
/** What a selector may be written with. Anything else (a URL pasted in by mistake has "/") is never quoted back. */
const SELECTOR_CHARS = /^[\w*+:|&. -]{1,200}$/;
const DETECTION_ID = /^[a-z0-9][a-z0-9-]{0,127}$/;

const SELECTOR_HELP =
  `a severity (${SEVERITIES.join(', ')}; with "+" for that one and above), ` +
  `kind:${SLACK_ROUTE_KINDS.join('|')}, detection:<id>[|<id>…], or * alone, joined by &`;

type Condition = Pick<SlackRoute, 'severity' | 'kinds' | 'detections'>;

/** One `&`-separated condition of a selector, or why it is none. */
const parseCondition = (text: string): Condition | { problem: string } => {
  if (text.startsWith('kind:')) {
    const kinds = text.slice('kind:'.length).split('|');
    for (const kind of kinds) {
      if (kind === 'heartbeat') return { problem: 'kind:heartbeat: heartbeats prove the path and are never posted' };
      if (!(SLACK_ROUTE_KINDS as readonly string[]).includes(kind)) {
        return { problem: `"${kind}" is not a kind (${SLACK_ROUTE_KINDS.join(', ')})` };
      }
    }
    return { kinds: kinds as SlackRouteKind[] };
  }
  if (text.startsWith('detection:')) {
    const detections = text.slice('detection:'.length).split('|');
    const bad = detections.find((id) => !DETECTION_ID.test(id));
    if (bad !== undefined) return { problem: `"${bad}" is not a detection id (like root-access-key-created)` };
    return { detections };
  }
  const andAbove = text.endsWith('+');
  const severity = andAbove ? text.slice(0, -1) : text;
  if (!(SEVERITIES as readonly string[]).includes(severity)) {
    return { problem: `"${text}" is not ${SELECTOR_HELP}` };
  }
  return { severity: { severity: severity as Severity, andAbove } };
};

/** A selector's conditions (`{}` for `*`), or why it is none. */
const parseSelector = (selector: string): Condition | { problem: string } => {
  if (selector === '*') return {};
  const condition: Condition = {};
  for (const raw of selector.split('&')) {
    const text = raw.trim();
    if (text === '*') return { problem: '"*" stands alone: it already takes every message' };
    if (text === '') return { problem: `an empty condition (expected ${SELECTOR_HELP})` };
    const parsed = parseCondition(text);
    if ('problem' in parsed) return parsed;
    for (const key of Object.keys(parsed) as (keyof Condition)[]) {
      if (condition[key] !== undefined) {
        return {
          problem:
            key === 'severity'
              ? 'two severity conditions: give one'
              : `two ${key} conditions: give one, values joined by |`,
        };
      }
    }
    Object.assign(condition, parsed);
  }
  return condition;
};

/**
 * Parses the slackRoutes parameter: comma-separated `SELECTOR=PARAMETER` entries (see the top of this file), blank
 * entries ignored. Never throws: each bad entry is a problem naming its position and selector; the target is quoted
 * only when it is a parameter name (a webhook URL put there by mistake is a secret, and so is an entry without "=").
 *
 * @returns the valid routes, in order, and one message per bad entry (none when all are valid).
 * @example
 * const { routes, problems } = parseSlackRoutes('critical=/rootwatch/prod/slack-paging, medium+=/rootwatch/prod/slack-review');
 * routes[1]; // { selector: 'medium+', parameter: '/rootwatch/prod/slack-review', severity: { severity: 'medium', andAbove: true } }
 * problems; // []
 * parseSlackRoutes('urgent=/rootwatch/prod/slack-paging').problems;
 * // ['entry 1 (urgent=/rootwatch/prod/slack-paging): "urgent" is not a severity (info, …), kind:…, detection:…, or * alone, joined by &']
 */
const parseSlackRoutes = (text: string): { routes: SlackRoute[]; problems: string[] } => {
  const routes: SlackRoute[] = [];
  const problems: string[] = [];
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length > MAX_SLACK_ROUTES) {
    problems.push(`${entries.length} entries: at most ${MAX_SLACK_ROUTES} (each adds a post per matching message)`);
  }
  for (const [index, entry] of entries.entries()) {
    const at = entry.indexOf('=');
    const selector = at < 0 ? '' : entry.slice(0, at).trim();
    const parameter = at < 0 ? '' : entry.slice(at + 1).trim();
    const shownSelector = SELECTOR_CHARS.test(selector) ? selector : '…';
    const shownParameter = PARAMETER_NAME.test(parameter) ? parameter : '…';
    const where = `entry ${index + 1} (${at < 0 ? '…' : `${shownSelector}=${shownParameter}`})`;
    if (at < 0) {
      problems.push(`${where}: expected SELECTOR=PARAMETER, like critical=/rootwatch/prod/slack-paging (not shown)`);
      continue;
    }
    if (shownSelector === '…') {
      problems.push(`${where}: the selector is not ${SELECTOR_HELP} (not shown)`);
      continue;
    }
    if (shownParameter === '…') {
      problems.push(
        `${where}: expected the name of the SSM SecureString holding the route's Slack webhook URL (starting with "/", then letters, digits, _ . - /), not the URL (the value is not shown)`,
      );
      continue;
    }
    const condition = parseSelector(selector);
    if ('problem' in condition) {
      problems.push(`${where}: ${condition.problem}`);
      continue;
    }
    routes.push({ selector, parameter, ...condition });
  }
  return { routes, problems };
};

/** Whether `route` takes `message`. */
const routeMatches = (route: SlackRoute, message: RoutedMessage): boolean => {
  const { severity, kinds, detections } = route;
  if (severity) {
    const ok = severity.andAbove
      ? severityRank(message.severity) >= severityRank(severity.severity)
      : message.severity === severity.severity;
    if (!ok) return false;
  }
  if (kinds && !kinds.includes(message.kind)) return false;
  if (detections && !message.detections.some((id) => detections.includes(id))) return false;
  return true;
};

/**
 * The parameters of the routes that take `message`, each once, in the order of their first entry: where it goes
 * besides the default channel.
 *
 * @example
 * const { routes } = parseSlackRoutes('critical=/p/paging, high+=/p/review, kind:digest=/p/review');
 * routeParametersOf(routes, { kind: 'alert', severity: 'critical', detections: ['root-access-key-created'] });
 * // ['/p/paging', '/p/review']
 * routeParametersOf(routes, { kind: 'digest', severity: 'medium', detections: ['root-api-call'] }); // ['/p/review']
 */
const routeParametersOf = (routes: readonly SlackRoute[], message: RoutedMessage): string[] => [
  ...new Set(routes.filter((route) => routeMatches(route, message)).map((route) => route.parameter)),
];

export type { RoutedMessage, SlackRoute };
export { parseSlackRoutes, routeParametersOf };
