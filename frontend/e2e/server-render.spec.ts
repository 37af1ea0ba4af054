import type { Browser, BrowserContext, Cookie, Page, Request } from "@playwright/test";
import { expectAccessible } from "./a11y";
import { expect, test } from "./fixtures";
import { chooseSource, logIn, register, SOURCE_LABEL, SOURCES, uniqueEmail } from "./helpers";
import { stackState } from "./stack";

/**
 * The signed-in pages' first view comes from the server: readable without JavaScript, shown
 * with it before anything loads (no spinner, no request for data the page already holds), and
 * an expired access token is refreshed on the way, as the browser's own code would.
 */

const PASSWORD = "correct horse battery staple";
/** The texts of the loading states the signed-in screens had before content. */
const LOADING =
  /Checking your session|Loading your profile|Loading users|Loading the security settings|Loading the activity|Redirecting to the login/;

type Jar = Awaited<ReturnType<BrowserContext["storageState"]>>;

/** A context without JavaScript, holding the given cookies (and nothing else of the browser). */
async function withoutScripts(browser: Browser, cookies: Cookie[]): Promise<BrowserContext> {
  const context = await browser.newContext({ javaScriptEnabled: false });
  await context.addCookies(cookies);
  return context;
}

/** Signed in over `source`, in a context of its own; its storage (cookies, localStorage). */
async function signedIn(browser: Browser, source: "graphql" | "rest", name: string): Promise<Jar> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto("/login");
    await chooseSource(page, source);
    await register(page, { name, email: uniqueEmail("ssr"), password: PASSWORD });
    await expect(page.getByTestId("display-name")).toHaveText(name);
    return await context.storageState();
  } finally {
    await context.close();
  }
}

/** Records whether a loading text is ever in the document, from its first parsed node on. */
async function watchForLoading(page: Page): Promise<void> {
  await page.addInitScript((pattern: string) => {
    const loading = new RegExp(pattern);
    const state = window as unknown as { sawLoading?: string };
    const check = () => {
      const text = document.documentElement?.textContent ?? "";
      const match = loading.exec(text);
      if (match && !state.sawLoading) state.sawLoading = match[0];
    };
    new MutationObserver(check).observe(document, {
      childList: true,
      subtree: true,
      characterData: true,
    });
  }, LOADING.source);
}

const isDataRequest = (request: Request) =>
  /\/graphql$/.test(new URL(request.url()).pathname) ||
  /^\/api\/users(\/me)?$/.test(new URL(request.url()).pathname) ||
  /^\/api\/auth\/(me\/(two-factor|identities|security-events)|oidc\/providers)$/.test(
    new URL(request.url()).pathname,
  );

