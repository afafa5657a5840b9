/** Every error rootwatch throws on purpose is an AlerterError, so callers can tell ours from a bug. */
class AlerterError extends Error {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Configuration (environment, CLI flags) is invalid. */
class ConfigError extends AlerterError {}

/**
 * The command line is wrong (a flag missing, malformed or contradicting another): usage is printed, exit status 2.
 * Every command throws this one class, so the CLI tells a usage mistake from a failure in one place (isUsageError).
 */
class UsageError extends AlerterError {}

/** A detection file in events/ is invalid: names the file and the field. */
class DetectionFileError extends AlerterError {
  public constructor(
    public readonly file: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${file}: ${message}`, options);
  }
}

/** An EventBridge pattern is one EventBridge itself would reject. */
class InvalidPatternError extends AlerterError {}

/** An input (event, record, file) could not be read as CloudTrail data. */
class EventParseError extends AlerterError {}

/** A piece of replay input could not be read: names the file and the position in it. */
class InputError extends AlerterError {
  public constructor(
    public readonly file: string,
    public readonly position: string | undefined,
    message: string,
    options?: ErrorOptions,
  ) {
    // Bad input is data, not a bug: its error carries no stack (a `cause` keeps its own). Capturing one was most of
    // what a file of millions of bad lines cost.
    const stackLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`${file}${position ? ` (${position})` : ''}: ${message}`, options);
    Error.stackTraceLimit = stackLimit;
  }
}

/**
 * Slack did not take a message. Carries the status and Slack's short error body ("invalid_payload",
 * "channel_is_archived"), never the webhook URL: nothing here may reveal it in a log.
 */
class SlackDeliveryError extends AlerterError {
  /** Set when we gave up on a 429: Slack's Retry-After. Delay the message by this much, then retry. */
  declare public retryAfterMs?: number;
  /** How many requests were made before giving up (0: the URL was refused before any request). */
  declare public attempts?: number;

  public constructor(
    /** undefined: no response (network error, timeout). */
    public readonly statusCode: number | undefined,
    public readonly body: string,
    /** Worth trying again later (network, timeout, 5xx, 429). */
    public readonly retryable: boolean,
    message?: string,
  ) {
    super(
      message ?? (statusCode === undefined ? 'Slack request failed' : `Slack answered ${statusCode} ${body}`.trim()),
    );
  }
}

/** An alert's SNS message stays over SNS's size limit even with the record left out and its values cut. */
class AlertTooLargeError extends AlerterError {
  public constructor(
    public readonly eventId: string,
    public readonly bytes: number,
    public readonly maxBytes: number,
  ) {
    super(`SNS message for ${eventId} is ${bytes} bytes even with values cut; limit ${maxBytes}`);
  }
}

/** An IP database file holds nothing usable (an ASN table without a single range). */
class IpDatabaseError extends AlerterError {}

/** One or more destinations failed; the others were delivered. */
class DeliveryError extends AlerterError {
  public constructor(public readonly failures: { sink: string; error: Error }[]) {
    super(`Delivery failed for ${failures.map((f) => `${f.sink} (${f.error.message})`).join(', ')}`);
  }
}

/**
 * EventBridge did not take an event put with PutEvents: its per-entry error code (`NotAuthorizedForSourceException`,
 * `InvalidArgument`, …) and message, or, without a code, the request's own error as the cause.
 */
class PutEventsError extends AlerterError {
  public constructor(
    public readonly errorCode: string | undefined,
    message: string,
    options?: ErrorOptions,
  ) {
    super(errorCode ? `EventBridge refused the event: ${errorCode}: ${message}` : message, options);
  }
}

/**
 * The guard's expected state (the document packaging writes from the generated template) is missing, invalid, or
 * names something the guard cannot resolve into a physical id.
 */
class ExpectedStateError extends AlerterError {}

/** A call to the state table did not answer within its time budget (the alert goes on without it). */
class StateTimeoutError extends AlerterError {
  public constructor(
    public readonly operation: string,
    public readonly timeoutMs: number,
  ) {
    super(`the state table did not answer ${operation} within ${timeoutMs} ms`);
  }
}

/** Narrows an unknown thrown value to an Error, wrapping anything else. */
const toError = (value: unknown): Error => (value instanceof Error ? value : new Error(String(value)));

/**
 * Whether a thrown value is a command line mistake: a UsageError, or the TypeError node:util parseArgs throws for an
 * unknown flag or a missing value (its `code` starts with `ERR_PARSE_ARGS_`, e.g. ERR_PARSE_ARGS_UNKNOWN_OPTION;
 * https://nodejs.org/api/errors.html#err_parse_args_unknown_option).
 *
 * @example
 * isUsageError(new UsageError('--stage is missing')); // true
 * isUsageError(new ConfigError('bad parameter')); // false
 */
const isUsageError = (value: unknown): boolean =>
  value instanceof UsageError ||
  (value instanceof Error && String((value as { code?: unknown }).code ?? '').startsWith('ERR_PARSE_ARGS_'));

export {
  AlerterError,
  AlertTooLargeError,
  ConfigError,
  DeliveryError,
  DetectionFileError,
  EventParseError,
  ExpectedStateError,
  InputError,
  InvalidPatternError,
  IpDatabaseError,
  isUsageError,
  PutEventsError,
  SlackDeliveryError,
  StateTimeoutError,
  toError,
  UsageError,
};
