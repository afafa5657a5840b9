import { createRequire } from 'node:module';
import { DetectionFileError, toError } from '../errors.js';
import { ATTACK_TAG_PATTERN, findAttackTechnique } from './attack.js';
import { compilePattern } from './event-pattern/compile.js';
import { isPlainObject } from './event-pattern/json.js';
import { SEVERITIES } from './severity.js';
import * as z from './zod.js';

const SeveritySchema = z.enum(SEVERITIES);
const PatternSchema = z.record(z.string(), z.unknown());

/** `{count}` and the like: a placeholder in a modifier's reason. */
const REASON_PLACEHOLDER = /\{([A-Za-z]+)\}/g;

/**
 * A modifier's reason: a line for people, with no placeholder but those in `allowed` (a follows modifier's
 * `{count}`); any other `{name}` would reach the alert as written.
 */
const reasonAllowing = (allowed: readonly string[]) =>
  z.string().check(
    z.minLength(1),
    z.superRefine((reason, ctx) => {
      for (const [token, name] of reason.matchAll(REASON_PLACEHOLDER)) {
        if (!allowed.includes(name ?? '')) {
          ctx.addIssue({
            code: 'custom',
            message:
              allowed.length === 0
                ? `${token}: only a follows modifier's reason takes a placeholder ({count})`
                : `${token}: unknown placeholder (known: ${allowed.map((a) => `{${a}}`).join(', ')})`,
          });
        }
      }
    }),
  );

/** Raises or lowers the default severity when the event also matches `match` (an EventBridge pattern). */
const MatchModifierSchema = z.strictObject({
  severity: SeveritySchema,
  reason: reasonAllowing([]),
  match: PatternSchema,
});

/** Raises the severity from the `count`-th matching event within `withinMinutes` for one account. */
const ThresholdModifierSchema = z.strictObject({
  severity: SeveritySchema,
  reason: reasonAllowing([]),
  threshold: z.strictObject({
    count: z.int().check(z.gte(2)),
    withinMinutes: z.int().check(z.gte(1), z.lte(1440)),
    per: z.literal('account'),
  }),
});

const DETECTION_ID = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/**
 * Raises or lowers the severity when, for the event's account, at least `count` events of another detection
 * (`detection`, its id) fell within the `withinMinutes` before this event, in event time, whatever their source
 * address: a root sign-in that follows failed ones. The other detection's events are read, never recorded, by
 * this one (AlertState.countWindow); the pipeline records them when they arrive. `{count}` in the reason becomes
 * how many there were. The window is at most a day, which is how long the state keeps a recorded event past
 * any window (io/memory-state.ts, io/dynamo-state.ts).
 */
const FollowsModifierSchema = z.strictObject({
  severity: SeveritySchema,
  reason: reasonAllowing(['count']),
  follows: z.strictObject({
    detection: z.string().check(z.regex(DETECTION_ID, 'a detection id (kebab-case)')),
    count: z.int().check(z.gte(1), z.lte(100)),
    withinMinutes: z.int().check(z.gte(1), z.lte(1440)),
    per: z.literal('account'),
  }),
});

/** A CloudTrail record in events/samples/, by file name. */
const FixtureSchema = z
  .string()
  .check(z.regex(/^[a-z0-9][a-z0-9-]*\.json$/, 'a file name in events/samples/, kebab-case, ending .json'));