test.describe("server-rendered pages", () => {
  for (const source of SOURCES) {
    test(`the profile is rendered on the server over ${SOURCE_LABEL[source]}`, async ({
      browser,
    }) => {
      const name = `Server ${source} ${Date.now().toString(36)}`;
      const jar = await signedIn(browser, source, name);

      // Without JavaScript: the server's HTML alone shows the profile.
      const bare = await withoutScripts(browser, jar.cookies);
      try {
        const page = await bare.newPage();
        await page.goto("/profile");
        // Visible, not only in the document: streamed content stays hidden without scripts.
        await expect(page.getByTestId("display-name")).toBeVisible();
        await expect(page.getByTestId("display-name")).toHaveText(name);
        await expect(page.getByText(`Loaded through ${SOURCE_LABEL[source]}`)).toBeVisible();
        await expect(page.getByText(LOADING)).toHaveCount(0);
      } finally {
        await bare.close();
      }

      // With JavaScript: content from the first paint, and no request for it on mount.
      const context = await browser.newContext({ storageState: jar });
      try {
        const page = await context.newPage();
        await watchForLoading(page);
        const requests: string[] = [];
        page.on("request", (request) => {
          if (isDataRequest(request)) requests.push(request.url());
        });
        const response = await page.goto("/profile");
        expect(await response?.text()).toContain(name);
        await expect(page.getByTestId("display-name")).toHaveText(name);
        await expect(page.getByRole("button", { name: "Edit profile" })).toBeEnabled();
        await page.waitForLoadState("networkidle");
        expect(await page.evaluate(() => (window as { sawLoading?: string }).sawLoading)).toBe(
          undefined,
        );
        expect(requests, "data requests after the server rendered the page").toEqual([]);
        await expectAccessible(page, "/profile (server-rendered)");

        // The screen still works from the client: an edit saves over the same API.
        await page.getByRole("button", { name: "Edit profile" }).click();
        await page.getByLabel("Display name").fill(`${name} edited`);
        await page.getByRole("button", { name: "Save profile" }).click();
        await expect(page.getByTestId("display-name")).toHaveText(`${name} edited`);
        expect(requests.length).toBeGreaterThan(0);
        await page.reload();
        await expect(page.getByTestId("display-name")).toHaveText(`${name} edited`);
      } finally {
        await context.close();
      }
    });
  }

  for (const source of SOURCES) {
    test(`the security page is rendered on the server over ${SOURCE_LABEL[source]}`, async ({
      browser,
    }) => {
      const jar = await signedIn(browser, source, `Secure ${source} ${Date.now().toString(36)}`);
      const activity = (page: Page) =>
        page.getByRole("table", { name: "Security activity, newest first" });

      // Without JavaScript: the second factor's state, the sessions and the activity log.
      const bare = await withoutScripts(browser, jar.cookies);
      try {
        const page = await bare.newPage();
        await page.goto("/account/security");
        await expect(page).toHaveURL(/\/account\/security$/);
        await expect(page.getByRole("heading", { name: "Two-factor sign-in" })).toBeVisible();
        await expect(page.getByText(/^Off\./)).toBeVisible();
        await expect(page.getByRole("heading", { name: "Sessions" })).toBeVisible();
        await expect(page.getByRole("button", { name: "Log out everywhere" })).toBeVisible();
        await expect(activity(page)).toBeAttached();
        await expect(
          activity(page).getByRole("rowheader", { name: "Signed in with the password" }).first(),
        ).toBeAttached();
        await expect(page.getByText(LOADING)).toHaveCount(0);
      } finally {
        await bare.close();
      }

      // With JavaScript: content from the first paint, no request for it on mount, and the
      // screens still ask for themselves afterwards.
      const context = await browser.newContext({ storageState: jar });
      try {
        const page = await context.newPage();
        await watchForLoading(page);
        const requests: string[] = [];
        page.on("request", (request) => {
          if (isDataRequest(request)) requests.push(request.url());
        });
        const response = await page.goto("/account/security");
        expect(await response?.text()).toContain("Signed in with the password");
        await expect(page.getByText(/^Off\./)).toBeVisible();
        const start = page.getByRole("button", { name: "Turn on two-factor sign-in" });
        await expect(start).toBeEnabled();
        await page.waitForLoadState("networkidle");
        expect(await page.evaluate(() => (window as { sawLoading?: string }).sawLoading)).toBe(
          undefined,
        );
        expect(requests, "data requests after the server rendered the page").toEqual([]);
        await expectAccessible(page, "/account/security (server-rendered)");

        // The next query is the client's own: the other data source asks for the page again.
        await chooseSource(page, source === "graphql" ? "rest" : "graphql");
        await expect.poll(() => requests.length).toBeGreaterThan(0);
        await expect(activity(page)).toBeVisible();
        await expect(page.getByText(/^Off\./)).toBeVisible();
      } finally {
        await context.close();
      }
    });
  }

  test("an access token gone or refused is refreshed before the page renders", async ({
    browser,
  }) => {
    // The browser dropped the expired access cookie; an access token the gateway refuses. (A
    // session each: a refresh token is spent by its use.)
    for (const refused of [false, true]) {
      const name = `Refreshed ${refused} ${Date.now().toString(36)}`;
      const jar = await signedIn(browser, "graphql", name);
      const refresh = jar.cookies.find((cookie) => cookie.name === "nova_rt");
      const access = jar.cookies.find((cookie) => cookie.name === "nova_at");
      if (!refresh || !access) throw new Error("the sign-in set no session cookies");
      const others = jar.cookies.filter((cookie) => cookie !== refresh && cookie !== access);
      const accessCookies = refused ? [{ ...access, value: "expired.access.token" }] : [];
      const context = await withoutScripts(browser, [...others, refresh, ...accessCookies]);
      try {
        const page = await context.newPage();
        const resumed: string[] = [];
        page.on("request", (request) => {
          if (new URL(request.url()).pathname === "/api/auth/resume") resumed.push(request.url());
        });
        await page.goto("/profile");
        await expect(page).toHaveURL(/\/profile$/);
        await expect(page.getByTestId("display-name")).toBeVisible();
        await expect(page.getByTestId("display-name")).toHaveText(name);
        expect(resumed).toHaveLength(1);
        const cookies = await context.cookies();
        const rotated = cookies.find((cookie) => cookie.name === "nova_rt");
        expect(rotated?.value).toBeTruthy();
        expect(rotated?.value).not.toBe(refresh.value);
        expect(cookies.find((cookie) => cookie.name === "nova_at")?.value).not.toBe(
          "expired.access.token",
        );
      } finally {
        await context.close();
      }
    }
  });

  test("without a session the page redirects to the login page, with the notice if one ended", async ({
    browser,
  }) => {
    const anonymous = await withoutScripts(browser, []);
    try {
      const page = await anonymous.newPage();
      await page.goto("/profile?welcome=1");
      await expect(page).toHaveURL(/\/login\?next=%2Fprofile%3Fwelcome%3D1$/);
      await expect(page.getByText("Your session has ended.")).toHaveCount(0);
    } finally {
      await anonymous.close();
    }

    // A refresh cookie the gateway does not know (any more): the session ended.
    const jar = await signedIn(browser, "rest", `Ended ${Date.now().toString(36)}`);
    const ended = jar.cookies
      .filter((cookie) => cookie.name !== "nova_at")
      .map((cookie) =>
        cookie.name === "nova_rt" ? { ...cookie, value: "ended".padEnd(43, "0") } : cookie,
      );
    const context = await withoutScripts(browser, ended);
    try {
      const page = await context.newPage();
      await page.goto("/admin/users");
      await expect(page).toHaveURL(/\/login\?next=%2Fadmin%2Fusers&reason=expired$/);
      await expect(page.getByText("Your session has ended.")).toBeVisible();
      const names = (await context.cookies()).map((cookie) => cookie.name);
      expect(names).not.toContain("nova_rt");
    } finally {
      await context.close();
    }
  });

  for (const source of SOURCES) {
    test(`the users list is rendered on the server for administrators over ${SOURCE_LABEL[source]}`, async ({
      browser,
    }) => {
      const admin = stackState().admin;
      if (!admin) throw new Error("the global setup provided no administrator");
      const signIn = await browser.newContext();
      let jar: Jar;
      try {
        const page = await signIn.newPage();
        await page.goto("/login");
        await chooseSource(page, source);
        await logIn(page, admin.email, admin.password);
        await expect(page).toHaveURL(/\/profile/);
        jar = await signIn.storageState();
      } finally {
        await signIn.close();
      }

      const bare = await withoutScripts(browser, jar.cookies);
      try {
        const page = await bare.newPage();
        await page.goto("/admin/users");
        await expect(page.getByRole("heading", { name: "All users · page 1" })).toBeVisible();
        await expect(
          page.getByRole("table", { name: `Users, page 1 (${SOURCE_LABEL[source]})` }),
        ).toBeAttached();
        await expect(page.getByRole("rowheader").first()).toBeVisible();
      } finally {
        await bare.close();
      }

      const context = await browser.newContext({ storageState: jar });
      try {
        const page = await context.newPage();
        await watchForLoading(page);
        const requests: string[] = [];
        page.on("request", (request) => {
          if (isDataRequest(request)) requests.push(request.url());
        });
        await page.goto("/admin/users");
        await expect(page.getByRole("rowheader").first()).toBeVisible();
        await expect(page.getByRole("button", { name: "Search", exact: true })).toBeEnabled();
        await page.waitForLoadState("networkidle");
        expect(await page.evaluate(() => (window as { sawLoading?: string }).sawLoading)).toBe(
          undefined,
        );
        expect(requests, "data requests after the server rendered the page").toEqual([]);
        // The next query is the client's own.
        await page.getByRole("checkbox", { name: "Include deleted users" }).check();
        await expect.poll(() => requests.length).toBeGreaterThan(0);
      } finally {
        await context.close();
      }
    });
  }

  test("a signed-in user who is not an administrator gets the Forbidden page from the server", async ({
    browser,
  }) => {
    const jar = await signedIn(browser, "graphql", `Not admin ${Date.now().toString(36)}`);
    const bare = await withoutScripts(browser, jar.cookies);
    try {
      const page = await bare.newPage();
      await page.goto("/admin/users");
      await expect(
        page.getByRole("heading", { name: "You do not have access to this page" }),
      ).toBeVisible();
      await expect(page.getByRole("table")).toHaveCount(0);
    } finally {
      await bare.close();
    }
  });
});
