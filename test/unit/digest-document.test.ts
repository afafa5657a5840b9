import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildDigest,
  DIGEST_MAX_SOURCES,
  type Digest,
  digestIdOf,
  digestJsonSchema,
  isDigest,
  timeSpanOf,
} from '../../functions/core/digest-document.js';
import { renderDigestSns } from '../../functions/core/render/digest.js';
import { REPO_ROOT } from '../helpers/corpus.js';
import { entryAt, foldOf, SEED, SESSION_KEY, timeAt } from '../helpers/digests.js';
import { detections, hostileText, signInAlert } from '../helpers/render-alerts.js';

const published = JSON.parse(readFileSync(join(REPO_ROOT, 'schema/digest.schema.json'), 'utf8')) as object;
const validate = new Ajv2020({ strict: true, allErrors: true }).compile(published);

/** The document as a JSON subscriber receives it. */
const asJson = (digest: Digest): unknown => JSON.parse(JSON.stringify(digest));

describe('buildDigest', () => {
  it("calls the events root events only in root's sessions", () => {
    const role = { ...SEED, actor: { type: 'AssumedRole', arn: 'arn:aws:sts::111122223333:assumed-role/ops/x' } };
    expect(buildDigest(foldOf([entryAt(1)])).title).toMatch(/^1 more root event in /);
    expect(buildDigest(foldOf([entryAt(1), entryAt(2)], { seed: role })).title).toMatch(/^2 more events in /);
  });

  it('counts a burst by event name, detection and source, over its time span', () => {
    // Prepare: 3 ListBuckets, 2 GetObject, 1 CreateAccessKey (critical, two detections), one from another address.
    const entries = [
      entryAt(3),
      entryAt(1),
      entryAt(2, { eventName: 'GetObject' }),
      entryAt(4, { eventName: 'GetObject', sourceIp: '198.51.100.2' }),
      entryAt(5),
      entryAt(6, {
        eventName: 'CreateAccessKey',
        severity: 'critical',
        detections: ['root-access-key-created', 'root-api-call'],
      }),
    ];
    // Act
    const digest = buildDigest(foldOf(entries));
    // Assess
    expect(digest).toStrictEqual({
      schema: 'rootwatch.digest/v1',
      digestID: digestIdOf(SESSION_KEY, 1),
      title: '6 more root events in prod-payments (111122223333) (10:00:01–10:00:06 UTC)',
      session: { key: SESSION_KEY, fold: 1 },
      account: { id: '111122223333', name: 'prod-payments' },
      actor: { type: 'Root', arn: 'arn:aws:iam::111122223333:root', credential: 'console' },
      region: 'us-east-1',
      firstEventTime: timeAt(1),
      lastEventTime: timeAt(6),
      count: 6,
      severity: 'critical',
      eventNames: { ListBuckets: 3, GetObject: 2, CreateAccessKey: 1 },
      detections: { 'root-api-call': 6, 'root-access-key-created': 1 },
      sources: [
        { ip: '203.0.113.7', client: 'aws-cli 2.27.0', count: 5 },
        { ip: '198.51.100.2', client: 'aws-cli 2.27.0', count: 1 },
      ],
      eventIDs: ['evt-0001', 'evt-0002', 'evt-0003', 'evt-0004', 'evt-0005', 'evt-0006'],
      links: {
        cloudtrail:
          'https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events?AccessKeyId=ASIAIOSFODNN7EXAMPLE',
      },
    });
  });

  it('counts a repeated eventID once, its first entry winning', () => {
    // Prepare
    const entries = [entryAt(1), entryAt(2), entryAt(1, { eventName: 'DeleteBucket', severity: 'critical' })];
    // Act
    const digest = buildDigest(foldOf(entries));
    // Assess
    expect(digest.count).toBe(2);
    expect(digest.eventIDs).toStrictEqual(['evt-0001', 'evt-0002']);
    expect(digest.eventNames).toStrictEqual({ ListBuckets: 2 });
    expect(digest.severity).toBe('high');
  });

  it('lists the 20 busiest sources and sums up the rest', () => {
    // Prepare: source i sends i + 1 events, 25 sources.
    const entries = Array.from({ length: 25 }, (_, source) =>
      Array.from({ length: source + 1 }, (_, n) =>
        entryAt(source * 100 + n, { sourceIp: `203.0.113.${source}`, client: source % 2 ? 'boto3 1.34' : undefined }),
      ),
    ).flat();
    // Act
    const digest = buildDigest(foldOf(entries));
    // Assess
    expect(digest.sources).toHaveLength(DIGEST_MAX_SOURCES);
    expect(digest.sources[0]).toStrictEqual({ ip: '203.0.113.24', count: 25 });
    expect(digest.sources.at(-1)).toStrictEqual({ ip: '203.0.113.5', client: 'boto3 1.34', count: 6 });
    expect(digest.moreSources).toStrictEqual({ sources: 5, count: 1 + 2 + 3 + 4 + 5 });
    expect(digest.sources.reduce((sum, source) => sum + source.count, 0) + 15).toBe(digest.count);
  });

  it('groups events without an address or client as one source', () => {
    // Prepare
    const { sourceIp: _ip, client: _client, ...bare } = entryAt(1);
    // Act
    const digest = buildDigest(foldOf([bare, { ...bare, eventID: 'evt-2' }]));
    // Assess
    expect(digest.sources).toStrictEqual([{ count: 2 }]);
    expect(digest.moreSources).toBeUndefined();
  });

  it('spans the times that parse, and says when none does', () => {
    // Prepare
    const mixed = [entryAt(1, { eventTime: 'garbage' }), entryAt(7200), entryAt(30)];
    const none = [entryAt(1, { eventTime: '' })];
    // Act
    const digest = buildDigest(foldOf(mixed));
    const unknown = buildDigest(foldOf(none));
    // Assess
    expect([digest.firstEventTime, digest.lastEventTime]).toStrictEqual([timeAt(30), timeAt(7200)]);
    expect(digest.title).toMatch(/\(10:00:30–12:00:00 UTC\)$/);
    expect(unknown.title).toBe('1 more root event in prod-payments (111122223333) (time unknown)');
  });

  it('gives a stable id per session and fold', () => {
    // Act
    const id = buildDigest(foldOf([entryAt(1)])).digestID;
    // Assess
    expect(id).toMatch(/^digest-[0-9a-f]{16}$/);
    expect(buildDigest(foldOf([entryAt(9)])).digestID).toBe(id);
    expect(buildDigest(foldOf([entryAt(1)], { number: 2 })).digestID).not.toBe(id);
    expect(digestIdOf('k1', 2)).not.toBe(digestIdOf('k', 12));
  });

  it.each([
    ['a session without a key', '111122223333#src#203.0.113.7#~0123456789abcdef', undefined, 'Username=root'],
    ['a hashed key', '111122223333#key#~0123456789abcdef', undefined, 'Username=root'],
    ['a GovCloud ARN', SESSION_KEY, 'arn:aws-us-gov:iam::111122223333:root', 'AccessKeyId=ASIAIOSFODNN7EXAMPLE'],
  ])('links the CloudTrail event history for %s', (_, key, arn, filter) => {
    // Prepare
    const seed = { ...SEED, region: 'us-gov-west-1', actor: { ...SEED.actor, ...(arn ? { arn } : {}) } };
    // Act
    const { cloudtrail } = buildDigest(foldOf([entryAt(1)], { key, seed })).links;
    // Assess
    const domain = arn ? 'console.amazonaws-us-gov.com' : 'console.aws.amazon.com';
    expect(cloudtrail).toBe(`https://us-gov-west-1.${domain}/cloudtrailv2/home?region=us-gov-west-1#/events?${filter}`);
  });

  it('takes the partition from the options over the ARN', () => {
    expect(buildDigest(foldOf([entryAt(1)]), { partition: 'aws-cn' }).links.cloudtrail).toMatch(
      /^https:\/\/us-east-1\.console\.amazonaws\.cn\//,
    );
  });

  it('counts an event name such as "__proto__" like any other', () => {
    // Act
    const digest = buildDigest(
      foldOf([entryAt(1, { eventName: '__proto__' }), entryAt(2, { eventName: '__proto__' })]),
    );
    // Assess
    expect(Object.entries(digest.eventNames)).toStrictEqual([['__proto__', 2]]);
    expect(JSON.stringify(digest.eventNames)).toBe('{"__proto__":2}');
    expect(isDigest(asJson(digest))).toBe(true);
  });

  it('throws on an empty fold, naming it', () => {
    expect(() => buildDigest(foldOf([]))).toThrow(`fold ${SESSION_KEY}#1 has no entries`);
  });
});

