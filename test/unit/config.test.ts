import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../functions/errors.js';
import { AlertConfigSchema, loadConfig, NotifierConfigSchema } from '../../functions/io/config.js';

const alertEnv = {
  ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:rootwatch-prod-alerts',
  SLACK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-prod-slack',
  STATE_TABLE: 'rootwatch-prod-state',
};

const errorOf = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
};

describe('loadConfig', () => {
  it('reads a valid environment with its defaults', () => {
    expect(loadConfig(AlertConfigSchema, alertEnv)).toEqual({
      ...alertEnv,
      MIN_SEVERITY: 'info',
      RUNBOOK_BASE_URL: 'https://github.com/rootwatch/rootwatch/blob/main/events/',
      ACCOUNT_LOOKUP: 'organizations',
    });
  });

  it('parses the account names map', () => {
    const config = loadConfig(AlertConfigSchema, { ...alertEnv, ACCOUNT_NAMES: '{"210987654321":"prod-payments"}' });
    expect(config.ACCOUNT_NAMES).toEqual({ '210987654321': 'prod-payments' });
  });

  it('treats an empty variable (a blank parameter) as unset', () => {
    expect(loadConfig(AlertConfigSchema, { ...alertEnv, ACCOUNT_NAMES: '', MIN_SEVERITY: '' }).MIN_SEVERITY).toBe(
      'info',
    );
  });

  it('lists every problem at once, naming each variable', () => {
    const error = errorOf(() =>
      loadConfig(AlertConfigSchema, {
        ALERT_TOPIC_ARN: 'not-an-arn',
        STATE_TABLE: 'x',
        MIN_SEVERITY: 'urgent',
        ACCOUNT_NAMES: '{"12":"short"}',
        RUNBOOK_BASE_URL: 'http://insecure.example/',
      }),
    );
    expect(error).toBeInstanceOf(ConfigError);
    for (const name of [
      'ALERT_TOPIC_ARN',
      'SLACK_QUEUE_URL',
      'STATE_TABLE',
      'MIN_SEVERITY',
      'ACCOUNT_NAMES',
      'RUNBOOK_BASE_URL',
    ]) {
      expect(error.message).toContain(name);
    }
  });

  it('says what is wrong with account names that are not JSON', () => {
    const { message } = errorOf(() => loadConfig(AlertConfigSchema, { ...alertEnv, ACCOUNT_NAMES: '{oops' }));
    expect(message).toContain('must be a JSON object of account id to name\n  → at ACCOUNT_NAMES');
  });

  it('checks the notifier environment, with Slack pacing defaults', () => {
    const config = loadConfig(NotifierConfigSchema, {
      SLACK_WEBHOOK_PARAMETER: '/rootwatch/prod/slack-webhook-url',
      SLACK_DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-prod-slack-dlq',
      STATE_TABLE: 'rootwatch-prod-state',
    });
    expect(config).toMatchObject({ SLACK_MIN_INTERVAL_MS: 1100, SLACK_MAX_RECEIVES: 8 });
    expect(() =>
      loadConfig(NotifierConfigSchema, { SLACK_WEBHOOK_PARAMETER: 'https://hooks.slack.com/services/T/B/secret' }),
    ).toThrow(/SLACK_WEBHOOK_PARAMETER/);
  });

  it('never repeats a value in its message, so a secret pasted in the wrong place is not logged', () => {
    const secret = 'https://hooks.slack.com/services/T000/B000/verysecretvalue';
    const error = errorOf(() => loadConfig(NotifierConfigSchema, { SLACK_WEBHOOK_PARAMETER: secret }));
    expect(error.message).not.toContain('verysecretvalue');
  });
});
