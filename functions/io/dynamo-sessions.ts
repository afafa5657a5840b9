import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { FoldStatus, SessionDecision, SessionState } from '../app/ports.js';
import {
  decideSession,
  type EntryWindow,
  escalationReasonOf,
  FOLD_MAX_EVENTS,
  FOLD_WINDOW_MS,
  type Fold,
  type SessionEntry,
  type SessionSeed,
  type SessionSnapshot,
} from '../core/session.js';
import { SEVERITIES, type Severity, severityRank } from '../core/severity.js';
import { AlerterError } from '../errors.js';
import { sdk } from './aws-clients.js';

/** @aws-sdk/client-dynamodb, imported on first use rather than at module load (io/aws-clients.ts, "Loading"). */

/**
 * Whether DynamoDB refused a write for its condition: by the error's name, as the SDK's
 * ConditionalCheckFailedException class is not loaded before the first call.
 */
const isConditionalCheckFailed = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

const DAY_MS = 86_400_000;

/**
 * A fold taken for flushing is the owner's for this long; then another invocation may take it over (the owner failed
 * or timed out mid-flush). Longer than the digest and alert functions' 30 s timeouts, shorter than the digest queue's
 * visibility timeout (180 s), so the timer message's next receive finds the lease run out.
 */
const FOLD_LEASE_MS = 45_000;

/**
 * An open or flushing fold is kept 15 days: longer than the digest DLQ keeps a message (14 days), so a fold sent there
 * can still be flushed by sending its message back.
 */
const FOLD_TTL_MS = 15 * DAY_MS;

/** A flushed fold is kept a week (as an alert's claim is), without its entries: the digest has them. */
const FLUSHED_FOLD_TTL_MS = 7 * DAY_MS;

/**
 * The session item is kept 16 days after its last write, rather than the design's "last event + idle + a day"
 * (SESSION_RETENTION_MS): it holds the session's fold counter, and a fold's number names its fold item (kept up to 15
 * days) and its digest (digestID, whose claim lives 7 days). Kept longer than both, a session that starts over under
 * the same key never reuses a fold number while the fold or the digest it named still exists.
 */
const SESSION_ITEM_TTL_MS = 16 * DAY_MS;

/** How many times observe re-reads the session after losing a race to another invocation, before giving up. */
const MAX_ATTEMPTS = 10;

type Item = Record<string, AttributeValue>;

/** The session as its item stores it. */
interface StoredSession {
  highestSeverity: Severity;
  detections: string[];
  lastEventTime: string;
  firstEventID: string;
  escalations: Record<string, string>;
  /** The number of the session's current fold: the one its next folded event goes to. */
  fold: number;
  /** The session's seed, as JSON. */
  seed: string;
  version: number;
}

/** `<key>#<number>`: the fold's id, as the fold timer's message and the digest function carry it. */
const foldIdOf = (key: string, number: number): string => `${key}#${number}`;

/** The session key and fold number of a fold id; undefined when it is not one. */
const parseFoldId = (foldId: string): { key: string; number: number } | undefined => {
  const at = foldId.lastIndexOf('#');
  const number = Number(foldId.slice(at + 1));
  if (at <= 0 || !Number.isSafeInteger(number) || number < 0) return undefined;
  return { key: foldId.slice(0, at), number };
};

const sessionKey = (key: string) => ({ pk: { S: `session#${key}` } });
const foldKey = (foldId: string) => ({ pk: { S: `fold#${foldId}` } });
const seconds = (ms: number) => ({ N: String(Math.floor(ms / 1000)) });
const isSeverity = (value: unknown): value is Severity => SEVERITIES.includes(value as Severity);
const higherOf = (a: Severity, b: Severity): Severity => (severityRank(b) > severityRank(a) ? b : a);
const timeMsOf = (time: string): number | undefined => {
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? undefined : ms;
};

const isConditionFailure = (error: unknown): boolean => isConditionalCheckFailed(error);

