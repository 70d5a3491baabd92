/** Ends the run with the plain line CI reads: "Tests: N passed, N failed, N skipped". */
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const skippedSuites = new Set<string>();
    for (const m of testModules) {
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else {
          skipped++;
          // The suite's name says why (e.g. "… — skipped: Electron's binary is not installed").
          const suite = t.parent.type === 'suite' ? t.parent.fullName : t.module.moduleId;
          skippedSuites.add(suite);
        }
      }
      if (m.state() === 'failed' && [...m.children.allTests()].length === 0) failed++;
    }
    for (const s of skippedSuites) process.stdout.write(`\nSkipped: ${s}`);
    process.stdout.write(`\nTests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
