import { describe, expect, it } from 'vitest';
import { inScope, isScoped, parseScope, parseTime } from '../../functions/commands/scope.js';
import { UsageError } from '../../functions/errors.js';

const NOW = Date.UTC(2026, 9, 15, 12, 0, 0);

describe('parseTime', () => {
  it('reads a date as midnight UTC, and with endOfDay as the midnight that ends it', () => {
    expect(parseTime('--since', '2026-10-01', NOW)).toBe(Date.UTC(2026, 9, 1));
    expect(parseTime('--until', '2026-10-31', NOW, true)).toBe(Date.UTC(2026, 10, 1));
  });

  it('reads a time with its zone, and a span back from now', () => {
    expect(parseTime('--since', '2026-10-01T09:30:00+02:00', NOW)).toBe(Date.UTC(2026, 9, 1, 7, 30));
    expect(parseTime('--since', '2026-10-01T09:30:00.123Z', NOW)).toBe(Date.UTC(2026, 9, 1, 9, 30, 0, 123));
    expect(parseTime('--until', '2026-10-01T09:30:00Z', NOW, true)).toBe(Date.UTC(2026, 9, 1, 9, 30));
    expect(parseTime('--since', '3d', NOW)).toBe(NOW - 3 * 86_400_000);
    expect(parseTime('--since', '90m', NOW)).toBe(NOW - 90 * 60_000);
    expect(parseTime('--since', '2w', NOW)).toBe(NOW - 14 * 86_400_000);
  });

  it.each(['2026-02-30', '2026-13-01', 'yesterday', '2026-10-01T09:30:00', '2026-10-01 09:30Z', '3y', '', '-3d'])(
    'names the flag and the value of %j',
    (value) => {
      expect(() => parseTime('--since', value, NOW)).toThrow(UsageError);
      expect(() => parseTime('--since', value, NOW)).toThrow(`--since "${value}" is not a date`);
    },
  );
});

describe('parseScope', () => {
  it('splits and checks lists, repeated or comma-separated, without duplicates', () => {
    expect(
      parseScope({ accounts: ['111122223333,444455556666', '111122223333'], regions: ['us-gov-west-1', 'eu-west-1'] }),
    ).toEqual({ accounts: ['111122223333', '444455556666'], regions: ['us-gov-west-1', 'eu-west-1'] });
  });

  it.each([
    [{ accounts: ['11112222333'] }, '--accounts: "11112222333" is not an account id'],
    [{ accounts: ['111122223333,'] }, '--accounts: "" is not an account id'],
    [{ regions: ['us-east'] }, '--regions: "us-east" is not a region name'],
    [{ regions: ['US-EAST-1'] }, '--regions: "US-EAST-1" is not a region name'],
    [{ since: '2026-10-02', until: '2026-10-01' }, '--since "2026-10-02" is not before --until "2026-10-01"'],
  ])('rejects %j', (values, message) => {
    expect(() => parseScope(values, NOW)).toThrow(message);
  });

  it('takes the same day as since and until: the whole day', () => {
    expect(parseScope({ since: '2026-10-01', until: '2026-10-01' }, NOW)).toEqual({
      sinceMs: Date.UTC(2026, 9, 1),
      untilMs: Date.UTC(2026, 9, 2),
    });
  });
});

describe('inScope', () => {
  const event = { time: '2026-10-01T23:59:59Z', account: '111122223333', region: 'us-east-1' };

  it('keeps what every given part lets through, the until instant left out', () => {
    expect(inScope({}, event)).toBe(true);
    expect(inScope(parseScope({ since: '2026-10-01', until: '2026-10-01' }, NOW), event)).toBe(true);
    expect(inScope(parseScope({ until: '2026-10-01T23:59:59Z' }, NOW), event)).toBe(false);
    expect(inScope(parseScope({ since: '2026-10-02' }, NOW), event)).toBe(false);
    expect(inScope({ accounts: ['444455556666'] }, event)).toBe(false);
    expect(inScope({ regions: ['us-east-1'], accounts: ['111122223333'] }, event)).toBe(true);
  });

  it('leaves out an event whose time does not parse only when the scope has times', () => {
    const bad = { ...event, time: 'not a time' };
    expect(inScope({ regions: ['us-east-1'] }, bad)).toBe(true);
    expect(inScope({ sinceMs: 0 }, bad)).toBe(false);
  });

  it('tells a scope that narrows from one that does not', () => {
    expect(isScoped({})).toBe(false);
    expect(isScoped({ regions: ['us-east-1'] })).toBe(true);
  });
});