/** The session item's fields, read defensively: a field missing or of another type reads as a fresh session's. */
const sessionOf = (item: Item): StoredSession => {
  const severity = item.sev?.S;
  return {
    highestSeverity: isSeverity(severity) ? severity : 'info',
    detections: item.detections?.SS ?? [],
    lastEventTime: item.lastTime?.S ?? '',
    firstEventID: item.firstEventID?.S ?? '',
    escalations: Object.fromEntries(
      Object.entries(item.escalations?.M ?? {}).map(([eventID, reason]) => [eventID, reason.S ?? '']),
    ),
    fold: Number(item.fold?.N ?? 1),
    seed: item.seed?.S ?? '{}',
    version: Number(item.version?.N ?? 0),
  };
};

/** Whether a stored entry's `expected` is a window as sessionEntryOf writes it. */
const isEntryWindow = (value: unknown): value is EntryWindow => {
  const window = value as Partial<Record<keyof EntryWindow, unknown>> | null;
  return (
    typeof window === 'object' &&
    window !== null &&
    typeof window.windowId === 'string' &&
    typeof window.reason === 'string' &&
    typeof window.until === 'string' &&
    (window.declaredBy === undefined || typeof window.declaredBy === 'string')
  );
};

/**
 * One fold entry, as its item stores it (JSON in a map keyed by eventID); undefined when it does not parse. A window
 * (`expected`) of another shape is left out: the event still counts, as not expected.
 */
const entryOf = (value: AttributeValue | undefined): SessionEntry | undefined => {
  try {
    const entry = JSON.parse(value?.S ?? '') as SessionEntry;
    if (typeof entry?.eventID !== 'string') return undefined;
    if (entry.expected === undefined || isEntryWindow(entry.expected)) return entry;
    const { expected: _, ...rest } = entry;
    return rest;
  } catch {
    return undefined;
  }
};

/** Thrown by observe when other invocations kept winning every race for the session (the pipeline then alerts). */
class SessionContentionError extends AlerterError {
  public constructor(key: string, attempts: number) {
    super(`session state ${key}: no decision after ${attempts} attempts lost to concurrent updates`);
  }
}

/**
 * Root sessions and their folds in the state table (key `pk`, TTL `expiresAt`), beside the alert state's items:
 * - `session#<key>`: the session's highest severity (`sev`), its detections (string set), its first event's eventID
 *   and the eventIDs that escalated it with their reasons (so a retried event gets its decision again), its latest
 *   event time (`lastTime`, `lastMs`), the number of its current fold (`fold`), its seed (the first alert's account
 *   and actor, JSON) and a `version` that every decision bumps. Kept 16 days after its last write (see
 *   SESSION_ITEM_TTL_MS).
 * - `fold#<key>#<n>`: fold n of the session: `status` open → flushing → flushed, `entries` (eventID → the entry as
 *   JSON), `count`, who opened it (`openedBy`), when it is due (`dueAt`, arrival + FOLD_WINDOW_MS), the session's seed,
 *   and, while flushing, its `owner` and `takenAt`. An entry's JSON is at most MAX_ENTRY_BYTES (700) besides its
 *   eventID, its break-glass window (`expected`: id, reason, declarer, end) included (core/session.ts), so 500 of them
 *   stay below DynamoDB's 400 KB item; a real one is ~200 bytes, ~400 with a window.
 * Concurrent invocations agree through conditional writes: a new session is created only if none exists (or only if
 * the one read is unchanged, by `version`); an escalation is written only on the version it was decided on; an entry
 * is added only to an open fold with room, and only once per eventID (the condition, and ADD on `count`, in one
 * UpdateItem whose UPDATED_NEW count says whether this event filled the fold); a fold is taken only when open or its
 * lease ran out. The loser of a race reads the session again and decides again (at most 10 times).
 * Every call rejects with the SDK's error when the table fails; the pipeline then alerts the event on its own.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html (ReturnValues UPDATED_NEW, ALL_NEW)
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html (400 KB item size)
 *
 * @example
 * import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
 * import type { Alert } from '../core/alert-document.js';
 * import type { CloudTrailEvent } from '../core/event.js';
 * import { sessionEntryOf, sessionKeyOf, sessionSeedOf } from '../core/session.js';
 *
 * declare const event: CloudTrailEvent;
 * declare const alert: Alert; // the event's alert document
 * const sessions = createDynamoSessions(new DynamoDBClient({}), 'rootwatch-prod-state');
 * await sessions.observe(sessionKeyOf(event), sessionEntryOf(alert), sessionSeedOf(alert), Date.now());
 * // { kind: 'first' } for the session's first event; for a later one of no higher severity and no new detection:
 * // { kind: 'fold', foldId: '111122223333#key#ASIAIOSFODNN7EXAMPLE#1', opened: true, full: false }
 */
