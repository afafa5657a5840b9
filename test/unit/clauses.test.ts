import { describe, expect, it } from 'vitest';
import { type Detection, parseDetection } from '../../functions/core/detection.js';
import { type CloudTrailEvent, recordToEvent } from '../../functions/core/event.js';
import {
  alternativesOf,
  coverageGaps,
  describeValue,
  exclusionsOf,
  mutationReport,
  mutationsOf,
  narrowPattern,
  outcomeOf,
  type SampleEvents,
  walkPattern,
} from '../helpers/clauses.js';

/** Synthetic events by fixture name: only the fields the patterns below read. */
const EVENTS: Record<string, unknown> = {
  'root-a.json': { source: 'aws.test', detail: { eventName: 'A', userIdentity: { type: 'Root' } } },
  'root-b.json': { source: 'aws.test', detail: { eventName: 'B', userIdentity: { type: 'Root' } } },
  'root-c.json': { source: 'aws.test', detail: { eventName: 'C', userIdentity: { type: 'Root' } } },
  'user-a.json': { source: 'aws.test', detail: { eventName: 'A', userIdentity: { type: 'IAMUser' } } },
  'user-b.json': { source: 'aws.test', detail: { eventName: 'B', userIdentity: { type: 'IAMUser' } } },
  'root-a-invoked.json': {
    source: 'aws.test',
    detail: { eventName: 'A', userIdentity: { type: 'Root', invokedBy: 'x.amazonaws.com' } },
  },
  'success.json': { source: 'aws.signin', detail: { responseElements: { ConsoleLogin: 'Success' } } },
  'root-a-key.json': {
    source: 'aws.test',
    detail: { eventName: 'A', userIdentity: { type: 'Root', accessKeyId: 'AKIA1' } },
  },
};

/**
 * A whole record, for the samples that repeat: their arrivals go through the alert pipeline, which builds
 * alerts from them. A failed root sign-in at 12:00 (each arrival moves it on).
 */
const FAILURE = {
  eventVersion: '1.08',
  userIdentity: { type: 'Root', accountId: '111122223333', arn: 'arn:aws:iam::111122223333:root' },
  eventTime: '2025-01-01T12:00:00Z',
  eventSource: 'signin.amazonaws.com',
  eventName: 'ConsoleLogin',
  awsRegion: 'us-east-1',
  sourceIPAddress: '203.0.113.7',
  userAgent: 'Mozilla/5.0',
  responseElements: { ConsoleLogin: 'Failure' },
  eventID: '00000000-0000-4000-8000-000000000000',
  eventType: 'AwsConsoleSignIn',
  recipientAccountId: '111122223333',
};

type Sample = {
  name: string;
  expect: 'match' | 'no-match';
  severity?: string;
  fixture: string;
  repeat?: { count: number; everyMinutes: number };
};
const match = (fixture: string, severity?: string): Sample => ({
  name: `match ${fixture}`,
  expect: 'match',
  fixture,
  ...(severity ? { severity } : {}),
});
const noMatch = (fixture: string): Sample => ({ name: `no match ${fixture}`, expect: 'no-match', fixture });
/** FAILURE arriving `count` times, `everyMinutes` apart, the last expected at `severity`. */
const failures = (count: number, everyMinutes: number, severity: string): Sample => ({
  name: `${count} failures ${everyMinutes} min apart`,
  expect: 'match',
  severity,
  fixture: 'failure.json',
  repeat: { count, everyMinutes },
});

/**
 * The events of the samples above: EVENTS by fixture, FAILURE's arrivals for a repeated sample, and for a
 * match sample the variants `variants` lists for its fixture.
 */
