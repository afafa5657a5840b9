import { describe, expect, it } from 'vitest';
import { hubBusArnStage, parseStage, requiredStage, splitParam } from '../../functions/commands/options.js';
import { UsageError } from '../../functions/errors.js';

describe('parseStage', () => {
  it('takes a stage name and names the source of a bad one', () => {
    expect(parseStage('prod-2')).toBe('prod-2');
    expect(() => parseStage('prod us')).toThrow(
      new UsageError('--stage "prod us" is not a stage name (letters, digits and -)'),
    );
    expect(() => parseStage('a'.repeat(41), 'the stage')).toThrow(/^the stage "a{41}" is not a stage name/);
  });
});

describe('requiredStage', () => {
  it('names the command and what the stage is when --stage is missing or empty', () => {
    expect(requiredStage('prod', 'forwarders', "the hub's stage")).toBe('prod');
    expect(() => requiredStage(undefined, 'forwarders', "the hub's stage")).toThrow(
      new UsageError("forwarders needs --stage (the hub's stage)"),
    );
    expect(() => requiredStage('', 'deploy', 'the stage')).toThrow(UsageError);
    expect(() => requiredStage('prod/x', 'deploy', 'the stage')).toThrow(/^--stage "prod\/x" is not a stage name/);
  });
});

describe('hubBusArnStage', () => {
  it("gives the stage a hub bus ARN names, and refuses any other bus's", () => {
    expect(hubBusArnStage('arn:aws:events:eu-west-1:111122223333:event-bus/rootwatch-ci-hub')).toBe('ci');
    expect(() => hubBusArnStage('arn:aws:events:eu-west-1:111122223333:event-bus/default')).toThrow(
      /^--hub-bus-arn "arn:aws:events:eu-west-1:111122223333:event-bus\/default" is not a rootwatch hub bus ARN/,
    );
  });
});

describe('splitParam', () => {
  it.each([
    ['trailBuckets=a,b', ['trailBuckets', 'a,b']],
    ['alertEmails=', ['alertEmails', '']],
    ['slackWebhookParameter=/a=b', ['slackWebhookParameter', '/a=b']],
  ])('splits %s at its first =', (param, expected) => {
    expect(splitParam(param)).toStrictEqual(expected);
  });

  it.each(['trailBuckets', '=value', ''])('refuses %j, naming it', (param) => {
    expect(() => splitParam(param)).toThrow(new UsageError(`--param takes NAME=VALUE (got "${param}")`));
  });
});
