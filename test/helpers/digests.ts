import type { Fold, SessionEntry, SessionSeed } from '../../functions/core/session.js';
import type { Severity } from '../../functions/core/severity.js';

/** The seed of a console session of root in account 111122223333 (prod-payments), first seen in us-east-1. */
const SEED: SessionSeed = {
  account: { id: '111122223333', name: 'prod-payments' },
  actor: { type: 'Root', arn: 'arn:aws:iam::111122223333:root', credential: 'console' },
  region: 'us-east-1',
};

const SESSION_KEY = '111122223333#key#ASIAIOSFODNN7EXAMPLE';

/** `2024-05-01T10:00:00Z` plus `seconds`, as CloudTrail writes times. */
const timeAt = (seconds: number): string =>
  new Date(Date.parse('2024-05-01T10:00:00Z') + seconds * 1000).toISOString().replace('.000Z', 'Z');

/** Entry `i` of a burst: eventID `evt-<i>` (zero-padded), ListBuckets at second i, from 203.0.113.7 with aws-cli. */
const entryAt = (i: number, changes: Partial<SessionEntry> = {}): SessionEntry => ({
  eventID: `evt-${String(i).padStart(4, '0')}`,
  eventName: 'ListBuckets',
  eventTime: timeAt(i),
  detections: ['root-api-call'],
  severity: 'high' as Severity,
  sourceIp: '203.0.113.7',
  client: 'aws-cli 2.27.0',
  ...changes,
});

/** Fold 1 of SESSION_KEY holding `entries`. */
const foldOf = (entries: SessionEntry[], changes: Partial<Fold> = {}): Fold => ({
  foldId: `${SESSION_KEY}#1`,
  key: SESSION_KEY,
  number: 1,
  entries,
  seed: SEED,
  ...changes,
});

export { entryAt, foldOf, SEED, SESSION_KEY, timeAt };
