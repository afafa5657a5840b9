import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DetectionFileError, toError } from '../errors.js';
import { ATTACK_TAG_PATTERN, findAttackTechnique } from './attack.js';
import { compilePattern } from './event-pattern/compile.js';
import { SEVERITIES } from './severity.js';

const SeveritySchema = z.enum(SEVERITIES);
const PatternSchema = z.record(z.string(), z.unknown());

/** Raises or lowers the default severity when the event also matches `match` (an EventBridge pattern). */
const MatchModifierSchema = z.strictObject({
  severity: SeveritySchema,
  reason: z.string().min(1),
  match: PatternSchema,
});

/** Raises the severity from the `count`-th matching event within `withinMinutes` for one account. */
const ThresholdModifierSchema = z.strictObject({
  severity: SeveritySchema,
  reason: z.string().min(1),
  threshold: z.strictObject({
    count: z.int().min(2),
    withinMinutes: z.int().min(1).max(1440),
    per: z.literal('account'),
  }),
});

const SampleSchema = z.strictObject({
  name: z.string().min(1),
  expect: z.enum(['match', 'no-match']),
  /** The severity the detection must give this sample on its own (no earlier events). */
  severity: SeveritySchema.optional(),
  /** A CloudTrail record in events/samples/. */
  fixture: z.string().regex(/^[a-z0-9][a-z0-9-]*\.json$/, 'a file name in events/samples/, kebab-case, ending .json'),
});

const RUNBOOK_STEP = /^\d+\.\s+\S/m;

/** MITRE ATT&CK technique ids in Sigma's form, each one in core/attack.ts, each once. */
const TagsSchema = z
  .array(
    z.string().regex(ATTACK_TAG_PATTERN, {
      error: (issue) =>
        `${JSON.stringify(issue.input)} is not an ATT&CK technique tag: "attack.tNNNN" or "attack.tNNNN.NNN", lower case`,
    }),
  )
  .min(1, 'needs at least one ATT&CK technique tag, e.g. "attack.t1078.004"')
  .superRefine((tags, ctx) => {
    const seen = new Set<string>();
    for (const [index, tag] of tags.entries()) {
      if (seen.has(tag)) ctx.addIssue({ code: 'custom', path: [index], message: `duplicate tag "${tag}"` });
      else if (ATTACK_TAG_PATTERN.test(tag) && !findAttackTechnique(tag)) {
        ctx.addIssue({ code: 'custom', path: [index], message: `unknown ATT&CK technique "${tag}"` });
      }
      seen.add(tag);
    }
  });

const DetectionSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'kebab-case'),
  title: z.string().min(1).max(80),
  severity: SeveritySchema,
  severityModifiers: z.array(z.union([MatchModifierSchema, ThresholdModifierSchema])).default([]),
  description: z.string().min(1),
  runbook: z.string().refine((text) => {
    const steps = text.split('\n').filter((line) => RUNBOOK_STEP.test(line)).length;
    return steps >= 2 && steps <= 4;
  }, 'must hold 2 to 4 numbered steps ("1. …")'),
  references: z.array(z.url()).min(1),
  tags: TagsSchema,
  falsePositives: z.array(z.string().min(1)).min(1),
  /**
   * EventBridge delivers read-only management events (readOnly: true) only to rules whose state is
   * ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS; a detection that must see them says so here.
   */
  readOnlyEvents: z.boolean().default(false),
  patterns: z.array(PatternSchema).min(1),
  // Each detection proves both sides of its patterns: an event they match, and a near miss they must not.
  samples: z
    .array(SampleSchema)
    .min(2)
    .superRefine((samples, context) => {
      for (const kind of ['match', 'no-match'] as const) {
        if (!samples.some((sample) => sample.expect === kind)) {
          context.addIssue({ code: 'custom', message: `needs at least one sample with expect: ${kind}` });
        }
      }
    }),
});

type DetectionSpec = z.infer<typeof DetectionSchema>;
type SeverityModifier = DetectionSpec['severityModifiers'][number];

/** A detection whose patterns are compiled into predicates, ready for the hot path. */
interface Detection extends DetectionSpec {
  readonly matches: (event: unknown) => boolean;
  /**
   * The event sources every pattern is limited to, when each names them as plain strings: a cheap
   * first test that skips most events without running the patterns. Undefined: any source.
   */
  readonly sources?: ReadonlySet<string>;
  readonly modifiers: readonly CompiledModifier[];
}
type CompiledModifier =
  | { kind: 'match'; severity: DetectionSpec['severity']; reason: string; matches: (event: unknown) => boolean }
  | {
      kind: 'threshold';
      severity: DetectionSpec['severity'];
      reason: string;
      count: number;
      withinMs: number;
    };

const compileModifier = (modifier: SeverityModifier): CompiledModifier =>
  'match' in modifier
    ? { kind: 'match', severity: modifier.severity, reason: modifier.reason, matches: compilePattern(modifier.match) }
    : {
        kind: 'threshold',
        severity: modifier.severity,
        reason: modifier.reason,
        count: modifier.threshold.count,
        withinMs: modifier.threshold.withinMinutes * 60_000,
      };

/** Compiles every pattern, naming the offending one when EventBridge would reject it. */
const compileDetection = (spec: DetectionSpec, file: string): Detection => {
  const compile = (pattern: unknown, where: string) => {
    try {
      return compilePattern(pattern);
    } catch (error) {
      throw new DetectionFileError(file, `${where}: ${toError(error).message}`, { cause: error });
    }
  };
  const predicates = spec.patterns.map((pattern, i) => compile(pattern, `patterns[${i}]`));
  const modifiers = spec.severityModifiers.map((modifier, i) => {
    if ('match' in modifier) compile(modifier.match, `severityModifiers[${i}].match`);
    return compileModifier(modifier);
  });
  const sources = spec.patterns.map((pattern) => pattern.source);
  const exact = sources.every((list) => Array.isArray(list) && list.every((value) => typeof value === 'string'));
  return {
    ...spec,
    matches: (event) => predicates.some((matches) => matches(event)),
    modifiers,
    ...(exact ? { sources: new Set((sources as string[][]).flat()) } : {}),
  };
};

/** A zod issue path as the other messages here spell it: `severityModifiers[0].match`, `tags[1]`. */
const fieldPath = (path: readonly PropertyKey[]): string =>
  path.map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`)).join('');

/**
 * Parses and validates one detection file. `fileName` is its base name (`root-api-call.yml`): the id
 * must equal it. Every mistake names the file and the field.
 */
const parseDetection = (text: string, fileName: string): Detection => {
  let data: unknown;
  try {
    data = parseYaml(text, { uniqueKeys: true });
  } catch (error) {
    throw new DetectionFileError(fileName, `not valid YAML: ${toError(error).message}`, { cause: error });
  }
  const result = DetectionSchema.safeParse(data);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${fieldPath(issue.path) || '(root)'}: ${issue.message}`);
    throw new DetectionFileError(fileName, problems.join('; '), { cause: result.error });
  }
  const expectedId = fileName.replace(/\.ya?ml$/, '');
  if (result.data.id !== expectedId) {
    throw new DetectionFileError(fileName, `id: "${result.data.id}" must equal the file name "${expectedId}"`);
  }
  return compileDetection(result.data, fileName);
};

export type { Detection };
export { parseDetection };
