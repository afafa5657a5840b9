import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { parseSlackRoutes, type RoutedMessage, routeParametersOf } from '../../functions/core/slack-routes.js';
import { ConfigError } from '../../functions/errors.js';
import { loadConfig } from '../../functions/io/config.js';
import { NotifierConfigSchema } from '../../functions/io/notifier-config.js';

/** A webhook URL pasted where a parameter name belongs: it must never be repeated. */
const SECRET_URL = 'https://hooks.slack.com/services/T0001/B0001/s3cr3tW3bh00kT0k3n';

describe('parseSlackRoutes', () => {
  it('reads severities, "and above", kinds, detections and * into routes, in order', () => {
    // Act
    const { routes, problems } = parseSlackRoutes(
      ' critical=/rootwatch/prod/slack-paging , medium+ & kind:alert|drift=/rootwatch/prod/slack-review,' +
        'detection:root-access-key-created|mfa-device-deactivated=/rootwatch/prod/slack-keys,*=/rootwatch/prod/mirror,,',
    );

    // Assess
    expect(problems).toStrictEqual([]);
    expect(routes).toStrictEqual([
      {
        selector: 'critical',
        parameter: '/rootwatch/prod/slack-paging',
        severity: { severity: 'critical', andAbove: false },
      },
      {
        selector: 'medium+ & kind:alert|drift',
        parameter: '/rootwatch/prod/slack-review',
        severity: { severity: 'medium', andAbove: true },
        kinds: ['alert', 'drift'],
      },
      {
        selector: 'detection:root-access-key-created|mfa-device-deactivated',
        parameter: '/rootwatch/prod/slack-keys',
        detections: ['root-access-key-created', 'mfa-device-deactivated'],
      },
      { selector: '*', parameter: '/rootwatch/prod/mirror' },
    ]);
  });

  it('reads an empty or blank value as no routes', () => {
    // Assess
    expect(parseSlackRoutes('')).toStrictEqual({ routes: [], problems: [] });
    expect(parseSlackRoutes(' , ,')).toStrictEqual({ routes: [], problems: [] });
  });

  it.each([
    ['urgent=/p/x', 'entry 1 (urgent=/p/x): "urgent" is not a severity'],
    ['high++=/p/x', 'entry 1 (high++=/p/x): "high++" is not a severity'],
    [
      'kind:heartbeat=/p/x',
      'entry 1 (kind:heartbeat=/p/x): kind:heartbeat: heartbeats prove the path and are never posted',
    ],
    ['kind:alerts=/p/x', 'entry 1 (kind:alerts=/p/x): "alerts" is not a kind (alert, digest, drift)'],
    ['detection:Root API=/p/x', 'entry 1 (detection:Root API=/p/x): "Root API" is not a detection id'],
    ['high&critical=/p/x', 'entry 1 (high&critical=/p/x): two severity conditions: give one'],
    ['kind:alert&kind:digest=/p/x', 'two kinds conditions: give one, values joined by |'],
    ['*&high=/p/x', '"*" stands alone'],
    ['high&=/p/x', 'an empty condition'],
    ['=/p/x', 'entry 1 (…=/p/x): the selector is not a severity'],
    ['high=p/x', 'entry 1 (high=…): expected the name of the SSM SecureString'],
    ['high', 'entry 1 (…): expected SELECTOR=PARAMETER'],
  ])('rejects %s, naming the entry', (text, message) => {
    // Act
    const { routes, problems } = parseSlackRoutes(text);

    // Assess
    expect(routes).toStrictEqual([]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(message);
  });

  it('names each bad entry by its position and keeps the good ones', () => {
    // Act
    const { routes, problems } = parseSlackRoutes('critical=/p/a, urgent=/p/b, high=/p/c, low=p');

    // Assess
    expect(routes.map((route) => route.parameter)).toStrictEqual(['/p/a', '/p/c']);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^entry 2 \(urgent=\/p\/b\)/);
    expect(problems[1]).toMatch(/^entry 4 \(low=…\)/);
  });

  it.each([[`critical=${SECRET_URL}`], [SECRET_URL], [`${SECRET_URL}=/p/x`], [`high=/p/x?token=s3cr3tW3bh00kT0k3n`]])(
    'never repeats a webhook URL or other non-name given in %s',
    (text) => {
      // Act
      const { problems } = parseSlackRoutes(text);

      // Assess
      expect(problems).toHaveLength(1);
      expect(problems.join()).not.toContain('s3cr3tW3bh00kT0k3n');
      expect(problems.join()).not.toContain('hooks.slack.com');
    },
  );

  it('takes at most 10 entries', () => {
    // Act
    const { problems } = parseSlackRoutes(Array.from({ length: 11 }, (_, i) => `high=/p/${i}`).join(','));

    // Assess
    expect(problems).toStrictEqual(['11 entries: at most 10 (each adds a post per matching message)']);
  });
});

