import type { Alert } from '../core/alert-document.js';

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
}

/** A call to the state, named as a metric's metadata says it. */
type StateOperation = 'claim' | 'countRecent' | 'markDelivered' | 'delivered';

/**
 * What the alert pipeline and the Slack notifier count about their own health, as CloudWatch metrics in
 * production (io/metrics.ts) and a recorder in tests. Replay and the demo pass none: their stdout is output.
 */
interface HealthMetrics {
  /** The state failed or timed out on `operation`: the alert went on without deduplication. */
  stateUnavailable(operation: StateOperation): void;
}

/** A destination of alerts. `name` is what the state records as delivered ("sns", "slack-queue", "stdout"). */
interface Sink {
  name: string;
  /** Sends one alert; rejects when the destination did not take it. */
  send(alert: Alert): Promise<void>;
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

export type { AccountNameLookup, AccountNames, AlertState, GeoFacts, GeoLookup, HealthMetrics, Sink, StateOperation };