const eventsOf = (variants: Record<string, unknown[]> = {}): SampleEvents => ({
  arrivals: (sample) =>
    sample.repeat
      ? Array.from({ length: sample.repeat.count }, (_, i) =>
          recordToEvent({
            ...FAILURE,
            eventID: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
            eventTime: new Date(Date.UTC(2025, 0, 1, 12) + i * (sample.repeat?.everyMinutes ?? 0) * 60_000)
              .toISOString()
              .replace('.000Z', 'Z'),
          }),
        )
      : [EVENTS[sample.fixture] as CloudTrailEvent],
  variants: (sample) =>
    sample.expect === 'match'
      ? (variants[sample.fixture] ?? []).map((event, i) => ({ label: `${sample.fixture} variant ${i}`, event }))
      : [],
});
const events = eventsOf();

/** A valid detection file (JSON is YAML) with these patterns, modifiers and samples, loaded as the catalog is. */
const detection = (patterns: unknown[], samples: Sample[], severityModifiers: unknown[] = []): Detection =>
  parseDetection(
    JSON.stringify({
      id: 'test-detection',
      title: 'Test',
      severity: 'high',
      severityModifiers,
      description: 'd',
      runbook: '1. one\n2. two\n',
      references: ['https://example.com/a'],
      tags: ['attack.t1078.004'],
      falsePositives: ['none'],
      patterns,
      samples,
    }),
    'test-detection.yml',
  );

const ROOT_A_OR_B = { detail: { eventName: ['A', 'B'], userIdentity: { type: ['Root'] } } };

/** A failed sign-in that goes from high to critical at the 5th within 15 minutes, with samples that pin both. */
const counting = (
  repeated: Sample[] = [
    failures(5, 3, 'critical'),
    failures(4, 1, 'high'),
    failures(5, 3.6, 'critical'),
    failures(5, 3.8, 'high'),
  ],
): Detection =>
  detection(
    [{ source: ['aws.signin'], detail: { responseElements: { ConsoleLogin: ['Failure'] } } }],
    [...repeated, noMatch('success.json')],
    [{ severity: 'critical', reason: 'fifth', threshold: { count: 5, withinMinutes: 15, per: 'account' } }],
  );
/** failure.json put by an application: what shows the source clause of `counting` working. */
const FAILURE_VARIANTS = { 'failure.json': [{ ...recordToEvent(FAILURE), source: 'com.example.app' }] };

describe('walkPattern', () => {
  it('visits each $or branch, field and list value, a node before what it holds', () => {
    // Act
    const nodes = walkPattern({ a: ['x', 'y'], b: { $or: [{ c: ['1'] }, { d: ['2'] }] } });
    // Assess
    expect(nodes.map((node) => [node.kind, node.at])).toStrictEqual([
      ['field', ['a']],
      ['value', ['a', 0]],
      ['value', ['a', 1]],
      ['branch', ['b', '$or', 0]],
      ['field', ['b', '$or', 0, 'c']],
      ['value', ['b', '$or', 0, 'c', 0]],
      ['branch', ['b', '$or', 1]],
      ['field', ['b', '$or', 1, 'd']],
      ['value', ['b', '$or', 1, 'd', 0]],
    ]);
  });
});

describe('describeValue', () => {
  it.each([
    ['DeleteRule', 'DeleteRule'],
    [42, '42'],
    [null, 'null'],
    [{ prefix: 'rootwatch-' }, 'prefix rootwatch-'],
    [{ exists: false }, 'exists false'],
    [{ 'anything-but': 'AwsServiceEvent' }, 'anything-but AwsServiceEvent'],
    [{ 'anything-but': ['a', 'b'] }, 'anything-but ["a","b"]'],
    [{ 'anything-but': { prefix: 'aws.' } }, 'anything-but prefix aws.'],
    [{ suffix: { 'equals-ignore-case': '.PNG' } }, 'suffix equals-ignore-case .PNG'],
    [{ numeric: ['>', 0, '<=', 5] }, 'numeric > 0 <= 5'],
  ])('spells %j as %s', (value, expected) => {
    expect(describeValue(value)).toBe(expected);
  });
});