describe('routeParametersOf', () => {
  const { routes } = parseSlackRoutes(
    [
      'critical=/p/paging',
      'medium+&kind:alert|drift=/p/review',
      'kind:digest=/p/digests',
      'detection:root-access-key-created=/p/keys',
      'high&detection:root-api-call|root-console-sign-in=/p/review',
    ].join(','),
  );
  const alert = (severity: RoutedMessage['severity'], detections = ['root-api-call']): RoutedMessage => ({
    kind: 'alert',
    severity,
    detections,
  });

  it.each<[string, RoutedMessage, string[]]>([
    ['an info alert', alert('info'), []],
    ['a low alert', alert('low'), []],
    ['a medium alert', alert('medium'), ['/p/review']],
    ['a high alert (two entries, one channel)', alert('high'), ['/p/review']],
    ['a critical alert', alert('critical'), ['/p/paging', '/p/review']],
    [
      'a critical root access key alert',
      alert('critical', ['root-access-key-created', 'root-api-call']),
      ['/p/paging', '/p/review', '/p/keys'],
    ],
    ['a medium digest', { kind: 'digest', severity: 'medium', detections: ['root-api-call'] }, ['/p/digests']],
    [
      'a critical digest',
      { kind: 'digest', severity: 'critical', detections: ['root-api-call'] },
      ['/p/paging', '/p/digests'],
    ],
    ['a high drift', { kind: 'drift', severity: 'high', detections: ['alerter-tampering'] }, ['/p/review']],
  ])('sends %s to %j', (_name, message, expected) => {
    // Assess
    expect(routeParametersOf(routes, message)).toStrictEqual(expected);
  });

  it('sends nothing anywhere without routes', () => {
    // Assess
    expect(routeParametersOf([], alert('critical'))).toStrictEqual([]);
  });
});

describe('NotifierConfigSchema SLACK_ROUTES', () => {
  const env = {
    SLACK_WEBHOOK_PARAMETER: '/rootwatch/prod/slack-webhook-url',
    SLACK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-prod-slack',
    SLACK_DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/rootwatch-prod-slack-dlq',
    STATE_TABLE: 'rootwatch-prod-state',
  };

  it('defaults to no routes, unset or empty', () => {
    // Assess
    expect(loadConfig(NotifierConfigSchema, env).SLACK_ROUTES).toStrictEqual([]);
    expect(loadConfig(NotifierConfigSchema, { ...env, SLACK_ROUTES: '' }).SLACK_ROUTES).toStrictEqual([]);
  });

  it('fails the cold start listing every bad entry under SLACK_ROUTES, never quoting a URL', () => {
    // Act
    let error: unknown;
    try {
      loadConfig(NotifierConfigSchema, { ...env, SLACK_ROUTES: `urgent=/p/a, critical=${SECRET_URL}` });
    } catch (caught) {
      error = caught;
    }

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('SLACK_ROUTES');
    expect(message).toContain('entry 1 (urgent=/p/a)');
    expect(message).toContain('entry 2 (critical=…)');
    expect(message).not.toContain('s3cr3tW3bh00kT0k3n');
  });
});

type ParametersSource = (context: {
  resolveVariable: (address: string) => Promise<unknown>;
}) => Promise<{ Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> }>;
const resolveParameters = createRequire(import.meta.url)('../../resources/parameters.cjs') as ParametersSource;

describe('resources/parameters.cjs slackRoutes', () => {
  const DEFAULTS: Record<string, string> = {
    alertEmails: '',
    emailMinSeverity: 'info',
    minSeverity: 'info',
    accountLookup: 'organizations',
    slackWebhookParameter: '/rootwatch/ci/slack-webhook-url',
  };
  const resolve = (params: Record<string, string>) =>
    resolveParameters({
      resolveVariable: async (address) => ({ ...DEFAULTS, ...params })[address.replace(/^param:/, '')],
    });
  const arn = (name: string) => ({
    'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${name}`,
  });

  it('grants the notifier each route parameter once, and not the default one again', async () => {
    // Act
    const { Resources } = await resolve({
      slackRoutes:
        'critical=/rootwatch/ci/slack-paging, high+=/rootwatch/ci/slack-review, kind:digest=/rootwatch/ci/slack-review, low=/rootwatch/ci/slack-webhook-url',
    });

    // Assess
    const paths = [arn('/rootwatch/ci/slack-paging'), arn('/rootwatch/ci/slack-review')];
    expect(Resources).toStrictEqual({
      NotifySlackRoutesPolicy: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          PolicyName: 'notify-slack-routes',
          Roles: [{ Ref: 'NotifySlackRole' }],
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              { Sid: 'ReadRouteWebhookUrls', Effect: 'Allow', Action: 'ssm:GetParameter', Resource: paths },
              {
                Sid: 'DecryptRouteWebhookUrls',
                Effect: 'Allow',
                Action: 'kms:Decrypt',
                Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:kms:\${AWS::Region}:\${AWS::AccountId}:key/*` },
                Condition: {
                  StringEquals: {
                    'kms:ViaService': { 'Fn::Sub': `ssm.\${AWS::Region}.amazonaws.com` },
                    'kms:EncryptionContext:PARAMETER_ARN': paths,
                  },
                },
              },
            ],
          },
        },
      },
    });
  });

  it('adds no policy without routes, or with routes to the default channel only', async () => {
    // Assess
    expect(await resolve({})).toStrictEqual({ Resources: {} });
    expect(await resolve({ slackRoutes: 'critical=/rootwatch/ci/slack-webhook-url' })).toStrictEqual({ Resources: {} });
  });

  it('fails packaging on a bad entry, naming the parameter and the entry, never the URL', async () => {
    // Act
    const error = await resolve({ slackRoutes: `high=/p/ok, critical=${SECRET_URL}` }).then(
      () => undefined,
      (caught: unknown) => caught as Error,
    );

    // Assess
    expect(error?.name).toBe('ParameterError');
    expect(error?.message).toContain('Invalid parameter "slackRoutes": entry 2 (critical=…)');
    expect(error?.message).not.toContain('s3cr3tW3bh00kT0k3n');
    expect(error?.stack).not.toContain('s3cr3tW3bh00kT0k3n');
  });

  it('fails packaging on a detection the catalog does not have', async () => {
    // Act
    const resolving = resolve({ slackRoutes: 'detection:root-acess-key-created=/rootwatch/ci/slack-keys' });

    // Assess
    await expect(resolving).rejects.toThrow(
      'Invalid parameter "slackRoutes": detection:root-acess-key-created=/rootwatch/ci/slack-keys: no detection "root-acess-key-created" in events/',
    );
  });
});
