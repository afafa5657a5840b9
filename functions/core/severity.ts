/** Severities, least to most severe: the index is the rank. */
const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
type Severity = (typeof SEVERITIES)[number];

const severityRank = (severity: Severity): number => SEVERITIES.indexOf(severity);

/** The more severe of two severities. */
const maxSeverity = (a: Severity, b: Severity): Severity => (severityRank(a) >= severityRank(b) ? a : b);

export type { Severity };
export { maxSeverity, SEVERITIES, severityRank };
