/** Severities, least to most severe: the index is the rank. */
const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
type Severity = (typeof SEVERITIES)[number];

const severityRank = (severity: Severity): number => SEVERITIES.indexOf(severity);

export type { Severity };
export { SEVERITIES, severityRank };