describe('alternativesOf', () => {
  it('lists each pattern, branch, value and modifier with a readable label', () => {
    // Prepare
    const clauses = {
      patterns: [{ a: ['x', { prefix: 'y' }], $or: [{ b: ['1'] }, { c: ['2'] }] }, { d: ['3'] }],
      severityModifiers: [
        { severity: 'critical' as const, reason: 'r', match: { e: ['4'] } },
        { severity: 'high' as const, reason: 't', threshold: { count: 5, withinMinutes: 15, per: 'account' as const } },
      ],
    };
    // Act
    const labels = alternativesOf(clauses).map((alternative) => alternative.label);
    // Assess
    expect(labels).toStrictEqual([
      'patterns[0]',
      'patterns[0].a x',
      'patterns[0].a prefix y',
      'patterns[0].$or[0]',
      'patterns[0].$or[0].b 1',
      'patterns[0].$or[1]',
      'patterns[0].$or[1].c 2',
      'patterns[1]',
      'patterns[1].d 3',
      'severityModifiers[0] → critical',
      'severityModifiers[0].match.e 4',
      'severityModifiers[1] threshold 5 within 15 min → high',
    ]);
  });
});

describe('narrowPattern', () => {
  it('keeps only the value on the path in its list', () => {
    expect(narrowPattern({ a: ['x', 'y'], b: ['z'] }, ['a', 1])).toStrictEqual({ a: ['y'], b: ['z'] });
  });

  it('keeps only the branch on the path in each $or, twice as EventBridge needs two', () => {
    // Act
    const narrowed = narrowPattern({ d: { $or: [{ b: ['1'] }, { c: ['2', '3'] }] } }, ['d', '$or', 1, 'c', 0]);
    // Assess
    expect(narrowed).toStrictEqual({ d: { $or: [{ c: ['2'] }, { c: ['2'] }] } });
  });
});

describe('exclusionsOf', () => {
  it('lifts an anything-but to exists: true, one operand at a time when it has several', () => {
    // Prepare
    const clauses = {
      patterns: [{ a: [{ 'anything-but': ['x', 'y'] }], b: [{ 'anything-but': 'z' }] }],
      severityModifiers: [],
    };
    // Act
    const exclusions = exclusionsOf(clauses);
    // Assess
    expect(exclusions.map((exclusion) => [exclusion.label, exclusion.relaxed.patterns])).toStrictEqual([
      ['patterns[0].a anything-but x', [{ a: [{ 'anything-but': 'y' }], b: [{ 'anything-but': 'z' }] }]],
      ['patterns[0].a anything-but y', [{ a: [{ 'anything-but': 'x' }], b: [{ 'anything-but': 'z' }] }]],
      ['patterns[0].b anything-but z', [{ a: [{ 'anything-but': ['x', 'y'] }], b: [{ exists: true }] }]],
    ]);
  });

  it('drops an exists: false (its field too when it is alone), and a modifier match becomes "always"', () => {
    // Prepare
    const clauses = {
      patterns: [{ d: { a: [{ exists: false }], b: ['1'] }, c: [{ exists: false }, 'v'] }],
      severityModifiers: [{ severity: 'low' as const, reason: 'r', match: { b: ['2'] } }],
    };
    // Act
    const exclusions = exclusionsOf(clauses);
    // Assess
    expect(exclusions.map((exclusion) => exclusion.label)).toStrictEqual([
      'patterns[0].d.a exists false',
      'patterns[0].c exists false',
      'severityModifiers[0].match',
    ]);
    expect(exclusions[0]?.relaxed.patterns).toStrictEqual([{ d: { b: ['1'] }, c: [{ exists: false }, 'v'] }]);
    expect(exclusions[1]?.relaxed.patterns).toStrictEqual([{ d: { a: [{ exists: false }], b: ['1'] }, c: ['v'] }]);
    expect(exclusions[2]?.relaxed.severityModifiers).toStrictEqual([{ severity: 'low', reason: 'r', match: {} }]);
  });
});

