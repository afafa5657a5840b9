import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../functions/errors.js';
import { readInputBatches } from '../../functions/io/input/read-input.js';

describe('InputError', () => {
  it('is made without a stack, Error.stackTraceLimit left as it was', () => {
    const limit = Error.stackTraceLimit;
    const cause = new Error('EACCES');
    const error = new InputError('trail.json', 'line 3', 'not valid JSON', { cause });
    expect(error.stack).toBe('InputError: trail.json (line 3): not valid JSON');
    expect(error.cause).toBe(cause);
    expect(Error.stackTraceLimit).toBe(limit);
    expect(new Error('a bug').stack).toContain('\n    at ');
  });

  it('comes without a stack for each bad line of a file, JSON.parse messages kept', async () => {
    const limit = Error.stackTraceLimit;
    const errors: InputError[] = [];
    for await (const batch of readInputBatches(['-'], { stdin: Readable.from(['{"eventVersion":"1"}\nx\n[1,\n']) })) {
      for (const item of batch) if (item.kind === 'error') errors.push(item.error);
    }
    expect(errors.map((error) => error.message)).toEqual([
      '<stdin> (line 1): not a CloudTrail record or EventBridge event: missing eventName',
      `<stdin> (line 2): not valid JSON: Unexpected token 'x', "x" is not valid JSON`,
      '<stdin> (line 3): not valid JSON: Unexpected end of JSON input',
    ]);
    for (const error of errors) expect(error.stack).not.toContain('\n    at ');
    expect(Error.stackTraceLimit).toBe(limit);
  });
});
