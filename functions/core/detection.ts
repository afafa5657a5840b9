import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DetectionFileError, toError } from '../errors.js';
import { ATTACK_TAG_PATTERN, findAttackTechnique } from './attack.js';
import { compilePattern } from './event-pattern/compile.js';
import { isPlainObject } from './event-pattern/json.js';
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
  /** The severity the detection must give this sample: on its own, or with `repeat`, at its last arrival. */
  severity: SeveritySchema.optional(),
  /** A CloudTrail record in events/samples/. */
  fixture: z.string().regex(/^[a-z0-9][a-z0-9-]*\.json$/, 'a file name in events/samples/, kebab-case, ending .json'),
  /**
   * The record arrives `count` times, `everyMinutes` apart (each arrival with its own eventID and its eventTime
   * shifted), through the alert pipeline and its state: `expect` and `severity` are what the last arrival gets.
   * How a threshold modifier's count and window are proven.
   */
  repeat: z
    .strictObject({
      count: z.int().min(2).max(100),
      everyMinutes: z.number().positive().max(1440),
    })
    .optional(),
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

// ------------------------------------------------------------------------------------------------
// Placeholders: deploy parameters named in a detection file
// ------------------------------------------------------------------------------------------------

/**
 * The deploy parameters a detection file may name. In a pattern, the item `{ param: NAME }` of a field's value list
 * stands for the parameter's values, each an exact value (resolvePlaceholders). The loader takes the values from
 * the deployment (serverless.yml's params, the alert function's environment, `rootwatch replay --config`), so the
 * patterns the rest of the code sees are plain EventBridge patterns:
 * - `trailBuckets`, `trailLogGroups`: names of the trails' S3 buckets and CloudWatch Logs groups;
 * - `trailKeyArns`, `trailKeyIds`: the trails' KMS keys by key ARN, and the same keys by key id;
 * - `alerterKeyArn`, `alerterKeyId`: rootwatch's own KMS key (AlertTopicKey), by key ARN and by key id;
 * - `slackWebhookParameter`: the SSM parameter holding the Slack webhook URL.
 */
const DETECTION_PARAMETERS = [
  'trailBuckets',
  'trailKeyArns',
  'trailKeyIds',
  'trailLogGroups',
  'alerterKeyArn',
  'alerterKeyId',
  'slackWebhookParameter',
] as const;
type DetectionParameterName = (typeof DETECTION_PARAMETERS)[number];

/** The values of each placeholder, by parameter name. A parameter without values makes its list match nothing. */
type DetectionParameters = Readonly<Partial<Record<DetectionParameterName, readonly string[]>>>;

const PLACEHOLDER = 'param';

/** `{ param: trailBuckets }`: an object whose only key is `param`. */
const isPlaceholder = (value: unknown): value is Readonly<Record<typeof PLACEHOLDER, unknown>> =>
  isPlainObject(value) && Object.keys(value).length === 1 && PLACEHOLDER in value;

const isParameterName = (name: unknown): name is DetectionParameterName =>
  typeof name === 'string' && (DETECTION_PARAMETERS as readonly string[]).includes(name);

/**
 * What a list holding only placeholders without values becomes: EventBridge rejects an empty list, and dropping the
 * field would widen the pattern, so the list keeps one value that no watched identifier can be (`<` and `>` are in
 * no S3 bucket, KMS key, log group or SSM parameter name): the clause matches nothing, and says why in the rule.
 */
const noValue = (names: readonly string[]): string => `<no value: ${names.join(', ')}>`;

/** Whether a placeholder sits anywhere inside `value` (which must then be an operator, where none may be). */
const holdsPlaceholder = (value: unknown): boolean =>
  isPlaceholder(value) ||
  (Array.isArray(value)
    ? value.some(holdsPlaceholder)
    : isPlainObject(value) && Object.values(value).some(holdsPlaceholder));

/**
 * A pattern with every placeholder replaced by its parameter's values, and the problems found (an unknown name, a
 * placeholder that is not an item of a field's value list). `at` names the pattern (`patterns[2]`) in messages.
 * Pure: it builds new objects and never changes `pattern`.
 */
