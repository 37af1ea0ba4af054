import { expectAccessible } from "./a11y";
import { expect, test } from "./fixtures";
import {
  apiRegister,
  chooseSource,
  logIn,
  register,
  SOURCE_LABEL,
  SOURCES,
  screenshot,
  uniqueEmail,
} from "./helpers";
import { stackState } from "./stack";

const RUN = Date.now().toString(36);
const PAGER_PREFIX = `Pager ${RUN}`;
const PAGE_SIZE = 10;

test.describe("administration", () => {
  const deleted: { id: string; name: string }[] = [];

  test.beforeAll(async ({ playwright, baseURL }) => {
    const request = await playwright.request.newContext({ baseURL });
    try {
      // One more than a page of users sharing a name, for paging through a search.
      for (let index = 0; index <= PAGE_SIZE; index += 1) {
        await apiRegister(request, {
          name: `${PAGER_PREFIX} ${String(index).padStart(2, "0")}`,
          email: uniqueEmail("pager"),
          password: "correct horse battery staple",
        });
      }
      // One deleted account per data source, for the restore.
      for (const source of SOURCES) {
        const user = {
          name: `Gone ${source} ${RUN}`,
          email: uniqueEmail("gone"),
          password: "correct horse battery staple",
        };
        const { id, token } = await apiRegister(request, user);
        const response = await request.delete("/api/auth/me", {
          data: { password: user.password },
          headers: { Authorization: `Bearer ${token}` },
        });
        expect(response.status(), await response.text()).toBe(204);
        deleted.push({ id, name: user.name });
      }
    } finally {
      await request.dispose();
    }
  });

  for (const [index, source] of SOURCES.entries()) {
    test(`an administrator searches, pages and restores over ${SOURCE_LABEL[source]}`, async ({
      page,
    }) => {
      const admin = stackState().admin;
      if (!admin) throw new Error("the global setup provided no administrator");
      await page.goto("/login");
      await chooseSource(page, source);
      await logIn(page, admin.email, admin.password);
      await expect(page).toHaveURL(/\/profile/);

      await page.getByRole("link", { name: "Users" }).click();
      await expect(page).toHaveURL(/\/admin\/users/);
      await expect(page.getByRole("table")).toBeVisible();

      // Search, then page through the results.
      await page.getByRole("searchbox").fill(PAGER_PREFIX);
      await page.getByRole("button", { name: "Search", exact: true }).click();
      await expect(
        page.getByRole("heading", { name: new RegExp(`${PAGER_PREFIX}.*page 1`) }),
      ).toBeVisible();
      await expect(page.getByRole("rowheader", { name: new RegExp(PAGER_PREFIX) })).toHaveCount(
        PAGE_SIZE,
      );
      await screenshot(page, `admin-users-${source}`);
      await expectAccessible(page, "/admin/users");
      await page.getByRole("button", { name: "Next page" }).click();
      await expect(page.getByRole("heading", { name: /page 2/ })).toBeVisible();
      await expect(page.getByRole("rowheader", { name: new RegExp(PAGER_PREFIX) })).toHaveCount(1);
      await expect(page.getByRole("button", { name: "Next page" })).toBeDisabled();
      await page.getByRole("button", { name: "Previous page" }).click();
      await expect(page.getByRole("rowheader", { name: new RegExp(PAGER_PREFIX) })).toHaveCount(
        PAGE_SIZE,
      );

      // A deleted user is hidden until asked for, then restored. The worker deletes the profile
      // after the account's deletion event, so give it a moment.
      const gone = deleted[index];
      if (!gone) throw new Error("no deleted user prepared");
      await page.getByRole("searchbox").fill(gone.name);
      await page.getByRole("button", { name: "Search", exact: true }).click();
      await page.getByRole("checkbox", { name: "Include deleted users" }).check();
      const restore = page.getByRole("button", { name: `Restore ${gone.name}` });
      await expect(async () => {
        await page.getByRole("button", { name: "Search", exact: true }).click();
        await expect(restore).toBeVisible({ timeout: 2_000 });
      }).toPass({ timeout: 30_000 });
      await page.getByRole("checkbox", { name: "Include deleted users" }).uncheck();
      await expect(
        page.locator("#main").getByText("No users found").filter({ visible: true }),
      ).toBeVisible();
      await page.getByRole("checkbox", { name: "Include deleted users" }).check();
      await restore.click();
      await expect(
        page.locator("#main").getByText(`${gone.name} was restored.`).filter({ visible: true }),
      ).toBeVisible();
      await expect(restore).toHaveCount(0);
      await page.getByRole("checkbox", { name: "Include deleted users" }).uncheck();
      await expect(page.getByRole("rowheader", { name: gone.name })).toBeVisible();
    });
  }

  test("a user who is not an administrator gets no admin navigation and a 403 page", async ({
    page,
  }) => {
    await register(page, {
      name: `Plain ${RUN}`,
      email: uniqueEmail("plain"),
      password: "correct horse battery staple",
    });
    await expect(page.getByRole("navigation", { name: "Account" })).toBeVisible();
    await expect(page.getByRole("link", { name: "Users" })).toHaveCount(0);
    await page.goto("/admin/users");
    await expect(
      page.getByRole("heading", { name: "You do not have access to this page" }),
    ).toBeVisible();
    await expect(page.getByRole("table")).toHaveCount(0);
    await screenshot(page, "admin-forbidden");
    await expectAccessible(page, "/admin/users (403)");
  });
});
