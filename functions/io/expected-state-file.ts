import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { type ExpectedState, ExpectedStateSchema } from '../core/guard/expected-state.js';
import * as z from '../core/zod.js';
import { ExpectedStateError, toError } from '../errors.js';

/**
 * Reads the guard's expected-state document: `file` relative to the Lambda task root (as packaged), or as given when
 * absolute or outside Lambda.
 *
 * @throws ExpectedStateError naming the file when it cannot be read, is not JSON, or is not an expected-state
 *   document (each problem listed).
 * @example
 * const document = readExpectedState('.rootwatch/expected-state.json', process.env.LAMBDA_TASK_ROOT);
 * document.stage; // 'prod'
 */
const readExpectedState = (file: string, taskRoot?: string): ExpectedState => {
  const path = taskRoot && !isAbsolute(file) ? join(taskRoot, file) : file;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ExpectedStateError(`${path}: cannot read the expected state: ${toError(error).message}`, {
      cause: error,
    });
  }
  const result = ExpectedStateSchema.safeParse(raw);
  if (!result.success) {
    throw new ExpectedStateError(`${path}: not an expected-state document:\n${z.prettifyError(result.error)}`, {
      cause: result.error,
    });
  }
  return result.data;
};

export { readExpectedState };
