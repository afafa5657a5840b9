'use strict';

/**
 * Checks serverless.yml's parameters at package time and generates the e-mail subscriptions of the alert topic.
 *
 * serverless.yml includes it as `resources: - ${file(./resources/parameters.cjs)}`. The Serverless Framework
 * (osls and v4) require()s the file and calls the exported function with `{ resolveVariable, ... }`; it is
 * CommonJS (`.cjs`) because package.json says "type": "module".
 *
 * The rules are not restated here: each parameter that becomes an environment variable is validated by that
 * variable's own field of the function's zod schema (functions/io/config.ts, loaded through tsx), the one the
 * function checks on a cold start, so packaging rejects exactly what the function would. The e-mail parameters
 * reach no function; EmailConfigSchema, in the same file, checks them.
 *
 * The parameters the detection files name (trailBuckets, trailKeyArns, trailLogGroups, slackWebhookParameter) are
 * checked the same way, by the alert function's fields (TRAIL_BUCKETS, …); resources/event-rules.cjs takes their
 * values from checkDetectionParameters to resolve the patterns' placeholders, so the rules and the function agree.
 *
 * Emits, per address of `alertEmails`, two e-mail subscriptions (AWS::SNS::Subscription, protocol email); their
 * logical ids derive from the address, so adding or removing one leaves the others in place:
 * - `AlertEmailSubscription<hash>` to the alert topic, with a filter policy on the message attributes. It drops the
 *   heartbeats, which alone carry `kind` (functions/core/heartbeat.ts); above `emailMinSeverity: info`, it also drops
 *   alerts below that severity, letting through messages with attributes but no `severity`:
 *     info:  {"kind":[{"exists":false}]}
 *     high:  {"kind":[{"exists":false}],"$or":[{"severity":["high","critical"]},{"severity":[{"exists":false}]}]}
 * - `AlarmEmailSubscription<hash>` to the alarm topic (resources/alarms.yml), unfiltered. CloudWatch publishes alarm
 *   notifications without message attributes, and SNS delivers a message without attributes to no subscription
 *   that has an attribute filter policy: `"exists": false` "only matches if at least one attribute is present". So
 *   the alert topic's filtered subscriptions never see an alarm; the alarm topic's deliver every one.
 * https://docs.aws.amazon.com/sns/latest/dg/attribute-key-matching.html, .../and-or-logic.html,
 * https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html
 *
 * Emits, when `slackRoutes` names parameters besides slackWebhookParameter, `NotifySlackRoutesPolicy`: an
 * AWS::IAM::Policy on the notifier's role (resources/iam.yml, NotifySlackRole) allowing ssm:GetParameter on exactly
 * those parameters, and kms:Decrypt through Parameter Store for them only (its encryption context is the parameter's
 * ARN), as the role's own statements do for the default webhook parameter. Names only: no URL reaches the template.
 * https://docs.aws.amazon.com/kms/latest/developerguide/services-parameter-store.html
 */

const crypto = require('node:crypto');
const { register } = require('tsx/cjs/api');

// One tsx namespace for both generators (resources/event-rules.cjs too), so they share one copy of each module.
const typescript = register({ namespace: 'rootwatch-resources' });
const { AlertConfigSchema, EmailConfigSchema, HeartbeatConfigSchema, HubConfigSchema, safeParseConfig } =
  typescript.require('../functions/io/config.ts', __filename);
const { NotifierConfigSchema } = typescript.require('../functions/io/notifier-config.ts', __filename);
const { PostureConfigSchema, PostureParametersSchema } = typescript.require(
  '../functions/io/posture-config.ts',
  __filename,
);
const { SEVERITIES } = typescript.require('../functions/core/severity.ts', __filename);
const { HEARTBEAT_ATTRIBUTE } = typescript.require('../functions/core/heartbeat.ts', __filename);
const { ConfigError } = typescript.require('../functions/errors.ts', __filename);
const { z } = typescript.require('../functions/core/zod.ts', __filename);
const { loadDetections } = typescript.require('../functions/io/detections.ts', __filename);
typescript.unregister();

