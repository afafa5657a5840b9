import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { ConfigError, toError } from '../errors.js';
import { type DetectionParameterValues, HeartbeatConfigSchema, parseDetectionParameterValues } from '../io/config.js';

/*
 * The parameters a stage is deployed with, read the way the Serverless Framework reads them from serverless.yml
 * (`params: default`, then the stage's own section, then `--param NAME=VALUE`), for what is deployed without the
 * framework: the forwarder template (functions/deploy/forwarder-template.ts) and the deploy command. Only the values a
 * forwarder needs are resolved and validated, by the schemas the functions and packaging use (functions/io/config.ts),
 * so a forwarder's rules get exactly the placeholder values the hub's rules were packaged with.
 */

/** The repository (the package root): serverless.yml is there. */
const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The only framework variable resolved here: the framework substitutes the stage the same way. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: the framework's variable, as serverless.yml spells it
const STAGE_VARIABLE = '${sls:stage}';

/** The detection parameters a forwarder's rules take their placeholders' values from, by serverless.yml name. */
const DETECTION_PARAMETER_NAMES = ['trailBuckets', 'trailKeyArns', 'trailLogGroups', 'slackWebhookParameter'] as const;
/** The heartbeat's period, by serverless.yml name. */
const HEARTBEAT_PARAMETER_NAME = 'heartbeatMinutes';

/** What a stage is deployed with, as a forwarder needs it. */
interface StageParameters {
  /** The detection parameters (trail buckets, keys, log groups, webhook parameter), validated; unset ones left out. */
  values: DetectionParameterValues;
  /** Minutes between two heartbeats, 5 to 720 (default 10). */
  heartbeatMinutes: number;
}

