import { describe, expect, it } from 'vitest';
import { formatSummary } from '../../functions/commands/replay.js';
import {
  childPosition,
  DELIVERY_LAG_DAYS,
  isS3Url,
  type KeyPosition,
  listingWindow,
  parseS3Url,
  startOfPrefix,
} from '../../functions/core/cloudtrail-keys.js';
import { UsageError } from '../../functions/errors.js';

/** The folders a walk from the top enters for `path` (`AWSLogs/…/`), or where it stops: `pruned`, `skipped`. */
const walkTo = (path: string, window = {}): KeyPosition | 'pruned' | 'skipped' => {
  let position: KeyPosition | 'pruned' | 'skipped' = { level: 'outside' };
  for (const name of path.split('/').filter((n) => n !== '')) {
    if (typeof position === 'string') return position;
    position = childPosition(position, name, window);
  }
  return position;
};

describe('listingWindow', () => {
  it('lists from the since day to DELIVERY_LAG_DAYS after the until day', () => {
    // Act
    const window = listingWindow({ sinceMs: Date.UTC(2026, 9, 1, 9, 30), untilMs: Date.UTC(2026, 10, 1) });

    // Assess
    expect(DELIVERY_LAG_DAYS).toBe(1);
    expect(window).toStrictEqual({ firstDay: '2026-10-01', lastDay: '2026-11-01' });
  });

  it('takes an until time inside a day as that day, and leaves open ends open', () => {
    expect(listingWindow({ untilMs: Date.UTC(2026, 9, 1, 9, 30) })).toStrictEqual({ lastDay: '2026-10-02' });
    expect(listingWindow({ accounts: ['111122223333'] })).toStrictEqual({ accounts: ['111122223333'] });
  });

  it('clamps times beyond four-digit years, so that days compare as strings', () => {
    expect(listingWindow({ sinceMs: -1e15, untilMs: 1e16 })).toStrictEqual({
      firstDay: '1970-01-01',
      lastDay: '9999-12-31',
    });
  });
});

describe('childPosition', () => {
  const window = listingWindow({
    sinceMs: Date.UTC(2026, 9, 30),
    untilMs: Date.UTC(2026, 10, 2),
    accounts: ['111122223333'],
    regions: ['us-east-1'],
  });

  it.each([
    ['AWSLogs/', { level: 'logs' }],
    ['AWSLogs/o-aa11bb22cc/', { level: 'org' }],
    ['AWSLogs/111122223333/', { level: 'account' }],
    ['AWSLogs/o-aa11bb22cc/111122223333/', { level: 'account' }],
    ['AWSLogs/111122223333/CloudTrail/', { level: 'trail' }],
    ['AWSLogs/111122223333/CloudTrail/us-east-1/', { level: 'region' }],
    ['AWSLogs/111122223333/CloudTrail/us-east-1/2026/', { level: 'year', year: '2026' }],
    ['AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/', { level: 'month', year: '2026', month: '10' }],
    ['AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/30/', { level: 'day' }],
    ['AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/', { level: 'day' }],
    ['trails/', { level: 'outside' }],
    ['trails/AWSLogs/111122223333/', { level: 'account' }],
  ])('enters %s', (path, expected) => {
    expect(walkTo(path, window)).toStrictEqual(expected);
  });

  it.each([
    'AWSLogs/444455556666/',
    'AWSLogs/o-aa11bb22cc/444455556666/',
    'AWSLogs/111122223333/CloudTrail/eu-west-1/',
    'AWSLogs/111122223333/CloudTrail/us-east-1/2025/',
    'AWSLogs/111122223333/CloudTrail/us-east-1/2027/',
    'AWSLogs/111122223333/CloudTrail/us-east-1/2026/09/',
    'AWSLogs/111122223333/CloudTrail/us-east-1/2026/12/',
    'AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/29/',
    'AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/03/',
  ])('prunes %s', (path) => {
    expect(walkTo(path, window)).toBe('pruned');
  });

  it.each(['CloudTrail-Digest', 'CloudTrail-Insight', 'Config'])('skips %s under an account', (name) => {
    expect(walkTo(`AWSLogs/111122223333/${name}/`)).toBe('skipped');
  });

  it.each([
    'AWSLogs/not-an-account/',
    'AWSLogs/111122223333/CloudTrail/global/',
    'AWSLogs/111122223333/CloudTrail/us-east-1/latest/',
    'AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/30/extra/',
  ])('reads %s whole, unpruned, as outside the layout', (path) => {
    expect(walkTo(path, window)).toStrictEqual({ level: 'outside' });
  });

  it('takes every account, region and date without a scope', () => {
    expect(walkTo('AWSLogs/o-aa11bb22cc/999988887777/CloudTrail/ap-southeast-5/1999/01/01/')).toStrictEqual({
      level: 'day',
    });
  });
});

