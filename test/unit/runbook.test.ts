import { describe, expect, it } from 'vitest';
import type { Alert } from '../../functions/core/alert-document.js';
import { renderEmail } from '../../functions/core/render/email.js';
import { runbookLines } from '../../functions/core/render/runbook.js';
import { renderSlackMessage } from '../../functions/core/render/slack.js';
import { detections, HOSTILE, signInAlert } from '../helpers/render-alerts.js';
import { expectInert, expectWithinSlackLimits } from '../helpers/slack-checks.js';

describe('runbookLines', () => {
  it('fills in the fields a step names with their values, and leaves other code as code', () => {
    // Prepare
    const alert = signInAlert();
    // Act
    const lines = runbookLines(
      [
        '1. Ask the owners of account `account.id` about `eventTime`, from `source.ip` (`actor.mfa`).',
        '',
        '  2. Run `aws iam list-users` and read `outcome`.',
      ].join('\n'),
      alert,
    );
    // Assess
    expect(lines).toStrictEqual([
      [
        '1. Ask the owners of account ',
        { value: 'prod-payments (111122223333)' },
        ' about ',
        { value: '2022-11-10 16:24 UTC' },
        ', from ',
        { value: '203.0.113.11' },
        ' (',
        { value: 'no MFA' },
        ').',
      ],
      ['2. Run ', { code: 'aws iam list-users' }, ' and read ', { value: 'success' }, '.'],
    ]);
  });

  it('shows the record as compact JSON, cut, and the outcome with its error code', () => {
    // Prepare
    const base = signInAlert();
    const alert: Alert = {
      ...base,
      outcome: { result: 'failure', errorCode: 'AccessDenied' },
      record: { ...base.record, requestParameters: { bucketName: 'b'.repeat(1000) } },
    };
    // Act
    const [line = []] = runbookLines('Read `record.requestParameters` and `outcome`', alert);
    // Assess
    const json = (line[1] as { value: string }).value;
    expect(json.startsWith('{"bucketName":"bbb')).toBe(true);
    expect(json).toHaveLength(300);
    expect(json.endsWith('…')).toBe(true);
    expect(line[3]).toStrictEqual({ value: 'failure (AccessDenied)' });
  });

  it.each([
    'constructor',
    'account.constructor',
    'toString',
    '__proto__',
    'actor.taskPolicy',
    'record.noSuchField',
    'links',
    'source',
  ])('keeps the name of %s, which has no value to show', (path) => {
    expect(runbookLines(`see \`${path}\``, signInAlert())).toStrictEqual([['see ', { code: path }]]);
  });

  it('shows an event time that is not ISO as it is, and leaves an empty one named', () => {
    const base = signInAlert();
    expect(runbookLines('`eventTime`', { ...base, eventTime: 'yesterday' })).toStrictEqual([[{ value: 'yesterday' }]]);
    expect(runbookLines('`eventTime`', { ...base, eventTime: '' })).toStrictEqual([[{ code: 'eventTime' }]]);
  });
});

describe("every detection's runbook with hostile values filled in", () => {
  /** An alert of `id` whose every field a runbook names holds `value`. */
  const hostile = (id: string, value: string): Alert => {
    const base = signInAlert();
    return {
      ...base,
      detections: [id],
      eventName: value,
      region: value,
      account: { id: '111122223333', name: value },
      actor: { ...base.actor, arn: value, credential: 'console' },
      source: { ip: value, country: value, client: value },
      outcome: { result: 'failure', errorCode: value },
      record: { ...base.record, requestParameters: { bucketName: value }, responseElements: { accessKey: value } },
    };
  };

  it.each(HOSTILE)('stays inert in Slack and on its lines in the e-mail: %s', (_, value) => {
    for (const detection of detections) {
      // Act
      const alert = hostile(detection.id, value);
      const message = renderSlackMessage(alert, detections);
      const { body } = renderEmail(alert, detections);
      // Assess
      expectInert(message);
      expectWithinSlackLimits(message);
      const steps = message.blocks.find(
        (block) => block.type === 'section' && 'text' in block && block.text?.text.startsWith('*What to do*'),
      );
      expect(steps, detection.id).toBeDefined();
      const lines = body.split('\n');
      expect(lines.some((line) => /^(Subject|line2|rm -rf)/.test(line))).toBe(false);
      expect(body).not.toMatch(/[\u202a-\u202e\u2066-\u2069\r]/);
    }
  });
});

describe('a field a step compares', () => {
  it('keeps its name and shows its value beside it, so the condition still reads as one', () => {
    // Prepare: a failed sign-in whose password was wrong.
    const base = signInAlert();
    const alert: Alert = { ...base, outcome: { result: 'failure', failedAt: 'password' } };
    // Act
    const [line] = runbookLines('1. If `outcome.failedAt` is "mfa": rotate; ask about `eventName`.', alert);
    // Assess
    expect(line).toStrictEqual([
      '1. If ',
      { code: 'outcome.failedAt' },
      ' (here ',
      { value: 'password' },
      ')',
      ' is "mfa": rotate; ask about ',
      { value: 'ConsoleLogin' },
      '.',
    ]);
  });

  it("reads so in every catalog runbook: no filled-in value is followed by 'is'", () => {
    for (const detection of detections) {
      const lines = runbookLines(detection.runbook, signInAlert());
      for (const line of lines) {
        line.forEach((segment, index) => {
          const next = line[index + 1];
          if (typeof segment === 'object' && 'value' in segment && typeof next === 'string') {
            expect(next, `${detection.id}: ${JSON.stringify(line)}`).not.toMatch(/^\s+(is|are|was|equals)\b/);
          }
        });
      }
    }
  });
});