/** One parameter's value and where it was set, for messages: `serverless.yml params.prod`, `--param`. */
interface Setting {
  value: unknown;
  where: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `serverless.yml` in `serviceDir`, parsed; CloudFormation's tags (!Ref, !GetAtt, !Sub…) are read as plain values. */
const readServerlessYml = (file: string): Record<string, unknown> => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${file}: cannot read it: ${toError(error).message}`, { cause: error });
  }
  // parseDocument never logs: an unknown tag is only a warning on the document (TAG_RESOLVE_FAILED), and the tagged
  // node keeps its plain value. Merge keys (<<) as the framework's YAML reader takes them.
  const document = parseDocument(text, { uniqueKeys: true, merge: true });
  const [error] = document.errors;
  if (error) throw new ConfigError(`${file}: not valid YAML: ${error.message}`, { cause: error });
  const data: unknown = document.toJS();
  return isRecord(data) ? data : {};
};

/** A section of `params:` (`default`, a stage's), or nothing when there is none. */
const sectionOf = (params: Record<string, unknown>, name: string, file: string): Record<string, unknown> => {
  const section = params[name];
  if (section === undefined || section === null) return {};
  if (!isRecord(section)) throw new ConfigError(`${file}: params.${name} must be a mapping of parameter to value`);
  return section;
};

/** `NAME=VALUE` → [NAME, VALUE]. */
const splitOverride = (override: string): [string, string] => {
  const equals = override.indexOf('=');
  const name = equals < 0 ? '' : override.slice(0, equals).trim();
  if (name === '') throw new ConfigError(`--param takes NAME=VALUE (got "${override}")`);
  return [name, override.slice(equals + 1)];
};

/**
 * `value` with `${sls:stage}` replaced by `stage`, in a string or in each string of a list. Any other `${…}` is a
 * framework variable this reader cannot resolve (${ssm:}, ${env:}, ${self:}, …), and the rules would get its text.
 */
const substituteStage = (name: string, setting: Setting, stage: string): unknown => {
  const substitute = (text: string): string => {
    const replaced = text.replaceAll(STAGE_VARIABLE, stage);
    const variable = /\$\{[^}]*\}?/.exec(replaced)?.[0];
    if (variable) {
      throw new ConfigError(
        `Parameter "${name}" in ${setting.where} uses the variable ${variable}: the forwarder resolves only ${STAGE_VARIABLE}; give the value itself`,
      );
    }
    return replaced;
  };
  const { value } = setting;
  if (typeof value === 'string') return substitute(value);
  if (Array.isArray(value)) return value.map((item) => (typeof item === 'string' ? substitute(item) : item));
  return value;
};

/**
 * The parameters `stage` is deployed with: serverless.yml's `params.default`, then `params.<stage>` over it, then each
 * `NAME=VALUE` of `overrides` (as `--param` gives them to the framework) over both; `${sls:stage}` becomes `stage`.
 * Only the values a forwarder needs are resolved and validated (trailBuckets, trailKeyArns, trailLogGroups and
 * slackWebhookParameter by parseDetectionParameterValues, heartbeatMinutes by HeartbeatConfigSchema); the others are
 * left to the framework. A blank value is unset, so its default applies.
 *
 * @param serviceDir the folder holding serverless.yml (default: this repository).
 * @throws ConfigError when serverless.yml cannot be read or parsed, an override is not NAME=VALUE or names a parameter
 *   serverless.yml does not have (params.default, params.<stage>), a needed value holds a framework variable other
 *   than ${sls:stage}, or a needed value is invalid: one error listing every problem, each naming the parameter and
 *   where it was set.
 * @example
 * const { values, heartbeatMinutes } = readStageParameters('prod', ['trailBuckets=org-trail-bucket']);
 * values.trailBuckets; // ['org-trail-bucket']
 * values.slackWebhookParameter; // '/rootwatch/prod/slack-webhook-url'
 * heartbeatMinutes; // 10
 */
const readStageParameters = (
  stage: string,
  overrides: readonly string[],
  serviceDir: string = PACKAGE_ROOT,
): StageParameters => {
  const file = join(serviceDir, 'serverless.yml');
  const service = readServerlessYml(file);
  const stages = service.stages;
  if (isRecord(stages) && Object.values(stages).some((section) => isRecord(section) && 'params' in section)) {
    throw new ConfigError(
      `${file}: stages.<stage>.params is not read by rootwatch (nor by osls): put the parameters under params: (default, then a section per stage)`,
    );
  }
  const params = service.params ?? {};
  if (!isRecord(params)) throw new ConfigError(`${file}: params must be a mapping (default, then a section per stage)`);
  const defaults = sectionOf(params, 'default', file);
  const staged = sectionOf(params, stage, file);

  const settings = new Map<string, Setting>();
  for (const [name, value] of Object.entries(defaults))
    settings.set(name, { value, where: 'serverless.yml params.default' });
  for (const [name, value] of Object.entries(staged))
    settings.set(name, { value, where: `serverless.yml params.${stage}` });
  const known = [...settings.keys()];
  for (const override of overrides) {
    const [name, value] = splitOverride(override);
    if (!known.includes(name)) {
      throw new ConfigError(`--param ${name}: unknown parameter (serverless.yml has ${known.join(', ') || 'none'})`);
    }
    settings.set(name, { value, where: '--param' });
  }

  const problems: string[] = [];
  const resolved = (name: string): unknown => {
    const setting = settings.get(name);
    return setting === undefined ? undefined : substituteStage(name, setting, stage);
  };
  let values: DetectionParameterValues = {};
  for (const name of DETECTION_PARAMETER_NAMES) {
    try {
      const value = resolved(name);
      values = { ...values, ...parseDetectionParameterValues({ [name]: value }, settings.get(name)?.where ?? '') };
    } catch (error) {
      problems.push(toError(error).message);
    }
  }
  let heartbeatMinutes = 0;
  try {
    const value = resolved(HEARTBEAT_PARAMETER_NAME);
    const result = HeartbeatConfigSchema.safeParse({
      heartbeatMinutes: value === '' || value === null ? undefined : value,
    });
    if (result.success) {
      heartbeatMinutes = result.data.heartbeatMinutes;
    } else {
      const where = settings.get(HEARTBEAT_PARAMETER_NAME)?.where;
      problems.push(
        `Invalid parameter "${HEARTBEAT_PARAMETER_NAME}" in ${where}: ${result.error.issues.map((issue) => issue.message).join('; ')}`,
      );
    }
  } catch (error) {
    problems.push(toError(error).message);
  }
  if (problems.length > 0) throw new ConfigError(problems.join('\n'));
  return { values, heartbeatMinutes };
};

export { readStageParameters };