describe('mutationsOf', () => {
  it('drops each pattern, branch, field and value of a longer list, and lists each change once', () => {
    // Prepare
    const clauses = {
      patterns: [{ a: ['x', 'y'], $or: [{ b: ['1'] }, { c: ['2'] }] }, { d: ['3'] }],
      severityModifiers: [],
    };
    // Act
    const mutations = mutationsOf(clauses, 'high');
    // Assess
    expect(mutations.map((mutation) => mutation.label)).toStrictEqual([
      'drop patterns[0]',
      'drop patterns[1]',
      'drop field patterns[0].a',
      'drop value patterns[0].a x',
      'drop value patterns[0].a y',
      'drop patterns[0].$or[0]',
      // Dropping the only field of branch 0 leaves a branch that matches everything: the $or is gone.
      'drop field patterns[0].$or[0].b',
      'drop patterns[0].$or[1]',
      // Dropping the only field of branch 1 is the same change as for branch 0: listed once.
      // Dropping the only field of patterns[1] leaves {}, which matches every event.
      'drop field patterns[1].d',
    ]);
    expect(mutations.at(-1)?.clauses.patterns).toStrictEqual([
      { a: ['x', 'y'], $or: [{ b: ['1'] }, { c: ['2'] }] },
      {},
    ]);
    expect(mutations.find((m) => m.label === 'drop patterns[0].$or[0]')?.clauses.patterns[0]).toStrictEqual({
      a: ['x', 'y'],
      $or: [{ c: ['2'] }, { c: ['2'] }],
    });
    expect(mutations.find((m) => m.label === 'drop field patterns[0].$or[0].b')?.clauses.patterns[0]).toStrictEqual({
      a: ['x', 'y'],
    });
  });

  it('flips and lifts exclusions, takes operands literally, removes wildcard stars and changes modifiers', () => {
    // Prepare
    const clauses = {
      patterns: [
        {
          a: [{ 'anything-but': { prefix: ['p', 'q'] } }],
          b: [{ exists: false }],
          c: [{ prefix: 'pre' }, { suffix: { 'equals-ignore-case': 'SUF' } }, { 'equals-ignore-case': 'eq' }],
          d: [{ wildcard: 'x*y\\*z*' }],
        },
      ],
      severityModifiers: [{ severity: 'critical' as const, reason: 'r', match: { e: ['1'] } }],
    };
    // Act
    const labels = mutationsOf(clauses, 'high').map((mutation) => mutation.label);
    // Assess
    expect(labels).toStrictEqual([
      'drop field patterns[0].a',
      'patterns[0].a flip anything-but prefix ["p","q"] → prefix p, prefix q',
      'patterns[0].a lift anything-but prefix ["p","q"] → exists true',
      'patterns[0].a drop operand p from anything-but prefix ["p","q"]',
      'patterns[0].a drop operand q from anything-but prefix ["p","q"]',
      'drop field patterns[0].b',
      'patterns[0].b flip exists false → exists true',
      'drop field patterns[0].c',
      'drop value patterns[0].c prefix pre',
      'patterns[0].c prefix pre → pre (exact)',
      'drop value patterns[0].c suffix equals-ignore-case SUF',
      'patterns[0].c suffix equals-ignore-case SUF → suffix SUF (case kept)',
      'drop value patterns[0].c equals-ignore-case eq',
      'patterns[0].c equals-ignore-case eq → eq (case kept)',
      'drop field patterns[0].d',
      'patterns[0].d wildcard x*y\\*z* → wildcard xy\\*z*',
      'patterns[0].d wildcard x*y\\*z* → wildcard x*y\\*z',
      'drop field severityModifiers[0].match.e',
      'drop severityModifiers[0] → critical',
      'severityModifiers[0] severity critical → high',
      // "without its match" is the same change as dropping its only field: listed once.
    ]);
  });
});

describe('mutationsOf a threshold', () => {
  it("drops it, changes its severity, and moves its count and window by one within the schema's bounds", () => {
    // Prepare
    const clauses = {
      patterns: [{ a: ['x'] }],
      severityModifiers: [
        {
          severity: 'critical' as const,
          reason: 'r',
          threshold: { count: 2, withinMinutes: 1, per: 'account' as const },
        },
      ],
    };
    // Act
    const labels = mutationsOf(clauses, 'high').map((mutation) => mutation.label);
    // Assess
    expect(labels).toStrictEqual([
      'drop field patterns[0].a',
      'drop severityModifiers[0] threshold 2 within 1 min → critical',
      'severityModifiers[0] severity critical → high',
      'severityModifiers[0] threshold count 2 → 3',
      'severityModifiers[0] threshold window 1 → 2 min',
    ]);
  });
});

