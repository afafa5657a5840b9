import { DetectionFileError } from '../errors.js';
import { type DetectionParameterValues, detectionParametersOf } from '../io/config.js';
import { loadDetectionFiles } from '../io/detections.js';

/*
 * The EventBridge rules of the detection catalog, once, for every place that deploys them: the hub's default bus and
 * hub bus (resources/event-rules.cjs) and the forwarders (functions/deploy/forwarder-template.ts). Each caller only
 * adds where a rule sits and what it targets, so a forwarder's rule has exactly the hub's pattern and state.
 */

/** https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html: Name, 1 to 64 of [.\-_A-Za-z0-9]. */
const MAX_RULE_NAME_LENGTH = 64;
/**
 * Read-only management events (readOnly: true) reach a rule, on the default bus or a custom bus, only in this state.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail-management.html
 */
const STATE_WITH_READ_ONLY_EVENTS = 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';
/** EventBridge's maximum: retry for 24 hours, then dead-letter. */
const RULE_RETRY_POLICY = { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 } as const;
/**
 * "Event pattern size: 2,048 characters", the default quota (adjustable).
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html
 */
const MAX_PATTERN_LENGTH = 2048;

/** A placeholder that names rootwatch's own KMS key (resources/alerting.yml, AlertTopicKey), by ARN or by key id. */
type KeyPlaceholder = 'alerterKeyArn' | 'alerterKeyId';

/**
 * The strings the loader compiles in place of the key's ARN and id (any string compiles), which each deployer
 * replaces (`resolveKey`): the hub with CloudFormation intrinsics, a forwarder with the hub key's ARN and id.
 * `longest` is what the longest value could be, for the size check.
 */
const KEY_STAND_INS: readonly { placeholder: KeyPlaceholder; standIn: string; longest: string }[] = [
  {
    placeholder: 'alerterKeyArn',
    standIn: 'rootwatch:cloudformation:AlertTopicKey.Arn',
    longest: 'arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab',
  },
  {
    placeholder: 'alerterKeyId',
    standIn: 'rootwatch:cloudformation:AlertTopicKey.Ref',
    longest: 'mrk-1234abcd12ab34cd56ef1234567890ab',
  },
];

/** One rule of the catalog: one pattern of one detection. */
interface CatalogRule {
  /** The detection file, e.g. `root-api-call.yml`. */
  file: string;
  detectionId: string;
  /** The pattern's index in the detection's `patterns`. */
  index: number;
  /** `Rule<PascalId><index>`, e.g. `RuleRootApiCall0`: the same logical id in the hub and the forwarder. */
  logicalId: string;
  /** `rootwatch-<stage>-<id>` or, for a detection with several patterns, `rootwatch-<stage>-<id>-<index>`. */
  name: string;
  description: string;
  /** The EventPattern, with the key placeholders resolved by `resolveKey`. */
  pattern: unknown;
  /** `ENABLED`, or ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS for a detection of read-only events. */
  state: string;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `root-api-call` -> `RootApiCall` (CloudFormation logical ids are alphanumeric). */
const toPascalCase = (id: string): string =>
  id
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');

/** Where `${` first appears in `value`: the framework would read it as one of its own variables. */
const findVariableSyntax = (value: unknown, at: string): string | undefined => {
  if (typeof value === 'string') return value.includes('${') ? at : undefined;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findVariableSyntax(item, `${at}[${index}]`);
      if (found) return found;
    }
  } else if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      const found = findVariableSyntax(key, `${at}.${key}`) ?? findVariableSyntax(item, `${at}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
};

/** `value` with each key stand-in replaced by `replace(placeholder, longest)`, everything else copied as it is. */
const replaceStandIns = (
  value: unknown,
  replace: (placeholder: KeyPlaceholder, longest: string) => unknown,
): unknown => {
  if (typeof value === 'string') {
    const entry = KEY_STAND_INS.find((candidate) => candidate.standIn === value);
    return entry ? replace(entry.placeholder, entry.longest) : value;
  }
  if (Array.isArray(value)) return value.map((item) => replaceStandIns(item, replace));
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, replaceStandIns(item, replace)]));
  }
  return value;
};

/**
 * The rules of the catalog in `dir` for `stage`, with `values` as the deployment's parameter values (`{ trailBuckets:
 * [...], ... }`, as resources/parameters.cjs checks them) and the key placeholders resolved by `resolveKey` (a
 * CloudFormation intrinsic, or the hub key's ARN and id).
 *
 * @throws DetectionFileError naming the file when a detection is invalid (the loader's errors), a rule name would be
 *   over EventBridge's 64 characters, a pattern holds `${`, or a pattern would be over the 2,048-character quota with
 *   the longest key ARN filled in.
 * @example
 * const rules = catalogRules('prod', 'events', {}, (placeholder) => ({ Ref: placeholder }));
 * rules[0]; // { logicalId: 'RuleAlerterTampering0', name: 'rootwatch-prod-alerter-tampering-0', state: 'ENABLED', … }
 */
const catalogRules = (
  stage: string,
  dir: string,
  values: DetectionParameterValues,
  resolveKey: (placeholder: KeyPlaceholder) => unknown,
): CatalogRule[] => {
  const parameters = {
    ...detectionParametersOf(values),
    ...Object.fromEntries(KEY_STAND_INS.map(({ placeholder, standIn }) => [placeholder, [standIn]])),
  };
  const rules: CatalogRule[] = [];
  for (const { file, detection } of loadDetectionFiles(dir, parameters)) {
    const { id, title, readOnlyEvents, patterns } = detection;
    for (const [index, pattern] of patterns.entries()) {
      const variableAt = findVariableSyntax(pattern, `patterns[${index}]`);
      if (variableAt) {
        throw new DetectionFileError(
          file,
          `${variableAt} contains "\${", which serverless.yml would resolve as a variable`,
        );
      }
      const several = patterns.length > 1;
      const name = `rootwatch-${stage}-${id}${several ? `-${index}` : ''}`;
      if (name.length > MAX_RULE_NAME_LENGTH) {
        throw new DetectionFileError(
          file,
          `id: rule name "${name}" is ${name.length} characters, EventBridge allows ${MAX_RULE_NAME_LENGTH}: shorten the detection id "${id}" or the stage "${stage}"`,
        );
      }
      const deployedLength = JSON.stringify(replaceStandIns(pattern, (_, longest) => longest)).length;
      if (deployedLength > MAX_PATTERN_LENGTH) {
        throw new DetectionFileError(
          file,
          `patterns[${index}]: ${deployedLength} characters once deployed, EventBridge allows ${MAX_PATTERN_LENGTH}: split the pattern, or give fewer trail buckets, keys or log groups`,
        );
      }
      rules.push({
        file,
        detectionId: id,
        index,
        logicalId: `Rule${toPascalCase(id)}${index}`,
        name,
        description: several
          ? `${title} (pattern ${index + 1} of ${patterns.length}, events/${file})`
          : `${title} (events/${file})`,
        pattern: replaceStandIns(pattern, (placeholder) => resolveKey(placeholder)),
        state: readOnlyEvents ? STATE_WITH_READ_ONLY_EVENTS : 'ENABLED',
      });
    }
  }
  return rules;
};

export type { KeyPlaceholder };
export { catalogRules, RULE_RETRY_POLICY };