const ALERT_TOPIC = 'AlertTopic';
/** The alarms' topic (resources/alarms.yml): CloudWatch alarm notifications, for people. */
const ALARM_TOPIC = 'AlarmTopic';

/**
 * Each parameter, the schema that validates it and its field there: for a function's schema, the environment
 * variable serverless.yml sets from the parameter (functions.<name>.environment); the e-mail parameters are
 * fields of their own schema.
 */
const PARAMETERS = {
  minSeverity: { schema: AlertConfigSchema, field: 'MIN_SEVERITY' },
  runbookBaseUrl: { schema: AlertConfigSchema, field: 'RUNBOOK_BASE_URL' },
  accountNames: { schema: AlertConfigSchema, field: 'ACCOUNT_NAMES' },
  accountLookup: { schema: AlertConfigSchema, field: 'ACCOUNT_LOOKUP' },
  trailBuckets: { schema: AlertConfigSchema, field: 'TRAIL_BUCKETS' },
  trailKeyArns: { schema: AlertConfigSchema, field: 'TRAIL_KEY_ARNS' },
  trailLogGroups: { schema: AlertConfigSchema, field: 'TRAIL_LOG_GROUPS' },
  slackWebhookParameter: { schema: NotifierConfigSchema, field: 'SLACK_WEBHOOK_PARAMETER' },
  slackRoutes: { schema: NotifierConfigSchema, field: 'SLACK_ROUTES' },
  alertEmails: { schema: EmailConfigSchema, field: 'alertEmails' },
  emailMinSeverity: { schema: EmailConfigSchema, field: 'emailMinSeverity' },
  heartbeatMinutes: { schema: HeartbeatConfigSchema, field: 'heartbeatMinutes' },
  organizationId: { schema: HubConfigSchema, field: 'organizationId' },
  memberAccounts: { schema: HubConfigSchema, field: 'memberAccounts' },
  forwarderRegions: { schema: HubConfigSchema, field: 'forwarderRegions' },
  rootEmailDomains: { schema: PostureConfigSchema, field: 'ROOT_EMAIL_DOMAINS' },
  postureAuditRole: { schema: PostureConfigSchema, field: 'POSTURE_AUDIT_ROLE' },
  postureSchedule: { schema: PostureParametersSchema, field: 'postureSchedule' },
};