const resolvePlaceholders = (
  pattern: Readonly<Record<string, unknown>>,
  parameters: DetectionParameters,
  at: string,
  problems: string[],
): Record<string, unknown> => {
  const list = (values: readonly unknown[], where: string): unknown[] => {
    const named: string[] = [];
    const resolved = values.flatMap((item, index) => {
      const itemAt = `${where}[${index}]`;
      if (!isPlaceholder(item)) {
        if (holdsPlaceholder(item)) {
          problems.push(`${itemAt}: a placeholder goes directly in a field's list, not inside an operator`);
        }
        return [item];
      }
      if (!isParameterName(item.param)) {
        problems.push(
          `${itemAt}: unknown parameter ${JSON.stringify(item.param)} (known: ${DETECTION_PARAMETERS.join(', ')})`,
        );
        return [];
      }
      named.push(item.param);
      return [...(parameters[item.param] ?? [])];
    });
    return resolved.length === 0 && named.length > 0 ? [noValue(named)] : resolved;
  };
  const object = (value: Readonly<Record<string, unknown>>, where: string): Record<string, unknown> =>
    Object.fromEntries(
      Object.entries(value).map(([key, child]) => {
        const childAt = `${where}.${key}`;
        if (key === '$or' && Array.isArray(child)) {
          return [key, child.map((branch, i) => (isPlainObject(branch) ? object(branch, `${childAt}[${i}]`) : branch))];
        }
        if (Array.isArray(child)) return [key, list(child, childAt)];
        if (isPlaceholder(child)) {
          problems.push(`${childAt}: a placeholder stands for a list of values: write it as [{ param: … }]`);
          return [key, child];
        }
        return [key, isPlainObject(child) ? object(child, childAt) : child];
      }),
    );
  return object(pattern, at);
};

/**
 * The detection with its placeholders resolved, in its patterns and its modifiers' matches.
 *
 * @throws DetectionFileError listing every unknown or misplaced placeholder, with where it is.
 */
const resolveDetection = (spec: DetectionSpec, parameters: DetectionParameters, file: string): DetectionSpec => {
  const problems: string[] = [];
  const patterns = spec.patterns.map((pattern, i) =>
    resolvePlaceholders(pattern, parameters, `patterns[${i}]`, problems),
  );
  const severityModifiers = spec.severityModifiers.map((modifier, i) =>
    'match' in modifier
      ? {
          ...modifier,
          match: resolvePlaceholders(modifier.match, parameters, `severityModifiers[${i}].match`, problems),
        }
      : modifier,
  );
  if (problems.length > 0) throw new DetectionFileError(file, problems.join('; '));
  return { ...spec, patterns, severityModifiers };
};

/** A zod issue path as the other messages here spell it: `severityModifiers[0].match`, `tags[1]`. */
const fieldPath = (path: readonly PropertyKey[]): string =>
  path.map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`)).join('');

/**
 * Parses and validates one detection file, resolving its placeholders (`{ param: trailBuckets }`) with
 * `parameters` (none given: every placeholder is without value, so its clause matches nothing). `fileName` is its
 * base name (`root-api-call.yml`): the id must equal it.
 *
 * @throws DetectionFileError naming the file and the field: invalid YAML, a field the schema rejects, an id other
 *   than the file name, an unknown or misplaced placeholder, a pattern EventBridge would reject.
 * @example
 * import { readFileSync } from 'node:fs';
 * const text = readFileSync('events/audit-trail-tampering.yml', 'utf8');
 * const detection = parseDetection(text, 'audit-trail-tampering.yml', { trailBuckets: ['my-trail-bucket'] });
 */
const parseDetection = (text: string, fileName: string, parameters: DetectionParameters = {}): Detection => {
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
  return compileDetection(resolveDetection(result.data, parameters, fileName), fileName);
};

export type { Detection, DetectionParameters };
export { DETECTION_PARAMETERS, parseDetection };
