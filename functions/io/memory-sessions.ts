import type { FoldStatus, SessionState } from '../app/ports.js';
import { sortedCounts } from '../core/digest-document.js';
import {
  decideSession,
  escalationReasonOf,
  FOLD_MAX_EVENTS,
  FOLD_WINDOW_MS,
  type Fold,
  type SessionEntry,
  type SessionSeed,
  type SessionSnapshot,
} from '../core/session.js';
import { type Severity, severityRank } from '../core/severity.js';
import { FOLD_LEASE_MS, foldIdOf } from './dynamo-sessions.js';

interface MemorySession {
  snapshot: SessionSnapshot;
  lastMs: number | undefined;
  firstEventID: string;
  escalations: Map<string, string>;
  fold: number;
  seed: SessionSeed;
  tally: SessionTally;
}

/** What a session's events added up to, counted as they are observed (each eventID once, as the state counts it). */
interface SessionTally {
  key: string;
  seed: SessionSeed;
  /** When the session started, among all sessions: ties of first event time keep this order. */
  order: number;
  first?: { time: string; ms?: number };
  last?: { time: string; ms?: number };
  alerts: number;
  folded: number;
  severity: Severity;
  eventNames: Map<string, number>;
  detections: Map<string, number>;
  /** By JSON.stringify([ip, client]). */
  sources: Map<string, { ip?: string; client?: string; count: number }>;
}

/**
 * One root session as replay's `--sessions` shows it: who, when, from where, what and how bad, over every alerting
 * event the session state observed (its first alert, its escalations and its folded events, each eventID once).
 */
interface SessionSummary {
  /** The session key (core/session.ts, sessionKeyOf): the same key in several summaries means idle hours between. */
  key: string;
  /** The account, named as the session's first alert named it. */
  account: SessionSeed['account'];
  /** Who, as the session's first alert shows it: userIdentity.type, the ARN, the credential kind. */
  actor: SessionSeed['actor'];
  /** The region of the session's first event. */
  region: string;
  /** The earliest event time (ISO 8601, as CloudTrail wrote it; the first seen when none parses). */
  firstEventTime: string;
  /** The latest event time. */
  lastEventTime: string;
  /** Alerting events in the session: `alerts + folded`. */
  count: number;
  /** Events alerted on their own: the session's first and its escalations. */
  alerts: number;
  /** Events folded into the session's digests. */
  folded: number;
  /** The highest severity of the session's events. */
  severity: Severity;
  /** Events by eventName, most first (then by name). */
  eventNames: Record<string, number>;
  /** Events by detection id (an event raising two counts for both), most first. */
  detections: Record<string, number>;
  /** Events by source address and client, most first (then by address and client). */
  sources: { ip?: string; client?: string; count: number }[];
}

interface MemoryFold {
  key: string;
  number: number;
  status: FoldStatus;
  entries: Map<string, SessionEntry>;
  openedBy: string;
  /** When the fold is due, in event time (epoch ms): its first entry's event time + FOLD_WINDOW_MS. */
  dueAt: number;
  seed: SessionSeed;
  owner?: string;
  takenAt?: number;
}

/** The memory sessions' extra reads, for replay: which folds are due, in event time. */
interface MemorySessions extends SessionState {
  /** Open folds whose dueAt (first entry's event time + FOLD_WINDOW_MS) is at or before `eventTimeMs`, oldest first. */
  dueFolds(eventTimeMs: number): string[];
  /** Every fold still open, oldest first: what the end of the input flushes. */
  openFolds(): string[];
  /**
   * Every session so far, ended or not, by first event time (unparsable times last, then in the order they started):
   * what replay's `--sessions` prints. A key that went idle for more than SESSION_IDLE_MS and came back is two
   * sessions. Each eventID counts once, as observe counts it (a retried event is not counted again).
   */
  sessions(): SessionSummary[];
}

const timeMsOf = (time: string): number | undefined => {
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? undefined : ms;
};
const higherOf = (a: Severity, b: Severity): Severity => (severityRank(b) > severityRank(a) ? b : a);

const newTally = (key: string, seed: SessionSeed, order: number): SessionTally => ({
  key,
  seed,
  order,
  alerts: 0,
  folded: 0,
  severity: 'info',
  eventNames: new Map(),
  detections: new Map(),
  sources: new Map(),
});

const increment = (counts: Map<string, number>, name: string) => counts.set(name, (counts.get(name) ?? 0) + 1);

