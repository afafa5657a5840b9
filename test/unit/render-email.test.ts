import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../functions/core/alert-document.js';
import { renderEmail } from '../../functions/core/render/email.js';
import {
  alertOf,
  CLOUDTRAIL_LINK,
  detections,
  EMAIL_LABEL,
  EVENT_ID,
  HOSTILE,
  hostileAlert,
  hostileText,
  PLACES,
  PRINTABLE_ASCII_SUBJECT,
  signInAlert,
} from '../helpers/render-alerts.js';
import { readSample } from '../helpers/samples.js';

describe('renderEmail', () => {
  it('renders the root console sign-in without MFA', () => {
    // Prepare
    const alert = signInAlert();
    // Act
    const email = renderEmail(alert, detections);
    // Assess
    expect(email.subject).toBe('[CRITICAL] root-console-sign-in - prod-payments (111122223333)');
    expect(email.body).toBe(
      [
        'Root console sign-in without MFA — prod-payments (111122223333)',
        '',
        'Severity: CRITICAL',
        'What: "ConsoleLogin" on "signin.amazonaws.com"',
        'Account: "prod-payments (111122223333)"',
        'Who: "Root", "arn:aws:iam::111122223333:root", credential: console',
        'From where: IP "203.0.113.11", country "DE", client "Firefox 62 on macOS"',
        'MFA: NO',
        'Outcome: success',
        'User agent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.12; rv:62.0) Gecko/20100101 Firefox/62.0"',
        'When: "2022-11-10T16:24:34Z"',
        'Region: "us-east-1"',
        `Event ID: "${EVENT_ID}"`,
        '',
        'Detection:',
        '- Root console sign-in (root-console-sign-in)',
        '  Someone signed in to the AWS Management Console as the account root user. Root needs no permissions and cannot be limited by IAM; it should be used only for the few tasks that require it. Without MFA, a stolen password alone was enough.',
        '',
        'What to do:',
        '1. Ask the owners of account "prod-payments (111122223333)" whether root work was planned around "2022-11-10 16:24 UTC"; an unplanned sign-in is an incident.',
        '2. Check "203.0.113.11", "DE" and "Firefox 62 on macOS" against where your administrators work, and "no MFA".',
        '3. List every event with `userIdentity.type = Root` in the 24 hours after "2022-11-10 16:24 UTC" (rootwatch replay over the trail, or CloudTrail Lake).',
        '4. If unexplained: reset the root password through the account e-mail, re-register MFA, delete any root access keys, and review IAM changes made in that window.',
        '',
        'Links:',
        `CloudTrail: ${CLOUDTRAIL_LINK}`,
        'Runbook: https://runbooks.example/root-console-sign-in.yml',
        '',
        'The full alert document (JSON, with the CloudTrail record) goes to the JSON subscribers of this topic (email-json, SQS, HTTPS, Lambda).',
        'IP data: NRO, RouteViews and DB-IP.com (https://db-ip.com), CC BY 4.0, packaged by ip-location-db.',
        '',
      ].join('\n'),
    );
  });

  it('counts the other detections in the subject and names the primary one', () => {
    // Prepare
    const alert = alertOf(readSample('root-create-access-key.json'));
    // Act
    const { subject, body } = renderEmail(alert, detections);
    // Assess
    expect(subject).toBe('[CRITICAL] root-access-key-created +1 - 111122223333');
    expect(body).toContain('\nDetections:\n- Root access key created (root-access-key-created)\n');
    expect(body).toContain('\n- Root user API call (root-api-call)\n');
  });

  it.each([
    ['a long account name', 'a'.repeat(300), /^\[CRITICAL\] root-console-sign-in - a+\.\.\. \(111122223333\)$/],
    ['accents', 'Café Zürich', /^\[CRITICAL\] root-console-sign-in - Cafe Zurich \(111122223333\)$/],
    ['Cyrillic and emoji', 'Привет 👋 prod', /^\[CRITICAL\] root-console-sign-in - \? \? prod \(111122223333\)$/],
    [
      'line breaks and tabs',
      'prod\r\n\tSubject: x',
      /^\[CRITICAL\] root-console-sign-in - prod Subject: x \(111122223333\)$/,
    ],
  ])('keeps the subject printable ASCII within 99 characters (%s)', (_, name, expected) => {
    // Prepare
    const alert = { ...signInAlert(), account: { id: '111122223333', name } };
    // Act
    const { subject } = renderEmail(alert, detections);
    // Assess
    expect(subject).toMatch(expected);
    expect(subject).toMatch(PRINTABLE_ASCII_SUBJECT);
  });

  it.each([
    ['root-console-sign-in-failed-mfa.json', 'MFA: FAILED (password accepted, MFA challenge failed)', 'HIGH'],
    ['root-console-sign-in-failure-wrong-password.json', 'MFA: not reached (wrong password)', 'MEDIUM'],
  ])('says what happened to MFA on a failed sign-in (%s)', (fixture, mfa, severity) => {
    // Prepare
    const alert = alertOf(readSample(fixture));
    // Act
    const { subject, body } = renderEmail(alert, detections);
    // Assess
    expect(subject).toBe(`[${severity}] root-console-sign-in-failure - 111122223333`);
    expect(body.split('\n')).toContain(mfa);
    expect(body.split('\n')[0]).toBe(alert.title);
    expect(body).not.toContain('with MFA');
  });

  it('names a centralized root session in the title and the reason of every detection', () => {
    // Prepare
    const alert = alertOf(readSample('assumed-root-delete-signing-certificate.json'));
    // Act
    const { subject, body } = renderEmail(alert, detections);
    // Assess
    expect(subject).toBe('[MEDIUM] root-api-call +1 - 444455556666');
    expect(body).toContain(
      'Root user API call: DeleteSigningCertificate (centralized root session) — 444455556666\n\nSeverity: MEDIUM\n',
    );
    expect(body).toContain('\nWho: "Root", "arn:aws:iam::444455556666:root", credential: assumed root\n');
    expect(body).toContain(
      '\n- Root user API call (root-api-call): inside a centralized root session (sts:AssumeRoot)\n',
    );
    expect(body).toContain(
      '\n- Root credentials changed (root-credentials-changed): inside a centralized root session (sts:AssumeRoot)\n',
    );
  });

  it('quotes values so a quote inside cannot end them early', () => {
    // Prepare
    const alert = hostileAlert('userAgent', 'curl" Outcome: "success');
    // Act
    const { body } = renderEmail(alert, detections);
    // Assess
    expect(body).toContain('\nUser agent: "curl\\" Outcome: \\"success"\n');
  });
});

