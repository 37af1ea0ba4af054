import { expectAccessible } from "./a11y";
import { expect, test } from "./fixtures";
import {
  chooseSource,
  logIn,
  register,
  SOURCE_LABEL,
  SOURCES,
  screenshot,
  uniqueEmail,
} from "./helpers";

for (const source of SOURCES) {
  test(`an account's whole life over ${SOURCE_LABEL[source]}`, async ({ page }) => {
    const name = `Ada ${source} ${Date.now().toString(36)}`;
    const email = uniqueEmail(source);
    const password = "correct horse battery staple";
    const newPassword = "another long passphrase 42";

    await page.goto("/");
    await chooseSource(page, source);
    await screenshot(page, "landing");

    // Register: the worker (or the first read) created the profile with the name given.
    await register(page, { name, email, password });
    await expect(page.getByTestId("display-name")).toHaveText(name);
    await expect(
      page.locator("#main").getByText(`Loaded through ${SOURCE_LABEL[source]}`),
    ).toBeVisible();
    await screenshot(page, `profile-${source}`);
    await expectAccessible(page, "/profile");

    // Edit the profile.
    await page.getByRole("button", { name: "Edit profile" }).click();
    await expect(page.getByLabel("Display name")).toBeFocused();
    await page.getByLabel("Bio").fill(`Writes programs for engines (${source}).`);
    await page.getByLabel("Language").fill("fr-FR");
    await page.getByLabel("Time zone").selectOption("Europe/Paris");
    await screenshot(page, `profile-edit-${source}`);
    await expectAccessible(page, "/profile (editing)");
    await page.getByRole("button", { name: "Save profile" }).click();
    await expect(
      page.locator("#main").getByText("Your profile was saved.").filter({ visible: true }),
    ).toBeVisible();
    await expect(page.getByTestId("bio")).toHaveText(`Writes programs for engines (${source}).`);

    // A reload reads it back from the service.
    await page.reload();
    await expect(page.getByTestId("bio")).toHaveText(`Writes programs for engines (${source}).`);
    await expect(page.getByTestId("locale")).toHaveText("fr-FR");
    await expect(page.getByTestId("timezone")).toHaveText("Europe/Paris");

    // A field the service refuses shows next to the field.
    await page.getByRole("button", { name: "Edit profile" }).click();
    await page.getByLabel("Avatar URL").fill("https://user:secret@example.com/a.png");
    await page.getByRole("button", { name: "Save profile" }).click();
    await expect(page.getByLabel("Avatar URL")).toHaveAttribute("aria-invalid", "true");
    await page.getByRole("button", { name: "Cancel" }).click();

    // Log out, log in.
    await page.getByRole("button", { name: "Log out" }).click();
    await expect(page).toHaveURL(/\/login\?reason=signed-out/);
    await expect(
      page.locator("#main").getByText("You are logged out.").filter({ visible: true }),
    ).toBeVisible();
    await logIn(page, email, password);
    await expect(page).toHaveURL(/\/profile/);
    await expect(page.getByTestId("display-name")).toHaveText(name);

    // Change the password.
    await page.getByRole("link", { name: "Password" }).click();
    await page.getByLabel("Current password").fill(password);
    await page.getByLabel("New password", { exact: true }).fill(newPassword);
    await page.getByLabel("Repeat the new password").fill(newPassword);
    await screenshot(page, `change-password-${source}`);
    await expectAccessible(page, "/account/password");
    await page.getByRole("button", { name: "Change password" }).click();
    // Either this browser keeps a fresh session, or the login page says why it has to log in.
    await expect(
      page
        .locator("#main")
        .getByText(/Your password was changed/)
        .filter({ visible: true }),
    ).toBeVisible();
    if (!page.url().includes("/login")) {
      await page.getByRole("button", { name: "Log out" }).click();
      await expect(page).toHaveURL(/\/login/);
    }

    // The old password no longer works; the new one does.
    await logIn(page, email, password);
    await expect(page.getByRole("alert").filter({ hasText: "Could not log in" })).toBeVisible();
    await expect(page).toHaveURL(/\/login/);
    await logIn(page, email, newPassword);
    await expect(page).toHaveURL(/\/profile/);

    // Delete the account; logging in is refused afterwards.
    await page.getByRole("link", { name: "Delete account" }).click();
    await page.getByLabel("Password").fill(newPassword);
    await page.getByRole("checkbox", { name: /I understand/ }).check();
    await screenshot(page, `delete-account-${source}`);
    await expectAccessible(page, "/account/delete");
    await page.getByRole("button", { name: "Delete my account" }).click();
    await expect(page).toHaveURL(/\/login\?reason=deleted/);
    await expect(
      page.locator("#main").getByText("Your account was deleted.").filter({ visible: true }),
    ).toBeVisible();
    await logIn(page, email, newPassword);
    await expect(page.getByRole("alert").filter({ hasText: "Could not log in" })).toBeVisible();
    await expect(page).toHaveURL(/\/login/);
  });
}

test("log out everywhere ends the sessions of other browsers", async ({ browser }) => {
  const email = uniqueEmail("everywhere");
  const password = "correct horse battery staple";
  const first = await browser.newContext();
  const second = await browser.newContext();
  try {
    const a = await first.newPage();
    await register(a, { name: "Everywhere", email, password });
    const b = await second.newPage();
    await logIn(b, email, password);
    await expect(b).toHaveURL(/\/profile/);
    // The other browser has its profile on screen before its session is ended.
    await expect(b.getByTestId("display-name")).toHaveText("Everywhere");

    await a.getByRole("link", { name: "Security" }).click();
    await expect(a).toHaveURL(/\/account\/security$/);
    await expect(a).toHaveTitle("Security · Nova");
    await expect(a.getByRole("button", { name: "Log out everywhere" })).toBeEnabled();
    await screenshot(a, "security");
    await expectAccessible(a, "/account/security");
    const ended = a.waitForResponse(
      (response) =>
        response.url().endsWith("/api/auth/logout-all") && response.request().method() === "POST",
    );
    await a.getByRole("button", { name: "Log out everywhere" }).click();
    expect((await ended).status()).toBe(204);
    await expect(a).toHaveURL(/\/login\?reason=signed-out/);

    // The other browser's next call finds its session ended and lands on the login page.
    await b.reload();
    await expect(b).toHaveURL(/\/login\?next=%2Fprofile/);
    await expect(b.getByRole("heading", { name: "Log in" })).toBeVisible();
  } finally {
    await first.close();
    await second.close();
  }
});

test("the header stays put while the session is looked up", async ({ page }) => {
  for (const width of [1280, 375]) {
    await page.setViewportSize({ width, height: 800 });
    // Hold the session lookup until the toggle is measured; the gateway still answers it.
    let release = () => {};
    const held = new Promise<void>((done) => {
      release = done;
    });
    await page.route("**/api/auth/me", async (route) => {
      await held;
      await route.continue();
    });
    await page.goto("/login");
    // Under 40rem the toggle is in the closed menu: the Menu button ends the row instead.
    const anchor =
      width < 640
        ? page.getByRole("button", { name: "Menu" })
        : page.getByRole("group", { name: "Data source" });
    await expect(anchor).toBeEnabled();
    const before = await anchor.boundingBox();
    release();
    await expect(
      page.getByRole("banner").getByRole("link", { name: "Log in", includeHidden: true }),
    ).toBeAttached();
    expect(await anchor.boundingBox(), `header position at ${width} px`).toEqual(before);
    await page.unrouteAll();
  }
});