/** Counts an observed entry in its session's tally, as an alert of its own or as folded. */
const addToTally = (tally: SessionTally, entry: SessionEntry, as: 'alert' | 'fold') => {
  if (as === 'alert') tally.alerts += 1;
  else tally.folded += 1;
  tally.severity = higherOf(tally.severity, entry.severity);
  increment(tally.eventNames, entry.eventName);
  for (const id of new Set(entry.detections)) increment(tally.detections, id);
  const source = JSON.stringify([entry.sourceIp ?? null, entry.client ?? null]);
  const known = tally.sources.get(source);
  if (known) known.count += 1;
  else {
    tally.sources.set(source, {
      ...(entry.sourceIp === undefined ? {} : { ip: entry.sourceIp }),
      ...(entry.client === undefined ? {} : { client: entry.client }),
      count: 1,
    });
  }
  const ms = timeMsOf(entry.eventTime);
  const time = { time: entry.eventTime, ...(ms === undefined ? {} : { ms }) };
  // A parsed time beats an unparsed one; among parsed ones the earliest (latest) wins.
  const earlier = (a: { ms?: number } | undefined) =>
    a === undefined || (ms !== undefined && (a.ms === undefined || ms < a.ms));
  const later = (a: { ms?: number } | undefined) =>
    a === undefined || (ms !== undefined && (a.ms === undefined || ms > a.ms));
  if (earlier(tally.first)) tally.first = time;
  if (later(tally.last)) tally.last = time;
};

const summaryOf = (tally: SessionTally): SessionSummary => ({
  key: tally.key,
  account: tally.seed.account,
  actor: tally.seed.actor,
  region: tally.seed.region,
  firstEventTime: tally.first?.time ?? '',
  lastEventTime: tally.last?.time ?? '',
  count: tally.alerts + tally.folded,
  alerts: tally.alerts,
  folded: tally.folded,
  severity: tally.severity,
  eventNames: Object.fromEntries(sortedCounts(tally.eventNames)),
  detections: Object.fromEntries(sortedCounts(tally.detections)),
  sources: [...tally.sources.entries()]
    .sort(([a, x], [b, y]) => y.count - x.count || (a < b ? -1 : a > b ? 1 : 0))
    .map(([, source]) => ({ ...source })),
});

/**
 * Root sessions and their folds in memory, for one process reading a stream of events (replay), with the decisions
 * of io/dynamo-sessions.ts (core/session.ts decides; a fold closes at FOLD_MAX_EVENTS or when taken; an eventID counts
 * once) and one difference: its clock is the event's time, not arrival. A fold is due FOLD_WINDOW_MS after its first
 * entry's event time (the `nowMs` given is used only for an event whose time does not parse), so replaying last
 * year's logs folds them as the live system folded them when they arrived. `dueFolds(t)` names the folds the live
 * timer would have flushed by event time `t`, `openFolds()` what is left at the end of the input; the caller flushes
 * them (app/digest.ts). `sessions()` sums up every session, for replay's `--sessions`. Memory grows with the root
 * events of the input (a few hundred bytes each, until flushed) and, per session, with its distinct event names and
 * sources.
 *
 * @example
 * import type { SessionEntry } from '../core/session.js';
 *
 * const key = '111122223333#key#ASIAIOSFODNN7EXAMPLE';
 * const seed = { account: { id: '111122223333' }, actor: { type: 'Root' }, region: 'us-east-1' };
 * const call = (eventID: string, eventTime: string): SessionEntry =>
 *   ({ eventID, eventName: 'ListBuckets', eventTime, detections: ['root-api-call'], severity: 'high' });
 * const sessions = createMemorySessions();
 * await sessions.observe(key, call('e1', '2024-05-01T10:00:00Z'), seed, 0); // { kind: 'first' }: no fold
 * await sessions.observe(key, call('e2', '2024-05-01T10:01:00Z'), seed, 0);
 * // { kind: 'fold', foldId: '111122223333#key#ASIAIOSFODNN7EXAMPLE#1', opened: true, full: false }
 * sessions.dueFolds(Date.parse('2024-05-01T10:05:59Z')); // []
 * sessions.dueFolds(Date.parse('2024-05-01T10:06:00Z')); // ['111122223333#key#ASIAIOSFODNN7EXAMPLE#1']
 */
