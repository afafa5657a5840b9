'use strict';

/**
 * Checks serverless.yml's parameters at package time and generates the e-mail subscriptions of the alert topic.
 *
 * serverless.yml includes it as `resources: - ${file(./resources/parameters.cjs)}`. The Serverless Framework
 * (osls and v4) require()s the file and calls the exported function with `{ resolveVariable, ... }`; it is
 * CommonJS (`.cjs`) because package.json says "type": "module".
 *
 * Every parameter is checked here, with a message naming it, because a bad value would otherwise deploy and
 * only fail at run time: the alert function validates its environment on a cold start (functions/io/config.ts)
 * and a bad one would send every event to the DLQ. The rules mirror that file's.
 *
 * Emits one `AlertEmailSubscription<hash>` (AWS::SNS::Subscription, protocol email) per address of
 * `alertEmails`; the logical id derives from the address, so adding or removing one leaves the others in place.
 * Above `emailMinSeverity: info`, each has a filter policy on the `severity` message attribute that still lets
 * through messages without one (the CloudWatch alarms'):
 *   {"$or":[{"severity":["high","critical"]},{"severity":[{"exists":false}]}]}
 * https://docs.aws.amazon.com/sns/latest/dg/and-or-logic.html, .../attribute-key-matching.html
 */

const crypto = require('node:crypto');

/** Least to most severe, as functions/core/severity.ts. */
const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'];
const ACCOUNT_LOOKUPS = ['organizations', 'none'];
const ALERT_TOPIC = 'AlertTopic';
/** Rough on purpose: one @, no spaces or commas, a dot in the domain. SNS confirms each address anyway. */
const EMAIL = /^[^\s@,;<>"]+@[^\s@,;<>"]+\.[^\s@,;<>".]+$/;
/** SSM parameter names: https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-su-create.html */
const SSM_PARAMETER_NAME = /^\/[a-zA-Z0-9_.\-/]+$/;
const ACCOUNT_ID = /^\d{12}$/;

class ParameterError extends Error {
  constructor(name, message) {
    super(
      `Invalid parameter "${name}": ${message}. Set it under params: in serverless.yml or with --param="${name}=…".`,
    );
    this.name = 'ParameterError';
    // The framework prints the stack of a failing variable source; for a configuration error, it is noise.
    this.stack = `${this.name}: ${this.message}`;
  }
}

const isPlainObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);

const text = (name, value) => {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'string') throw new ParameterError(name, `expected a string, got ${JSON.stringify(value)}`);
  return value.trim();
};

const severity = (name, value) => {
  const level = text(name, value);
  if (!SEVERITIES.includes(level)) {
    throw new ParameterError(name, `"${level}" is not one of ${SEVERITIES.join(', ')}`);
  }
  return level;
};

/** `a@example.com, B@example.com,` -> ['a@example.com', 'B@example.com'], without duplicates (any case). */
const parseEmails = (value) => {
  const emails = [];
  const seen = new Set();
  for (const item of text('alertEmails', value).split(',')) {
    const email = item.trim();
    if (email === '') continue;
    if (!EMAIL.test(email)) {
      throw new ParameterError(
        'alertEmails',
        `"${email}" is not an e-mail address (expected comma-separated addresses like security@example.com)`,
      );
    }
    if (seen.has(email.toLowerCase())) continue;
    seen.add(email.toLowerCase());
    emails.push(email);
  }
  return emails;
};

const checkRunbookBaseUrl = (value) => {
  const name = 'runbookBaseUrl';
  const raw = text(name, value);
  let url;
  try {
    url = new URL(raw);
  } catch {
    throw new ParameterError(name, `"${raw}" is not a URL`);
  }
  if (url.protocol !== 'https:') throw new ParameterError(name, `"${raw}" must be an https URL`);
  if (!raw.endsWith('/')) throw new ParameterError(name, `"${raw}" must end with "/" (the detection id is appended)`);
};

const checkAccountNames = (value) => {
  const name = 'accountNames';
  const raw = text(name, value);
  if (raw === '') return;
  let names;
  try {
    names = JSON.parse(raw);
  } catch {
    throw new ParameterError(name, `expected a JSON object of account id to name, like '{"210987654321":"prod"}'`);
  }
  if (!isPlainObject(names)) throw new ParameterError(name, 'expected a JSON object of account id to name');
  for (const [id, accountName] of Object.entries(names)) {
    if (!ACCOUNT_ID.test(id)) throw new ParameterError(name, `key "${id}" is not a 12-digit account id`);
    if (typeof accountName !== 'string' || accountName === '') {
      throw new ParameterError(name, `the name of ${id} must be a non-empty string`);
    }
  }
};

const checkSlackWebhookParameter = (value) => {
  const name = 'slackWebhookParameter';
  if (!SSM_PARAMETER_NAME.test(text(name, value))) {
    // The value is not repeated: it may be the webhook URL itself, a secret, on its way into a CI log.
    throw new ParameterError(
      name,
      'expected the name of the SSM SecureString holding the Slack webhook URL (starting with "/", then letters, digits, _ . - /), not the URL',
    );
  }
};

/** The e-mail subscriptions' `Resources`, for the filter `emailMinSeverity`. */
const buildEmailSubscriptions = (emails, minSeverity) => {
  const wanted = SEVERITIES.slice(SEVERITIES.indexOf(minSeverity));
  const filter =
    minSeverity === SEVERITIES[0]
      ? {}
      : {
          FilterPolicyScope: 'MessageAttributes',
          FilterPolicy: { $or: [{ severity: wanted }, { severity: [{ exists: false }] }] },
        };
  const resources = {};
  for (const email of emails) {
    const hash = crypto.createHash('sha256').update(email.toLowerCase()).digest('hex').slice(0, 10);
    resources[`AlertEmailSubscription${hash}`] = {
      Type: 'AWS::SNS::Subscription',
      Properties: { TopicArn: { Ref: ALERT_TOPIC }, Protocol: 'email', Endpoint: email, ...filter },
    };
  }
  return resources;
};

/** The file variable source: `${file(./resources/parameters.cjs)}`. */
const resolveParameters = async ({ resolveVariable }) => {
  const param = (name) => resolveVariable(`param:${name}`);
  const [alertEmails, emailMinSeverity, minSeverity, runbookBaseUrl, accountNames, accountLookup, webhookParameter] =
    await Promise.all(
      [
        'alertEmails',
        'emailMinSeverity',
        'minSeverity',
        'runbookBaseUrl',
        'accountNames',
        'accountLookup',
        'slackWebhookParameter',
      ].map(param),
    );
  severity('minSeverity', minSeverity);
  checkRunbookBaseUrl(runbookBaseUrl);
  checkAccountNames(accountNames);
  if (!ACCOUNT_LOOKUPS.includes(text('accountLookup', accountLookup))) {
    throw new ParameterError('accountLookup', `"${accountLookup}" is not one of ${ACCOUNT_LOOKUPS.join(', ')}`);
  }
  checkSlackWebhookParameter(webhookParameter);
  const emails = parseEmails(alertEmails);
  return { Resources: buildEmailSubscriptions(emails, severity('emailMinSeverity', emailMinSeverity)) };
};

module.exports = resolveParameters;
module.exports.buildEmailSubscriptions = buildEmailSubscriptions;
module.exports.parseEmails = parseEmails;
