import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classify } from '../functions/core/classify.js';
import { parseDetection } from '../functions/core/detection.js';
import { recordToEvent } from '../functions/core/event.js';
import { DetectionFileError } from '../functions/errors.js';
import { DEFAULT_DETECTIONS_DIR, loadDetections } from '../functions/io/detections.js';
import { readSample, SAMPLES_DIR } from './helpers/samples.js';

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
    const used = new Set(detections.flatMap((d) => d.samples.map((s) => s.fixture)));
    const present = readdirSync(SAMPLES_DIR).filter((f) => f.endsWith('.json'));
    expect([...used].sort()).toEqual(present.sort());
  });

  const cases = detections.flatMap((detection) =>
    detection.samples.map((sample) => ({ id: detection.id, detection, sample })),
  );

  it.each(cases)('$id: $sample.name ($sample.expect)', ({ detection, sample }) => {
    const event = recordToEvent(readSample(sample.fixture));
    expect(detection.matches(event)).toBe(sample.expect === 'match');
    if (sample.severity) {
      const match = classify(event, [detection])[0];
      expect(match?.severity).toBe(sample.severity);
    }
  });

  it('marks every detection that matches a read-only sample as needing read-only events', () => {
    for (const detection of detections) {
      for (const sample of detection.samples) {
        const record = readSample(sample.fixture);
        if (sample.expect === 'match' && record.readOnly === true) {
          expect(detection.readOnlyEvents, `${detection.id} matches read-only ${sample.fixture}`).toBe(true);
        }
      }
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

  it('rejects unknown fields, so a typo cannot silently drop a setting', () => {
    expect(() => parseDetection(`${valid}\nreadonlyEvents: true\n`, 'test-detection.yml')).toThrow(/readonlyEvents/);
  });
});

describe('loadDetections', () => {
  it('fails with the folder named when it holds no detections', () => {
    expect(() => loadDetections(SAMPLES_DIR)).toThrow(/samples: no detection files/);
  });
});

describe('the sample records', () => {
  it('each have their own eventID, as the demo and deduplication rely on', () => {
    const ids = readdirSync(SAMPLES_DIR)
      .filter((f) => f.endsWith('.json'))
      .map((f) => readSample(f).eventID);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
