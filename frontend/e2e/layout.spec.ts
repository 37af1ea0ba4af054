import { expectAccessible } from "./a11y";
import { expect, test } from "./fixtures";
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

test.describe("the header at 375 px", () => {
  test.use({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });

  test("is one row, with the links, actions and data source behind a menu", async ({ page }) => {
    await page.goto("/login");
    const header = page.getByRole("banner");
    const menu = header.getByRole("button", { name: "Menu" });
    const toggle = header.getByRole("group", { name: "Data source" });
    // The session is known (signed out) once the page has hydrated: the menu works from then.
    await expect(header.getByRole("link", { name: "Log in", includeHidden: true })).toBeAttached();
    await expect(menu).toBeVisible();
    await expect(toggle).toBeHidden();

    const brand = await header.getByRole("link", { name: "Nova" }).boundingBox();
    const button = await menu.boundingBox();
    const bar = await header.boundingBox();
    if (!brand || !button || !bar) throw new Error("the header is not laid out");
    const middle = (box: { y: number; height: number }) => box.y + box.height / 2;
    expect(Math.abs(middle(brand) - middle(button))).toBeLessThan(4);
    expect(button.x).toBeGreaterThan(brand.x + brand.width);
    expect(bar.height).toBeLessThan(64);
    await screenshot(page, "mobile-header");

    await menu.click();
    await expect(menu).toHaveAttribute("aria-expanded", "true");
    await expect(toggle).toBeVisible();
    await expect(header.getByRole("link", { name: "Create account" })).toBeVisible();
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, "mobile-header-menu");

    await page.keyboard.press("Escape");
    await expect(menu).toHaveAttribute("aria-expanded", "false");
    await expect(toggle).toBeHidden();

    // Opening a page from the menu closes it.
    await menu.click();
    await header.getByRole("link", { name: "Create account" }).click();
    await expect(page).toHaveURL(/\/register$/);
    await expect(menu).toHaveAttribute("aria-expanded", "false");
  });

  test("a wide screen has no menu button: everything is in the row", async ({ page }) => {
    await page.setViewportSize({ width: 1024, height: 740 });
    await page.goto("/");
    const header = page.getByRole("banner");
    await expect(header.getByRole("link", { name: "Log in" })).toBeVisible();
    await expect(header.getByRole("group", { name: "Data source" })).toBeVisible();
    await expect(header.getByRole("button", { name: "Menu" })).toBeHidden();
  });
});
