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
import { enrolTwoFactor, nextCode, totp, twoFactorCard } from "./totp";

const PASSWORD = "correct horse battery staple";

async function logOut(page: import("@playwright/test").Page) {
  await page.getByRole("button", { name: "Log out", exact: true }).click();
  await expect(page).toHaveURL(/\/login\?reason=signed-out/);
}

/** The second step of the login page, with a code or a recovery code. */
async function secondStep(page: import("@playwright/test").Page, code: string, recovery = false) {
  const form = page.getByRole("form", { name: "Two-factor sign-in" });
  await expect(form).toBeVisible();
  if (recovery) await form.getByRole("button", { name: "Use a recovery code" }).click();
  await form.getByLabel(recovery ? "Recovery code" : "Authentication code").fill(code);
  await form.getByRole("button", { name: "Sign in" }).click();
}

test("two-factor sign-in: enrol, then the password and a code; a recovery code works once", async ({
  page,
}) => {
  const email = uniqueEmail("totp");
  await register(page, { name: "Second Factor", email, password: PASSWORD });
  await page.getByRole("link", { name: "Security" }).click();
  await expect(page).toHaveURL(/\/account\/security$/);
  await expect(page).toHaveTitle("Security · Nova");
  await expectAccessible(page, "/account/security");

  const { secret, codes } = await enrolTwoFactor(page, PASSWORD);
  await screenshot(page, "two-factor-recovery-codes");
  await expectAccessible(page, "/account/security (recovery codes)");
  const download = page.waitForEvent("download");
  await page.getByRole("link", { name: "Download as text" }).click();
  const file = await download;
  expect(file.suggestedFilename()).toBe("nova-recovery-codes.txt");
  await page.getByRole("button", { name: "I saved them" }).click();
  await expect(twoFactorCard(page).getByText("On.", { exact: true })).toBeVisible();
  // The activity log has the change, with the browser that made it.
  const activity = page.getByRole("table", { name: "Security activity, newest first" });
  await expect(activity.getByRole("row", { name: /Two-factor sign-in turned on/ })).toBeVisible();
  await expect(activity.getByRole("row", { name: /Signed in with the password/ })).toBeVisible();

  // Password alone is not enough any more.
  await logOut(page);
  await logIn(page, email, PASSWORD);
  await secondStep(page, nextCode(secret));
  await expect(page).toHaveURL(/\/profile$/);
  await expect(page.getByTestId("display-name")).toHaveText("Second Factor");

  // A recovery code signs in once.
  const [first, second] = codes;
  if (!first || !second) throw new Error("no recovery codes");
  await logOut(page);
  await logIn(page, email, PASSWORD);
  await secondStep(page, first, true);
  await expect(page).toHaveURL(/\/profile$/);
  await logOut(page);
  await logIn(page, email, PASSWORD);
  await secondStep(page, first, true);
  await expect(
    page
      .getByRole("alert")
      .filter({ hasText: "Could not sign in" })
      .filter({ hasText: "not valid" }),
  ).toBeVisible();
  await page.getByLabel("Recovery code").fill(second);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/profile$/);

  // Turning it off takes the password (a code of this step was used already).
  await page.getByRole("link", { name: "Security" }).click();
  const card = twoFactorCard(page);
  await card.getByRole("button", { name: "Use your password instead" }).click();
  await card.getByLabel("Your password").fill(PASSWORD);
  await card.getByRole("button", { name: "Turn off two-factor sign-in" }).click();
  await expect(card.getByText("Two-factor sign-in is off.")).toBeVisible();
  await logOut(page);
  await logIn(page, email, PASSWORD);
  await expect(page).toHaveURL(/\/profile$/);
});