const SampleSchema = z.strictObject({
  name: z.string().check(z.minLength(1)),
  expect: z.enum(['match', 'no-match']),
  /** The severity the detection must give this sample: on its own, or with `repeat`, at its last arrival. */
  severity: z.optional(SeveritySchema),
  /** A CloudTrail record in events/samples/. */
  fixture: FixtureSchema,
  /**
   * The record arrives `count` times, `everyMinutes` apart (each arrival with its own eventID and its eventTime
   * shifted), through the alert pipeline and its state: `expect` and `severity` are what the last arrival gets.
   * How a threshold modifier's count and window are proven.
   */
  repeat: z.optional(
    z.strictObject({
      count: z.int().check(z.gte(2), z.lte(100)),
      everyMinutes: z.number().check(z.positive(), z.lte(1440)),
    }),
  ),
  /**
   * Records that arrive before the sample, through the same pipeline and state: `fixture` `count` times (default
   * 1), `everyMinutes` apart, the last of them `minutesBefore` minutes before the sample's own eventTime (each
   * arrival with its eventID and eventTime of its own). How a follows modifier's detection, count and window are
   * proven: the sample is judged after them.
   */
  after: z.optional(
    z
      .strictObject({
        fixture: FixtureSchema,
        count: z._default(z.int().check(z.gte(1), z.lte(100)), 1),
        everyMinutes: z.optional(z.number().check(z.positive(), z.lte(1440))),
        minutesBefore: z.number().check(z.gte(0), z.lte(1440)),
      })
      .check(
        z.refine((after) => after.count === 1 || after.everyMinutes !== undefined, {
          message: 'everyMinutes: needed when count is above 1',
        }),
      ),
  ),
});

const RUNBOOK_STEP = /^\d+\.\s+\S/m;

/** MITRE ATT&CK technique ids in Sigma's form, each one in core/attack.ts, each once. */
const TagsSchema = z
  .array(
    z.string().check(
      z.regex(ATTACK_TAG_PATTERN, {
        error: (issue) =>
          `${JSON.stringify(issue.input)} is not an ATT&CK technique tag: "attack.tNNNN" or "attack.tNNNN.NNN", lower case`,
      }),
    ),
  )
  .check(
    z.minLength(1, 'needs at least one ATT&CK technique tag, e.g. "attack.t1078.004"'),
    z.superRefine((tags, ctx) => {
      const seen = new Set<string>();
      for (const [index, tag] of tags.entries()) {
        if (seen.has(tag)) ctx.addIssue({ code: 'custom', path: [index], message: `duplicate tag "${tag}"` });
        else if (ATTACK_TAG_PATTERN.test(tag) && !findAttackTechnique(tag)) {
          ctx.addIssue({ code: 'custom', path: [index], message: `unknown ATT&CK technique "${tag}"` });
        }
        seen.add(tag);
      }
    }),
  );

const DetectionSchema = z.strictObject({
  id: z.string().check(z.regex(DETECTION_ID, 'kebab-case')),
  title: z.string().check(z.minLength(1), z.maxLength(80)),
  severity: SeveritySchema,
  // The first modifier that applies sets the severity: list the one that must win first.
  severityModifiers: z._default(
    z.array(
      z.union([MatchModifierSchema, ThresholdModifierSchema, FollowsModifierSchema], {
        error: 'a severity modifier has one of match, threshold or follows, with severity and reason',
      }),
    ),
    [],
  ),
  description: z.string().check(z.minLength(1)),
  runbook: z.string().check(
    z.refine((text) => {
      const steps = text.split('\n').filter((line) => RUNBOOK_STEP.test(line)).length;
      return steps >= 2 && steps <= 4;
    }, 'must hold 2 to 4 numbered steps ("1. …")'),
  ),
  references: z.array(z.url()).check(z.minLength(1)),
  tags: TagsSchema,
  falsePositives: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
  /**
   * EventBridge delivers read-only management events (readOnly: true) only to rules whose state is
   * ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS; a detection that must see them says so here.
   */
  readOnlyEvents: z._default(z.boolean(), false),
  patterns: z.array(PatternSchema).check(z.minLength(1)),
  // Each detection proves both sides of its patterns: an event they match, and a near miss they must not.
  samples: z.array(SampleSchema).check(
    z.minLength(2),
    z.superRefine((samples, context) => {
      for (const kind of ['match', 'no-match'] as const) {
        if (!samples.some((sample) => sample.expect === kind)) {
          context.addIssue({ code: 'custom', message: `needs at least one sample with expect: ${kind}` });
        }
      }
    }),
  ),
});

