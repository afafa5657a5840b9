import type { LogScope } from '../../commands/scope.js';
import {
  childPosition,
  type KeyPosition,
  type ListingWindow,
  listingWindow,
  parseS3Url,
  startOfPrefix,
} from '../../core/cloudtrail-keys.js';
import { ConfigError, InputError } from '../../errors.js';
import {
  describeGetFailure,
  describeListFailure,
  type FolderListing,
  type ObjectBody,
  type TrailBucket,
} from './s3-client.js';
import { byName, INPUT_FILE } from './sources.js';

/*
 * `rootwatch replay s3://BUCKET[/PREFIX]`: the bucket walked folder by folder along CloudTrail's key layout
 * (core/cloudtrail-keys.ts), so that the accounts, regions and days a scope leaves out are never listed, and the
 * objects found fetched a few at a time and handed on in the walk's order, which is the order a directory walk of the
 * same files downloaded gives (sources.ts: each folder's entries sorted by name, folders entered where they sort).
 */

/** Concurrent GETs by default (`--concurrency`), and the most allowed. */
const DEFAULT_CONCURRENCY = 8;
const MAX_CONCURRENCY = 64;
/**
 * An object smaller than this is fetched whole, ahead of its turn (CloudTrail log files are kilobytes to a few
 * megabytes); a bigger one is streamed when its turn comes, so at most concurrency × this is held.
 */
const WHOLE_OBJECT_BYTES = 8 * 1024 * 1024;
/** Sibling folders whose listing is started ahead of the one being walked: listings are round trips. */
const LIST_AHEAD = 4;

/** What reading an S3 prefix gives, in order. */
type S3Item =
  /** An object fetched (or to be streamed), named `s3://bucket/key`. */
  | { readonly kind: 'object'; readonly name: string; readonly size: number; readonly body: ObjectBody }
  /** An object that could not be fetched, or a folder that could not be listed. */
  | { readonly kind: 'error'; readonly error: InputError };

interface S3ReadOptions {
  readonly bucket: TrailBucket;
  readonly scope: LogScope;
  /** GETs in flight at once, 1 to MAX_CONCURRENCY. */
  readonly concurrency: number;
  /** Told of each object listed (to be read), for progress. */
  readonly onListed?: (size: number) => void;
  /**
   * Told, once each, what is worth saying and is no error: that objects outside CloudTrail's layout are read
   * unpruned, which folders beside AWSLogs/ are skipped, and that the scope left nothing to read.
   */
  readonly onNotice?: (message: string) => void;
}

type Listed = { kind: 'object'; key: string; size: number } | { kind: 'error'; error: InputError };

/** What a walk saw besides what it yields. */
interface WalkTally {
  /** Whether the listing of the prefix itself found anything; undefined until it answers, and when it failed. */
  found?: boolean;
  /** Folders the scope pruned. */
  pruned: number;
  /** Says once that objects outside the layout are read unpruned. */
  readonly outside: () => void;
  /** Says what was skipped beside AWSLogs/ in `folder`: names of child folders (ending in `/`) and log files. */
  readonly skipped: (folder: string, names: readonly string[]) => void;
}

/** Names listed in one notice of skipped folders, at most; the rest are counted. */
const MAX_NAMED = 10;

/**
 * The objects to read under `folder + partial`, walked from `position`: each folder listed once, its entries sorted
 * by name, child folders entered where they sort (as a directory walk does), those the window prunes or that hold no
 * event logs never listed. Above the layout, a folder holding AWSLogs/ has its other folders and log files skipped
 * (told to the tally): they are not the trail's. A folder that cannot be listed is an error item and the walk goes on;
 * ConfigError (no credentials, no region) is thrown.
 */
