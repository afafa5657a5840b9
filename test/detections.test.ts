import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findAttackTechnique } from '../functions/core/attack.js';
import { classify } from '../functions/core/classify.js';
import { parseDetection } from '../functions/core/detection.js';
import { DetectionFileError } from '../functions/errors.js';
import { DEFAULT_DETECTIONS_DIR, loadDetections } from '../functions/io/detections.js';
import { outcomeOf } from './helpers/clauses.js';
import {
  generatedVariants,
  readSampleEvent,
  readSampleRecord,
  SAMPLES_DIR,
  sampleArrivals,
} from './helpers/samples.js';

const detections = loadDetections();
const REQUIRED_IDS = [
  'root-console-sign-in',
  'root-console-sign-in-failure',
  'root-api-call',
  'root-access-key-created',
  'mfa-device-deactivated',
  'root-credentials-changed',
  'root-session-assumed',
  'audit-trail-tampering',
  'alerter-tampering',
];

describe('the detection catalog', () => {
  it('holds every detection DESIGN.md requires, one file each, named by id', () => {
    const files = readdirSync(DEFAULT_DETECTIONS_DIR).filter((f) => f.endsWith('.yml'));
    expect(files.map((f) => f.replace(/\.yml$/, '')).sort()).toEqual(detections.map((d) => d.id).sort());
    expect(detections.map((d) => d.id)).toEqual(expect.arrayContaining(REQUIRED_IDS));
  });

  it('uses every sample file, and every sample file exists', () => {
    const used = new Set(
      detections.flatMap((d) => d.samples.flatMap((s) => (s.after ? [s.fixture, s.after.fixture] : [s.fixture]))),
    );
    const present = readdirSync(SAMPLES_DIR).filter((f) => f.endsWith('.json'));
    expect([...used].sort()).toEqual(present.sort());
  });

  const cases = detections.flatMap((detection) =>
    detection.samples.map((sample) => ({ id: detection.id, detection, sample })),
  );

  // A sample with `repeat` arrives that many times through the alert pipeline (state in memory), one with `after`
  // after those records (which meet the detection a follows modifier names); its last arrival is judged.
  it.each(cases)('$id: $sample.name ($sample.expect)', async ({ detection, sample }) => {
    // Act
    const outcome = await outcomeOf(detection, sampleArrivals(sample), detections);
    // Assess
    expect(outcome.matched).toBe(sample.expect === 'match');
    if (sample.severity) expect(outcome.severity).toBe(sample.severity);
  });

  // The catalog-wide rules (README, "The detections"): an application's PutEvents dressed as CloudTrail is
  // nobody's action, and an AWS service event is AWS acting on its own, never a person.
  const variants = cases.flatMap(({ id, sample }) => generatedVariants(sample).map((variant) => ({ id, ...variant })));

  it.each(variants)('$id: $label matches no detection', ({ event }) => {
    expect(classify(event, detections).map((match) => match.detection.id)).toEqual([]);
  });

  it('marks every detection that matches a read-only sample as needing read-only events', () => {
    for (const detection of detections) {
      for (const sample of detection.samples) {
        const record = readSampleRecord(sample.fixture);
        if (sample.expect === 'match' && record.readOnly === true) {
          expect(detection.readOnlyEvents, `${detection.id} matches read-only ${sample.fixture}`).toBe(true);
        }
      }
    }
  });
});

/**
 * Whether a pattern lets only AWS's own events through: `source` listing `aws.…` values only, exact or
 * `{ prefix: "aws.…" }`, or every `$or` branch doing so. CloudTrail's events on EventBridge all have an
 * `aws.` source, and PutEvents refuses one, so an application cannot forge a root alert.
 */
const limitsSourceToAws = (pattern: Record<string, unknown>): boolean => {
  const source = pattern.source;
  if (Array.isArray(source)) {
    return (
      source.length > 0 &&
      source.every((value) => {
        if (typeof value === 'string') return value.startsWith('aws.');
        const prefix = (value as { prefix?: unknown } | null)?.prefix;
        return Object.keys(value ?? {}).length === 1 && typeof prefix === 'string' && prefix.startsWith('aws.');
      })
    );
  }
  const branches = pattern.$or;
  return (
    Array.isArray(branches) &&
    branches.length > 0 &&
    branches.every((branch) => limitsSourceToAws(branch as Record<string, unknown>))
  );
};

