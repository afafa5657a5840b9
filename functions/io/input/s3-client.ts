import type { S3Client } from '@aws-sdk/client-s3';
import { ConfigError, toError } from '../../errors.js';
import { type ClientBudget, clientOptionsFor, sdk } from '../aws-clients.js';
import { undeclaredProfileMessage } from '../aws-profiles.js';

/*
 * The S3 calls of `rootwatch replay s3://…`: one folder's listing (ListObjectsV2 with the delimiter "/", every page)
 * and one object's bytes (GetObject), through @aws-sdk/client-s3, imported on first use (aws-clients.ts `sdk`). And
 * what their failures mean, in words a responder can act on.
 */

/** Where and as whom replay reads a bucket. Both default to the SDK's chain (AWS_PROFILE, AWS_REGION, the profile). */
interface S3Access {
  /** A profile of the shared config and credentials files (`--profile`). */
  readonly profile?: string;
  /** The region the client starts in (`--region`); a bucket in another region is followed there. */
  readonly region?: string;
}

/** One folder of a bucket: its child folders (full prefixes, ending in `/`) and its objects, in the server's order. */
interface FolderListing {
  readonly folders: readonly string[];
  readonly objects: readonly { readonly key: string; readonly size: number }[];
}

/** An object's body: whole in memory, or (too big to hold) a stream of its bytes. */
type ObjectBody = { readonly kind: 'bytes'; readonly bytes: Buffer } | { kind: 'stream'; body: AsyncIterable<Buffer> };

/** The S3 calls replay makes, made by createTrailBucket or, in tests, by anything that answers the same way. */
interface TrailBucket {
  /** @throws the SDK's error (S3ServiceException: NoSuchBucket, AccessDenied, …), or ConfigError (see fatalS3Error). */
  listFolder(bucket: string, prefix: string): Promise<FolderListing>;
  /**
   * The body of an object, whole when it is smaller than `wholeBelowBytes`, else as a stream.
   * @throws as listFolder.
   */
  getObject(bucket: string, key: string, wholeBelowBytes: number): Promise<ObjectBody>;
}

/**
 * Replay's budget for S3 calls: a listing page or a GET of a log file (megabytes) answers in seconds; a request that
 * hangs is given up after 60 s of silence and retried, three attempts in all (the SDK's default).
 */
const S3_BUDGET: ClientBudget = { connectionTimeoutMs: 5_000, requestTimeoutMs: 60_000, maxAttempts: 3 };

/**
 * The configuration problems that make every S3 call fail, as ConfigError (exit status 2, replay stops): a profile
 * (`--profile`, else AWS_PROFILE) that neither shared file declares, no credentials anywhere in the SDK's chain, or
 * no region. Undefined for anything else (a per-object or per-folder failure). The message says how to give what is
 * missing and never quotes a credential.
 */
const fatalS3Error = (error: unknown, access: S3Access = {}): ConfigError | undefined => {
  const err = toError(error);
  if (err instanceof ConfigError) return err;
  const credentials = err.name === 'CredentialsProviderError' || /could not load credentials/i.test(err.message);
  const undeclared = undeclaredProfileMessage(err, access.profile);
  if (undeclared) return new ConfigError(undeclared, { cause: err });
  if (credentials) {
    return new ConfigError(
      'no AWS credentials to read S3 with: give a profile (--profile P or AWS_PROFILE), keys (AWS_ACCESS_KEY_ID and ' +
        'AWS_SECRET_ACCESS_KEY), or sign in (aws sso login)',
      { cause: err },
    );
  }
  if (/region is missing/i.test(err.message)) {
    return new ConfigError(
      'no AWS region to start reading S3 in: give --region or AWS_REGION (any region: the bucket is followed to its own)',
      { cause: err },
    );
  }
  return undefined;
};

/** The error code of an S3 failure as S3 names it (`AccessDenied`, `KMS.DisabledException`), else its name. */
const codeOf = (error: Error): string => {
  const code = (error as { Code?: unknown }).Code;
  return typeof code === 'string' && code !== '' ? code : error.name;
};

/** Whether an S3 failure is about the object's KMS key rather than S3's own permissions. */
const isKmsFailure = (code: string, message: string): boolean => code.startsWith('KMS.') || /\bkms\b/i.test(message);

/**
 * Why an object could not be read, for `s3://bucket/key: <reason>`: the S3 error code, S3's message, and what to do.
 * S3 answers a GET of an SSE-KMS object it cannot decrypt with AccessDenied naming kms:Decrypt, or a `KMS.` code
 * (KMS.DisabledException, KMS.NotFoundException, …: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
 *
 * @example
 * describeGetFailure(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
 * // 'AccessDenied: Access Denied (needs s3:GetObject on the object)'
 */
