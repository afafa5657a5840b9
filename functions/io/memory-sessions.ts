import type { FoldStatus, SessionState } from '../app/ports.js';
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
}

const timeMsOf = (time: string): number | undefined => {
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? undefined : ms;
};
const higherOf = (a: Severity, b: Severity): Severity => (severityRank(b) > severityRank(a) ? b : a);

/**
 * Root sessions and their folds in memory, for one process reading a stream of events (replay), with the decisions
 * of io/dynamo-sessions.ts (core/session.ts decides; a fold closes at FOLD_MAX_EVENTS or when taken; an eventID counts
 * once) and one difference: its clock is the event's time, not arrival. A fold is due FOLD_WINDOW_MS after its first
 * entry's event time (the `nowMs` given is used only for an event whose time does not parse), so replaying last
 * year's logs folds them as the live system folded them when they arrived. `dueFolds(t)` names the folds the live
 * timer would have flushed by event time `t`, `openFolds()` what is left at the end of the input; the caller flushes
 * them (app/digest.ts). Memory grows with the root events of the input (a few hundred bytes each, until flushed).
 *
 * @example
 * const sessions = createMemorySessions();
 * await sessions.observe(key, entry, seed, 0); // { kind: 'first' }
 * sessions.dueFolds(Date.parse('2024-05-01T10:06:00Z')); // ['111122223333#key#ASIA…#1'] once 5 minutes have passed
 */
const createMemorySessions = (): MemorySessions => {
  const sessions = new Map<string, MemorySession>();
  const folds = new Map<string, MemoryFold>();

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
  };
};

export { createMemorySessions };
