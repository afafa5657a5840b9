/**
 * docs/detections.md, the detections reference, generated from the catalog (events/*.yml) as the project's loader
 * reads it (functions/io/detections.ts readCatalogDocuments: validated, defaults filled in, placeholders as written).
 * `npm run docs` writes it (test/docs/write-reference.ts); test/docs.test.ts fails while the committed file differs.
 * Pure and deterministic: the same catalog gives the same bytes (no clock, no environment, files in name order).
 */
import { Document, isMap, isScalar, isSeq, visit } from 'yaml';
import { findAttackTechnique } from '../../functions/core/attack.js';
import type { DetectionSpec } from '../../functions/core/detection.js';
import { SEVERITIES, type Severity } from '../../functions/core/severity.js';

/** The reference's path, relative to the repository. */
const REFERENCE_FILE = 'docs/detections.md';

/** A detection file as readCatalogDocuments returns it: its base name and its validated document. */
interface CatalogDocument {
  readonly file: string;
  readonly spec: DetectionSpec;
}

type Pattern = Readonly<Record<string, unknown>>;
type Sample = DetectionSpec['samples'][number];
type Modifier = DetectionSpec['severityModifiers'][number];

const isObject = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

// ── Markdown ─────────────────────────────────────────────────────────────────────────────────────

