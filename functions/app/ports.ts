import type { Alert } from '../core/alert-document.js';
import type { Digest } from '../core/digest-document.js';
import type { ExpectedWindow } from '../core/expected-window.js';
import type { Fold, SessionEntry, SessionSeed } from '../core/session.js';

/*
 * The ports of the alert pipeline: what it needs from the world, as interfaces. Adapters in io/
 * (DynamoDB, SNS, SQS, the IP databases, Organizations) and local/ (the demo's stand-ins) implement
 * them; replay passes in-memory and stdout ones. Nothing here imports an SDK.
 */

/**
 * What the alerter remembers between invocations: who is alerting on an event and which destinations
 * already have it (so duplicate deliveries and retries never alert a destination twice), and recent
 * events of a detection with a threshold modifier (counted once per eventID).
 */
interface AlertState {
  /**
   * Takes the event for this invocation (`owner`: the Lambda request id). Resolves to the
   * destinations that already have it, or undefined when another invocation holds a fresh claim (it
   * is delivering, or has delivered, the same event). `nowMs`: epoch milliseconds.
   */
  claim(eventId: string, owner: string, nowMs: number): Promise<Set<string> | undefined>;
  /** Destinations that already have the event (for the Slack notifier, which does not claim). */
  delivered(eventId: string): Promise<Set<string>>;
  /** Records that `sink` has the event. */
  markDelivered(eventId: string, sink: string, nowMs: number): Promise<void>;
  /**
   * Records an event under `key` (`<detection>#<account>`) and resolves to how many events of that key
   * fall in the window `(eventTimeMs - windowMs, eventTimeMs]`, this one included. Counting is in event
   * time, so a replay of last year's logs counts as the live system did.
   */
  countRecent(key: string, eventId: string, eventTimeMs: number, windowMs: number): Promise<number>;
  /**
   * Resolves to how many events countRecent recorded under `key` (`<detection>#<account>`) fall in the window
   * `(eventTimeMs - windowMs, eventTimeMs]`, in event time, recording nothing: how a follows modifier reads
   * another detection's recent events (a root sign-in after failed ones).
   */
  countWindow(key: string, eventTimeMs: number, windowMs: number): Promise<number>;
}

/**
 * A call to the state, named as a metric's metadata says it. `observe` is the session state's (SessionState): when it
 * fails, the event is alerted on its own, without folding. `expectedWindows` is ExpectedWindows.activeAt: when it
 * fails, the alert goes out as if no window had been declared.
 */
type StateOperation =
  | 'claim'
  | 'countRecent'
  | 'countWindow'
  | 'markDelivered'
  | 'delivered'
  | 'observe'
  | 'expectedWindows';

/**
 * What the alert pipeline and the Slack notifier count about their own health, as CloudWatch metrics in
 * production (io/metrics.ts) and a recorder in tests. Replay and the demo pass none: their stdout is output.
 */
interface HealthMetrics {
  /** The state failed or timed out on `operation`: the alert went on without deduplication. */
  stateUnavailable(operation: StateOperation): void;
}

/**
 * The break-glass windows declared with `rootwatch expect` (io/expected-windows.ts: createDynamoExpectedWindows in the
 * state table, createMemoryExpectedWindows a fixed list for tests).
 */
interface ExpectedWindows {
  /**
   * The windows of `account` (12 digits) covering `eventTimeMs` (event time, epoch ms): declared at or before it, and
   * neither past `until` nor ended by then (core/expected-window.ts, activeWindows). Rejects when the store fails.
   */
  activeAt(account: string, eventTimeMs: number): Promise<ExpectedWindow[]>;
}

/** A destination of alerts. `name` is what the state records as delivered ("sns", "slack-queue", "stdout"). */
interface Sink {
  name: string;
  /** Sends one alert; rejects when the destination did not take it. */
  send(alert: Alert): Promise<void>;
}

/**
 * A destination of digests (rootwatch.digest/v1). `name` is what the state records as delivered under the digestID,
 * as a Sink's under an eventID: the production sinks are both (io/sinks.ts: "sns", "slack-queue").
 */
interface DigestSink {
  name: string;
  /** Sends one digest; rejects when the destination did not take it. */
  sendDigest(digest: Digest): Promise<void>;
}