describe('timeSpanOf', () => {
  it.each([
    ['2024-05-01T10:00:00Z', '2024-05-01T10:00:00Z', '10:00:00 UTC'],
    ['2024-05-01T23:59:00Z', '2024-05-02T00:04:00Z', '2024-05-01 23:59:00 – 2024-05-02 00:04:00 UTC'],
    ['2024-05-01T10:00:00Z', '', 'time unknown'],
  ])('spans %s to %s as "%s"', (first, last, span) => {
    expect(timeSpanOf(first, last)).toBe(span);
  });
});

describe('schema/digest.schema.json', () => {
  it('is what DigestSchema generates (run `npm run schema` after changing the digest document)', () => {
    expect(published).toStrictEqual(digestJsonSchema());
  });

  it('accepts built digests, and the copy SNS had to cut', () => {
    // Prepare
    const small = buildDigest(foldOf([entryAt(1)]));
    const big = buildDigest(
      foldOf(
        Array.from({ length: 500 }, (_, i) =>
          entryAt(i, { eventName: `Call${i % 37}`, sourceIp: `203.0.113.${i % 30}` }),
        ),
      ),
    );
    const crafted = buildDigest(foldOf([entryAt(1, { eventName: 'x'.repeat(60_000) })]));
    const cut = JSON.parse(JSON.parse(renderDigestSns(crafted, detections, { maxBytes: 100_000 }).Message).sqs);
    // Act / Assess
    for (const document of [small, big].map(asJson).concat(cut)) {
      expect(validate(document), JSON.stringify(validate.errors)).toBe(true);
      expect(isDigest(document)).toBe(true);
    }
    expect(cut.truncated.reason).toMatch(/^Values cut to 1024 characters/);
  });

  it('accepts digests of arbitrary event names, clients and account names', () => {
    fc.assert(
      fc.property(hostileText, hostileText, hostileText, (eventName, client, name) => {
        // Prepare
        const fold = foldOf([entryAt(1, { eventName, client }), entryAt(2)], {
          seed: { ...SEED, account: { id: '111122223333', name } },
        });
        // Act
        const document = asJson(buildDigest(fold));
        // Assess
        expect(validate(document), JSON.stringify(validate.errors)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects an alert, a digest without eventIDs, and an unknown severity', () => {
    // Prepare
    const digest = asJson(buildDigest(foldOf([entryAt(1)]))) as Record<string, unknown>;
    const { eventIDs: _, ...noIds } = digest;
    // Act / Assess
    expect(validate(asJson(signInAlert() as unknown as Digest))).toBe(false);
    expect(isDigest(signInAlert())).toBe(false);
    expect(validate(noIds)).toBe(false);
    expect(validate({ ...digest, severity: 'urgent' })).toBe(false);
    expect(validate({ ...digest, laterField: true })).toBe(true);
  });
});
