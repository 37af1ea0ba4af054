/**
 * A reporter that ends the run with one short block per failed test: its title, the line of
 * the spec where it stopped and the first lines of the error. The list reporter prints the
 * same errors before each failure's attachments; this keeps them in the last lines of a log.
 * A test that failed and then passed on a retry is listed apart, as flaky, so it is seen.
 */
import type { Reporter, TestCase, TestResult } from "@playwright/test/reporter";

const ERROR_LINES = 12;

function stripAnsi(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal colour codes.
  return text.replace(/\u001b\[[0-9;]*m/g, "");
}

export default class FailureSummary implements Reporter {
  private readonly failures = new Map<TestCase, string[]>();

  onTestEnd(test: TestCase, result: TestResult): void {
    if (result.status === "passed" || result.status === "skipped") return;
    const title = test.titlePath().filter(Boolean).join(" › ");
    const attempt = result.retry > 0 ? `, retry ${result.retry}` : "";
    const lines = [
      `✘ ${title} (${result.status}${attempt}, ${Math.round(result.duration / 1000)} s)`,
    ];
    for (const error of result.errors) {
      const where = error.location ? `${error.location.file}:${error.location.line}` : "";
      if (where) lines.push(`  at ${where}`);
      const message = stripAnsi(error.message ?? error.value ?? "").split("\n");
      lines.push(...message.slice(0, ERROR_LINES).map((line) => `  ${line}`));
    }
    const blocks = this.failures.get(test) ?? [];
    blocks.push(lines.join("\n"));
    this.failures.set(test, blocks);
  }

  onEnd(): void {
    const flaky: string[] = [];
    const failed: string[] = [];
    for (const [test, blocks] of this.failures) {
      (test.outcome() === "flaky" ? flaky : failed).push(...blocks);
    }
    if (flaky.length > 0) {
      process.stdout.write(
        `\nFlaky browser tests (failed, then passed on retry):\n${flaky.join("\n\n")}\n`,
      );
    }
    if (failed.length > 0) {
      process.stdout.write(`\nFailed browser tests:\n${failed.join("\n\n")}\n`);
    }
  }

  printsToStdio(): boolean {
    return true;
  }
}