/** A detection file's document as the schema accepts it (defaults filled in), placeholders not yet resolved. */
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
/** A severity modifier ready for the hot path; `kind` says which of the file's forms it came from. */
type CompiledModifier =
  | { kind: 'match'; severity: DetectionSpec['severity']; reason: string; matches: (event: unknown) => boolean }
  | {
      kind: 'threshold';
      severity: DetectionSpec['severity'];
      reason: string;
      count: number;
      withinMs: number;
    }
  | {
      kind: 'follows';
      severity: DetectionSpec['severity'];
      /** May hold `{count}`: classify fills it with how many events of `detection` there were. */
      reason: string;
      /** The id of the detection whose recent events this one follows. */
      detection: string;
      count: number;
      withinMs: number;
    };

/**
 * One modifier as the file gives it, compiled: a match modifier's pattern by `compile` (compilePattern; a test
 * may pass a cached or looser compiler), a window in minutes as milliseconds.
 *
 * @throws InvalidPatternError from `compile` when EventBridge would reject a match modifier's pattern.
 * @example
 * compileModifier({ severity: 'critical', reason: 'after {count} failures', follows: { detection: 'x', count: 1, withinMinutes: 15, per: 'account' } });
 * // { kind: 'follows', severity: 'critical', reason: 'after {count} failures', detection: 'x', count: 1, withinMs: 900000 }
 */
const compileModifier = (
  modifier: SeverityModifier,
  compile: (pattern: Record<string, unknown>) => (event: unknown) => boolean = compilePattern,
): CompiledModifier => {
  const { severity, reason } = modifier;
  if ('match' in modifier) return { kind: 'match', severity, reason, matches: compile(modifier.match) };
  if ('threshold' in modifier) {
    const { count, withinMinutes } = modifier.threshold;
    return { kind: 'threshold', severity, reason, count, withinMs: withinMinutes * 60_000 };
  }
  const { detection, count, withinMinutes } = modifier.follows;
  return { kind: 'follows', severity, reason, detection, count, withinMs: withinMinutes * 60_000 };
};

/**
 * Compiles every pattern, naming the offending one when EventBridge would reject it, and refuses a detection that
 * follows itself (counting its own earlier events is what a threshold modifier does).
 */
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
    if ('follows' in modifier && modifier.follows.detection === spec.id) {
      throw new DetectionFileError(
        file,
        `severityModifiers[${i}].follows.detection: "${spec.id}" is this detection; to count its own events, use a threshold`,
      );
    }
    return compileModifier(modifier, (pattern) => compile(pattern, `severityModifiers[${i}].match`));
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
 * Each issue as `field: message`. A value that fits none of a union's forms (a severity modifier) gets the issues
 * of the form it comes closest to (the fewest issues), so that `follows.count` is named rather than the whole
 * modifier; when forms tie, the union's own message.
 */
const problemsOf = (issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): string[] =>
  issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const fewest = Math.min(...issue.errors.map((errors) => errors.length));
      const closest = issue.errors.filter((errors) => errors.length === fewest);
      if (closest.length === 1 && closest[0]) return problemsOf(closest[0], path);
    }
    return [`${fieldPath(path) || '(root)'}: ${issue.message}`];
  });

/** The `yaml` package's module, loaded on the first YAML parse (loadYaml). */
let yamlModule: typeof import('yaml') | undefined;

/**
 * The `yaml` package, required on first use rather than imported: a bundle whose catalog is inlined at build time
 * (build/catalog-plugin.mjs) never parses YAML, so neither loads nor ships the parser. Resolved from node_modules
 * beside the code (the project's, or an installed package's).
 *
 * @throws DetectionFileError naming `fileName` when the package cannot be loaded (a Lambda bundle ships none: its
 *   catalog is the one it was built with).
 */
const loadYaml = (fileName: string): typeof import('yaml') => {
  try {
    yamlModule ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
    return yamlModule;
  } catch (error) {
    throw new DetectionFileError(
      fileName,
      `cannot read YAML here: ${toError(error).message} (a Lambda bundle reads only the catalog it was built with)`,
      { cause: error },
    );
  }
};