/** One or more serverless.yml parameters are invalid; the message names each, so packaging fails. */
class ParameterError extends ConfigError {
  /**
   * `problems`: each invalid parameter's name and the schema's message. The message is the schema's alone: it
   * quotes a value only where the schema does (never slackWebhookParameter's, which may be the webhook URL).
   */
  constructor(problems) {
    super(
      problems
        .map(
          ({ name, message }) =>
            `Invalid parameter "${name}": ${message}. Set it under params: in serverless.yml or with --param="${name}=…".`,
        )
        .join('\n'),
    );
    this.problems = problems;
    // The framework prints the stack of a failing variable source; for a configuration error, it is noise.
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** A zod issue as a problem of `name`; below the variable, the path says where (`accountNames` keys). */
const problemOf = (name, issue) => {
  const at = issue.code === 'invalid_key' ? [] : issue.path.slice(1);
  return { name, message: at.length === 0 ? issue.message : `${issue.message} (at ${at.join('.')})` };
};

/**
 * Validates the parameters (name -> value, as serverless.yml resolves them) with the schemas' own fields, the way
 * the functions validate their environment (loadConfig: a blank value is unset, so the default applies).
 * Returns each schema's output (a Map keyed by schema); throws a ParameterError listing every invalid parameter.
 */
const parseParameters = (values) => {
  const problems = [];
  const parsed = new Map();
  for (const schema of new Set(Object.values(PARAMETERS).map((parameter) => parameter.schema))) {
    const names = Object.keys(PARAMETERS).filter((name) => PARAMETERS[name].schema === schema);
    const nameOf = new Map(names.map((name) => [PARAMETERS[name].field, name]));
    // Only the fields the parameters feed: the others (ALERT_TOPIC_ARN, …) are CloudFormation references.
    const result = safeParseConfig(
      z.pick(schema, Object.fromEntries(names.map((name) => [PARAMETERS[name].field, true]))),
      Object.fromEntries(names.map((name) => [PARAMETERS[name].field, values[name]])),
    );
    for (const issue of result.error?.issues ?? []) problems.push(problemOf(nameOf.get(issue.path[0]), issue));
    parsed.set(schema, result.data);
  }
  if (problems.length > 0) throw new ParameterError(problems);
  return parsed;
};

/**
 * The e-mail configuration, `{ alertEmails: string[], emailMinSeverity }`, once every parameter is valid
 * (parseParameters: throws a ParameterError listing every invalid one).
 */
const checkParameters = (values) => parseParameters(values).get(EmailConfigSchema);

/**
 * The values of the parameters the detection files name, by name (`{ trailBuckets: [...], ... }`, as
 * detectionParametersOf takes them), once every parameter is valid: resources/event-rules.cjs resolves the
 * patterns' placeholders with them, and serverless.yml gives the alert function the same values.
 */
const checkDetectionParameters = (values) => {
  const alert = parseParameters(values).get(AlertConfigSchema);
  return {
    trailBuckets: alert.TRAIL_BUCKETS,
    trailKeyArns: alert.TRAIL_KEY_ARNS,
    trailLogGroups: alert.TRAIL_LOG_GROUPS,
    ...(values.slackWebhookParameter ? { slackWebhookParameter: values.slackWebhookParameter } : {}),
  };
};

/**
 * The heartbeat's configuration, `{ heartbeatMinutes }`, once every parameter is valid: resources/heartbeat.cjs builds
 * the schedule and the alarms' period from it.
 */
const checkHeartbeatParameters = (values) => parseParameters(values).get(HeartbeatConfigSchema);

/**
 * The hub's configuration, `{ organizationId?, memberAccounts: string[], forwarderRegions: string[] }`, once every
 * parameter is valid: who may put events on the hub bus (resources/event-rules.cjs) and which forwarders of this
 * account the hub expects heartbeats from (resources/heartbeat.cjs).
 */
const checkHubParameters = (values) => parseParameters(values).get(HubConfigSchema);

/** Every parameter's value, resolved through the framework (`param:<name>`). */
const resolveParameterValues = async (resolveVariable) => {
  const names = Object.keys(PARAMETERS);
  const resolved = await Promise.all(names.map((name) => resolveVariable(`param:${name}`)));
  return Object.fromEntries(names.map((name, index) => [name, resolved[index]]));
};

/**
 * The alert topic's e-mail filter policy for `minSeverity`: never a heartbeat (the only messages with `kind`), and
 * above info only alerts of `minSeverity` or more (or messages with attributes but no `severity`).
 */
const emailFilterPolicy = (minSeverity) => {
  const noHeartbeats = { [HEARTBEAT_ATTRIBUTE.name]: [{ exists: false }] };
  if (minSeverity === SEVERITIES[0]) return noHeartbeats;
  const wanted = SEVERITIES.slice(SEVERITIES.indexOf(minSeverity));
  return { ...noHeartbeats, $or: [{ severity: wanted }, { severity: [{ exists: false }] }] };
};

/** The e-mail subscriptions' `Resources`: to the alert topic, filtered for `emailMinSeverity`; to the alarm topic. */
const buildEmailSubscriptions = (emails, minSeverity) => {
  const filter = { FilterPolicyScope: 'MessageAttributes', FilterPolicy: emailFilterPolicy(minSeverity) };
  const resources = {};
  for (const email of emails) {
    const hash = crypto.createHash('sha256').update(email.toLowerCase()).digest('hex').slice(0, 10);
    resources[`AlertEmailSubscription${hash}`] = {
      Type: 'AWS::SNS::Subscription',
      Properties: { TopicArn: { Ref: ALERT_TOPIC }, Protocol: 'email', Endpoint: email, ...filter },
    };
    resources[`AlarmEmailSubscription${hash}`] = {
      Type: 'AWS::SNS::Subscription',
      Properties: { TopicArn: { Ref: ALARM_TOPIC }, Protocol: 'email', Endpoint: email },
    };
  }
  return resources;
};

/** The ARN of an SSM parameter of this account and region, by its name (which starts with "/"). */
const parameterArn = (name) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${name}`,
});

/**
 * The notifier's access to the routes' webhook parameters (`names`, each once, the default one left out): none when
 * there is no route, else `NotifySlackRoutesPolicy` on its role.
 */
const buildRoutePolicy = (names) => {
  if (names.length === 0) return {};
  const arns = names.map(parameterArn);
  return {
    NotifySlackRoutesPolicy: {
      Type: 'AWS::IAM::Policy',
      Properties: {
        PolicyName: 'notify-slack-routes',
        Roles: [{ Ref: 'NotifySlackRole' }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            { Sid: 'ReadRouteWebhookUrls', Effect: 'Allow', Action: 'ssm:GetParameter', Resource: arns },
            {
              Sid: 'DecryptRouteWebhookUrls',
              Effect: 'Allow',
              Action: 'kms:Decrypt',
              Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:kms:\${AWS::Region}:\${AWS::AccountId}:key/*` },
              Condition: {
                StringEquals: {
                  'kms:ViaService': { 'Fn::Sub': `ssm.\${AWS::Region}.amazonaws.com` },
                  'kms:EncryptionContext:PARAMETER_ARN': arns,
                },
              },
            },
          ],
        },
      },
    },
  };
};

