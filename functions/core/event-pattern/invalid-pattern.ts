/** Rejecting a pattern: AWS's reason, word for word, then where in the pattern the problem is. */
import { InvalidPatternError } from '../../errors.js';
import type { JsonPath } from './types.js';

const AWS_PREFIX = 'Event pattern is not valid. Reason: ';
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `$.detail["x-limit"][0].numeric`: the JSONPath of a place in the pattern. */
const formatPath = (at: JsonPath): string =>
  `$${at
    .map((step) => {
      if (typeof step === 'number') return `[${step}]`;
      return IDENTIFIER.test(step) ? `.${step}` : `[${JSON.stringify(step)}]`;
    })
    .join('')}`;

/** Throws AWS's reason for rejecting the pattern, followed by where in the pattern the problem is. */
const fail = (reason: string, at: JsonPath): never => {
  throw new InvalidPatternError(`${AWS_PREFIX}${reason} (at ${formatPath(at)})`);
};

export { fail };
