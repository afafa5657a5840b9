import type { AlertState } from '../app/ports.js';

/**
 * The alert state in memory, for one process reading a stream of events (replay): claims are a set of
 * eventIDs, so an event read twice (two copies of a log, an overlapping export) alerts once; counts are
 * kept per key in event time, not wall-clock time, so last year's logs count as the live system did, and are
 * read without recording by a follows modifier (countWindow: the events recorded so far, so a sign-in counts
 * the failures read before it, as the alert function counts those that arrived before it). Memory grows with
 * the events that matched a detection (1–2 % of a trail); counts drop the times no nearby event can count any
 * more, once more than 50 of them gather under a key.
 */
const DAY_MS = 86_400_000;
/** How many stale times a key keeps before they are pruned, and how many go at once (as in io/dynamo-state.ts). */
const STALE_BEFORE_PRUNING = 50;
const PRUNED_AT_ONCE = 100;

const createMemoryState = (): AlertState => {
  const claimed = new Map<string, Set<string>>();
  const times = new Map<string, Map<string, number>>();
  return {
    async claim(eventId) {
      if (claimed.has(eventId)) return undefined;
      const delivered = new Set<string>();
      claimed.set(eventId, delivered);
      return delivered;
    },
    async delivered(eventId) {
      return new Set(claimed.get(eventId));
    },
    async markDelivered(eventId, sink) {
      claimed.get(eventId)?.add(sink);
    },
    async countRecent(key, eventId, eventTimeMs, windowMs) {
      let seen = times.get(key);
      if (!seen) {
        seen = new Map();
        times.set(key, seen);
      }
      seen.set(eventId, eventTimeMs);
      let count = 0;
      const stale: string[] = [];
      for (const [id, time] of seen) {
        // A day past the window: no window is longer (1,440 minutes), and logs are only nearly in order.
        if (time <= eventTimeMs - windowMs - DAY_MS) stale.push(id);
        else if (time > eventTimeMs - windowMs && time <= eventTimeMs) count += 1;
      }
      // Pruned as io/dynamo-state.ts prunes (past 50 stale times, 100 at once), so that replay counts as the alert
      // function does even when its input jumps back in time (a folder of logs from several years).
      if (stale.length > STALE_BEFORE_PRUNING) for (const id of stale.slice(0, PRUNED_AT_ONCE)) seen.delete(id);
      return count;
    },
    async countWindow(key, eventTimeMs, windowMs) {
      let count = 0;
      for (const time of times.get(key)?.values() ?? []) {
        if (time > eventTimeMs - windowMs && time <= eventTimeMs) count += 1;
      }
      return count;
    },
  };
};

export { createMemoryState };