/** Inline code holding `value` whatever back-ticks it contains (CommonMark: a longer fence, padded). */
const code = (value: string): string => {
  const longest = Math.max(0, ...[...value.matchAll(/`+/g)].map(([run]) => run.length));
  const fence = '`'.repeat(longest + 1);
  return longest > 0 || value.startsWith(' ') ? `${fence} ${value} ${fence}` : `${fence}${value}${fence}`;
};

/**
 * Catalog prose (a description, a runbook step, a reason) as Markdown text: its code spans (`userIdentity.type`) kept,
 * everything else literal: `<stage>` would be an HTML tag to GitHub and vanish, `rootwatch-*` could open emphasis, a
 * `|` would split a table cell.
 */
const prose = (text: string): string =>
  text
    .split(/(`[^`\n]*`)/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/[\\*_<>[\]|]/g, (char) => `\\${char}`)))
    .join('');

/** A fence for `text`: longer than any back-tick run in it. */
const fenced = (language: string, text: string): string => {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map(([run]) => run.length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${language}\n${text.trimEnd()}\n${fence}`;
};

/** 2 → "2nd", 5 → "5th". */
const ordinal = (n: number): string => {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
};

const plural = (count: number, one: string, many = `${one}s`): string => `${count} ${count === 1 ? one : many}`;

// ── Patterns in words ────────────────────────────────────────────────────────────────────────────

/** A field's value in a sentence: a string as code, anything else as JSON. */
const literal = (value: unknown): string => code(typeof value === 'string' ? value : JSON.stringify(value));

/** `{ prefix: { equals-ignore-case: "x" } }`'s inner value in words: "`x`" or "`x` (any case)". */
const caseWords = (value: unknown): string =>
  isObject(value) && 'equals-ignore-case' in value
    ? `${literal(value['equals-ignore-case'])} (any case)`
    : literal(value);

const NUMERIC_WORDS: Readonly<Record<string, string>> = { '=': '=', '<': '<', '<=': '≤', '>': '>', '>=': '≥' };

/** `[">", 0, "<=", 5]` → "a number > 0 and ≤ 5". */
const numericWords = (terms: unknown): string => {
  const list = Array.isArray(terms) ? terms : [];
  const parts: string[] = [];
  for (let i = 0; i + 1 < list.length; i += 2)
    parts.push(`${NUMERIC_WORDS[String(list[i])] ?? String(list[i])} ${list[i + 1]}`);
  return `is a number ${parts.join(' and ')}`;
};

/** What an anything-but operator's operand excludes, in words. */
const anythingButWords = (operand: unknown): string => {
  if (Array.isArray(operand)) return `is none of ${operand.map(literal).join(', ')}`;
  if (isObject(operand)) {
    if ('prefix' in operand) return `does not begin with ${caseWords(operand.prefix)}`;
    if ('suffix' in operand) return `does not end with ${caseWords(operand.suffix)}`;
    if ('wildcard' in operand) return `does not match ${literal(operand.wildcard)}`;
    if ('equals-ignore-case' in operand) {
      const values = [operand['equals-ignore-case']].flat();
      return `is not ${values.map(literal).join(' or ')} (any case)`;
    }
  }
  return `is anything but ${literal(operand)}`;
};

/** One operator item of a field's value list in words ("begins with `aws.`"). */
const operatorWords = (item: Readonly<Record<string, unknown>>): string => {
  const [name, operand] = Object.entries(item)[0] ?? ['', undefined];
  switch (name) {
    case 'prefix':
      return `begins with ${caseWords(operand)}`;
    case 'suffix':
      return `ends with ${caseWords(operand)}`;
    case 'equals-ignore-case':
      return `is ${literal(operand)} (any case)`;
    case 'wildcard':
      return `matches ${literal(operand)}`;
    case 'exists':
      return operand === false ? 'is absent' : 'is present';
    case 'anything-but':
      return anythingButWords(operand);
    case 'numeric':
      return numericWords(operand);
    case 'cidr':
      return `is an IP address in ${literal(operand)}`;
    case 'param':
      return `is one of the deployment's ${code(String(operand))} (a parameter)`;
    default:
      return `matches ${literal(item)}`;
  }
};

/** The operators whose plain-string operands read well as a list: "begins with `a`, `b` or `c`". */
const LISTED_OPERATORS: Readonly<Record<string, string>> = {
  prefix: 'begins with',
  suffix: 'ends with',
  wildcard: 'matches',
};

/** `a`, `b` or `c`. */
const orList = (values: readonly string[]): string =>
  values.length <= 1 ? (values[0] ?? '') : `${values.slice(0, -1).join(', ')} or ${values.at(-1)}`;

/**
 * A field's value list in words, any item of which may hold: the exact values together, then the operators, those of
 * one kind with plain operands together ("begins with `a` or `b`").
 */
const valuesWords = (values: readonly unknown[]): string => {
  const exact = values.filter((value) => !isObject(value)).map(literal);
  const phrases = exact.length === 0 ? [] : [exact.length === 1 ? `is ${exact[0]}` : `is one of ${exact.join(', ')}`];
  const listed = new Map<string, string[]>();
  for (const item of values.filter(isObject)) {
    const [name, operand] = Object.entries(item)[0] ?? ['', undefined];
    const words = LISTED_OPERATORS[name];
    if (words === undefined || typeof operand !== 'string' || Object.keys(item).length !== 1) {
      phrases.push(operatorWords(item));
      continue;
    }
    if (!listed.has(words)) phrases.push(words);
    listed.set(words, [...(listed.get(words) ?? []), literal(operand)]);
  }
  return phrases
    .map((phrase) => (listed.has(phrase) ? `${phrase} ${orList(listed.get(phrase) ?? [])}` : phrase))
    .join(', or ');
};

/** The fields EventBridge adds around a CloudTrail record: named as the event's, not the record's. */
const fieldName = (path: readonly string[]): string =>
  path[0] === 'detail' ? code(path.slice(1).join('.')) : `the event's ${code(path.join('.'))}`;

/**
 * A pattern's conditions as Markdown list items, all of which must hold, each item its lines indented by `depth`:
 * field by field, an `$or` as "any of" with its branches below it (a branch of several conditions as "all of").
 * Record fields (under `detail`) are named by their CloudTrail path.
 */
const conditionItems = (pattern: Pattern, path: readonly string[], depth: number): string[][] => {
  const indent = '  '.repeat(depth);
  return Object.entries(pattern).flatMap(([key, value]): string[][] => {
    if (key === '$or' && Array.isArray(value)) {
      const branches = value.flatMap((branch) => {
        const items = isObject(branch) ? conditionItems(branch, path, depth + 2) : [];
        if (items.length === 1) return (items[0] ?? []).map((line) => line.slice(2));
        return [`${indent}  - all of:`, ...items.flat()];
      });
      return [[`${indent}- any of:`, ...branches]];
    }
    if (Array.isArray(value)) return [[`${indent}- ${fieldName([...path, key])} ${valuesWords(value)}`]];
    if (isObject(value)) return conditionItems(value, [...path, key], depth);
    return [[`${indent}- ${fieldName([...path, key])} is ${literal(value)}`]];
  });
};

/** A pattern's conditions as Markdown list lines, indented by `depth` (see conditionItems). */
const conditionLines = (pattern: Pattern, path: readonly string[], depth: number): string[] =>
  conditionItems(pattern, path, depth).flat();

// ── Sections ─────────────────────────────────────────────────────────────────────────────────────

const bold = (severity: Severity): string => `**${severity}**`;

/** A link to a detection's section, by its id. */
const detectionLink = (id: string): string => `[${code(id)}](#${id})`;

/** One severity modifier in words: the severity, when it applies, and the reason the alert gives. */
const modifierLines = (modifier: Modifier, index: number): string[] => {
  const head = `${index + 1}. ${bold(modifier.severity)}, "${prose(modifier.reason)}"`;
  if ('match' in modifier) return [`${head}: when the event also matches`, ...conditionLines(modifier.match, [], 2)];
  if ('threshold' in modifier) {
    const { count, withinMinutes } = modifier.threshold;
    return [
      `${head}: from the ${ordinal(count)} event of this detection within ${plural(withinMinutes, 'minute')} for one account`,
    ];
  }
  const { detection, count, withinMinutes } = modifier.follows;
  return [
    `${head}: when at least ${plural(count, 'event')} of ${detectionLink(detection)} for the same account came in the ` +
      `${plural(withinMinutes, 'minute')} before (in event time, from any source address; \`{count}\` in the reason ` +
      'becomes how many)',
  ];
};

const severitySection = (spec: DetectionSpec): string[] => [
  spec.severityModifiers.length === 0
    ? `**Severity.** ${bold(spec.severity)}, always (except inside a centralized root session: see the top of this page).`
    : `**Severity.** ${bold(spec.severity)} by default. Modifiers, tried in order; the first that applies sets the severity:`,
  ...(spec.severityModifiers.length === 0 ? [] : ['', ...spec.severityModifiers.flatMap(modifierLines)]),
];

const attackSection = (spec: DetectionSpec): string[] => [
  '**ATT&CK.**',
  '',
  ...spec.tags.map((tag) => {
    const technique = findAttackTechnique(tag);
    return technique
      ? `- [${technique.id}](${technique.url}) ${prose(technique.name)} (${code(tag)})`
      : `- ${code(tag)}`;
  }),
];

const firesSection = (spec: DetectionSpec): string[] => {
  const count = spec.patterns.length;
  const readOnly = spec.readOnlyEvents
    ? 'Read-only management events included: its rules have the state `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`.'
    : 'Read-only management events are not delivered to its rules (state `ENABLED`).';
  const patterns = spec.patterns.flatMap((pattern, i) => [
    ...(count === 1 ? [] : ['', `Pattern ${i + 1} of ${count}:`]),
    '',
    ...conditionLines(pattern, [], 0),
  ]);
  return [
    `**What fires it.** An event matching ${count === 1 ? 'its pattern (one EventBridge rule)' : `any of its ${count} patterns (one EventBridge rule each)`}; all the conditions listed must hold. ${readOnly}`,
    ...patterns,
    '',
    `<details><summary>The ${count === 1 ? 'pattern' : `${count} patterns`} as YAML</summary>`,
    '',
    fenced('yaml', patternsYaml(spec.patterns)),
    '',
    '</details>',
  ];
};

/**
 * Patterns as YAML in the catalog's own style: a list of values and operators on one line
 * (`type: [Root]`, `name: [{ prefix: rootwatch- }]`).
 */
const patternsYaml = (patterns: readonly Pattern[]): string => {
  const document = new Document(patterns, { aliasDuplicateObjects: false });
  visit(document, {
    Seq: (_, node) => {
      const flat = (item: unknown) =>
        isScalar(item) || (isMap(item) && item.items.every((pair) => isScalar(pair.value)));
      if (isSeq(node) && node.items.every(flat)) node.flow = true;
    },
  });
  return document.toString({ lineWidth: 0, flowCollectionPadding: false });
};

/** How a sample's records arrive: once, repeated, or after records of another detection. */
const arrivalWords = (sample: Sample): string => {
  const parts: string[] = [];
  if (sample.repeat) {
    parts.push(`arrives ${sample.repeat.count} times, ${plural(sample.repeat.everyMinutes, 'minute')} apart`);
  }
  if (sample.after) {
    const { fixture, count, everyMinutes, minutesBefore } = sample.after;
    const before = `${plural(minutesBefore, 'minute')} before`;
    parts.push(
      count === 1
        ? `after ${code(fixture)}, ${before}`
        : `after ${code(fixture)} ${count} times, ${plural(everyMinutes ?? 0, 'minute')} apart, the last ${before}`,
    );
  }
  return parts.length === 0 ? '' : ` (${parts.join('; ')})`;
};

const samplesSection = (spec: DetectionSpec): string[] => {
  const matching = spec.samples.filter((sample) => sample.expect === 'match').length;
  const rows = spec.samples.map(
    (sample) =>
      `| ${sample.expect} | ${sample.severity ?? ''} | ${prose(sample.name)}${arrivalWords(sample)} | ` +
      `[${sample.fixture}](../events/samples/${sample.fixture}) |`,
  );
  return [
    `<details><summary>Samples: ${matching} that must match, ${spec.samples.length - matching} that must not</summary>`,
    '',
    '| expect | severity | sample | record |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    '</details>',
  ];
};

const detectionSection = ({ file, spec }: CatalogDocument): string[] => [
  `## ${spec.id}`,
  '',
  `**${prose(spec.title)}** · default severity ${bold(spec.severity)} · [events/${file}](../events/${file})`,
  '',
  prose(spec.description.trim()),
  '',
  ...severitySection(spec),
  '',
  ...attackSection(spec),
  '',
  ...firesSection(spec),
  '',
  '**False positives.**',
  '',
  ...spec.falsePositives.map((text) => `- ${prose(text.replace(/\s*\n\s*/g, ' ').trim())}`),
  '',
  '**Runbook.**',
  '',
  ...spec.runbook
    .trim()
    .split('\n')
    .map((line) => prose(line.trim())),
  '',
  '**References.**',
  '',
  ...spec.references.map((url) => `- <${url}>`),
  '',
  ...samplesSection(spec),
];

/** The severities a detection can give: its default and its modifiers', most severe first. */
const severitiesOf = (spec: DetectionSpec): Severity[] =>
  SEVERITIES.filter(
    (severity) =>
      severity === spec.severity || spec.severityModifiers.some((modifier) => modifier.severity === severity),
  ).reverse();

/** Detections grouped by default severity, most severe first; each with the other severities it can give. */
const contents = (documents: readonly CatalogDocument[]): string[] =>
  [...SEVERITIES].reverse().flatMap((severity) => {
    const listed = documents.filter(({ spec }) => spec.severity === severity);
    if (listed.length === 0) return [];
    return [
      `**${severity[0]?.toUpperCase()}${severity.slice(1)} by default**`,
      '',
      ...listed.map(({ spec }) => {
        const others = severitiesOf(spec).filter((other) => other !== severity);
        return `- ${detectionLink(spec.id)} ${prose(spec.title)}${others.length > 0 ? ` (can be ${others.join(', ')})` : ''}`;
      }),
      '',
    ];
  });

/**
 * The detections reference as Markdown: how to read it, a table of contents by default severity, then per detection
 * (in file-name order) its title, description, severity and modifiers in words, ATT&CK techniques linked to
 * attack.mitre.org, what fires it (each pattern in words, and as YAML), false positives, runbook, references and
 * samples.
 *
 * @example
 * import { readCatalogDocuments } from '../../functions/io/detections.js';
 *
 * const markdown = renderDetectionsReference(readCatalogDocuments('events').documents);
 * markdown.startsWith('# Detections reference'); // true
 */
const renderDetectionsReference = (documents: readonly CatalogDocument[]): string =>
  [
    '# Detections reference',
    '',
    '<!-- Generated from events/*.yml by `npm run docs` (test/docs/write-reference.ts). Do not edit: a test fails while it is stale. -->',
    '',
    `The ${plural(documents.length, 'detection')} of rootwatch's catalog, one YAML file each in [events/](../events/). ` +
      'The files are the source of truth; this page says the same in words. How detections are written and tested: ' +
      'the README, [The detections](../README.md#the-detections).',
    '',
    'Read the conditions as EventBridge applies them: every listed condition must hold; a field with several values ' +
      'or operators matches when any of them does; "any of" needs one of its branches; in a wildcard, `*` stands for any text. Field names are the CloudTrail ' +
      "record's (the EventBridge event's `detail`); `source` and `detail-type` are the EventBridge event's. A value " +
      'marked as a parameter is filled in from the deployment (README, [Adding or changing a detection]' +
      '(../README.md#adding-or-changing-a-detection)); without a value, its condition matches nothing.',
    '',
    'Rules that hold for the whole catalog: every pattern requires a `source` beginning with `aws.` (an ' +
      "application's PutEvents look-alike matches nothing) and no detection matches an AWS service event; a call " +
      'made inside a centralized root session (`sts:AssumeRoot`) is **medium** for every detection it matches ' +
      '(functions/core/classify.ts). An event matching several detections gives one alert listing them all, ' +
      'at the highest severity.',
    '',
    ...contents(documents),
    ...documents.flatMap((document) => ['', ...detectionSection(document)]),
    '',
  ].join('\n');

export type { CatalogDocument };
export { REFERENCE_FILE, renderDetectionsReference };
