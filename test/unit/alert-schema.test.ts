import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { alertJsonSchema, buildAlert } from '../../functions/core/alert-document.js';
import { classify } from '../../functions/core/classify.js';
import { recordToEvent } from '../../functions/core/event.js';
import { renderSnsMessage } from '../../functions/core/render/sns.js';
import { loadDetections } from '../../functions/io/detections.js';
import { REPO_ROOT } from '../helpers/corpus.js';
import { readSample } from '../helpers/samples.js';

const detections = loadDetections();
const published = JSON.parse(readFileSync(join(REPO_ROOT, 'schema/alert.schema.json'), 'utf8')) as object;
const validate = new Ajv2020({ strict: true, allErrors: true }).compile(published);

const alertOf = (record: Record<string, unknown>) => {
  const event = recordToEvent(record);
  return buildAlert(event, classify(event, detections), { runbookBaseUrl: 'https://runbooks.example/' });
};

describe('schema/alert.schema.json', () => {
  it('is what AlertSchema generates (run `npm run schema` after changing the alert document)', () => {
    expect(published).toStrictEqual(alertJsonSchema());
  });

  it('accepts the alert of every catalog sample, as SIEM subscribers receive it', () => {
    const fixtures = new Set(
      detections.flatMap((d) => d.samples.filter((s) => s.expect === 'match')).map((s) => s.fixture),
    );
    for (const fixture of fixtures) {
      const document = JSON.parse(JSON.stringify(alertOf(readSample(fixture))));
      expect(validate(document), `${fixture}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('accepts the document whose record SNS had to leave out', () => {
    const record = { ...readSample('root-create-user.json'), requestParameters: { policy: 'x'.repeat(60_000) } };
    const message = renderSnsMessage(alertOf(record), detections);
    const document = JSON.parse(JSON.parse(message.Message).sqs);
    expect(document.record.truncated).toBe(true);
    expect(validate(document), JSON.stringify(validate.errors)).toBe(true);
  });

  it('accepts the session of a correlated alert, and rejects one without its key', () => {
    const document = JSON.parse(JSON.stringify(alertOf(readSample('root-create-user.json'))));
    expect(validate({ ...document, session: { key: '111122223333#key#ASIAIOSFODNN7EXAMPLE', first: true } })).toBe(
      true,
    );
    const escalation = { key: 'k', first: false, escalation: { reason: 'severity high → critical' } };
    expect(validate({ ...document, session: escalation })).toBe(true);
    expect(validate({ ...document, session: { first: true } })).toBe(false);
    expect(validate({ ...document, session: { key: 'k', first: false, escalation: {} } })).toBe(false);
  });

  it('accepts fields a later v1 adds, and rejects a document without an eventID or with an unknown severity', () => {
    const document = JSON.parse(JSON.stringify(alertOf(readSample('root-create-user.json'))));
    expect(validate({ ...document, expected: { reason: 'planned', declaredBy: 'ops', until: 'later' } })).toBe(true);
    const { eventID: _, ...noId } = document;
    expect(validate(noId)).toBe(false);
    expect(validate({ ...document, severity: 'urgent' })).toBe(false);
  });
});