/**
 * What the session state decided for an alerting event (see SessionState.observe):
 * - `first`: the session's first alerting event (or the first after an idle hour): alert now;
 * - `escalate`: higher severity than the session reached, or a detection it has not raised: alert now, `reason` says
 *   which ("severity high → critical", "new detection root-access-key-created");
 * - `fold`: the event went into fold `foldId` of its session, to be sent in a digest. `opened`: this event opened the
 *   fold, so the caller sets its timer (FOLD_WINDOW_MS); `full`: the fold reached FOLD_MAX_EVENTS with this event
 *   and takes no more, so the caller flushes it now. Both are answered again, the same, for the same eventID (a
 *   retried event re-arms the timer and the flush: each is harmless twice).
 */
type SessionDecision =
  | { kind: 'first' }
  | { kind: 'escalate'; reason: string }
  | { kind: 'fold'; foldId: string; opened: boolean; full: boolean };

/** Where a fold is in its life: taking events; taken by a flush (its owner delivering the digest); done. */
type FoldStatus = 'open' | 'flushing' | 'flushed';

/**
 * Root sessions and their folds, between invocations (io/dynamo-sessions.ts in DynamoDB, io/memory-sessions.ts for
 * replay). Every call rejects when the store fails; the pipeline then alerts the event on its own.
 */
interface SessionState {
  /**
   * Atomically: creates or extends the session `key` (core/session.ts, sessionKeyOf), decides first / escalate / fold
   * (core/session.ts, decideSession, on the session as stored), and for a fold adds `entry` to the session's open
   * fold. Idempotent per eventID: the same eventID never counts twice, and gets the same decision again while its
   * session and fold are current. `seed` (the event's own account and actor) is kept when the event starts a session.
   * `nowMs`: epoch milliseconds of arrival (a fold's timer counts from its first event's arrival).
   */
  observe(key: string, entry: SessionEntry, seed: SessionSeed, nowMs: number): Promise<SessionDecision>;
  /**
   * Claims an open fold for flushing (open → flushing, owned by `owner`, the invocation), returning its entries and
   * the session's seed; also a fold still `flushing` under `owner`, or under an owner whose lease ran out (it failed
   * or timed out mid-flush). Undefined when already flushed, unknown, or held by a live owner (foldStatus tells
   * which). The session's next folded event opens the next fold.
   */
  takeFold(foldId: string, owner: string, nowMs: number): Promise<Fold | undefined>;
  /** Marks the fold flushed, once every digest sink has the digest (recorded by digestID in the AlertState). */
  finishFold(foldId: string, nowMs: number): Promise<void>;
  /** Where the fold is (an addition to the design's three calls): undefined for a fold the state does not know. */
  foldStatus(foldId: string): Promise<FoldStatus | undefined>;
}

/** The fold timer's message: which fold to flush (io/fold-timer.ts writes it, app/digest.ts reads it). */
interface FoldTimerMessage {
  foldId: string;
}

/**
 * Arranges for a fold to be flushed `delayMs` from now, whether or not another event of its session arrives (an SQS
 * message delayed up to 900 s in production: io/fold-timer.ts). Rejects when the timer could not be set.
 */
interface FoldTimer {
  schedule(foldId: string, delayMs: number): Promise<void>;
}

/** What people call an account: its Organizations name and, for the account rootwatch runs in, its IAM alias. */
interface AccountNames {
  name?: string;
  alias?: string;
}

/** Looks up an account's names by its 12-digit id; resolves to `{}` when nothing is known. */
type AccountNameLookup = (accountId: string) => Promise<AccountNames>;

/** What the IP databases say about a public address; each field only when its database knows it. */
interface GeoFacts {
  /** ISO 3166-1 alpha-2, as registered (WHOIS/geofeed), not where the person sits. */
  country?: string;
  asn?: number;
  org?: string;
}

/** Looks up a source address; resolves to undefined for private, reserved or unknown addresses. */
type GeoLookup = (ip: string) => Promise<GeoFacts | undefined>;

export type {
  AccountNameLookup,
  AccountNames,
  AlertState,
  DigestSink,
  ExpectedWindows,
  FoldStatus,
  FoldTimer,
  FoldTimerMessage,
  GeoFacts,
  GeoLookup,
  HealthMetrics,
  SessionDecision,
  SessionState,
  Sink,
  StateOperation,
};
