import { expectAccessible } from "./a11y";
import { expect, test } from "./fixtures";
import {
  apiRegister,
  chooseSource,
  logIn,
  SOURCE_LABEL,
  SOURCES,
  type Source,
  screenshot,
} from "./helpers";
import { stackState } from "./stack";

const RUN = Date.now().toString(36);
const PASSWORD = "correct horse battery staple";

function person(source: Source, label: string) {
  return {
    name: `Detail ${label} ${source} ${RUN}`,
    email: `detail-${label}-${RUN}-${source}@example.com`,
    password: PASSWORD,
  };
}

test.describe("a user's administration page", () => {
  test.beforeAll(async ({ playwright, baseURL }) => {
    const request = await playwright.request.newContext({ baseURL });
    try {
      for (const source of SOURCES) {
        // Two accounts whose addresses share the run's mark: the search narrows them to one.
        await apiRegister(request, person(source, "target"));
        await apiRegister(request, person(source, "bystander"));
      }
    } finally {
      await request.dispose();
    }
  });

  for (const source of SOURCES) {
    test(`an administrator filters, finds by e-mail and disables an account over ${SOURCE_LABEL[source]}`, async ({
      page,
    }) => {
      const admin = stackState().admin;
      if (!admin) throw new Error("the global setup provided no administrator");
      const target = person(source, "target");
      // Auth pages over the accounts; the names come from the users service (federated over
      // GraphQL, asked for by the page's ids over REST).
      const rowName = target.name;
      await page.goto("/login");
      await chooseSource(page, source);
      await logIn(page, admin.email, admin.password);
      await expect(page).toHaveURL(/\/profile/);
      await page.getByRole("link", { name: "Users" }).click();
      await expect(page).toHaveURL(/\/admin\/users/);

      // Role and state filters, then a search by part of the address: one account.
      await page.getByRole("combobox", { name: "Role" }).selectOption("user");
      await page.getByRole("combobox", { name: "State" }).selectOption("active");
      await page.getByRole("searchbox").fill(`${RUN}-${source}@`);
      await page.getByRole("button", { name: "Search", exact: true }).click();
      await expect(page).toHaveURL(/role=user/);
      await expect(page).toHaveURL(/state=active/);
      await expect(page.getByRole("rowheader")).toHaveCount(2);
      await page.getByRole("searchbox").fill(`target-${RUN}-${source}@`);
      await page.getByRole("button", { name: "Search", exact: true }).click();
      await expect(page.getByRole("rowheader")).toHaveCount(1);
      await expect(page.getByRole("cell", { name: target.email, exact: true })).toBeVisible();

      // The filters are in the address: a reload shows the same list.
      await page.reload();
      await expect(page.getByRole("combobox", { name: "State" })).toHaveValue("active");
      await expect(page.getByRole("searchbox")).toHaveValue(`target-${RUN}-${source}@`);
      await expect(page.getByRole("rowheader")).toHaveCount(1);
      await screenshot(page, `admin-filters-${source}`);

      // The user's page: profile, account, sessions, security log.
      await page.getByRole("link", { name: rowName }).click();
      await expect(page).toHaveURL(/\/admin\/users\/[0-9a-f-]{36}$/);
      await expect(page.getByRole("heading", { name: "Account" })).toBeVisible();
      await expect(page.getByText(target.email)).toBeVisible();
      await expect(page.getByText(target.name).first()).toBeVisible();
      await expect(page.getByRole("table", { name: /Sessions/ }).getByText("Live")).toBeVisible();

      await page.getByRole("button", { name: "Disable account" }).click();
      await expect(
        page
          .locator("#main")
          .getByText(/is disabled: their sessions ended/)
          .filter({ visible: true }),
      ).toBeVisible();
      await expect(page.getByRole("button", { name: "Enable account" })).toBeVisible();
      await expect(page.getByText("Disabled", { exact: true })).toBeVisible();
      await expect(page.getByRole("cell", { name: "Account disabled" })).toBeVisible();
      await expect(page.getByRole("table", { name: /Sessions/ }).getByText(/^Ended/)).toBeVisible();
      await screenshot(page, `admin-user-${source}`);
      await expectAccessible(page, "/admin/users/[id]");

      // Back in the list, the account is among the disabled ones.
      await page.getByRole("link", { name: "← All users" }).click();
      await page.getByRole("combobox", { name: "State" }).selectOption("disabled");
      await page.getByRole("searchbox").fill(target.email);
      await page.getByRole("button", { name: "Search", exact: true }).click();
      await expect(page.getByRole("link", { name: rowName })).toBeVisible();
      await expect(page.getByRole("rowheader")).toHaveCount(1);
    });
  }
});
