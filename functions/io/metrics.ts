import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { HealthMetrics } from '../app/ports.js';

/** The namespace of rootwatch's own metrics (the heartbeat's too: core/heartbeat.ts). */
const NAMESPACE = 'rootwatch';

/**
 * rootwatch's health as CloudWatch metrics, written to the function's log in embedded metric format (EMF) through
 * Powertools Metrics, which CloudWatch turns into metrics with no API call and no IAM permission:
 * - `StateUnavailable` (Count, 1 per failed call; the call in the `operation` property): the state table failed
 *   or timed out, and the alert was delivered without deduplication, or the notifier posted without asking
 *   whether Slack already had it.
 * Namespace `rootwatch`, dimensions `service` (rootwatch) and, when given, `stage`. A Metrics instance of its own,
 * flushed at once, so the metric is out even if the invocation then times out.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 * https://docs.powertools.aws.dev/lambda/typescript/latest/features/metrics/
 *
 * @example
 * const metrics = createHealthMetrics('prod');
 * metrics.stateUnavailable('claim'); // one EMF line on stdout: StateUnavailable = 1, { service, stage }, operation: claim
 */
const createHealthMetrics = (
  stage: string | undefined,
  metrics = new Metrics({
    namespace: NAMESPACE,
    serviceName: 'rootwatch',
    ...(stage ? { defaultDimensions: { stage } } : {}),
  }),
): HealthMetrics => ({
  stateUnavailable(operation) {
    metrics.addMetadata('operation', operation);
    metrics.addMetric('StateUnavailable', MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
  },
});

export { createHealthMetrics };
