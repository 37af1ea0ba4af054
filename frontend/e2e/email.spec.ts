/**
 * The account steps that go through the mailbox, with the real mails: the worker sends them to
 * the dev stack's SMTP sink, which writes a Maildir; e2e/mail.ts reads them and their links.
 */
import type { Page } from "@playwright/test";
import { expectAccessible } from "./a11y";
import { expect, test } from "./fixtures";
import { chooseSource, logIn, register, SOURCE_LABEL, SOURCES, uniqueEmail } from "./helpers";
import { linkIn, waitForMail } from "./mail";

const VERIFY_SUBJECT = /^Verify your Nova e-mail address$/;
const RESET_SUBJECT = /^Reset your Nova password$/;
const PASSWORD = "correct horse battery staple";

/** The path and query of a mailed link: the page under test, whatever host the mail names. */
const pathOf = (url: URL) => `${url.pathname}${url.search}`;

const main = (page: Page) => page.locator("#main");

for (const source of SOURCES) {
  test(`a new account verifies its address from the mail over ${SOURCE_LABEL[source]}`, async ({
    page,
    browser,
  }) => {
    const email = uniqueEmail(`verify-${source}`);
    await page.goto("/");
    await chooseSource(page, source);
    await register(page, { name: `Vera ${source}`, email, password: PASSWORD });

    // Not verified yet: the profile says so and offers a new mail.
    await expect(page.getByTestId("email-verified")).toHaveText("Not verified");
    await expect(page.getByRole("heading", { name: "Verify your e-mail address" })).toBeVisible();
    await expectAccessible(page, "/profile (address not verified)");
    const first = await waitForMail(email, VERIFY_SUBJECT);

    await page.getByRole("button", { name: "Send the verification e-mail again" }).click();
    await expect(
      main(page)
        .getByRole("status")
        .filter({ hasText: `We sent a new link to ${email}` }),
    ).toBeVisible();
    const second = await waitForMail(email, VERIFY_SUBJECT, { except: new Set([first.id]) });
    const firstLink = linkIn(first, "/verify-email");
    const secondLink = linkIn(second, "/verify-email");
    expect(secondLink.origin).toBe(new URL(page.url()).origin);
    expect(secondLink.searchParams.get("token")).not.toBe(firstLink.searchParams.get("token"));

    // The first link was replaced by the second: a clear error, and the way to a new mail.
    await page.goto(pathOf(firstLink));
    await expect(page).toHaveTitle(/Verify your e-mail address/);
    await expect(main(page).getByText("This verification link does not work")).toBeVisible();
    await expect(
      main(page).getByRole("button", { name: "Send the verification e-mail again" }),
    ).toBeVisible();
    await expectAccessible(page, "/verify-email (replaced link)");

    // The second one verifies the address, once.
    await page.goto(pathOf(secondLink));
    await expect(main(page).getByText("Your e-mail address is verified")).toBeVisible();
    await expectAccessible(page, "/verify-email (verified)");
    // A reload of the page does not turn the spent link into an error.
    await page.reload();
    await expect(main(page).getByText("Your e-mail address is verified")).toBeVisible();
    await page.getByRole("link", { name: "Go to your profile" }).click();
    await expect(page.getByTestId("email-verified")).toHaveText("Verified");
    await expect(page.getByRole("heading", { name: "Verify your e-mail address" })).toHaveCount(0);

    // Signed out (another browser), the spent link says so and how to get a new one.
    const elsewhere = await browser.newContext();
    try {
      const visitor = await elsewhere.newPage();
      await visitor.goto(pathOf(secondLink));
      await expect(main(visitor).getByText("This verification link does not work")).toBeVisible();
      await expect(main(visitor).getByRole("link", { name: "Log in" })).toBeVisible();
    } finally {
      await elsewhere.close();
    }
  });

  test(`asking too often for a verification mail is refused kindly over ${SOURCE_LABEL[source]}`, async ({
    page,
  }) => {
    const email = uniqueEmail(`resend-${source}`);
    await page.goto("/");
    await chooseSource(page, source);
    await register(page, { name: `Rita ${source}`, email, password: PASSWORD });
    const resend = page.getByRole("button", { name: "Send the verification e-mail again" });
    const refused = main(page)
      .getByRole("alert")
      .filter({ hasText: "You asked for several e-mails in a short time" });
    // Three new mails per account and window; the fourth is refused, saying when to retry.
    for (let sent = 1; sent <= 3; sent += 1) {
      await resend.click();
      await expect(resend).toBeEnabled();
      await expect(refused).toHaveCount(0);
      await expect(
        main(page).getByRole("status").filter({ hasText: "We sent a new link" }),
      ).toBeVisible();
    }
    await resend.click();
    await expect(refused).toBeVisible();
    await expect(refused).toContainText(/try again in about/);
  });

  test(`a forgotten password is reset from the mail over ${SOURCE_LABEL[source]}; the old sessions end`, async ({
    page,
    browser,
  }) => {
    const email = uniqueEmail(`reset-${source}`);
    const newPassword = `a fresh passphrase for ${source}`;
    await page.goto("/");
    await chooseSource(page, source);
    await register(page, { name: `Rex ${source}`, email, password: PASSWORD });
    await expect(page.getByTestId("display-name")).toHaveText(`Rex ${source}`);

    // On another device, signed out: "Forgot your password?" from the login page.
    const device = await browser.newContext();
    try {
      const other = await device.newPage();
      await other.goto("/login");
      await chooseSource(other, source);
      await other.getByRole("link", { name: "Forgot your password?" }).click();
      await expect(other).toHaveURL(/\/forgot-password$/);
      await expect(other).toHaveTitle(/Forgot your password\?/);
      await expectAccessible(other, "/forgot-password");

      // An address without an account gets the very same answer (and no mail).
      const nobody = uniqueEmail(`nobody-${source}`);
      await other.getByLabel("E-mail address").fill(nobody);
      await other.getByRole("button", { name: "Send the reset link" }).click();
      const sent = main(other).getByRole("status").filter({ hasText: "Check your inbox" });
      await expect(sent).toContainText(`If ${nobody} has an account`);
      await other.getByLabel("E-mail address").fill(email);
      await other.getByRole("button", { name: "Send another link" }).click();
      await expect(sent).toContainText(`If ${email} has an account`);
      await expectAccessible(other, "/forgot-password (sent)");

      const link = linkIn(await waitForMail(email, RESET_SUBJECT), "/reset-password");
      await other.goto(pathOf(link));
      await expect(other).toHaveTitle(/Choose a new password/);

      // A common password is refused next to the field, and the link still works.
      await other.getByLabel("New password", { exact: true }).fill("password123");
      await other.getByLabel("Repeat the new password").fill("password123");
      await other.getByRole("button", { name: "Set the new password" }).click();
      const field = other.getByLabel("New password", { exact: true });
      await expect(field).toHaveAttribute("aria-invalid", "true");
      await expect(field).toHaveAccessibleDescription(/too common/);
      await expectAccessible(other, "/reset-password (refused password)");

      await field.fill(newPassword);
      await other.getByLabel("Repeat the new password").fill(newPassword);
      await other.getByRole("button", { name: "Set the new password" }).click();
      await expect(main(other).getByText("Your password was changed")).toBeVisible();
      await expectAccessible(other, "/reset-password (done)");

      // The link works once.
      await other.goto(pathOf(link));
      await other.getByLabel("New password", { exact: true }).fill(`${newPassword} again`);
      await other.getByLabel("Repeat the new password").fill(`${newPassword} again`);
      await other.getByRole("button", { name: "Set the new password" }).click();
      await expect(main(other).getByText("This reset link does not work")).toBeVisible();
      await expect(main(other).getByRole("link", { name: "Ask for a new link" })).toBeVisible();
    } finally {
      await device.close();
    }

    // The first browser's session ended with the reset: a page that asks nothing on its own
    // shows as before, and the next data request leads to login.
    await page.getByRole("link", { name: "Password", exact: true }).click();
    await expect(page.getByRole("heading", { name: "Change password", level: 1 })).toBeVisible();
    await page.getByRole("link", { name: "Profile" }).click();
    await expect(page).toHaveURL(/\/login\?next=%2Fprofile/);

    // The old password no longer works; the new one does.
    await logIn(page, email, PASSWORD);
    await expect(main(page).getByText("invalid e-mail or password")).toBeVisible();
    await logIn(page, email, newPassword);
    await expect(page).toHaveURL(/\/profile$/);
    await expect(page.getByTestId("display-name")).toHaveText(`Rex ${source}`);
    // The mail proved the address: the reset verified it.
    await expect(page.getByTestId("email-verified")).toHaveText("Verified");
  });
}

test.describe("the mailed-link pages at 375 px", () => {
  test.use({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });

  for (const [path, title] of [
    ["/forgot-password", /Forgot your password\?/],
    ["/reset-password?token=not-a-real-token", /Choose a new password/],
    ["/verify-email?token=not-a-real-token", /Verify your e-mail address/],
    ["/verify-email", /Verify your e-mail address/],
  ] as const) {
    test(`${path} fits the screen and passes the accessibility checks`, async ({ page }) => {
      await page.goto(path);
      await expect(page).toHaveTitle(title);
      await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
      if (path.startsWith("/verify-email")) {
        await expect(main(page).getByText("This verification link does not work")).toBeVisible();
      }
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      expect(overflow).toBeLessThanOrEqual(0);
      await expectAccessible(page, path);
    });
  }
});