describe('the sources the catalog trusts', () => {
  it.each(detections)('$id matches only events whose source begins with "aws."', ({ patterns }) => {
    for (const [i, pattern] of patterns.entries()) {
      expect(limitsSourceToAws(pattern), `patterns[${i}].source`).toBe(true);
    }
  });

  it.each([
    [{ source: ['aws.iam', 'aws.sts'] }, true],
    [{ source: [{ prefix: 'aws.' }] }, true],
    [{ $or: [{ source: ['aws.iam'] }, { source: [{ prefix: 'aws.' }] }] }, true],
    [{ 'detail-type': ['AWS API Call via CloudTrail'] }, false],
    [{ source: [{ prefix: 'aws' }] }, false],
    [{ source: ['aws.iam', 'com.example'] }, false],
    [{ source: [{ 'anything-but': 'com.example' }] }, false],
    [{ source: [] }, false],
    [{ $or: [{ source: ['aws.iam'] }, { 'detail-type': ['x'] }] }, false],
  ])('judges %j as limited to AWS sources: %s', (pattern, limited) => {
    expect(limitsSourceToAws(pattern)).toBe(limited);
  });

  it("raises nothing for an application's PutEvents look-alike of root's CloudTrail event", () => {
    // Prepare: the same root API call, once as CloudTrail delivers it and once forged by an application
    const forged = readSampleEvent('spoofed-put-events-root-api-call.json');
    const genuine = { ...forged, source: 'aws.iam' };
    // Act
    const ids = (event: unknown) => classify(event, detections).map((match) => match.detection.id);
    // Assess
    expect(forged.source).toBe('com.example.orders');
    expect(forged['detail-type']).toBe('AWS API Call via CloudTrail');
    expect(ids(forged)).toEqual([]);
    expect(ids(genuine)).toEqual(['root-api-call']);
  });
});

/** The README's detections table, by id: the ATT&CK cell of each row. */
const readmeAttackCells = (): Map<string, string> => {
  const readme = readFileSync(join(DEFAULT_DETECTIONS_DIR, '..', 'README.md'), 'utf8').split('\n');
  const header = readme.indexOf('| id | fires on | severity | ATT&CK |');
  expect(header, 'README.md has the detections table with an ATT&CK column').toBeGreaterThan(-1);
  const cells = new Map<string, string>();
  for (const line of readme.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const [, id, , , attack] = line.split('|').map((cell) => cell.trim());
    cells.set(id?.replace(/^`|`$/g, '') ?? '', attack ?? '');
  }
  return cells;
};

/** What the README's ATT&CK cell says for a tag list: each technique id, linked, with its name. */
const attackCellFor = (tags: readonly string[]): string =>
  tags
    .map((tag) => {
      const technique = findAttackTechnique(tag);
      return technique ? `[${technique.id}](${technique.url}) ${technique.name}` : `unknown ${tag}`;
    })
    .join('; ');

describe('the ATT&CK tags of the catalog', () => {
  it.each(detections)('$id has tags, each a known technique', ({ tags }) => {
    expect(tags.length).toBeGreaterThan(0);
    for (const tag of tags) expect(findAttackTechnique(tag), tag).toBeDefined();
  });

  it("are listed in README.md's detections table, exactly and in the files' order", () => {
    // Act
    const cells = readmeAttackCells();
    // Assess
    expect([...cells.keys()].sort()).toEqual(detections.map((d) => d.id).sort());
    for (const detection of detections) {
      expect(cells.get(detection.id), `README row of ${detection.id}`).toBe(attackCellFor(detection.tags));
    }
  });
});