/**
 * Throws a ParameterError naming each `detection:` id of the routes that no file of the catalog (events/) has: such a
 * route would never match. Placeholders need no values here (the ids are all that is read).
 */
const checkRouteDetections = (routes) => {
  const known = new Set(loadDetections(undefined, {}).map((detection) => detection.id));
  const problems = routes.flatMap((route) =>
    (route.detections ?? [])
      .filter((id) => !known.has(id))
      .map((id) => ({
        name: 'slackRoutes',
        message: `${route.selector}=${route.parameter}: no detection "${id}" in events/ (a route for it would never match)`,
      })),
  );
  if (problems.length > 0) throw new ParameterError(problems);
};

/** The routes' parameters besides the default webhook's, each once, from the checked notifier configuration. */
const routeParameterNames = (notifier) => [
  ...new Set(
    notifier.SLACK_ROUTES.map((route) => route.parameter).filter((name) => name !== notifier.SLACK_WEBHOOK_PARAMETER),
  ),
];

/** The file variable source: `${file(./resources/parameters.cjs)}`. */
/**
 * `--param="name=value"` names the framework does not check: a typo (`alertEmail=…`) would deploy a stack without what
 * was meant. Throws ParameterError naming each unknown name and the known ones.
 */
const checkParameterNames = (cliParams) => {
  const given = (Array.isArray(cliParams) ? cliParams : cliParams ? [cliParams] : []).map((entry) =>
    String(entry).split('=')[0].trim(),
  );
  const unknown = given.filter((name) => !Object.hasOwn(PARAMETERS, name));
  if (unknown.length > 0) {
    const known = Object.keys(PARAMETERS).join(', ');
    throw new ParameterError(unknown.map((name) => ({ name, message: `unknown parameter (rootwatch has ${known})` })));
  }
};

const resolveParameters = async ({ options, resolveVariable }) => {
  checkParameterNames(options?.param);
  const parsed = parseParameters(await resolveParameterValues(resolveVariable));
  const { alertEmails, emailMinSeverity } = parsed.get(EmailConfigSchema);
  checkRouteDetections(parsed.get(NotifierConfigSchema).SLACK_ROUTES);
  return {
    Resources: {
      ...buildEmailSubscriptions(alertEmails, emailMinSeverity),
      ...buildRoutePolicy(routeParameterNames(parsed.get(NotifierConfigSchema))),
    },
  };
};

module.exports = resolveParameters;
module.exports.checkParameters = checkParameters;
module.exports.checkParameterNames = checkParameterNames;
module.exports.checkDetectionParameters = checkDetectionParameters;
module.exports.checkHeartbeatParameters = checkHeartbeatParameters;
module.exports.checkHubParameters = checkHubParameters;
module.exports.emailFilterPolicy = emailFilterPolicy;
module.exports.resolveParameterValues = resolveParameterValues;
module.exports.PARAMETERS = PARAMETERS;
