import { defineConfig, devices } from "@playwright/test";
import { CHROMIUM, CHROMIUM_ARGS } from "./e2e/chromium";

/**
 * End-to-end tests in Debian's Chromium (`apt-get install chromium`), never a downloaded one.
 *
 * By default `e2e/global-setup.ts` starts the whole stack (`python ../scripts/devstack.py up`:
 * PostgreSQL, Redis, auth, users, worker, gateway and the Next dev server on :3000) unless it
 * already answers, and stops it afterwards. README.md lists the environment variables.
 */
const baseURL = process.env.NOVA_E2E_BASE_URL ?? "http://127.0.0.1:3000";

export default defineConfig({
  testDir: "./e2e",
  outputDir: "./test-results/artifacts",
  globalSetup: "./e2e/global-setup.ts",
  globalTeardown: "./e2e/global-teardown.ts",
  // One stack, shared accounts (the admin): run in order, one worker.
  fullyParallel: false,
  workers: 1,
  // One retry in CI, where the machine is shared; a test that needs it is reported as flaky
  // at the end of the run (e2e/failure-summary.ts). Locally a failure is final.
  retries: process.env.CI ? 1 : 0,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  reporter: [
    ["list"],
    ["html", { outputFolder: "playwright-report", open: "never" }],
    ["./e2e/failure-summary.ts"],
  ],
  use: {
    baseURL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    actionTimeout: 15_000,
    navigationTimeout: 45_000,
    launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS },
  },
  projects: [
    {
      name: "frontend",
      testMatch: /(toggle|layout)\.spec\.ts/,
      use: { ...devices["Desktop Chrome"] },
    },
    {
      name: "stack",
      testMatch:
        /(account|admin|admin-detail|security|banner|email|two-factor|provider|server-render)\.spec\.ts/,
      use: { ...devices["Desktop Chrome"] },
    },
  ],
});
