import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { AlertSchema } from '../../functions/core/alert-document.js';
import { buildDriftAlert, DRIFT_DETECTION, driftEventId, driftsOf } from '../../functions/core/guard/alert.js';
import { compareDeployment, type Drift } from '../../functions/core/guard/compare.js';
import { renderEmail } from '../../functions/core/render/email.js';
import { renderSlackMessage } from '../../functions/core/render/slack.js';
import { renderSnsMessage } from '../../functions/core/render/sns.js';
import { loadDetections } from '../../functions/io/detections.js';
import { REPO_ROOT } from '../helpers/corpus.js';
import { deployedAsExpected, sampleExpectation } from '../helpers/guard.js';

const detections = loadDetections();
const detection = detections.find((candidate) => candidate.id === DRIFT_DETECTION);
if (!detection) throw new Error(`the catalog has no ${DRIFT_DETECTION}`);
const validate = new Ajv2020({ strict: true, allErrors: true }).compile(
  JSON.parse(readFileSync(join(REPO_ROOT, 'schema/alert.schema.json'), 'utf8')) as object,
);
const NOW = Date.parse('2026-03-01T12:05:00Z');
const OPTIONS = {
  stage: 'prod',
  accountId: '111122223333',
  accountName: 'security',
  region: 'us-east-1',
  partition: 'aws',
  detection,
  runbookBaseUrl: 'https://runbooks.example/',
  nowMs: NOW,
};

/** The drifts of the sample stage with its tampering rule disabled, its key pending deletion, its mapping gone. */
const sampleDrifts = (): Drift[] => {
  const expectation = sampleExpectation();
  const deployed = structuredClone(deployedAsExpected(expectation));
  const rule = deployed.rules['rootwatch-test-root-api-call'];
  if (rule?.status === 'found') rule.value.state = 'DISABLED';
  const key = deployed.keys[expectation.keys[0]?.arn ?? ''];
  if (key?.status === 'found')
    Object.assign(key.value, { keyState: 'PendingDeletion', deletionDate: '2026-03-08T00:00:00.000Z' });
  const notifier = deployed.functions['rootwatch-test-notify-slack'];
  if (notifier?.status === 'found') notifier.value.eventSources = { status: 'found', value: [] };
  return compareDeployment(expectation, deployed);
};

describe('buildDriftAlert', () => {
  it('is a rootwatch alert document that the schema SIEM subscribers validate with accepts', () => {
    // Act
    const alert = buildDriftAlert(sampleDrifts(), OPTIONS);

    // Assess
    expect(AlertSchema.safeParse(alert).success).toBe(true);
    expect(validate(JSON.parse(JSON.stringify(alert))), JSON.stringify(validate.errors)).toBe(true);
    expect(alert).toMatchObject({
      schema: 'rootwatch.alert/v1',
      detections: ['alerter-tampering'],
      severity: 'critical',
      title:
        'rootwatch prod drifted: rule rootwatch-test-root-api-call is DISABLED, deployed ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS (+2 more) — security (111122223333)',
      eventTime: '2026-03-01T12:05:00.000Z',
      eventName: 'DriftDetected',
      eventSource: 'rootwatch.guard',
      account: { id: '111122223333', name: 'security' },
      tags: detection.tags,
      links: {
        cloudtrail:
          'https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events?ResourceName=rootwatch-test-root-api-call',
        runbook: 'https://runbooks.example/alerter-tampering.yml',
      },
    });
    expect(driftsOf(alert)).toStrictEqual(sampleDrifts());
  });

  it('leaves out the values of drifts too big for one message, keeping every drift', () => {
    // Prepare
    const pattern = { detail: { eventName: Array.from({ length: 400 }, (_, index) => `Event${index}`) } };
    const drifts = Array.from(
      { length: 30 },
      (_, index): Drift => ({
        resource: 'rule',
        name: `rootwatch-prod-rule-${index}`,
        property: 'EventPattern',
        expected: pattern,
        actual: {},
        message: `rule rootwatch-prod-rule-${index} has another event pattern than deployed`,
        severity: 'critical',
      }),
    );

    // Act
    const kept = driftsOf(buildDriftAlert(drifts, OPTIONS));

    // Assess
    expect(kept).toHaveLength(30);
    expect(kept.every((drift) => drift.expected === undefined && drift.actual === undefined)).toBe(true);
    expect(kept[0]?.message).toBe(drifts[0]?.message);
  });

  it("links a hub-bus rule's drift to CloudTrail's history of the rule's name, and the hub bus's to the bus's", () => {
    // Prepare
    const rule: Drift = {
      resource: 'rule',
      name: 'rootwatch-test-hub/rootwatch-test-root-api-call',
      property: 'State',
      message: 'rule rootwatch-test-root-api-call on the bus rootwatch-test-hub is DISABLED, deployed ENABLED',
      severity: 'critical',
    };
    const bus: Drift = {
      resource: 'event bus',
      name: 'rootwatch-test-hub',
      property: 'Policy',
      message: 'event bus rootwatch-test-hub has another policy than deployed',
      severity: 'critical',
    };
    const history = 'https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events?ResourceName=';

    // Assess
    expect(buildDriftAlert([rule], OPTIONS).links.cloudtrail).toBe(`${history}rootwatch-test-root-api-call`);
    expect(buildDriftAlert([bus], OPTIONS).links.cloudtrail).toBe(`${history}rootwatch-test-hub`);
  });

  it('takes the severity of the worst drift', () => {
    // Prepare
    const pending: Drift = {
      resource: 'subscription',
      name: 'email sec@example.com',
      property: 'PendingConfirmation',
      message: 'pending',
      severity: 'medium',
    };

    // Assess
    expect(buildDriftAlert([pending], OPTIONS).severity).toBe('medium');
    expect(buildDriftAlert([pending, ...sampleDrifts()], OPTIONS).severity).toBe('critical');
  });

  it('keeps one eventID while the same drifts last within the hour, and takes a new one for new drifts or hour', () => {
    // Prepare
    const drifts = sampleDrifts();
    const id = driftEventId('prod', drifts, NOW);

    // Assess
    expect(id).toMatch(/^rootwatch-guard-prod-[0-9a-f]{16}-\d+$/);
    expect(driftEventId('prod', [...drifts].reverse(), NOW + 50 * 60_000)).toBe(id);
    expect(driftEventId('prod', drifts, NOW + 60 * 60_000)).not.toBe(id);
    expect(driftEventId('prod', drifts.slice(1), NOW)).not.toBe(id);
    expect(driftEventId('staging', drifts, NOW)).not.toBe(id);
  });
});

