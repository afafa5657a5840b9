'use strict';

/**
 * The posture function's schedule, from the parameter postureSchedule, and its other resources (buildPostureResources:
 * the AWS Config rules and the audit role's policy): serverless.yml names it as
 * `rate: ${file(./resources/posture.cjs):rate}` and `enabled: ${file(./resources/posture.cjs):enabled}` in the
 * function's schedule event. An expression (`rate(1 day)`, the default; `cron(0 6 * * ? *)`) is the rule's, enabled;
 * `off` keeps the rule, disabled, on a daily expression, so that the function is still there to run by hand and the
 * template keeps the same resources either way.
 *
 * The value is checked by resources/parameters.cjs with the same field (PostureParametersSchema in
 * functions/io/posture-config.ts) before this runs; it is parsed again here, so this source never passes on a bad value.
 * CommonJS (`.cjs`) because package.json says "type": "module".
 */

const { register } = require('tsx/cjs/api');

const typescript = register({ namespace: 'rootwatch-resources' });
const { PostureConfigSchema, PostureParametersSchema } = typescript.require(
  '../functions/io/posture-config.ts',
  __filename,
);
const { safeParseConfig } = typescript.require('../functions/io/config.ts', __filename);
const { CONFIG_COMPLIANCE_PATTERN } = typescript.require('../functions/core/posture-events.ts', __filename);
const { RULE_RETRY_POLICY } = typescript.require('../functions/deploy/catalog-rules.ts', __filename);
const { z } = typescript.require('../functions/core/zod.ts', __filename);
typescript.unregister();

/** serverless.yml's function `posture` becomes `PostureLambdaFunction` (the framework's naming). */
const POSTURE_FUNCTION = 'PostureLambdaFunction';
/** The posture function's role (resources/iam.yml). */
const POSTURE_ROLE = 'PostureRole';
/** The hub bus (resources/event-rules.cjs). */
const HUB_EVENT_BUS = 'HubEventBus';

/** The expression a disabled schedule keeps (a rule needs one). */
const DISABLED_RATE = 'rate(1 day)';

/**
 * `{ rate, enabled }` for a postureSchedule value (undefined or blank: the default, `rate(1 day)`).
 * Throws an Error naming the parameter when the value is not `off` or an expression at least an hour apart.
 */
const postureScheduleOf = (value) => {
  const result = safeParseConfig(PostureParametersSchema, { postureSchedule: value });
  if (!result.success) {
    throw new Error(
      `Invalid parameter "postureSchedule": ${result.error.issues.map((issue) => issue.message).join('; ')}`,
    );
  }
  const schedule = result.data.postureSchedule;
  return schedule === 'off' ? { rate: DISABLED_RATE, enabled: false } : { rate: schedule, enabled: true };
};

/**
 * The postureAuditRole value, checked by PostureConfigSchema's own field (undefined or blank: none). Throws an Error
 * naming the parameter when it is not an IAM role name.
 */
const postureAuditRoleOf = (value) => {
  const result = safeParseConfig(z.pick(PostureConfigSchema, { POSTURE_AUDIT_ROLE: true }), {
    POSTURE_AUDIT_ROLE: value,
  });
  if (!result.success) {
    throw new Error(
      `Invalid parameter "postureAuditRole": ${result.error.issues.map((issue) => issue.message).join('; ')}`,
    );
  }
  return result.data.POSTURE_AUDIT_ROLE;
};

