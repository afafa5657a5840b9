import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findAttackTechnique } from '../functions/core/attack.js';
import { DEFAULT_DETECTIONS_DIR, readCatalogDocuments } from '../functions/io/detections.js';
import { type CatalogDocument, REFERENCE_FILE, renderDetectionsReference } from './docs/detections-reference.js';
import { REPO_ROOT } from './helpers/corpus.js';

const { documents } = readCatalogDocuments(DEFAULT_DETECTIONS_DIR);
const reference = renderDetectionsReference(documents);

/** The part of the reference about one detection: from its heading to the next. */
const sectionOf = (markdown: string, id: string): string => {
  const start = markdown.indexOf(`\n## ${id}\n`);
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end === -1 ? undefined : end);
};

/** root-api-call's document with `changes` over its spec. */
const documentWith = (changes: Partial<CatalogDocument['spec']>): CatalogDocument => {
  const base = documents.find(({ spec }) => spec.id === 'root-api-call');
  if (base === undefined) throw new Error('events/root-api-call.yml is missing');
  return { file: base.file, spec: { ...structuredClone(base.spec), ...changes } };
};

describe('docs/detections.md', () => {
  it('is the reference the catalog generates (after changing events/, run npm run docs)', () => {
    // Act
    const committed = readFileSync(join(REPO_ROOT, REFERENCE_FILE), 'utf8');
    // Assess: a plain comparison first, so that a stale file fails with the instruction, not a 4,000-line diff.
    expect(committed === reference, `${REFERENCE_FILE} is stale: run npm run docs`).toBe(true);
  });

  it('gives every detection a section and lists it in the contents under its default severity', () => {
    for (const { spec } of documents) {
      const contents = reference.slice(0, reference.indexOf('\n## '));
      const group = contents.slice(contents.indexOf(`**${spec.severity[0]?.toUpperCase()}${spec.severity.slice(1)}`));
      expect(group.split('\n\n')[1]).toContain(`[\`${spec.id}\`](#${spec.id})`);
      expect(sectionOf(reference, spec.id)).toContain(`default severity **${spec.severity}**`);
    }
  });

  it('links each ATT&CK tag to its technique page on attack.mitre.org', () => {
    for (const { spec } of documents) {
      for (const tag of spec.tags) {
        const technique = findAttackTechnique(tag);
        expect(technique?.url).toMatch(/^https:\/\/attack\.mitre\.org\/techniques\/T\d{4}(\/\d{3})?\/$/);
        expect(sectionOf(reference, spec.id)).toContain(`[${technique?.id}](${technique?.url}) ${technique?.name}`);
      }
    }
  });

  it('names each sample and links its record', () => {
    const section = sectionOf(reference, 'root-console-sign-in-failure');
    expect(section).toContain(
      '| match | high | five failed root sign-ins three minutes apart, the 5th within 12 minutes (arrives 5 times, 3 minutes apart) | [root-console-sign-in-failure.json](../events/samples/root-console-sign-in-failure.json) |',
    );
    expect(section).toContain(
      '2. **high**, "5th failed root sign-in within 15 minutes for this account": from the 5th event of this detection within 15 minutes for one account',
    );
  });

  it('says each operator in words', () => {
    // Prepare
    const document = documentWith({
      severityModifiers: [],
      patterns: [
        {
          source: [{ prefix: 'aws.' }],
          detail: {
            eventName: ['A', 'B', { suffix: 'Key' }, { suffix: 'Keys' }],
            sourceIPAddress: [{ cidr: '192.0.2.0/24' }],
            errorCode: [{ exists: false }],
            userAgent: [{ 'anything-but': { prefix: 'aws-internal' } }, { 'equals-ignore-case': 'console' }],
            requestParameters: { size: [{ numeric: ['>', 0, '<=', 5] }], name: [{ wildcard: 'rootwatch-*' }] },
            $or: [{ userIdentity: { type: ['Root'] } }, { 'x-a': ['1'], 'x-b': [{ param: 'trailBuckets' }] }],
          },
        },
      ],
    });
    // Act
    const section = sectionOf(renderDetectionsReference([document]), 'root-api-call');
    // Assess
    expect(section).toContain(
      [
        "- the event's `source` begins with `aws.`",
        '- `eventName` is one of `A`, `B`, or ends with `Key` or `Keys`',
        '- `sourceIPAddress` is an IP address in `192.0.2.0/24`',
        '- `errorCode` is absent',
        '- `userAgent` does not begin with `aws-internal`, or is `console` (any case)',
        '- `requestParameters.size` is a number > 0 and ≤ 5',
        '- `requestParameters.name` matches `rootwatch-*`',
        '- any of:',
        '  - `userIdentity.type` is `Root`',
        '  - all of:',
        '    - `x-a` is `1`',
        "    - `x-b` is one of the deployment's `trailBuckets` (a parameter)",
      ].join('\n'),
    );
  });

  it('keeps catalog text literal: no HTML, emphasis or table cell breaks from it', () => {
    // Prepare
    const document = documentWith({
      title: '<img src=x onerror=alert(1)> *x* | y',
      falsePositives: ['rootwatch-<stage>-* rules, `code <kept>`'],
    });
    // Act
    const section = sectionOf(renderDetectionsReference([document]), 'root-api-call');
    // Assess
    expect(section).toContain('**\\<img src=x onerror=alert(1)\\> \\*x\\* \\| y**');
    expect(section).toContain('- rootwatch-\\<stage\\>-\\* rules, `code <kept>`');
    expect(section).not.toMatch(/(?<!\\)<img/);
  });

  it('is the same text however often it is generated', () => {
    expect(renderDetectionsReference(readCatalogDocuments(DEFAULT_DETECTIONS_DIR).documents)).toBe(reference);
  });
});
