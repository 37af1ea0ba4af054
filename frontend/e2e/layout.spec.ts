import { expect, test } from "@playwright/test";
import { expectAccessible } from "./a11y";
import { screenshot } from "./helpers";

test.describe("on a phone", () => {
  test.use({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });

  for (const path of ["/", "/login", "/register", "/no/such/page"]) {
    test(`${path} fits the screen without sideways scrolling`, async ({ page }) => {
      await page.goto(path);
      await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      expect(overflow).toBeLessThanOrEqual(0);
      if (path === "/" || path === "/login") {
        await screenshot(page, `mobile-${path === "/" ? "landing" : "login"}`);
      }
    });
  }
});

test("the keyboard reaches the content first, then the form, in order", async ({ page }) => {
  await page.goto("/login");
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to content" });
  await expect(skip).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.locator("main")).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("E-mail address")).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Password")).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.getByRole("button", { name: "Log in" })).toBeFocused();

  // Submitting empty: errors are announced and focus goes to the first field to fix.
  await page.keyboard.press("Enter");
  await expect(page.getByLabel("E-mail address")).toBeFocused();
  await expect(page.getByLabel("E-mail address")).toHaveAttribute("aria-invalid", "true");
  await expect(
    page.getByRole("alert").filter({ hasText: "Check the highlighted fields" }),
  ).toBeVisible();
});

for (const path of ["/", "/login", "/register", "/no/such/page"]) {
  test(`${path} passes the automated accessibility checks`, async ({ page }) => {
    await page.goto(path);
    await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
    await expectAccessible(page, path);
  });
}

test("a form with errors passes the automated accessibility checks", async ({ page }) => {
  await page.goto("/register");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByLabel("Display name")).toHaveAttribute("aria-invalid", "true");
  await expectAccessible(page, "/register with errors");
});
