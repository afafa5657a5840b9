'use strict';

/**
 * The posture function's schedule, from the parameter postureSchedule: serverless.yml names it as
 * `rate: ${file(./resources/posture.cjs):rate}` and `enabled: ${file(./resources/posture.cjs):enabled}` in the
 * function's schedule event. An expression (`rate(1 day)`, the default; `cron(0 6 * * ? *)`) is the rule's, enabled;
 * `off` keeps the rule, disabled, on a daily expression, so that the function is still there to run by hand and the
 * template keeps the same resources either way.
 *
 * The value is checked by resources/parameters.cjs with the same field (PostureParametersSchema in
 * functions/io/config.ts) before this runs; it is parsed again here, so this source never passes on a bad value.
 * CommonJS (`.cjs`) because package.json says "type": "module".
 */

const { register } = require('tsx/cjs/api');

const typescript = register({ namespace: 'rootwatch-resources' });
const { PostureParametersSchema, safeParseConfig } = typescript.require('../functions/io/config.ts', __filename);
typescript.unregister();

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

/** The file variable source. */
const resolvePostureSchedule = async ({ resolveVariable }) =>
  postureScheduleOf(await resolveVariable('param:postureSchedule'));

module.exports = resolvePostureSchedule;
module.exports.postureScheduleOf = postureScheduleOf;