const describeGetFailure = (error: unknown): string => {
  const err = toError(error);
  const code = codeOf(err);
  const said = err.message && err.message !== code ? `${code}: ${err.message}` : code;
  if (isKmsFailure(code, err.message)) return `${said} (needs kms:Decrypt on the trail's key, and the key enabled)`;
  if (code === 'AccessDenied') return `${said} (needs s3:GetObject on the object)`;
  if (code === 'NoSuchKey') return `${said} (deleted since it was listed?)`;
  return said;
};

/**
 * Why a folder could not be listed, for `s3://bucket/prefix: <reason>`, as describeGetFailure.
 *
 * @example
 * describeListFailure(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }), 'trail-bucket');
 * // 'cannot list: AccessDenied: Access Denied (needs s3:ListBucket on arn:aws:s3:::trail-bucket)'
 */
const describeListFailure = (error: unknown, bucket: string): string => {
  const err = toError(error);
  const code = codeOf(err);
  const said = err.message && err.message !== code ? `${code}: ${err.message}` : code;
  if (code === 'AccessDenied') return `cannot list: ${said} (needs s3:ListBucket on arn:aws:s3:::${bucket})`;
  if (code === 'NoSuchBucket') return `cannot list: ${said} (no such bucket, or not in this partition)`;
  return `cannot list: ${said}`;
};

/** The bytes of an SDK body, as Buffers. */
async function* buffersOf(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<Buffer> {
  for await (const chunk of body) yield typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk);
}

/**
 * The TrailBucket of the real S3, its client made (and @aws-sdk/client-s3 imported) on the first call. Credentials
 * and region come from the SDK's chain, over which `access` wins; `followRegionRedirects` follows a bucket to its own
 * region. The endpoint is the SDK's own override, AWS_ENDPOINT_URL_S3 (as in the tests, with a local server at
 * http://127.0.0.1:PORT: an IP address endpoint is addressed path-style by the SDK, no option needed).
 *
 * @example
 * const bucket = createTrailBucket({ profile: 'audit', region: 'eu-west-1' });
 * await bucket.listFolder('trail-bucket', 'AWSLogs/'); // { folders: ['AWSLogs/111122223333/', …], objects: [] }
 */
const createTrailBucket = (access: S3Access = {}): TrailBucket => {
  let client: Promise<{ s3: typeof import('@aws-sdk/client-s3'); client: S3Client }> | undefined;
  const load = () => {
    client ??= sdk.s3().then((s3) => ({
      s3,
      client: new s3.S3Client({
        ...clientOptionsFor(S3_BUDGET),
        followRegionRedirects: true,
        ...(access.region ? { region: access.region } : {}),
        ...(access.profile ? { profile: access.profile } : {}),
      }),
    }));
    return client;
  };
  const fatalOr = (error: unknown): never => {
    throw fatalS3Error(error, access) ?? error;
  };
  return {
    async listFolder(bucket, prefix) {
      const { s3, client: c } = await load();
      const folders: string[] = [];
      const objects: { key: string; size: number }[] = [];
      let token: string | undefined;
      do {
        const page = await c
          .send(
            new s3.ListObjectsV2Command({
              Bucket: bucket,
              Prefix: prefix,
              Delimiter: '/',
              ...(token ? { ContinuationToken: token } : {}),
            }),
          )
          .catch(fatalOr);
        for (const folder of page.CommonPrefixes ?? []) if (folder.Prefix) folders.push(folder.Prefix);
        for (const object of page.Contents ?? [])
          if (object.Key) objects.push({ key: object.Key, size: object.Size ?? 0 });
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return { folders, objects };
    },
    async getObject(bucket, key, wholeBelowBytes) {
      const { s3, client: c } = await load();
      const answer = await c.send(new s3.GetObjectCommand({ Bucket: bucket, Key: key })).catch(fatalOr);
      const body = answer.Body as
        | (AsyncIterable<Uint8Array> & { transformToByteArray(): Promise<Uint8Array> })
        | undefined;
      if (body === undefined) return { kind: 'bytes', bytes: Buffer.alloc(0) };
      if ((answer.ContentLength ?? 0) < wholeBelowBytes) {
        const bytes = await body.transformToByteArray();
        return { kind: 'bytes', bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
      }
      return { kind: 'stream', body: buffersOf(body) };
    },
  };
};

export type { FolderListing, ObjectBody, S3Access, TrailBucket };
export { createTrailBucket, describeGetFailure, describeListFailure };
