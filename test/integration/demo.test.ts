import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../functions/cli.js';
import { loadDetections } from '../../functions/io/detections.js';

/** Every sample the catalog expects to alert, once. */
const alerting = new Set(
  loadDetections().flatMap((d) => d.samples.filter((s) => s.expect === 'match').map((s) => s.fixture)),
).size;

const runDemo = async (args: string[] = []) => {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['demo', ...args], {
    stdout: (text) => {
      stdout += text;
    },
    stderr: new Writable({
      write(chunk, _enc, done) {
        stderr += String(chunk);
        done();
      },
    }),
    env: {},
  });
  return { code, stdout, stderr };
};

describe('rootwatch demo (npm start)', () => {
  it('runs every alerting sample through the real handlers and prints what Slack and e-mail received', async () => {
    const { code, stdout, stderr } = await runDemo();
    expect(code).toBe(0);
    expect(alerting).toBeGreaterThanOrEqual(20);
    expect(stderr).toMatch(
      new RegExp(`^rootwatch demo: ${alerting} sample CloudTrail events through the alert pipeline`),
    );
    expect(stdout).toContain('▌ 🔴 CRITICAL · Root console sign-in without MFA — demo-production (111122223333)');
    expect(stdout).toContain('Subject: [CRITICAL] root-console-sign-in - demo-production (111122223333)');
    expect(stdout).toContain('*From where*: IP `203.0.113.11` · client `Firefox 62 on macOS`');
    expect(
      stdout.endsWith(
        `\n${alerting} e-mails published to SNS; ${alerting} Slack messages posted to the local webhook; 0 dead-lettered.\n`,
      ),
    ).toBe(true);
  });

  it('prints every e-mail whole with --all', async () => {
    const { stdout } = await runDemo(['--all']);
    expect(stdout.match(/^── E-mail \d+ /gm)).toHaveLength(alerting);
    expect(stdout.match(/^── Slack, message \d+ /gm)).toHaveLength(alerting);
  });
});
