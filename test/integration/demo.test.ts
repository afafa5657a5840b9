import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../functions/cli.js';
import { loadDetections } from '../../functions/io/detections.js';

/**
 * The events the demo sends: every fixture a match sample names once, and each fixture a sample repeats (`repeat:`)
 * once more as that sample's burst (the first repeating sample of it, root sign-ins first as the demo orders them).
 */
const events = (() => {
  const samples = loadDetections()
    .sort((a, b) => Number(b.id === 'root-console-sign-in') - Number(a.id === 'root-console-sign-in'))
    .flatMap((d) => d.samples.filter((s) => s.expect === 'match'));
  const singles = new Set(samples.filter((s) => !s.repeat).map((s) => s.fixture)).size;
  const bursts = new Map<string, number>();
  for (const sample of samples) {
    if (sample.repeat && !bursts.has(sample.fixture)) bursts.set(sample.fixture, sample.repeat.count);
  }
  return singles + [...bursts.values()].reduce((sum, count) => sum + count, 0);
})();

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

/** The demo's last line, its counts read back. */
const SUMMARY =
  /\n(\d+) e-mails published to SNS \((\d+) alerts, (\d+) digests of (\d+) folded events\); (\d+) Slack messages posted to the local webhook; 0 dead-lettered\.\n$/;

const countsOf = (stdout: string) => {
  const match = SUMMARY.exec(stdout);
  expect(match, stdout.slice(-400)).not.toBeNull();
  const [emails = -1, alerts = -1, digests = -1, folded = -1, slack = -1] = (match ?? []).slice(1).map(Number);
  return { emails, alerts, digests, folded, slack };
};

describe('rootwatch demo (npm start)', () => {
  it('runs every alerting sample through the real handlers, folds root sessions, and prints what Slack and e-mail received', async () => {
    // Act
    const { code, stdout, stderr } = await runDemo();

    // Assess
    expect(code).toBe(0);
    expect(events).toBeGreaterThanOrEqual(20);
    expect(stderr).toMatch(
      new RegExp(`^rootwatch demo: ${events} sample CloudTrail events through the alert pipeline`),
    );
    expect(stdout).toContain('▌ 🔴 CRITICAL · Root console sign-in without MFA — demo-production (111122223333)');
    expect(stdout).toContain('Subject: [CRITICAL] root-console-sign-in - demo-production (111122223333)');
    expect(stdout).toContain('*From where*: IP `203.0.113.11` · client `Firefox 62 on macOS`');
    // Every event is in exactly one alert or one digest; each alert and digest is one e-mail and one Slack post.
    const { emails, alerts, digests, folded, slack } = countsOf(stdout);
    expect(alerts + folded).toBe(events);
    expect(emails).toBe(alerts + digests);
    expect(slack).toBe(emails);
    expect(digests).toBeGreaterThan(0);
    expect(alerts).toBeLessThan(events);
    // The burst of five failed root sign-ins three minutes apart: after the fixture's own failed sign-in (the
    // session's first alert), the 5th within 15 minutes escalates to high; the other four are one digest, shown whole.
    expect(stdout).toContain(
      '▌ 🔁 HIGH · 4 more root events in demo-production (111122223333) (16:24:34–16:36:34 UTC)',
    );
    expect(stdout).toContain('Subject: [HIGH] digest: 4 root events - demo-production (111122223333)');
    expect(stdout).toMatch(/^── Slack, message \d+ .*\n▌ 🔁 HIGH · 4 more root events/m);
  }, 120_000);

  it('prints every e-mail and Slack message whole with --all, alerts and digests alike', async () => {
    // Act
    const { stdout } = await runDemo(['--all']);

    // Assess
    const { emails, digests } = countsOf(stdout);
    expect(stdout.match(/^── E-mail \d+ /gm)).toHaveLength(emails);
    expect(stdout.match(/^── Slack, message \d+ /gm)).toHaveLength(emails);
    expect(stdout.match(/^Subject: \[[A-Z]+\] digest: \d+ (?:root )?events? - /gm)).toHaveLength(digests);
    expect(stdout.match(/^▌ 🔁 /gm)).toHaveLength(digests);
  }, 120_000);
});