describe('a drift alert as people read it', () => {
  it('shows each drift in Slack, one field each', () => {
    // Act
    const message = renderSlackMessage(buildDriftAlert(sampleDrifts(), OPTIONS), detections);

    // Assess
    const fields = (message.blocks[1] as { fields: { text: string }[] }).fields.map((field) => field.text);
    expect(fields).toStrictEqual([
      '*What*\n3 differences from what rootwatch deployed',
      '*Account*\n`security (111122223333)`',
      '*Rule*\n`rule rootwatch-test-root-api-call is DISABLED, deployed ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`',
      '*Event source mapping*\n`function rootwatch-test-notify-slack no longer reads rootwatch-test-slack (its event source mapping is missing)`',
      '*Key*\n`KMS key arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab is scheduled for deletion on 2026-03-08T00:00:00.000Z: cancel it (aws kms cancel-key-deletion)`',
    ]);
  });

  it('lists at most seven drifts in Slack, and says how many more the document holds', () => {
    // Prepare
    const drifts = Array.from(
      { length: 12 },
      (_, index): Drift => ({
        resource: 'rule',
        name: `rootwatch-prod-rule-${index}`,
        property: 'exists',
        message: `rule rootwatch-prod-rule-${index} is missing (deleted?)`,
        severity: 'critical',
      }),
    );

    // Act
    const message = renderSlackMessage(buildDriftAlert(drifts, OPTIONS), detections);

    // Assess
    const fields = (message.blocks[1] as { fields: { text: string }[] }).fields.map((field) => field.text);
    expect(fields).toHaveLength(10);
    expect(fields.at(-1)).toBe('*More*\n5 more in the alert document (JSON)');
  });

  it("e-mails each drift on its line, with alerter-tampering's runbook, and tags the SNS message for filters", () => {
    // Prepare
    const alert = buildDriftAlert(sampleDrifts(), OPTIONS);

    // Act
    const email = renderEmail(alert, detections);
    const sns = renderSnsMessage(alert, detections);

    // Assess
    expect(email.subject).toBe('[CRITICAL] alerter-tampering - security (111122223333)');
    expect(email.body).toContain(
      'Rule: "rule rootwatch-test-root-api-call is DISABLED, deployed ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"',
    );
    expect(email.body).toContain('Event source mapping: "function rootwatch-test-notify-slack no longer reads');
    expect(email.body).toContain('Key: "KMS key arn:aws:kms:us-east-1:000000000000:key/');
    expect(email.body).toContain('Runbook: https://runbooks.example/alerter-tampering.yml');
    expect(sns.MessageAttributes.detection).toStrictEqual({
      DataType: 'String.Array',
      StringValue: '["alerter-tampering"]',
    });
    expect(sns.MessageAttributes.severity).toStrictEqual({ DataType: 'String', StringValue: 'critical' });
  });
});
