'use strict';

/**
 * The guard's expected state: what rootwatch deploys, written at packaging into the guard's package, so that the
 * guard compares the deployment with the very resources the stack is made of rather than with a restatement.
 *
 * serverless.yml names it in the guard function (`${file(./resources/guard.cjs):file}`, in its package patterns and
 * its environment). The Serverless Framework (osls and v4) require()s the file and calls the exported function with
 * `{ resolveVariable, resolveConfigurationProperty }`; CommonJS (`.cjs`) because package.json says "type": "module".
 *
 * It reads, through the framework, everything `resources:` resolves to (the rules event-rules.cjs generates from the
 * catalog, the e-mail subscriptions of parameters.cjs, the topic, queues, key and policies of alerting.yml, the
 * heartbeat's rule, …) and serverless.yml's functions but the guard itself, and keeps what the guard checks
 * (functions/core/guard/expected-state.ts, loaded through tsx): rules with their names, states, patterns and targets,
 * on the default bus and on the hub bus; the hub bus with its resource policy;
 * subscriptions with their filter policies; functions with their role, reserved concurrency and SQS event sources;
 * queue, topic and key policies. References stay as the template has them; the guard resolves them in its account
 * and region, with the KMS key's ARN from its environment (ALERTER_KEY_ARN). A reference it could not resolve fails
 * packaging here, with an ExpectedStateError naming it.
 */

const fs = require('node:fs');
const path = require('node:path');
const { parse: parseYaml } = require('yaml');
const { register } = require('tsx/cjs/api');

// One tsx namespace for every generator (event-rules.cjs, parameters.cjs), so they share one copy of each module.
const typescript = register({ namespace: 'rootwatch-resources' });
const { buildExpectedState, checkExpectedState } = typescript.require(
  '../functions/core/guard/expected-state.ts',
  __filename,
);
const { ExpectedStateError } = typescript.require('../functions/errors.ts', __filename);
typescript.unregister();

const SERVICE_DIR = path.resolve(__dirname, '..');
/** Where the document is written, relative to the service directory and so to the guard's task root. */
const EXPECTED_STATE_FILE = '.rootwatch/expected-state.json';
/** serverless.yml's key of the guard, which does not check itself: its alarms say when it does not run. */
const GUARD_FUNCTION = 'guard';
/** What only AWS knows, by `LogicalId.Attribute`, and the guard's variable holding it (set in serverless.yml). */
const DEPLOYED_VALUES = { 'AlertTopicKey.Arn': 'ALERTER_KEY_ARN' };

/**
 * The keys of serverless.yml's `functions`, read from the file: asking the framework for `functions` as a whole from
 * here would wait on the guard's own configuration, which waits on this file. Their configurations are then asked
 * for one by one.
 */
const functionKeys = () => {
  // logLevel error: serverless.yml's CloudFormation tags (!Ref, …) are not this parser's to resolve, only to skip.
  const config = parseYaml(fs.readFileSync(path.join(SERVICE_DIR, 'serverless.yml'), 'utf8'), { logLevel: 'error' });
  return Object.keys(config?.functions ?? {});
};

/**
 * The expected state of `stage` from the resolved `resources:` entries (each `{ Resources, Outputs }`) and function
 * configurations; throws an ExpectedStateError when the guard could not resolve it.
 */
const expectedStateOf = (stage, resourceEntries, functions) => {
  const resources = Object.assign({}, ...[resourceEntries].flat().map((entry) => entry?.Resources ?? {}));
  const document = buildExpectedState({ stage, resources, functions, deployedValues: DEPLOYED_VALUES });
  checkExpectedState(document);
  return document;
};

/** The file variable source: writes the document, and gives its path (`${file(./resources/guard.cjs):file}`). */
const resolveExpectedState = async ({ resolveVariable, resolveConfigurationProperty }) => {
  const stage = await resolveVariable('sls:stage');
  const resourceEntries = await resolveConfigurationProperty(['resources']);
  const functions = {};
  for (const key of functionKeys()) {
    if (key !== GUARD_FUNCTION) functions[key] = await resolveConfigurationProperty(['functions', key]);
  }
  let document;
  try {
    document = expectedStateOf(stage, resourceEntries, functions);
  } catch (error) {
    // The framework prints the stack of a failing variable source; for an unresolvable reference the message says it.
    if (error instanceof ExpectedStateError) error.stack = `${error.name}: ${error.message}`;
    throw error;
  }
  const file = path.join(SERVICE_DIR, EXPECTED_STATE_FILE);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
  return { file: EXPECTED_STATE_FILE };
};

module.exports = resolveExpectedState;
module.exports.expectedStateOf = expectedStateOf;
module.exports.EXPECTED_STATE_FILE = EXPECTED_STATE_FILE;
