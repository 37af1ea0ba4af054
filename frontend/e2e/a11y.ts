import AxeBuilder from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";

/**
 * WCAG 2.2 A/AA rules of axe-core: no violation of serious or critical impact.
 *
 * The check waits for the document's title first: after a client-side navigation the new
 * page's metadata can arrive after its content, and a page caught between two titles is not
 * the page under test. A page that never gets a title still fails, on that wait.
 */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  await expect(page, `${what} has a document title`).toHaveTitle(/\S/);
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"])
    .analyze();
  const blocking = results.violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map((violation) => ({
      rule: violation.id,
      impact: violation.impact,
      help: violation.help,
      targets: violation.nodes.map((node) => node.target.join(" ")).slice(0, 5),
    }));
  expect(blocking, `accessibility violations on ${what}`).toEqual([]);
}