const createMemorySessions = (): MemorySessions => {
  const sessions = new Map<string, MemorySession>();
  const folds = new Map<string, MemoryFold>();
  /** The tallies of sessions that ended (an idle hour, then the key came back): `sessions()` lists them too. */
  const ended: SessionTally[] = [];
  let started = 0;

  const openOrdered = () =>
    [...folds.entries()].filter(([, fold]) => fold.status === 'open').sort(([, a], [, b]) => a.dueAt - b.dueAt);

  return {
    async observe(key, entry, seed, nowMs) {
      const clockMs = timeMsOf(entry.eventTime) ?? nowMs;
      const session = sessions.get(key);
      if (session?.firstEventID === entry.eventID) return { kind: 'first' };
      const known = session?.escalations.get(entry.eventID);
      if (known !== undefined) return { kind: 'escalate', reason: known };
      const verdict = decideSession(session?.snapshot, entry.severity, entry.detections, entry.eventTime);
      const ms = timeMsOf(entry.eventTime);
      const touch = (target: MemorySession) => {
        if (ms !== undefined && (target.lastMs === undefined || ms > target.lastMs)) {
          target.lastMs = ms;
          target.snapshot = { ...target.snapshot, lastEventTime: entry.eventTime };
        }
      };
      if (verdict === 'first' || !session) {
        if (session) ended.push(session.tally);
        const tally = newTally(key, seed, started++);
        addToTally(tally, entry, 'alert');
        sessions.set(key, {
          snapshot: {
            highestSeverity: entry.severity,
            detections: [...new Set(entry.detections)],
            lastEventTime: entry.eventTime,
          },
          lastMs: ms,
          firstEventID: entry.eventID,
          escalations: new Map(),
          fold: session ? session.fold + 1 : 1,
          seed,
          tally,
        });
        return { kind: 'first' };
      }
      if (verdict === 'escalate') {
        const reason = escalationReasonOf(session.snapshot, entry.severity, entry.detections) ?? 'escalation';
        session.snapshot = {
          ...session.snapshot,
          highestSeverity: higherOf(session.snapshot.highestSeverity, entry.severity),
          detections: [...new Set([...session.snapshot.detections, ...entry.detections])],
        };
        session.escalations.set(entry.eventID, reason);
        addToTally(session.tally, entry, 'alert');
        touch(session);
        return { kind: 'escalate', reason };
      }
      for (;;) {
        const foldId = foldIdOf(key, session.fold);
        const fold = folds.get(foldId);
        if (!fold) {
          folds.set(foldId, {
            key,
            number: session.fold,
            status: 'open',
            entries: new Map([[entry.eventID, entry]]),
            openedBy: entry.eventID,
            dueAt: clockMs + FOLD_WINDOW_MS,
            seed: session.seed,
          });
          addToTally(session.tally, entry, 'fold');
          touch(session);
          return { kind: 'fold', foldId, opened: true, full: FOLD_MAX_EVENTS <= 1 };
        }
        if (fold.entries.has(entry.eventID)) {
          return {
            kind: 'fold',
            foldId,
            opened: fold.openedBy === entry.eventID,
            full: fold.entries.size >= FOLD_MAX_EVENTS && fold.status !== 'flushed',
          };
        }
        if (fold.status !== 'open' || fold.entries.size >= FOLD_MAX_EVENTS) {
          session.fold += 1;
          continue;
        }
        fold.entries.set(entry.eventID, entry);
        addToTally(session.tally, entry, 'fold');
        touch(session);
        return { kind: 'fold', foldId, opened: false, full: fold.entries.size >= FOLD_MAX_EVENTS };
      }
    },

    async takeFold(foldId, owner, nowMs) {
      const fold = folds.get(foldId);
      if (!fold) return undefined;
      const free =
        fold.status === 'open' ||
        (fold.status === 'flushing' && (fold.owner === owner || (fold.takenAt ?? 0) < nowMs - FOLD_LEASE_MS));
      if (!free) return undefined;
      fold.status = 'flushing';
      fold.owner = owner;
      fold.takenAt = nowMs;
      const taken: Fold = {
        foldId,
        key: fold.key,
        number: fold.number,
        entries: [...fold.entries.values()],
        seed: fold.seed,
      };
      return taken;
    },

    async finishFold(foldId) {
      const fold = folds.get(foldId);
      if (!fold) return;
      fold.status = 'flushed';
      fold.entries.clear();
    },

    async foldStatus(foldId) {
      return folds.get(foldId)?.status;
    },

    dueFolds(eventTimeMs) {
      return openOrdered()
        .filter(([, fold]) => fold.dueAt <= eventTimeMs)
        .map(([foldId]) => foldId);
    },

    openFolds() {
      return openOrdered().map(([foldId]) => foldId);
    },

    sessions() {
      const byTime = (a: SessionTally, b: SessionTally) => {
        const [x, y] = [a.first?.ms, b.first?.ms];
        if (x !== undefined && y !== undefined && x !== y) return x - y;
        if (x === undefined && y !== undefined) return 1;
        if (y === undefined && x !== undefined) return -1;
        return a.order - b.order;
      };
      return [...ended, ...[...sessions.values()].map((session) => session.tally)].sort(byTime).map(summaryOf);
    },
  };
};

export type { SessionSummary };
export { createMemorySessions };
