import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends the run with one plain line, "N passed, N failed, N skipped", that any CI reads the same way,
 * whatever it knows of vitest's own summary.
 */
class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown> = []): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const module of testModules) {
      let failedHere = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') counts.passed += 1;
        else if (state === 'failed') failedHere += 1;
        else counts.skipped += 1;
      }
      // A file that failed to load, or whose beforeAll failed (its tests then count as skipped), failed
      // without a failed test to count: count the file as one failure, so the line never reads as a pass.
      counts.failed += module.state() === 'failed' ? Math.max(failedHere, 1) : failedHere;
    }
    // An error thrown outside any test (an unhandled rejection) fails vitest's run too.
    counts.failed += unhandledErrors.length;
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}

export default SummaryReporter;