async function* walk(
  bucketName: string,
  bucket: TrailBucket,
  window: ListingWindow,
  start: { position: KeyPosition; folder: string; partial: string },
  listing: Promise<FolderListing> | undefined,
  tally: WalkTally,
): AsyncGenerator<Listed> {
  const { position, folder, partial } = start;
  let found: FolderListing;
  try {
    found = await (listing ?? bucket.listFolder(bucketName, folder + partial));
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const where = `s3://${bucketName}/${folder}${partial}`;
    yield {
      kind: 'error',
      error: new InputError(where, undefined, describeListFailure(error, bucketName), { cause: error }),
    };
    return;
  }
  tally.found ??= found.folders.length > 0 || found.objects.length > 0;
  // Above the layout, AWSLogs/ found here means the rest of this folder is not the trail's (README: walked "looking
  // for AWSLogs/"); it is read only when named as the prefix.
  const besideLogs =
    position.level === 'outside' && found.folders.some((prefix) => prefix.slice(folder.length, -1) === 'AWSLogs');
  const skipped: string[] = [];
  type Entry = { name: string; folder?: KeyPosition; size?: number };
  const entries: Entry[] = [];
  for (const prefix of found.folders) {
    const name = prefix.slice(folder.length, -1);
    if (name.startsWith('.')) continue;
    const next = childPosition(position, name, window);
    if (next === 'pruned') tally.pruned++;
    else if (besideLogs && next !== 'skipped' && next.level === 'outside') skipped.push(`${name}/`);
    else if (next !== 'skipped') entries.push({ name, folder: next });
  }
  for (const object of found.objects) {
    const name = object.key.slice(folder.length);
    if (name.startsWith('.') || name.includes('/') || !INPUT_FILE.test(name)) continue;
    if (besideLogs) skipped.push(name);
    else entries.push({ name, size: object.size });
  }
  if (skipped.length > 0) tally.skipped(folder, skipped.sort());
  entries.sort(byName);
  // Listings of the next folders are started ahead; each is awaited (and its failure reported) in its turn.
  const ahead = new Map<number, Promise<FolderListing>>();
  const request = (index: number): void => {
    const entry = entries[index];
    if (entry?.folder === undefined || ahead.has(index)) return;
    const listing = bucket.listFolder(bucketName, `${folder}${entry.name}/`);
    listing.catch(() => {}); // handled when its turn comes
    ahead.set(index, listing);
  };
  for (const [index, entry] of entries.entries()) {
    if (entry.folder === undefined) {
      if (position.level !== 'day') tally.outside();
      yield { kind: 'object', key: folder + entry.name, size: entry.size ?? 0 };
      continue;
    }
    for (let next = index; next < entries.length && ahead.size < LIST_AHEAD; next++) request(next);
    request(index);
    const listingOf = ahead.get(index);
    ahead.delete(index);
    yield* walk(
      bucketName,
      bucket,
      window,
      { position: entry.folder, folder: `${folder}${entry.name}/`, partial: '' },
      listingOf,
      tally,
    );
  }
}

type Fetched = { ok: true; body: ObjectBody } | { ok: false; error: unknown };

/**
 * The objects under an `s3://BUCKET[/PREFIX]` URL that the scope keeps, fetched `concurrency` at a time (those under
 * WHOLE_OBJECT_BYTES whole, ahead of their turn; bigger ones streamed in their turn) and yielded in the walk's order
 * as soon as each is in. An object that cannot be fetched and a folder that cannot be listed are error items naming
 * `s3://bucket/key` and why (describeGetFailure, describeListFailure); reading goes on. A prefix under which nothing
 * at all exists (a typo) is an error item, `s3://bucket/prefix: no objects under this prefix`; one whose objects the
 * scope all pruned, or that holds no log file, is said once through onNotice. A prefix outside the layout (no
 * AWSLogs/ in it or under it) is read whole: every .json/.jsonl/.ndjson(.gz) under it, unpruned, said once through
 * onNotice. Above the layout, beside an AWSLogs/ folder, the other folders and log files are skipped, said through
 * onNotice.
 *
 * @throws UsageError for a URL that names no valid bucket; ConfigError when there are no credentials or no region.
 * @example
 * import { createTrailBucket } from './s3-client.js';
 * for await (const item of readS3Objects('s3://trail-bucket/AWSLogs/', { bucket: createTrailBucket(), scope: {}, concurrency: 8 })) {
 *   if (item.kind === 'object') console.log(item.name, item.size);
 * }
 */
