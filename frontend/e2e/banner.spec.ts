import { execFileSync } from "node:child_process";
import { join } from "node:path";
import type { Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { screenshot } from "./helpers";
import { stackState } from "./stack";

/**
 * Every URL the ready banner of `make dev` prints (asked of `scripts/devstack.py urls`, so the
 * banner and this test cannot drift apart), plus the gateway's API reference, opened the way a
 * new developer opens them: each page renders, offline — no request leaves loopback, none fails,
 * and nothing is logged as an error.
 */
const ROOT = join(import.meta.dirname, "..", "..");
const BANNER = JSON.parse(
  execFileSync(
    join(ROOT, ".venv", "bin", "python"),
    [join(ROOT, "scripts", "devstack.py"), "urls"],
    {
      encoding: "utf8",
    },
  ),
) as { name: string; url: string }[];

/** What shows that each page rendered (not merely that it answered). */
async function rendered(page: Page, name: string, url: string): Promise<void> {
  if (url.endsWith("/schema") || url.endsWith("/api/docs")) {
    // the Scalar API reference, rendered from the service's OpenAPI document
    const title = name === "gateway docs" ? /Nova/i : new RegExp(name, "i");
    await expect(page.locator(".scalar-app, .scalar-api-reference").first()).toBeVisible();
    await expect(page.getByRole("heading", { level: 1 }).first()).toHaveText(title);
  } else if (url.endsWith("/graphql")) {
    // GraphiQL: an editor that knows the schema (the docs explorer lists the root types)
    await expect(page.locator(".graphiql-container")).toBeVisible();
    await expect(page.locator(".graphiql-query-editor").first()).toBeVisible();
  } else if (url.endsWith("/metrics")) {
    await expect(page.locator("body")).toContainText("# HELP");
  } else {
    await expect(page.getByRole("banner")).toBeVisible();
    await expect(page.getByRole("main")).toBeVisible();
  }
}

test.describe("the ready banner's pages", () => {
  test.skip(() => !stackState().backend, "the whole stack is needed");
  const pages = [
    ...BANNER,
    {
      name: "gateway docs",
      url: `${new URL(BANNER.find((b) => b.name === "gateway")?.url ?? "http://127.0.0.1:8000").origin}/api/docs`,
    },
  ];
  for (const { name, url } of pages) {
    test(`${name}: ${url} renders offline`, async ({ page }) => {
      const outside: string[] = [];
      const failed: string[] = [];
      const errors: string[] = [];
      page.on("request", (request) => {
        const host = new URL(request.url()).hostname;
        if (!["127.0.0.1", "localhost"].includes(host) && !request.url().startsWith("data:")) {
          outside.push(request.url());
        }
      });
      page.on("requestfailed", (request) => {
        const error = request.failure()?.errorText ?? "";
        // Next cancels a route prefetch it no longer needs: not a failure
        if (error === "net::ERR_ABORTED" && request.url().includes("_rsc=")) return;
        failed.push(`${request.url()}: ${error}`);
      });
      page.on("console", (message) => {
        // a plain-text page (/metrics) has no icon: the browser's own /favicon.ico probe 404s
        if (message.type() !== "error" || message.location().url.endsWith("/favicon.ico")) return;
        errors.push(`${message.text()} (${message.location().url})`);
      });
      page.on("pageerror", (error) => errors.push(error.message));
      const response = await page.goto(url);
      expect(response?.status(), url).toBe(200);
      await rendered(page, name, url);
      // late requests (fonts, registries, telemetry) start once the page has drawn: give them a
      // moment to show up rather than waiting for network silence, which a page may never reach
      await page.waitForTimeout(1_500);
      await screenshot(page, `banner-${name.replace(/\W+/g, "-")}`);
      expect(outside, "requests that left this machine").toEqual([]);
      expect(failed, "failed requests").toEqual([]);
      expect(errors, "console errors").toEqual([]);
    });
  }
});