describe('outcomeOf', () => {
  it("judges a repeated sample's last arrival through the pipeline, with the modifier's reason", async () => {
    // Prepare
    const arrivals = (sample: Sample) => eventsOf().arrivals(sample as Detection['samples'][number]);
    // Act
    const fifth = await outcomeOf(counting(), arrivals(failures(5, 3, 'critical')));
    const fourth = await outcomeOf(counting(), arrivals(failures(4, 3, 'high')));
    // Assess
    expect(fifth).toStrictEqual({ matched: true, severity: 'critical', reason: 'fifth' });
    expect(fourth).toStrictEqual({ matched: true, severity: 'high' });
  });
});

describe('coverageGaps', () => {
  it('passes when a match sample reaches every value and a no-match sample shows every exclusion', async () => {
    // Prepare
    const covered = detection(
      [{ detail: { eventName: ['A', 'B'], userIdentity: { type: ['Root'], invokedBy: [{ exists: false }] } } }],
      [match('root-a.json'), match('root-b.json'), noMatch('root-a-invoked.json')],
    );
    // Act, Assess
    expect(await coverageGaps(covered, events)).toStrictEqual([]);
  });

  it('reports a value no match sample reaches', async () => {
    // Prepare
    const uncovered = detection([ROOT_A_OR_B], [match('root-a.json'), noMatch('user-a.json')]);
    // Act, Assess
    expect(await coverageGaps(uncovered, events)).toStrictEqual([
      'test-detection patterns[0].detail.eventName B: no match sample reaches it',
    ]);
  });

  it('reports an unreached branch once, with the count of what it holds', async () => {
    // Prepare
    const uncovered = detection(
      [{ detail: { $or: [{ eventName: ['A'] }, { eventName: ['C', 'D'] }] } }],
      [match('root-a.json'), noMatch('root-b.json')],
    );
    // Act, Assess
    expect(await coverageGaps(uncovered, events)).toStrictEqual([
      'test-detection patterns[0].detail.$or[1]: no match sample reaches it (nor any of the 2 alternatives inside it)',
    ]);
  });

  it('counts a value reached only through its own branch', async () => {
    // Prepare: with only the type list narrowed to IAMUser, root-a.json would still match the pattern
    // (through branch 0); narrowing the $or to branch 1 as well shows that no sample reaches IAMUser.
    const branches = detection(
      [{ detail: { $or: [{ eventName: ['A'] }, { eventName: ['B'], userIdentity: { type: ['Root', 'IAMUser'] } }] } }],
      [match('root-a.json'), match('root-b.json'), noMatch('root-c.json')],
    );
    // Act, Assess
    expect(await coverageGaps(branches, events)).toStrictEqual([
      'test-detection patterns[0].detail.$or[1].userIdentity.type IAMUser: no match sample reaches it',
    ]);
  });

  it('reports an exclusion no no-match sample shows working', async () => {
    // Prepare: user-a.json is a no-match sample, but for its type, not its invokedBy.
    const unshown = detection(
      [
        {
          detail: {
            userIdentity: { type: ['Root'], invokedBy: [{ exists: false }] },
            eventName: [{ 'anything-but': 'C' }],
          },
        },
      ],
      [match('root-a.json'), noMatch('user-a.json'), noMatch('root-a-invoked.json')],
    );
    // Act, Assess
    expect(await coverageGaps(unshown, events)).toStrictEqual([
      'test-detection patterns[0].detail.eventName anything-but C: no no-match sample shows the exclusion',
    ]);
  });

  it('reports a modifier no match sample with its severity reaches, and a modifier match nothing shows', async () => {
    // Prepare: the only match sample has no expected severity, so it proves nothing of the modifier.
    const modifier = {
      severity: 'critical',
      reason: 'long-term key',
      match: { detail: { userIdentity: { accessKeyId: [{ prefix: 'AKIA' }] } } },
    };
    const unproven = detection(
      [ROOT_A_OR_B],
      [match('root-a-key.json'), match('root-b.json'), noMatch('user-a.json')],
      [modifier],
    );
    // Act, Assess
    expect(await coverageGaps(unproven, events)).toStrictEqual([
      'test-detection severityModifiers[0] → critical: no match sample with severity critical reaches it (nor any of the 1 alternative inside it)',
      'test-detection severityModifiers[0].match: no sample shows the exclusion (a match sample whose expected severity the modifier would change without it)',
    ]);
  });

  it('passes a modifier reached by a sample of its severity and shown by a sample of another', async () => {
    // Prepare
    const modifier = {
      severity: 'critical',
      reason: 'long-term key',
      match: { detail: { userIdentity: { accessKeyId: [{ prefix: 'AKIA' }] } } },
    };
    const proven = detection(
      [ROOT_A_OR_B],
      [match('root-a-key.json', 'critical'), match('root-b.json', 'high'), noMatch('user-a.json')],
      [modifier],
    );
    // Act, Assess
    expect(await coverageGaps(proven, events)).toStrictEqual([]);
  });

  it('reports a threshold modifier, which no lone sample can reach', async () => {
    // Prepare
    const threshold = {
      severity: 'critical',
      reason: 'fifth',
      threshold: { count: 5, withinMinutes: 15, per: 'account' },
    };
    const counted = detection(
      [ROOT_A_OR_B],
      [match('root-a.json', 'high'), match('root-b.json'), noMatch('user-a.json')],
      [threshold],
    );
    // Act, Assess
    expect(await coverageGaps(counted, events)).toStrictEqual([
      'test-detection severityModifiers[0] threshold 5 within 15 min → critical: no match sample with severity critical reaches it (a threshold needs a sample with repeat, which arrives often enough to reach it)',
    ]);
  });

  it('passes a threshold modifier reached by a sample that repeats', async () => {
    // Act, Assess
    expect(await coverageGaps(counting(), eventsOf(FAILURE_VARIANTS))).toStrictEqual([]);
  });

  it('reports a generated variant the detection matches, and lets a variant show an exclusion', async () => {
    // Prepare: the variant of root-a.json is a service acting on its own; only the invokedBy exclusion keeps it out.
    const service = { source: 'aws.test', detail: { eventName: 'A', userIdentity: { invokedBy: 'x.amazonaws.com' } } };
    const guarded = detection(
      [{ detail: { eventName: ['A'], userIdentity: { invokedBy: [{ exists: false }] } } }],
      [match('root-a.json'), noMatch('root-b.json')],
    );
    const open = detection([{ detail: { eventName: ['A'] } }], [match('root-a.json'), noMatch('root-b.json')]);
    // Act, Assess
    expect(await coverageGaps(guarded, eventsOf({ 'root-a.json': [service] }))).toStrictEqual([]);
    expect(await coverageGaps(open, eventsOf({ 'root-a.json': [service] }))).toStrictEqual([
      'test-detection matches root-a.json variant 0, which must match nothing',
    ]);
  });
});