/**
 * The posture function's CloudFormation `Resources` for `stage`, with `auditRole` the postureAuditRole (or undefined)
 * and `schedule` postureScheduleOf's answer:
 * - `PostureScheduleRule` (`rootwatch-<stage>-posture`): the schedule, disabled when postureSchedule is `off`, and
 *   `PostureScheduleRulePermission`;
 * - `PostureConfigRule` on the default bus and its twin `HubPostureConfigRule` on the hub bus, both named
 *   `rootwatch-<stage>-posture-config`, with CONFIG_COMPLIANCE_PATTERN (functions/core/posture-events.ts: an AWS
 *   Config compliance change of the root MFA or root key rules to NON_COMPLIANT, which Config sends to the default bus
 *   of the account and region it evaluates in, and the forwarders bring to the hub bus), targeting the posture
 *   function with the catalog's retry policy. No dead-letter queue: what is lost is read at the next scheduled run.
 *   https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-config.html
 * - `PostureConfigRulePermission` and `HubPostureConfigRulePermission`: each rule, and only it, may invoke the function;
 * - with `auditRole`, `PostureAuditRolePolicy` on PostureRole: sts:AssumeRole on `arn:<partition>:iam::*:role/<name>`
 *   only, the members' read-only role (the forwarder's PostureAuditRole) used when AssumeRoot is refused.
 *   https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
 */
const buildPostureResources = (stage, auditRole, schedule = postureScheduleOf(undefined)) => {
  const name = `rootwatch-${stage}-posture-config`;
  const properties = {
    Name: name,
    EventPattern: CONFIG_COMPLIANCE_PATTERN,
    State: 'ENABLED',
    Targets: [
      { Id: 'posture', Arn: { 'Fn::GetAtt': [POSTURE_FUNCTION, 'Arn'] }, RetryPolicy: { ...RULE_RETRY_POLICY } },
    ],
  };
  const permission = (rule) => ({
    Type: 'AWS::Lambda::Permission',
    Properties: {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [POSTURE_FUNCTION, 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [rule, 'Arn'] },
    },
  });
  const resources = {
    // The schedule is a resource here, not the function's `events: schedule`, so that the guard (resources/guard.cjs,
    // which reads `resources:`) expects it, and reports it disabled or deleted like any other of rootwatch's rules.
    PostureScheduleRule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        Name: `rootwatch-${stage}-posture`,
        Description: 'Runs the rootwatch posture check (postureSchedule)',
        ScheduleExpression: schedule.rate,
        State: schedule.enabled ? 'ENABLED' : 'DISABLED',
        Targets: [{ Id: 'postureSchedule', Arn: { 'Fn::GetAtt': [POSTURE_FUNCTION, 'Arn'] } }],
      },
    },
    PostureScheduleRulePermission: permission('PostureScheduleRule'),
    PostureConfigRule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        ...properties,
        Description: 'AWS Config: root MFA or root key rule NON_COMPLIANT, to the posture check',
      },
    },
    HubPostureConfigRule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        ...properties,
        EventBusName: { Ref: HUB_EVENT_BUS },
        Description: 'AWS Config: root MFA or root key rule NON_COMPLIANT, to the posture check, on the hub bus',
      },
    },
    PostureConfigRulePermission: permission('PostureConfigRule'),
    HubPostureConfigRulePermission: permission('HubPostureConfigRule'),
  };
  if (auditRole) {
    resources.PostureAuditRolePolicy = {
      Type: 'AWS::IAM::Policy',
      Properties: {
        PolicyName: 'posture-audit-role',
        Roles: [{ Ref: POSTURE_ROLE }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'AssumePostureAuditRole',
              Effect: 'Allow',
              Action: 'sts:AssumeRole',
              Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:iam::*:role/${auditRole}` },
            },
          ],
        },
      },
    };
  }
  return { Resources: resources };
};

/**
 * The file variable source: `${file(./resources/posture.cjs):resources}` (the schedule, the Config rules, their
 * permissions and the audit role's policy, in serverless.yml's `resources:`); `:rate` and `:enabled` give the schedule
 * alone.
 */
const resolvePosture = async ({ resolveVariable }) => {
  const [schedule, stage, auditRole] = await Promise.all([
    resolveVariable('param:postureSchedule'),
    resolveVariable('sls:stage'),
    resolveVariable('param:postureAuditRole'),
  ]);
  const when = postureScheduleOf(schedule);
  return { ...when, resources: buildPostureResources(stage, postureAuditRoleOf(auditRole), when) };
};

module.exports = resolvePosture;
module.exports.postureScheduleOf = postureScheduleOf;
module.exports.buildPostureResources = buildPostureResources;
