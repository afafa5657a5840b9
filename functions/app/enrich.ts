import type { Enrichment } from '../core/alert-document.js';
import type { CloudTrailEvent } from '../core/event.js';
import { classifySourceAddress } from '../core/source-address.js';
import { AlerterError } from '../errors.js';
import { logger } from '../io/logger.js';
import type { AccountNameLookup, AccountNames, GeoFacts, GeoLookup } from './ports.js';

interface EnricherDeps {
  geo?: GeoLookup;
  accountNames?: AccountNameLookup;
  /**
   * The most any lookup may add to an alert's latency. A lookup still running then is dropped from
   * this alert (and keeps running, so a database still loading serves the next one). Default 3 s;
   * `Infinity` waits for every answer (replay, which must print the same facts however busy the machine).
   */
  timeoutMs?: number;
}

type Enricher = (event: CloudTrailEvent) => Promise<Enrichment>;

const DEFAULT_TIMEOUT_MS = 3_000;

/** An enrichment lookup gave no answer in time; thrown inside `attempt` only, to tell it from a failure in the log. */
class LookupTimeoutError extends AlerterError {
  public constructor(public readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}

/** `{ key: value }` for a non-empty string, else `{}`: a lookup's answer is checked, not trusted. */
const text = <K extends string>(key: K, value: unknown): { [P in K]?: string } =>
  (typeof value === 'string' && value !== '' ? { [key]: value } : {}) as { [P in K]?: string };

/** `{ key: value }` for a whole number, else `{}`. */
const integer = <K extends string>(key: K, value: unknown): { [P in K]?: number } =>
  (typeof value === 'number' && Number.isSafeInteger(value) ? { [key]: value } : {}) as { [P in K]?: number };

/**
 * Creates the enrichment step: the event's account names, and the country, ASN and organisation of
 * the source address (the client label and source kind need no data and are the alert builder's).
 * The lookups run in parallel, each on its own: one that throws or runs past `timeoutMs` is logged and
 * its fields left out, and the others still count. Never rejects: enrichment adds to an alert and must
 * never cost one.
 */
const createEnricher = (deps: EnricherDeps): Enricher => {
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  /** Runs one lookup; a throw, a rejection or a timeout becomes a warning and undefined. */
  const attempt = async <T>(
    lookup: string,
    event: CloudTrailEvent,
    run: (() => Promise<T | undefined> | T | undefined) | undefined,
  ): Promise<T | undefined> => {
    if (!run) return undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      // `async` so that a lookup throwing synchronously is caught here like a rejection.
      const answer = (async () => run())();
      if (!Number.isFinite(timeoutMs)) return await answer;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new LookupTimeoutError(timeoutMs)), timeoutMs);
      });
      return await Promise.race([answer, deadline]);
    } catch (error) {
      logger.warn('enrichment lookup failed', {
        lookup,
        accountId: event.account,
        eventId: event.id,
        reason: error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 300) : String(error).slice(0, 300),
      });
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  };

  return async (event) => {
    const record = event.detail;
    const address = classifySourceAddress(record.sourceIPAddress);
    const { geo, accountNames } = deps;
    const ip = address.ip;
    const [names, place] = await Promise.all([
      attempt<AccountNames>('account', event, accountNames && (() => accountNames(event.account))),
      attempt<GeoFacts>('geo', event, geo && ip ? () => geo(ip) : undefined),
    ]);
    // Field by field, checked: only facts that were found, and of the type the alert document promises.
    return {
      account: { ...text('name', names?.name), ...text('alias', names?.alias) },
      source: {
        ...text('country', place?.country),
        ...integer('asn', place?.asn),
        ...text('org', place?.org),
      },
    };
  };
};

export type { Enricher };
export { createEnricher };