describe.each(PLACES)('hostile %s', (place) => {
  it.each(HOSTILE)('keeps %s on its own labelled e-mail line', (_, value) => {
    // Prepare
    const alert = hostileAlert(place, value);
    // Act
    const { subject, body } = renderEmail(alert, detections);
    // Assess
    expect(subject).toMatch(PRINTABLE_ASCII_SUBJECT);
    const lines = body.split('\n');
    const probe = value === 'x'.repeat(100_000) ? 'xxxxxxxxxx' : value.replace('\u202E', '').split('\n')[0];
    const carriers = lines.slice(1).filter((line) => line.includes(probe ?? ''));
    expect(carriers.length).toBeGreaterThan(0);
    // A user agent also shows, shortened, as the client on the "From where" line: escaped there too.
    const labels = [EMAIL_LABEL[place] ?? '', ...(place === 'userAgent' ? ['From where: '] : [])];
    // The runbook's steps ("1. Ask the owners of account …") show the values they name, quoted like the facts.
    const isStep = (line: string) => /^\d+\. /.test(line);
    for (const line of carriers) expect(labels.some((label) => line.startsWith(label)) || isStep(line)).toBe(true);
    expect(lines.some((line) => /^(Subject|line2):/.test(line) || line.startsWith('line2'))).toBe(false);
    expect(body).not.toMatch(/[\u202a-\u202e\u2066-\u2069\r]/);
    for (const line of lines) expect(line.length).toBeLessThan(700);
  });
});

describe('renderEmail on arbitrary input', () => {
  it('keeps the subject printable ASCII whatever the user agent and account name', () => {
    const base = signInAlert();
    fc.assert(
      fc.property(hostileText, hostileText, (userAgent, accountName) => {
        // Prepare
        const alert: Alert = {
          ...base,
          title: `Root console sign-in without MFA — ${accountName} (111122223333)`,
          account: { id: '111122223333', name: accountName },
          source: { ...base.source, userAgent },
        };
        // Act
        const { subject } = renderEmail(alert, detections);
        // Assess
        expect(subject).toMatch(PRINTABLE_ASCII_SUBJECT);
      }),
      { numRuns: 300 },
    );
  });
});