for (const source of SOURCES) {
  test(`the security page over ${SOURCE_LABEL[source]}: enrol, a wrong code, turn off with a code`, async ({
    page,
  }) => {
    await page.goto("/");
    await chooseSource(page, source);
    await register(page, {
      name: `Security ${source}`,
      email: uniqueEmail("sec"),
      password: PASSWORD,
    });
    await page.getByRole("link", { name: "Security" }).click();
    const card = twoFactorCard(page);
    // A wrong password is an answer about what was typed: the session stays.
    await card.getByLabel("Your password").fill("not the password at all");
    await card.getByRole("button", { name: "Turn on two-factor sign-in" }).click();
    await expect(card.getByLabel("Your password")).toHaveAccessibleDescription(/password is wrong/);
    await card.getByLabel("Your password").fill("");
    const { secret } = await enrolTwoFactor(page, PASSWORD);
    await page.getByRole("button", { name: "I saved them" }).click();
    await expect(card.getByText("On.", { exact: true })).toBeVisible();
    if (source === "rest")
      await expect(card.getByText("10 of 10 recovery codes left.")).toBeVisible();
    // A wrong code is refused without ending the session; the next step's code turns it off.
    await card.getByLabel("Current code from the app").fill("000000");
    await card.getByRole("button", { name: "Turn off two-factor sign-in" }).click();
    await expect(card.getByLabel("Current code from the app")).toHaveAccessibleDescription(
      /not valid/,
    );
    await card.getByLabel("Current code from the app").fill(nextCode(secret));
    await card.getByRole("button", { name: "Turn off two-factor sign-in" }).click();
    await expect(card.getByText("Two-factor sign-in is off.")).toBeVisible();
    const activity = page.getByRole("table", { name: "Security activity, newest first" });
    await expect(
      activity.getByRole("row", { name: /Two-factor sign-in turned off/ }),
    ).toBeVisible();
    await expect(page).toHaveURL(/\/account\/security$/);
  });
}

test("an administrator resets the second factor of a user who lost the device", async ({
  page,
  request,
}) => {
  const admin = stackState().admin;
  if (!admin) throw new Error("the global setup made no administrator");
  const user = {
    name: `Lost Phone ${Date.now().toString(36)}`,
    email: uniqueEmail("lost"),
    password: PASSWORD,
  };
  const { id, token } = await apiRegister(request, user);
  const bearer = { Authorization: `Bearer ${token}` };
  const started = await request.post("/api/auth/me/two-factor", {
    data: { password: PASSWORD },
    headers: bearer,
  });
  expect(started.status(), await started.text()).toBe(200);
  const { secret } = (await started.json()) as { secret: string };
  const confirmed = await request.post("/api/auth/me/two-factor/confirm", {
    data: { code: totp(secret) },
    headers: bearer,
  });
  expect(confirmed.status(), await confirmed.text()).toBe(200);
  const challenged = await request.post("/api/auth/login", {
    data: { email: user.email, password: PASSWORD },
  });
  expect(await challenged.json()).toMatchObject({ mfa_required: true });

  await page.goto("/");
  await chooseSource(page, "graphql");
  await logIn(page, admin.email, admin.password);
  await expect(page).toHaveURL(/\/profile/);
  await page.getByRole("link", { name: "Users" }).click();
  await page.getByRole("searchbox").fill(id);
  await page.getByRole("button", { name: "Search", exact: true }).click();
  const row = page.getByRole("row", { name: new RegExp(user.name) });
  await expect(row.getByRole("cell", { name: "On", exact: true })).toBeVisible();
  await row.getByRole("button", { name: `Reset two-factor sign-in of ${user.name}` }).click();
  const confirm = page.getByRole("status").filter({ hasText: "Reset the two-factor sign-in" });
  await expect(confirm).toBeVisible();
  await expectAccessible(page, "/admin/users (reset two-factor)");
  await confirm.getByRole("button", { name: "Cancel" }).click();
  await expect(confirm).toHaveCount(0);
  await row.getByRole("button", { name: `Reset two-factor sign-in of ${user.name}` }).click();
  await page.getByRole("button", { name: "Reset two-factor sign-in", exact: true }).click();
  await expect(
    page
      .locator("#main")
      .getByText(`Two-factor sign-in of ${user.name} is off`)
      .filter({ visible: true }),
  ).toBeVisible();
  await expect(row.getByRole("cell", { name: "Off", exact: true })).toBeVisible();

  // The password alone signs in again.
  const direct = await request.post("/api/auth/login", {
    data: { email: user.email, password: PASSWORD },
  });
  expect(await direct.json()).toHaveProperty("access_token");
});