/**
 * Validates one detection document (a YAML file's parsed content): the schema, with its defaults filled in, and the
 * id equal to `fileName` without its extension. Placeholders stay as written; compileDetectionSpec resolves them.
 * Used at bundle time too (build/catalog-plugin.mjs), which inlines what it returns as JSON.
 *
 * @throws DetectionFileError naming the file and each field the schema rejects, or an id other than the file name.
 * @example
 * declare const document: unknown; // events/root-api-call.yml, parsed
 * validateDetection(document, 'root-api-call.yml').severityModifiers; // [] unless the file lists some
 */
const validateDetection = (data: unknown, fileName: string): DetectionSpec => {
  const result = DetectionSchema.safeParse(data);
  if (!result.success) {
    throw new DetectionFileError(fileName, problemsOf(result.error.issues).join('; '), { cause: result.error });
  }
  const expectedId = fileName.replace(/\.ya?ml$/, '');
  if (result.data.id !== expectedId) {
    throw new DetectionFileError(fileName, `id: "${result.data.id}" must equal the file name "${expectedId}"`);
  }
  return result.data;
};

/**
 * A validated detection (validateDetection's result, or the same inlined by build/catalog-plugin.mjs) with its
 * placeholders resolved by `parameters` and its patterns compiled. No schema runs here: this is the whole of a
 * catalog's load at run time in a bundle.
 *
 * @throws DetectionFileError naming the file: an unknown or misplaced placeholder, a pattern EventBridge would reject,
 *   a detection that follows itself.
 * @example
 * import type { CloudTrailEvent } from './event.js';
 *
 * declare const spec: DetectionSpec; // validateDetection's result for events/audit-trail-tampering.yml
 * declare const event: CloudTrailEvent;
 * compileDetectionSpec(spec, 'audit-trail-tampering.yml', { trailBuckets: ['my-trail-bucket'] }).matches(event);
 */
const compileDetectionSpec = (spec: DetectionSpec, fileName: string, parameters: DetectionParameters = {}): Detection =>
  compileDetection(resolveDetection(spec, parameters, fileName), fileName);

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
const parseDetection = (text: string, fileName: string, parameters: DetectionParameters = {}): Detection =>
  compileDetectionSpec(validateDetection(parseDetectionYaml(text, fileName), fileName), fileName, parameters);

/**
 * A detection file's text as YAML (duplicate keys refused), not yet validated.
 *
 * @throws DetectionFileError naming the file: not valid YAML, or no YAML parser here (see loadYaml).
 */
const parseDetectionYaml = (text: string, fileName: string): unknown => {
  const yaml = loadYaml(fileName);
  try {
    return yaml.parse(text, { uniqueKeys: true });
  } catch (error) {
    throw new DetectionFileError(fileName, `not valid YAML: ${toError(error).message}`, { cause: error });
  }
};

/**
 * Checks what no single file can: each follows modifier names a detection of `catalog` (all the detections
 * loaded together). A follows modifier naming none would never apply, silently.
 *
 * @throws DetectionFileError naming the first detection file (`<id>.yml`) and modifier that follows an unknown id.
 * @example
 * import { loadDetections } from '../io/detections.js';
 *
 * const catalog = loadDetections(); // which has checked it already
 * checkFollowedDetections(catalog); // returns: every follows modifier names a detection of the catalog
 * checkFollowedDetections(catalog.filter((detection) => detection.id !== 'root-console-sign-in-failure'));
 * // throws DetectionFileError: root-console-sign-in.yml: severityModifiers[0].follows.detection: no detection
 * // "root-console-sign-in-failure" in the catalog
 */
const checkFollowedDetections = (catalog: readonly Detection[]): void => {
  const ids = new Set(catalog.map((detection) => detection.id));
  for (const detection of catalog) {
    for (const [i, modifier] of detection.modifiers.entries()) {
      if (modifier.kind === 'follows' && !ids.has(modifier.detection)) {
        throw new DetectionFileError(
          `${detection.id}.yml`,
          `severityModifiers[${i}].follows.detection: no detection "${modifier.detection}" in the catalog`,
        );
      }
    }
  }
};

export type { Detection, DetectionParameters, DetectionSpec };
export {
  checkFollowedDetections,
  compileDetectionSpec,
  compileModifier,
  DETECTION_PARAMETERS,
  parseDetection,
  parseDetectionYaml,
  validateDetection,
};