describe('parseDetection', () => {
  const valid = `
id: test-detection
title: Test
severity: high
description: d
runbook: |
  1. one
  2. two
references: [https://example.com/a]
tags: [attack.t1078.004, attack.t1098.001]
falsePositives: [none]
patterns:
  - detail-type: [AWS API Call via CloudTrail]
samples:
  - { name: a, expect: match, fixture: a.json }
  - { name: b, expect: no-match, fixture: b.json }
`;

  it('accepts a valid file', () => {
    expect(parseDetection(valid, 'test-detection.yml').id).toBe('test-detection');
  });

  it('names the file and the id when the id differs from the file name', () => {
    expect(() => parseDetection(valid, 'other.yml')).toThrow(/other\.yml: id: "test-detection" must equal/);
  });

  it('names the file and every bad field at once', () => {
    const bad = valid.replace('severity: high', 'severity: urgent').replace('title: Test\n', '');
    const error = (() => {
      try {
        parseDetection(bad, 'test-detection.yml');
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(DetectionFileError);
    expect(error?.message).toMatch(/^test-detection\.yml: /);
    expect(error?.message).toMatch(/severity/);
    expect(error?.message).toMatch(/title/);
  });

  it('rejects a pattern EventBridge would reject, naming where it is', () => {
    const bad = valid.replace('- detail-type: [AWS API Call via CloudTrail]', '- detail-type: AWS API Call');
    expect(() => parseDetection(bad, 'test-detection.yml')).toThrow(/test-detection\.yml: patterns\[0\]/);
  });

  it('rejects a runbook without 2 to 4 numbered steps', () => {
    const bad = valid.replace('  1. one\n  2. two\n', '  just do it\n');
    expect(() => parseDetection(bad, 'test-detection.yml')).toThrow(/runbook/);
  });

  it('rejects YAML with duplicate keys, naming the file', () => {
    expect(() => parseDetection(`${valid}\ntitle: again\n`, 'test-detection.yml')).toThrow(
      /test-detection\.yml: not valid YAML/,
    );
  });

  /** The message parseDetection throws for `text`, checking it is a DetectionFileError. */
  const rejection = (text: string): string => {
    try {
      parseDetection(text, 'test-detection.yml');
    } catch (error) {
      expect(error).toBeInstanceOf(DetectionFileError);
      return (error as Error).message;
    }
    throw new Error('parseDetection accepted the file');
  };
  const withTags = (tags: string): string =>
    valid.replace('tags: [attack.t1078.004, attack.t1098.001]', `tags: ${tags}`);

  it('keeps the tags in the order the file gives', () => {
    expect(parseDetection(valid, 'test-detection.yml').tags).toStrictEqual(['attack.t1078.004', 'attack.t1098.001']);
  });

  it('rejects a technique missing from the ATT&CK table, naming the file, the index and the tag', () => {
    expect(rejection(withTags('[attack.t1078.004, attack.t9999]'))).toBe(
      'test-detection.yml: tags[1]: unknown ATT&CK technique "attack.t9999"',
    );
  });

  it.each([
    ['upper case', 'attack.T1078.004'],
    ['no "attack." prefix', 't1078.004'],
    ['the ATT&CK id', 'T1078.004'],
    ['a tactic', 'attack.persistence'],
    ['a short sub-technique', 'attack.t1078.4'],
  ])('rejects a tag not in Sigma form (%s)', (_, tag) => {
    expect(rejection(withTags(`[attack.t1531, "${tag}"]`))).toBe(
      `test-detection.yml: tags[1]: "${tag}" is not an ATT&CK technique tag: "attack.tNNNN" or "attack.tNNNN.NNN", lower case`,
    );
  });

  it('rejects a tag listed twice, naming the second', () => {
    expect(rejection(withTags('[attack.t1078.004, attack.t1531, attack.t1078.004]'))).toBe(
      'test-detection.yml: tags[2]: duplicate tag "attack.t1078.004"',
    );
  });

  it('rejects an empty tag list', () => {
    expect(rejection(withTags('[]'))).toMatch(/^test-detection\.yml: tags: needs at least one ATT&CK technique tag/);
  });

  it('rejects a detection without tags', () => {
    expect(rejection(valid.replace('tags: [attack.t1078.004, attack.t1098.001]\n', ''))).toMatch(
      /^test-detection\.yml: tags: /,
    );
  });

  it('names every bad tag at once', () => {
    const message = rejection(withTags('[attack.t9999, Attack.T1531, attack.t9999]'));
    expect(message).toContain('tags[0]: unknown ATT&CK technique "attack.t9999"');
    expect(message).toContain('tags[1]: "Attack.T1531" is not an ATT&CK technique tag');
    expect(message).toContain('tags[2]: duplicate tag "attack.t9999"');
  });

  it('rejects unknown fields, so a typo cannot silently drop a setting', () => {
    expect(() => parseDetection(`${valid}\nreadonlyEvents: true\n`, 'test-detection.yml')).toThrow(/readonlyEvents/);
  });
});

describe('loadDetections', () => {
  it('fails with the folder named when it holds no detections', () => {
    // A folder of records (events/samples holds parameters.yml beside them, which would be read as a detection).
    const empty = join(mkdtempSync(join(tmpdir(), 'rootwatch-')), 'samples');
    mkdirSync(empty);
    expect(() => loadDetections(empty)).toThrow(/samples: no detection files/);
  });
});

describe('the sample records', () => {
  it('each have their own eventID, as the demo and deduplication rely on', () => {
    const ids = readdirSync(SAMPLES_DIR)
      .filter((f) => f.endsWith('.json'))
      .map((f) => readSampleRecord(f).eventID);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