const createDynamoSessions = (client: DynamoDBClient, tableName: string): SessionState => {
  const readSession = async (key: string): Promise<StoredSession | undefined> => {
    const { Item } = await client.send(
      new (await sdk.dynamodb()).GetItemCommand({ TableName: tableName, Key: sessionKey(key), ConsistentRead: true }),
    );
    return Item ? sessionOf(Item) : undefined;
  };

  /** Writes a new session from `entry` (replacing `previous`, unchanged since read); false when another won. */
  const startSession = async (
    key: string,
    entry: SessionEntry,
    seed: SessionSeed,
    previous: StoredSession | undefined,
    nowMs: number,
  ): Promise<boolean> => {
    const ms = timeMsOf(entry.eventTime);
    const detections = [...new Set(entry.detections)];
    try {
      await client.send(
        new (await sdk.dynamodb()).PutItemCommand({
          TableName: tableName,
          Item: {
            ...sessionKey(key),
            sev: { S: entry.severity },
            ...(detections.length > 0 ? { detections: { SS: detections } } : {}),
            lastTime: { S: entry.eventTime },
            ...(ms === undefined ? {} : { lastMs: { N: String(ms) } }),
            firstEventID: { S: entry.eventID },
            escalations: { M: {} },
            // A new session's folds continue the key's numbering: fold numbers name digests, and must not repeat.
            fold: { N: String(previous ? previous.fold + 1 : 1) },
            seed: { S: JSON.stringify(seed) },
            version: { N: String(previous ? previous.version + 1 : 1) },
            startedAt: { N: String(nowMs) },
            expiresAt: seconds(nowMs + SESSION_ITEM_TTL_MS),
          },
          ConditionExpression: previous ? '#version = :version' : 'attribute_not_exists(pk)',
          ...(previous
            ? {
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':version': { N: String(previous.version) } },
              }
            : {}),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  };

  /** Raises the session to the event's severity and detections, on the version read; false when another won. */
  const escalate = async (
    key: string,
    entry: SessionEntry,
    reason: string,
    session: StoredSession,
    nowMs: number,
  ): Promise<boolean> => {
    const detections = [...new Set(entry.detections)];
    try {
      await client.send(
        new (await sdk.dynamodb()).UpdateItemCommand({
          TableName: tableName,
          Key: sessionKey(key),
          UpdateExpression: `SET sev = :sev, escalations.#event = :reason, #version = :next, expiresAt = :expires${
            detections.length > 0 ? ' ADD detections :detections' : ''
          }`,
          ConditionExpression: '#version = :version',
          ExpressionAttributeNames: { '#event': entry.eventID, '#version': 'version' },
          ExpressionAttributeValues: {
            ':sev': { S: higherOf(session.highestSeverity, entry.severity) },
            ':reason': { S: reason },
            ':version': { N: String(session.version) },
            ':next': { N: String(session.version + 1) },
            ':expires': seconds(nowMs + SESSION_ITEM_TTL_MS),
            ...(detections.length > 0 ? { ':detections': { SS: detections } } : {}),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  };

  /** Moves the session's latest event time forward to the event's (never back); another invocation's later one wins. */
  const touch = async (key: string, entry: SessionEntry, nowMs: number): Promise<void> => {
    const ms = timeMsOf(entry.eventTime);
    if (ms === undefined) return;
    try {
      await client.send(
        new (await sdk.dynamodb()).UpdateItemCommand({
          TableName: tableName,
          Key: sessionKey(key),
          UpdateExpression: 'SET lastTime = :time, lastMs = :ms, expiresAt = :expires',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(lastMs) OR lastMs < :ms)',
          ExpressionAttributeValues: {
            ':time': { S: entry.eventTime },
            ':ms': { N: String(ms) },
            ':expires': seconds(nowMs + SESSION_ITEM_TTL_MS),
          },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  };

  /** Moves the session on from a closed fold `number` to the next; a no-op when another invocation did. */
  const nextFold = async (key: string, number: number): Promise<void> => {
    try {
      await client.send(
        new (await sdk.dynamodb()).UpdateItemCommand({
          TableName: tableName,
          Key: sessionKey(key),
          UpdateExpression: 'SET #fold = :next ADD #version :one',
          ConditionExpression: 'attribute_exists(pk) AND #fold = :fold',
          ExpressionAttributeNames: { '#fold': 'fold', '#version': 'version' },
          ExpressionAttributeValues: {
            ':fold': { N: String(number) },
            ':next': { N: String(number + 1) },
            ':one': { N: '1' },
          },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  };

  /**
   * Adds the entry to fold `foldId` once: `closed` when the fold takes no more (taken for flushing, or full), `raced`
   * when another invocation created it at the same moment (try again).
   */
  const addToFold = async (
    foldId: string,
    entry: SessionEntry,
    seed: string,
    nowMs: number,
  ): Promise<{ opened: boolean; full: boolean } | 'closed' | 'raced'> => {
    const names = { '#event': entry.eventID, '#count': 'count', '#status': 'status' };
    try {
      const { Attributes } = await client.send(
        new (await sdk.dynamodb()).UpdateItemCommand({
          TableName: tableName,
          Key: foldKey(foldId),
          UpdateExpression: 'SET entries.#event = :entry ADD #count :one',
          ConditionExpression:
            'attribute_exists(entries) AND #status = :open AND #count < :max AND attribute_not_exists(entries.#event)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: {
            ':entry': { S: JSON.stringify(entry) },
            ':one': { N: '1' },
            ':open': { S: 'open' },
            ':max': { N: String(FOLD_MAX_EVENTS) },
          },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return { opened: false, full: Number(Attributes?.count?.N) >= FOLD_MAX_EVENTS };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    // Why not: no fold yet, the event is in it already, or it is closed.
    const { Item } = await client.send(
      new (await sdk.dynamodb()).GetItemCommand({
        TableName: tableName,
        Key: foldKey(foldId),
        ConsistentRead: true,
        ProjectionExpression: '#status, #count, openedBy, entries.#event',
        ExpressionAttributeNames: names,
      }),
    );
    if (!Item) {
      try {
        const parsed = parseFoldId(foldId);
        await client.send(
          new (await sdk.dynamodb()).PutItemCommand({
            TableName: tableName,
            Item: {
              ...foldKey(foldId),
              status: { S: 'open' },
              entries: { M: { [entry.eventID]: { S: JSON.stringify(entry) } } },
              count: { N: '1' },
              openedBy: { S: entry.eventID },
              openedAt: { N: String(nowMs) },
              dueAt: { N: String(nowMs + FOLD_WINDOW_MS) },
              key: { S: parsed?.key ?? '' },
              number: { N: String(parsed?.number ?? 0) },
              seed: { S: seed },
              expiresAt: seconds(nowMs + FOLD_TTL_MS),
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        return { opened: true, full: FOLD_MAX_EVENTS <= 1 };
      } catch (error) {
        if (isConditionFailure(error)) return 'raced';
        throw error;
      }
    }
    const count = Number(Item.count?.N ?? 0);
    const status = Item.status?.S;
    if (Item.entries?.M?.[entry.eventID]) {
      // Already in it (a retry): the same answer as the first time, so the timer and the flush are armed again.
      return { opened: Item.openedBy?.S === entry.eventID, full: count >= FOLD_MAX_EVENTS && status !== 'flushed' };
    }
    // Open with room: it did not exist when the update was tried, and another invocation has just created it.
    return status === 'open' && count < FOLD_MAX_EVENTS ? 'raced' : 'closed';
  };

  return {
    async observe(key, entry, seed, nowMs): Promise<SessionDecision> {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
        const session = await readSession(key);
        if (session?.firstEventID === entry.eventID) return { kind: 'first' };
        const known = session?.escalations[entry.eventID];
        if (session && known !== undefined) return { kind: 'escalate', reason: known };
        const snapshot: SessionSnapshot | undefined = session && {
          highestSeverity: session.highestSeverity,
          detections: session.detections,
          lastEventTime: session.lastEventTime,
        };
        const verdict = decideSession(snapshot, entry.severity, entry.detections, entry.eventTime);
        if (verdict === 'first' || !session || !snapshot) {
          if (await startSession(key, entry, seed, session, nowMs)) return { kind: 'first' };
          continue;
        }
        if (verdict === 'escalate') {
          const reason = escalationReasonOf(snapshot, entry.severity, entry.detections) ?? 'escalation';
          if (await escalate(key, entry, reason, session, nowMs)) {
            await touch(key, entry, nowMs);
            return { kind: 'escalate', reason };
          }
          continue;
        }
        const foldId = foldIdOf(key, session.fold);
        const added = await addToFold(foldId, entry, session.seed, nowMs);
        if (added === 'raced') continue;
        if (added === 'closed') {
          await nextFold(key, session.fold);
          continue;
        }
        await touch(key, entry, nowMs);
        return { kind: 'fold', foldId, ...added };
      }
      throw new SessionContentionError(key, MAX_ATTEMPTS);
    },

    async takeFold(foldId, owner, nowMs) {
      let item: Item | undefined;
      try {
        const result = await client.send(
          new (await sdk.dynamodb()).UpdateItemCommand({
            TableName: tableName,
            Key: foldKey(foldId),
            UpdateExpression: 'SET #status = :flushing, #owner = :owner, takenAt = :now',
            ConditionExpression: '#status = :open OR (#status = :flushing AND (#owner = :owner OR takenAt < :stale))',
            ExpressionAttributeNames: { '#status': 'status', '#owner': 'owner' },
            ExpressionAttributeValues: {
              ':open': { S: 'open' },
              ':flushing': { S: 'flushing' },
              ':owner': { S: owner },
              ':now': { N: String(nowMs) },
              ':stale': { N: String(nowMs - FOLD_LEASE_MS) },
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        item = result.Attributes;
      } catch (error) {
        if (isConditionFailure(error)) return undefined;
        throw error;
      }
      const parsed = parseFoldId(foldId);
      if (!item || !parsed) return undefined;
      const entries = Object.values(item.entries?.M ?? {}).flatMap((value) => entryOf(value) ?? []);
      let seed: SessionSeed;
      try {
        seed = JSON.parse(item.seed?.S ?? '{}') as SessionSeed;
      } catch {
        seed = { account: { id: parsed.key.split('#')[0] ?? '' }, actor: { type: 'Unknown' }, region: '' };
      }
      const fold: Fold = { foldId, key: parsed.key, number: parsed.number, entries, seed };
      return fold;
    },

    async finishFold(foldId, nowMs) {
      try {
        await client.send(
          new (await sdk.dynamodb()).UpdateItemCommand({
            TableName: tableName,
            Key: foldKey(foldId),
            UpdateExpression: 'SET #status = :flushed, flushedAt = :now, expiresAt = :expires REMOVE entries',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':flushed': { S: 'flushed' },
              ':now': { N: String(nowMs) },
              ':expires': seconds(nowMs + FLUSHED_FOLD_TTL_MS),
            },
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    },

    async foldStatus(foldId) {
      const { Item } = await client.send(
        new (await sdk.dynamodb()).GetItemCommand({
          TableName: tableName,
          Key: foldKey(foldId),
          ConsistentRead: true,
          ProjectionExpression: '#status',
          ExpressionAttributeNames: { '#status': 'status' },
        }),
      );
      const status = Item?.status?.S;
      return status === 'open' || status === 'flushing' || status === 'flushed' ? (status as FoldStatus) : undefined;
    },
  };
};

export { createDynamoSessions, FOLD_LEASE_MS, foldIdOf };