async function* readS3Objects(url: string, options: S3ReadOptions): AsyncGenerator<S3Item> {
  const { bucket: bucketName, prefix } = parseS3Url(url);
  const window = listingWindow(options.scope);
  const start = startOfPrefix(prefix, window);
  const where = `s3://${bucketName}/${prefix}`;
  const nothing = (): S3Item => ({
    kind: 'error',
    error: new InputError(where, undefined, 'no objects under this prefix'),
  });
  const outOfScope = (): void =>
    options.onNotice?.(
      `${where}: objects are there, but none inside --since, --until, --accounts and --regions: none was read`,
    );
  if (start === 'pruned') {
    // Nothing of it is to be read; one listing still tells a prefix the scope leaves out from one that is not there.
    let found: FolderListing;
    try {
      found = await options.bucket.listFolder(bucketName, prefix);
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      const reason = describeListFailure(error, bucketName);
      yield { kind: 'error', error: new InputError(where, undefined, reason, { cause: error }) };
      return;
    }
    if (found.folders.length === 0 && found.objects.length === 0) yield nothing();
    else outOfScope();
    return;
  }
  let noticed = false;
  const tally: WalkTally = {
    pruned: 0,
    outside: () => {
      if (noticed) return;
      noticed = true;
      options.onNotice?.(
        `${url}: objects outside CloudTrail's key layout (…/AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/) are read, every one: --since, --until, --accounts and --regions filter their records but cannot prune their listing`,
      );
    },
    skipped: (folder, names) => {
      const named = names.slice(0, MAX_NAMED).join(', ');
      const more = names.length > MAX_NAMED ? ` and ${names.length - MAX_NAMED} more` : '';
      options.onNotice?.(
        `s3://${bucketName}/${folder}: skipped ${named}${more}: outside CloudTrail's key layout; name ${names.length === 1 ? 'it' : 'one'} as the prefix to read it`,
      );
    },
  };
  let objects = 0;
  let unlisted = 0;
  const listed = walk(bucketName, options.bucket, window, start, undefined, tally);
  const fetch = (key: string): Promise<Fetched> =>
    options.bucket.getObject(bucketName, key, WHOLE_OBJECT_BYTES).then(
      (body) => ({ ok: true, body }),
      (error: unknown) => ({ ok: false, error }),
    );
  const queue: { listed: Listed; fetched?: Promise<Fetched> }[] = [];
  let listingDone = false;
  const concurrency = Math.min(Math.max(1, options.concurrency), MAX_CONCURRENCY);
  try {
    for (;;) {
      while (!listingDone && queue.length < concurrency) {
        const next = await listed.next();
        if (next.done) {
          listingDone = true;
          break;
        }
        const item = next.value;
        if (item.kind === 'object') {
          objects++;
          options.onListed?.(item.size);
        } else unlisted++;
        queue.push({
          listed: item,
          ...(item.kind === 'object' && item.size < WHOLE_OBJECT_BYTES ? { fetched: fetch(item.key) } : {}),
        });
      }
      const head = queue.shift();
      if (head === undefined) break;
      if (head.listed.kind === 'error') {
        yield head.listed;
        continue;
      }
      const name = `s3://${bucketName}/${head.listed.key}`;
      const fetched = await (head.fetched ?? fetch(head.listed.key));
      if (fetched.ok) {
        yield { kind: 'object', name, size: head.listed.size, body: fetched.body };
      } else {
        if (fetched.error instanceof ConfigError) throw fetched.error;
        const reason = describeGetFailure(fetched.error);
        yield { kind: 'error', error: new InputError(name, undefined, reason, { cause: fetched.error }) };
      }
    }
  } finally {
    await listed.return(undefined);
  }
  if (tally.found === false) yield nothing();
  else if (tally.found && objects === 0 && unlisted === 0) {
    if (tally.pruned > 0) outOfScope();
    else options.onNotice?.(`${where}: no log file (.json, .jsonl, .ndjson, each optionally .gz) under this prefix`);
  }
}

export { DEFAULT_CONCURRENCY, MAX_CONCURRENCY, readS3Objects };