describe('startOfPrefix', () => {
  it.each([
    ['', { position: { level: 'outside' }, folder: '', partial: '' }],
    ['AWSLogs/', { position: { level: 'logs' }, folder: 'AWSLogs/', partial: '' }],
    ['AWSLogs', { position: { level: 'outside' }, folder: '', partial: 'AWSLogs' }],
    [
      'logs/AWSLogs/o-aa11bb22cc/1111',
      { position: { level: 'org' }, folder: 'logs/AWSLogs/o-aa11bb22cc/', partial: '1111' },
    ],
    [
      'AWSLogs/111122223333/CloudTrail/us-east-1/2026/1',
      {
        position: { level: 'year', year: '2026' },
        folder: 'AWSLogs/111122223333/CloudTrail/us-east-1/2026/',
        partial: '1',
      },
    ],
    [
      'AWSLogs/111122223333/CloudTrail-Digest/',
      { position: { level: 'outside' }, folder: 'AWSLogs/111122223333/CloudTrail-Digest/', partial: '' },
    ],
  ])('starts %j where the layout says', (prefix, expected) => {
    expect(startOfPrefix(prefix, {})).toStrictEqual(expected);
  });

  it('is pruned when the prefix names an account or day outside the window', () => {
    expect(startOfPrefix('AWSLogs/111122223333/', { accounts: ['444455556666'] })).toBe('pruned');
    expect(startOfPrefix('AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/01/', { firstDay: '2026-10-02' })).toBe(
      'pruned',
    );
  });
});

describe('parseS3Url', () => {
  it('splits the bucket from the prefix, which may be empty or end anywhere', () => {
    expect(parseS3Url('s3://trail-bucket')).toStrictEqual({ bucket: 'trail-bucket', prefix: '' });
    expect(parseS3Url('s3://trail-bucket/')).toStrictEqual({ bucket: 'trail-bucket', prefix: '' });
    expect(parseS3Url('s3://trail.bucket-1/AWSLogs/o-x/11')).toStrictEqual({
      bucket: 'trail.bucket-1',
      prefix: 'AWSLogs/o-x/11',
    });
    expect(isS3Url('s3://b')).toBe(true);
    expect(isS3Url('./s3:/b')).toBe(false);
  });

  it('takes the scheme in any case, and takes s3:/ and s3: as meant for S3', () => {
    expect(parseS3Url('S3://trail-bucket/AWSLogs/')).toStrictEqual({ bucket: 'trail-bucket', prefix: 'AWSLogs/' });
    expect(isS3Url('S3://trail-bucket')).toBe(true);
    expect(isS3Url('s3:/trail-bucket')).toBe(true);
    expect(isS3Url('s3:trail-bucket')).toBe(true);
    expect(() => parseS3Url('s3:/trail-bucket')).toThrow('"s3:/trail-bucket" is not an s3:// URL');
  });

  it.each(['s3://', 's3:///AWSLogs', 's3://Trail_Bucket/x', 's3://ab', 's3:/trail-bucket', 's3:trail-bucket'])(
    'refuses %s as usage',
    (url) => {
      expect(() => parseS3Url(url)).toThrow(UsageError);
    },
  );
});

describe('formatSummary', () => {
  const summary = {
    records: 10,
    alerts: 2,
    folding: false,
    digests: 0,
    folded: 0,
    errors: 0,
    seconds: 0.5,
    bySeverity: { info: 0, low: 0, medium: 0, high: 2, critical: 0 },
  };

  it('says how many records the scope left out, when any were', () => {
    expect(formatSummary({ ...summary, outOfScope: 3 })).toBe(
      '10 records, 2 alerts (high 2), 3 matching events outside the scope (not alerted), 0 unreadable, 0.5 s (20 records/s)',
    );
    expect(formatSummary({ ...summary, outOfScope: 0 })).toBe(formatSummary(summary));
  });

  it('groups the digits of every count, those per severity too', () => {
    const many = {
      ...summary,
      records: 12_345,
      alerts: 2_035,
      bySeverity: { ...summary.bySeverity, critical: 2_035, high: 0 },
    };

    expect(formatSummary(many)).toBe(
      '12,345 records, 2,035 alerts (critical 2,035), 0 unreadable, 0.5 s (24,690 records/s)',
    );
  });
});
