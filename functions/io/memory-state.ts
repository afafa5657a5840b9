import type { AlertState } from '../app/ports.js';

/**
 * The alert state in memory, for one process reading a stream of events (replay): claims are a set of
 * eventIDs, so an event read twice (two copies of a log, an overlapping export) alerts once; counts are
 * kept per key in event time, not wall-clock time, so last year's logs count as the live system did.
 * Memory grows with the events that matched a detection (1–2 % of a trail); counts drop the times no
 * nearby event can count any more.
 */
const DAY_MS = 86_400_000;

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
      for (const [id, time] of seen) {
        // A day past the window: no window is longer (1,440 minutes), and logs are only nearly in order.
        if (time <= eventTimeMs - windowMs - DAY_MS) seen.delete(id);
        else if (time <= eventTimeMs - windowMs) continue;
        else if (time <= eventTimeMs) count += 1;
      }
      return count;
    },
  };
};

export { createMemoryState };
