import type { Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { register, screenshot, uniqueEmail } from "./helpers";
import { stackState } from "./stack";
import { enrolTwoFactor, nextCode } from "./totp";

const PASSWORD = "correct horse battery staple";

function provider() {
  const oidc = stackState().oidc;
  if (!oidc)
    throw new Error("the global setup started no OpenID provider (was the stack running?)");
  return oidc;
}

/**
 * What a person does at the provider (its development login form signs anyone in, with any
 * password): `start` sends the browser there; sign in as `login` if asked, consent if asked,
 * until the site has the browser back.
 */
async function atProvider(page: Page, login: string, start: () => Promise<void>) {
  const { issuer } = provider();
  const from = page.url();
  await start();
  // On one of the provider's pages, or back on the site (a provider that remembers the person
  // and the consent sends the browser straight back).
  const settled = (url: URL) =>
    url.origin === issuer ? url.pathname.includes("/interaction/") : url.href !== from;
  await page.waitForURL(settled);
  for (let step = 0; step < 6 && page.url().startsWith(issuer); step += 1) {
    const loginField = page.locator('input[name="login"]');
    if (await loginField.isVisible()) {
      await loginField.fill(login);
      await page.locator('input[name="password"]').fill("any password");
    }
    const here = page.url();
    await page.locator('button[type="submit"]').first().click();
    await page.waitForURL((url) => url.href !== here && settled(url));
  }
  expect(page.url()).not.toContain(issuer);
}

test("a new account signs in with the provider", async ({ page, context }) => {
  const { label } = provider();
  const email = uniqueEmail("provider");
  await page.goto("/login");
  const button = page.getByRole("link", { name: `Sign in with ${label}` });
  await expect(button).toBeVisible();
  await screenshot(page, "login-with-provider");
  await atProvider(page, email, () => button.click());
  await expect(page).toHaveURL(/\/profile$/);
  await expect(page.getByRole("button", { name: "Log out", exact: true })).toHaveAttribute(
    "title",
    `Signed in as ${email}`,
  );
  const cookies = await context.cookies();
  expect(cookies.find((cookie) => cookie.name === "nova_at")?.httpOnly).toBe(true);

  // The security page lists the provider as the only way in: unlinking it is refused.
  await page.getByRole("link", { name: "Security" }).click();
  const methods = page.locator("section", {
    has: page.getByRole("heading", { name: "Sign-in methods", level: 2 }),
  });
  await expect(methods.getByText("You have no password")).toBeVisible();
  await methods.getByRole("button", { name: `Unlink ${label}` }).click();
  await expect(methods.getByText("This is the only way to sign in to your account.")).toBeVisible();
  const activity = page.getByRole("table", { name: "Security activity, newest first" });
  await expect(activity.getByRole("row", { name: /Signed in with a provider/ })).toBeVisible();
});

test("a provider sign-in to an account with two-factor on asks for the code", async ({
  page,
  context,
}) => {
  const { label } = provider();
  const email = uniqueEmail("provider-2fa");
  await register(page, { name: "Linked Twice", email, password: PASSWORD });
  await page.getByRole("link", { name: "Security" }).click();
  const { secret } = await enrolTwoFactor(page, PASSWORD);
  await page.getByRole("button", { name: "I saved them" }).click();

  // Link the provider from the security page: it comes back linked.
  await atProvider(page, email, () => page.getByRole("button", { name: `Link ${label}` }).click());
  await expect(page).toHaveURL(/\/account\/security\?linked=/);
  await expect(page.getByText(`${label} is linked: you can sign in with it.`)).toBeVisible();

  await page.getByRole("button", { name: "Log out", exact: true }).click();
  await expect(page).toHaveURL(/\/login\?reason=signed-out/);
  await atProvider(page, email, () =>
    page.getByRole("link", { name: `Sign in with ${label}` }).click(),
  );
  // Back on the login page for the second step: no session yet, the challenge in a cookie
  // only the second step receives.
  await expect(page).toHaveURL(/\/login\?step=two-factor/);
  const cookies = await context.cookies();
  expect(cookies.some((cookie) => cookie.name === "nova_at")).toBe(false);
  const held = cookies.find((cookie) => cookie.name === "nova_mfa");
  expect(held?.httpOnly).toBe(true);
  expect(held?.path).toBe("/api/auth/login/two-factor");
  expect(page.url()).not.toContain(held?.value ?? "-");
  const form = page.getByRole("form", { name: "Two-factor sign-in" });
  await form.getByLabel("Authentication code").fill(nextCode(secret));
  await form.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/profile$/);
  await expect(page.getByRole("button", { name: "Log out", exact: true })).toHaveAttribute(
    "title",
    `Signed in as ${email}`,
  );
  expect((await context.cookies()).some((cookie) => cookie.name === "nova_mfa")).toBe(false);
});

test("a provider sign-in to an address that has a password account is refused on the login page", async ({
  page,
}) => {
  const { label } = provider();
  const email = uniqueEmail("provider-taken");
  await register(page, { name: "Taken Address", email, password: PASSWORD });
  await page.getByRole("button", { name: "Log out", exact: true }).click();
  await expect(page).toHaveURL(/\/login\?reason=signed-out/);
  await atProvider(page, email, () =>
    page.getByRole("link", { name: `Sign in with ${label}` }).click(),
  );
  // Neither side has vouched for the address: no account is taken over, and the page says
  // what to do instead.
  await expect(page).toHaveURL(/\/login\?error=oidc_account_exists$/);
  await expect(
    page.locator("#main").getByText("An account already uses this e-mail address."),
  ).toBeVisible();
  expect((await page.context().cookies()).some((cookie) => cookie.name === "nova_at")).toBe(false);
});