describe('mutationReport', () => {
  it('catches every mutation when each clause has a sample that depends on it', async () => {
    // Prepare
    const proven = detection(
      [{ detail: { eventName: ['A', 'B'], userIdentity: { type: ['Root'], invokedBy: [{ exists: false }] } } }],
      [
        match('root-a.json'),
        match('root-b.json'),
        noMatch('root-c.json'),
        noMatch('user-a.json'),
        noMatch('root-a-invoked.json'),
      ],
    );
    // Act
    const report = await mutationReport(proven, events);
    // Assess
    expect(report).toStrictEqual({
      total: 6,
      caught: 6,
      survivors: [],
      invalid: [],
      failingSamples: [],
      matchedVariants: [],
    });
  });

  it('lists the mutations every sample survives', async () => {
    // Prepare: nothing shows that eventName or invokedBy matter.
    const weak = detection(
      [{ detail: { eventName: ['A', 'B'], userIdentity: { type: ['Root'], invokedBy: [{ exists: false }] } } }],
      [match('root-a.json'), match('root-b.json'), noMatch('user-a.json')],
    );
    // Act
    const report = await mutationReport(weak, events);
    // Assess
    expect(report.caught).toBe(4);
    expect(report.survivors).toStrictEqual([
      'drop field patterns[0].detail.eventName',
      'drop field patterns[0].detail.userIdentity.invokedBy',
    ]);
  });

  it('judges a changed pattern as the rule it is deployed as, whatever another pattern matches', async () => {
    // Prepare: both patterns match root-a.json, as two rules guarding the same change do. Dropping either,
    // or A from the second, leaves the detection matching root-a.json, but not the rule that changed.
    const twoRules = detection(
      [{ detail: { eventName: ['A'] } }, { detail: { eventName: ['A', 'C'] } }],
      [match('root-a.json'), match('root-c.json'), noMatch('user-b.json')],
    );
    // Act
    const report = await mutationReport(twoRules, events);
    // Assess
    expect(report).toMatchObject({ total: 6, caught: 6, survivors: [] });
  });

  it('catches the removal of a clause only a generated variant depends on', async () => {
    // Prepare: no sample tells source aws.test from any other; the variant put by an application does.
    const sourced = detection(
      [{ source: ['aws.test'], detail: { eventName: ['A'] } }],
      [match('root-a.json'), noMatch('root-b.json')],
    );
    const putByApplication = { source: 'com.example.app', detail: { eventName: 'A' } };
    // Act
    const without = await mutationReport(sourced, events);
    const withVariant = await mutationReport(sourced, eventsOf({ 'root-a.json': [putByApplication] }));
    // Assess
    expect(without.survivors).toStrictEqual(['drop field patterns[0].source']);
    expect(withVariant).toMatchObject({ caught: 2, survivors: [], matchedVariants: [] });
  });

  it("catches every change of a threshold's count and window with samples that repeat", async () => {
    // Act
    const report = await mutationReport(counting(), eventsOf(FAILURE_VARIANTS));
    // Assess
    expect(report).toMatchObject({ total: 8, caught: 8, survivors: [], failingSamples: [] });
  });

  it('lets a window one minute off survive without the samples at its edge', async () => {
    // Prepare: spans of 12 and 16 minutes tell 15 from 12 or 17, not from 14 or 16.
    const coarse = counting([failures(5, 3, 'critical'), failures(4, 1, 'high'), failures(5, 4, 'high')]);
    // Act
    const report = await mutationReport(coarse, eventsOf(FAILURE_VARIANTS));
    // Assess
    expect(report.survivors).toStrictEqual([
      'severityModifiers[0] threshold window 15 → 14 min',
      'severityModifiers[0] threshold window 15 → 16 min',
    ]);
  });

  it('catches a modifier change only with a sample that expects its severity', async () => {
    // Prepare
    const modifier = {
      severity: 'critical',
      reason: 'long-term key',
      match: { detail: { userIdentity: { accessKeyId: [{ prefix: 'AKIA' }] } } },
    };
    const loose = detection(
      [ROOT_A_OR_B],
      [match('root-a-key.json'), match('root-b.json'), noMatch('user-a.json')],
      [modifier],
    );
    // Act
    const report = await mutationReport(loose, events);
    // Assess
    expect(report.survivors).toStrictEqual([
      'drop field patterns[0].detail.eventName',
      'drop field severityModifiers[0].match.detail.userIdentity.accessKeyId',
      'severityModifiers[0].match.detail.userIdentity.accessKeyId prefix AKIA → AKIA (exact)',
      'drop severityModifiers[0] → critical',
      'severityModifiers[0] severity critical → high',
    ]);
  });
});
