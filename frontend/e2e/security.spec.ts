import { expect, test } from "./fixtures";
import { register, screenshot, uniqueEmail } from "./helpers";

const JWT = /eyJ[\w-]+\.[\w-]+\.[\w-]+/;

test("no token is readable from JavaScript after signing in", async ({ page, context }) => {
  await register(page, {
    name: "Cookie Check",
    email: uniqueEmail("cookies"),
    password: "correct horse battery staple",
  });
  await expect(page.getByTestId("display-name")).toHaveText("Cookie Check");
  const visible = await page.evaluate(() => ({
    cookie: document.cookie,
    storage: Object.entries(window.localStorage),
    session: Object.entries(window.sessionStorage),
  }));
  expect(visible.cookie).not.toMatch(/nova_at|nova_rt/);
  expect(visible.cookie).not.toMatch(JWT);
  for (const [key, value] of [...visible.storage, ...visible.session]) {
    expect(key).not.toMatch(/token/i);
    expect(value).not.toMatch(JWT);
  }
  // The session is there all the same, in httpOnly cookies.
  const cookies = await context.cookies();
  const access = cookies.find((cookie) => cookie.name === "nova_at");
  const refresh = cookies.find((cookie) => cookie.name === "nova_rt");
  expect(access?.httpOnly).toBe(true);
  expect(refresh?.httpOnly).toBe(true);
  expect(access?.sameSite).toBe("Lax");
});

test("an ended session leads to the login page and back", async ({ page, context }) => {
  const email = uniqueEmail("expired");
  const password = "correct horse battery staple";
  await register(page, { name: "Expiring", email, password });
  await expect(page.getByTestId("display-name")).toHaveText("Expiring");

  // The session ends (cookies gone, as after expiry); the next data call finds out.
  await context.clearCookies();
  // A page that asks nothing on its own shows as before; the next data call finds out.
  await page.getByRole("link", { name: "Password" }).click();
  await expect(page.getByRole("heading", { name: "Change password", level: 1 })).toBeVisible();
  await page.getByRole("link", { name: "Profile" }).click();
  await expect(page).toHaveURL(/\/login\?next=%2Fprofile/);
  await expect(page.getByRole("heading", { name: "Log in" })).toBeVisible();
  await expect(
    page.locator("#main").getByText("Your session has ended.").filter({ visible: true }),
  ).toBeVisible();
  await screenshot(page, "login-session-ended");

  await page.getByLabel("E-mail address").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/profile$/);
  await expect(page.getByTestId("display-name")).toHaveText("Expiring");
});

test("the session is refreshed silently before the access token expires", async ({
  page,
  context,
}) => {
  await register(page, {
    name: "Refresher",
    email: uniqueEmail("refresh"),
    password: "correct horse battery staple",
  });
  await expect(page.getByTestId("display-name")).toHaveText("Refresher");
  const before = (await context.cookies()).find((cookie) => cookie.name === "nova_at")?.value;

  // Pretend the access token expires in two seconds: the page refreshes it by itself.
  await page.evaluate(() =>
    window.localStorage.setItem("nova.session.expiresAt", String(Date.now() + 2_000)),
  );
  const refreshed = page.waitForResponse(
    (response) =>
      response.url().endsWith("/api/auth/refresh") && response.request().method() === "POST",
    { timeout: 20_000 },
  );
  await page.reload();
  expect((await refreshed).status()).toBe(200);
  const after = (await context.cookies()).find((cookie) => cookie.name === "nova_at")?.value;
  expect(after).toBeTruthy();
  expect(after).not.toBe(before);
  const expiresAt = await page.evaluate(() =>
    Number(window.localStorage.getItem("nova.session.expiresAt")),
  );
  expect(expiresAt).toBeGreaterThan(Date.now() + 60_000);
  await expect(page.getByTestId("display-name")).toHaveText("Refresher");
});

test("an unknown address shows the 404 page", async ({ page }) => {
  const response = await page.goto("/no/such/page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "This page does not exist" })).toBeVisible();
  await screenshot(page, "not-found");
});

test("switching the data source in one tab reloads the profile through the other API in another", async ({
  context,
}) => {
  const first = await context.newPage();
  await register(first, {
    name: "Two Tabs",
    email: uniqueEmail("tabs"),
    password: "correct horse battery staple",
  });
  await expect(first.getByTestId("display-name")).toHaveText("Two Tabs");
  const second = await context.newPage();
  await second.goto("/profile");
  await expect(second.getByText("Loaded through GraphQL")).toBeVisible();

  const restRead = second.waitForRequest((request) => request.url().endsWith("/api/users/me"));
  await first.getByRole("radio", { name: "REST" }).check();
  await restRead;
  await expect(second.getByText("Loaded through REST")).toBeVisible();
  await expect(second.getByTestId("display-name")).toHaveText("Two Tabs");

  const graphqlRead = second.waitForRequest((request) => request.url().endsWith("/graphql"));
  await first.getByRole("radio", { name: "GraphQL" }).check();
  await graphqlRead;
  await expect(second.getByText("Loaded through GraphQL")).toBeVisible();
});
