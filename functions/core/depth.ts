/*
 * Nesting depth of parsed JSON. CloudTrail records nest a dozen levels at most, but a crafted record (a replayed file)
 * can nest thousands, and JSON.stringify or any recursive renderer overflows the stack some thousands of levels down.
 */

/** Deeper than any CloudTrail record AWS writes, and far from where JSON.stringify overflows. */
const MAX_RECORD_DEPTH = 200;
const TOO_DEEP = `[nested deeper than ${MAX_RECORD_DEPTH} levels: left out of the alert]`;

/** Whether `value` nests objects or arrays deeper than `depth` more levels; stops looking there. */
const deeperThan = (value: unknown, depth: number): boolean => {
  if (typeof value !== 'object' || value === null) return false;
  if (depth === 0) return true;
  // Walked in place (no Object.values array per object): every alert's record is walked once.
  if (Array.isArray(value)) {
    for (const item of value) if (deeperThan(item, depth - 1)) return true;
    return false;
  }
  const object = value as Record<string, unknown>;
  for (const key in object) if (Object.hasOwn(object, key) && deeperThan(object[key], depth - 1)) return true;
  return false;
};

/** A copy of `value` with every subtree below `depth` levels replaced by a marker. */
const cutAt = (value: unknown, depth: number): unknown => {
  if (typeof value !== 'object' || value === null) return value;
  if (depth === 0) return TOO_DEEP;
  if (Array.isArray(value)) return value.map((item) => cutAt(item, depth - 1));
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, cutAt(item, depth - 1)]));
};

/**
 * `value` itself when it nests at most MAX_RECORD_DEPTH (200) levels, else a copy with the parts below that depth
 * replaced by the string "[nested deeper than 200 levels: left out]": safe for JSON.stringify and every renderer.
 *
 * @example
 * withinDepth({ a: 1 }); // { a: 1 } (the same object)
 */
const withinDepth = <T>(value: T): T =>
  deeperThan(value, MAX_RECORD_DEPTH) ? (cutAt(value, MAX_RECORD_DEPTH) as T) : value;

export { withinDepth };
