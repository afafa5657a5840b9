import { describe, expect, it } from 'vitest';
import { renderEmail } from '../../functions/core/render/email.js';
import { renderSnsMessage, SNS_MAX_BYTES } from '../../functions/core/render/sns.js';
import { isXmlChar } from '../../functions/core/render/text.js';
import { AlerterError, AlertTooLargeError } from '../../functions/errors.js';
import {
  alertOf,
  detections,
  EVENT_ID,
  hostileAlert,
  PRINTABLE_ASCII_SUBJECT,
  signInAlert,
} from '../helpers/render-alerts.js';
import { readSample } from '../helpers/samples.js';

describe('renderSnsMessage', () => {
  it('gives each protocol its body and sets the filter attributes', () => {
    // Prepare
    const alert = signInAlert();
    // Act
    const sns = renderSnsMessage(alert, detections);
    // Assess
    const email = renderEmail(alert, detections);
    const bodies = JSON.parse(sns.Message) as Record<string, string>;
    expect(Object.keys(bodies)).toEqual(['default', 'email', 'email-json', 'sqs', 'https', 'lambda']);
    expect(bodies.email).toBe(email.body);
    for (const protocol of ['default', 'email-json', 'sqs', 'https', 'lambda']) {
      expect(JSON.parse(bodies[protocol] ?? '')).toStrictEqual(JSON.parse(JSON.stringify(alert)));
    }
    expect(sns.Subject).toBe(email.subject);
    expect(sns.MessageStructure).toBe('json');
    expect(sns.MessageAttributes).toStrictEqual({
      severity: { DataType: 'String', StringValue: 'critical' },
      detection: { DataType: 'String.Array', StringValue: '["root-console-sign-in"]' },
      account: { DataType: 'String', StringValue: '111122223333' },
    });
  });

  it('writes every body as text SQS and SNS accept, the document parsing back unchanged (U+FFFF in a user agent)', () => {
    // Prepare
    const userAgent = 'curl/8.0 \uffff\ufffe\ud800';
    const alert = alertOf({ ...readSample('root-console-sign-in-no-mfa.json'), userAgent });
    const refused = (text: string) => [...text].filter((char) => !isXmlChar(char.codePointAt(0) ?? 0));
    // Act
    const sns = renderSnsMessage(alert, detections);
    // Assess: what is published, and each value once SNS has unescaped it.
    expect(refused(sns.Message)).toEqual([]);
    const bodies = JSON.parse(sns.Message) as Record<string, string>;
    for (const body of Object.values(bodies)) expect(refused(body)).toEqual([]);
    expect(JSON.parse(bodies.sqs ?? '').source.userAgent).toBe(userAgent);
    expect(bodies.email).toContain('curl/8.0 \ufffd\ufffd\ufffd');
  });

  it('lists every detection in the detection attribute', () => {
    // Prepare
    const alert = alertOf(readSample('root-create-access-key.json'));
    // Act
    const { MessageAttributes } = renderSnsMessage(alert, detections);
    // Assess
    expect(JSON.parse(MessageAttributes.detection?.StringValue ?? '')).toEqual([
      'root-access-key-created',
      'root-api-call',
    ]);
  });

  it('keeps hostile values out of the attributes and inside valid JSON', () => {
    // Prepare
    const alert = hostileAlert('userAgent', '<!channel>\n"},"default":"x');
    alert.account = { id: '1111\n2222\u202E', name: 'Привет' };
    // Act
    const sns = renderSnsMessage(alert, detections);
    // Assess
    const bodies = JSON.parse(sns.Message) as Record<string, string>;
    expect(Object.keys(bodies)).toEqual(['default', 'email', 'email-json', 'sqs', 'https', 'lambda']);
    expect(JSON.parse(bodies.sqs ?? '')).toStrictEqual(JSON.parse(JSON.stringify(alert)));
    expect(sns.MessageAttributes.account).toStrictEqual({ DataType: 'String', StringValue: '1111 ⏎ 2222' });
    expect(sns.Subject).toMatch(PRINTABLE_ASCII_SUBJECT);
  });

  const bytesOf = (sns: ReturnType<typeof renderSnsMessage>): number =>
    Buffer.byteLength(sns.Message) +
    Buffer.byteLength(sns.Subject) +
    Object.entries(sns.MessageAttributes).reduce(
      (sum, [name, a]) => sum + Buffer.byteLength(name + a.DataType + a.StringValue),
      0,
    );
  const copiesOf = (sns: ReturnType<typeof renderSnsMessage>) => {
    const bodies = JSON.parse(sns.Message) as Record<string, string>;
    return ['default', 'email-json', 'sqs', 'https', 'lambda'].map(
      (protocol) => JSON.parse(bodies[protocol] ?? '') as Record<string, unknown>,
    );
  };

  it('replaces the record with a marker when the copies would pass 256 KB', () => {
    // Prepare: a 100 KB policy document, repeated for five protocols.
    const alert = signInAlert();
    alert.record = { ...alert.record, requestParameters: { policyDocument: 'p'.repeat(100_000) } };
    // Act
    const sns = renderSnsMessage(alert, detections);
    // Assess
    expect(bytesOf(sns)).toBeLessThan(SNS_MAX_BYTES);
    for (const copy of copiesOf(sns)) {
      const { record, ...rest } = copy;
      expect(record).toStrictEqual({
        truncated: true,
        eventID: EVENT_ID,
        reason: expect.stringMatching(/^Record left out: /),
      });
      const { record: _, ...expected } = JSON.parse(JSON.stringify(alert)) as Record<string, unknown>;
      expect(rest).toStrictEqual(expected);
    }
  });

  it('also cuts long values when leaving out the record is not enough', () => {
    // Prepare: a user agent the size of the limit itself (only crafted replay input has one).
    const alert = signInAlert();
    alert.source.userAgent = 'u'.repeat(SNS_MAX_BYTES);
    // Act
    const sns = renderSnsMessage(alert, detections);
    // Assess
    expect(bytesOf(sns)).toBeLessThan(SNS_MAX_BYTES);
    for (const copy of copiesOf(sns)) {
      expect((copy.source as { userAgent: string }).userAgent).toBe(`${'u'.repeat(1023)}…`);
      expect((copy.record as { reason: string }).reason).toMatch(/^Record left out, values cut to 1024 characters: /);
    }
  });

  it('cuts harder, then throws, as the limit shrinks', () => {
    // Prepare
    const alert = signInAlert();
    alert.source.userAgent = 'u'.repeat(5000);
    alert.source.client = 'c'.repeat(5000);
    alert.actor.arn = 'a'.repeat(5000);
    // Act
    const sns = renderSnsMessage(alert, detections, { maxBytes: 20_000 });
    // Assess
    expect(bytesOf(sns)).toBeLessThan(20_000);
    for (const copy of copiesOf(sns)) {
      expect((copy.source as { userAgent: string }).userAgent).toBe(`${'u'.repeat(127)}…`);
      expect((copy.record as { reason: string }).reason).toMatch(/^Record left out, values cut to 128 characters: /);
    }
    const tooSmall = () => renderSnsMessage(alert, detections, { maxBytes: 5000 });
    expect(tooSmall).toThrow(AlertTooLargeError);
    expect(tooSmall).toThrow(AlerterError);
    expect(tooSmall).toThrow(
      expect.objectContaining({ name: 'AlertTooLargeError', eventId: EVENT_ID, maxBytes: 5000 }),
    );
  });
});
