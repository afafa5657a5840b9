import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ForwarderMetrics, HopMetrics } from '../app/heartbeat.js';
import { SILENT_FORWARDERS_METRIC } from '../core/forwarder-silence.js';
import { FORWARDER_METRIC } from '../core/forwarding.js';
import { HEARTBEAT_METRIC } from '../core/heartbeat.js';
import * as z from '../core/zod.js';
import { MetricsConfigSchema, safeParseConfig } from './config.js';
import { logger } from './logger.js';

/**
 * The heartbeat's hops as CloudWatch metrics, written to the function's log in embedded metric format (EMF), which
 * CloudWatch turns into metrics with no API call and no IAM permission:
 * namespace `rootwatch`, metric `HeartbeatHop` (Count, 1 per completed hop), dimensions `service` (rootwatch),
 * `stage` and `hop`. The heartbeat alarms (resources/heartbeat.cjs) watch the same namespace, metric and
 * dimensions. A Metrics instance of its own, flushed at every hop, so nothing else buffered in the function is
 * emitted with a `hop` dimension.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 * https://docs.powertools.aws.dev/lambda/typescript/latest/features/metrics/
 *
 * @example
 * const metrics = createHopMetrics('prod');
 * metrics.hop('sns'); // one EMF line on stdout: HeartbeatHop = 1, { service: rootwatch, stage: prod, hop: sns }
 */
const createHopMetrics = (
  stage: string,
  metrics = new Metrics({
    namespace: HEARTBEAT_METRIC.namespace,
    serviceName: HEARTBEAT_METRIC.service,
    defaultDimensions: { stage },
  }),
): HopMetrics => ({
  hop(hop) {
    metrics.addDimension('hop', hop);
    metrics.addMetric(HEARTBEAT_METRIC.name, MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
  },
});

/**
 * The hop metrics of a function's environment (ROOTWATCH_STAGE, which serverless.yml sets). Without a valid stage
 * it logs the problem once and counts nothing: the heartbeat alarms then fire, while the alerts the function also
 * handles are not held up by the heartbeat's configuration.
 *
 * @example
 * const metrics = hopMetricsOf(process.env);
 * metrics.hop('notifier');
 */
const hopMetricsOf = (env: Readonly<Record<string, unknown>>): HopMetrics => {
  const result = safeParseConfig(MetricsConfigSchema, env);
  if (result.success) return createHopMetrics(result.data.ROOTWATCH_STAGE);
  logger.error('heartbeat hops are not counted: invalid configuration', { problems: z.prettifyError(result.error) });
  return { hop: () => undefined };
};

/**
 * The forwarders' heartbeats as CloudWatch metrics (EMF, as the hops above): namespace `rootwatch`, metric
 * `ForwarderHeartbeat` (Count, 1 per heartbeat the hub received from a forwarder), dimensions `service` (rootwatch),
 * `stage`, and the forwarder's `account` and `region`: what the per-forwarder alarms of resources/heartbeat.cjs watch.
 * A Metrics instance of its own, flushed at every heartbeat.
 *
 * @example
 * const metrics = createForwarderMetrics('prod');
 * metrics.heartbeat({ account: '210987654321', region: 'eu-west-1' });
 * // one EMF line: ForwarderHeartbeat = 1, { service: rootwatch, stage: prod, account: 210987654321, region: eu-west-1 }
 */
const createForwarderMetrics = (
  stage: string,
  metrics = new Metrics({
    namespace: FORWARDER_METRIC.namespace,
    serviceName: FORWARDER_METRIC.service,
    defaultDimensions: { stage },
  }),
): ForwarderMetrics => ({
  heartbeat({ account, region }) {
    metrics.addDimension('account', account);
    metrics.addDimension('region', region);
    metrics.addMetric(FORWARDER_METRIC.name, MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
  },
});

/**
 * The forwarder metrics of the alert function's environment (ROOTWATCH_STAGE). Without a valid stage it logs the
 * problem once and counts nothing, as hopMetricsOf: the forwarder alarms then fire.
 *
 * @example
 * forwarderMetricsOf(process.env).heartbeat({ account: '210987654321', region: 'eu-west-1' });
 */
const forwarderMetricsOf = (env: Readonly<Record<string, unknown>>): ForwarderMetrics => {
  const result = safeParseConfig(MetricsConfigSchema, env);
  if (result.success) return createForwarderMetrics(result.data.ROOTWATCH_STAGE);
  logger.error('forwarder heartbeats are not counted: invalid configuration', {
    problems: z.prettifyError(result.error),
  });
  return { heartbeat: () => undefined };
};

/**
 * The guard's count of silent forwarders, every run (EMF): namespace `rootwatch`, metric `SilentForwarders` (Count),
 * dimensions `service` (rootwatch) and `stage`; the alarm rootwatch-<stage>-forwarders-silent watches it.
 *
 * @example
 * createSilentForwarderMetrics('prod')(2); // one EMF line: SilentForwarders = 2, { service: rootwatch, stage: prod }
 */
const createSilentForwarderMetrics = (
  stage: string,
  metrics = new Metrics({
    namespace: SILENT_FORWARDERS_METRIC.namespace,
    serviceName: SILENT_FORWARDERS_METRIC.service,
    defaultDimensions: { stage },
  }),
): ((count: number) => void) => {
  return (count) => {
    metrics.addMetric(SILENT_FORWARDERS_METRIC.name, MetricUnit.Count, count);
    metrics.publishStoredMetrics();
  };
};

export { createForwarderMetrics, createHopMetrics, createSilentForwarderMetrics, forwarderMetricsOf, hopMetricsOf };
