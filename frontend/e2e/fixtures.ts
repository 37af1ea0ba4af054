import { type BrowserContext, test as base, expect, type Page } from "@playwright/test";

/**
 * `test` for every spec: besides Playwright's own fixtures it fails a test in which a page logged
 * an error (or threw) on one of the frontend's pages while the visitor was signed out — a visitor who has not signed in during
 * the test and holds no session cookie. Such a visitor makes no request that fails: the session
 * provider asks nothing without a session, so a 401 on a public page is a bug, not noise.
 *
 * Not counted: a refused login, second sign-in step or registration (the answer is about the
 * credentials typed), a refused mailed link (about the token in it, or the new password typed),
 * the status of the page's own document (the 404 page answers 404), and anything after the test
 * signed in (an expired or revoked session answers 401 by design).
 */
const SESSION_COOKIES = new Set(["nova_at", "nova_rt"]);
const CREDENTIAL_CHECKS =
  /\/api\/auth\/(login|login\/two-factor|register|verify-email|reset-password)$/;

async function signedOut(context: BrowserContext): Promise<boolean> {
  try {
    return !(await context.cookies()).some((cookie) => SESSION_COOKIES.has(cookie.name));
  } catch {
    return false; // the context is closing: nothing to judge
  }
}

export const test = base.extend<{ signedOutConsole: undefined }>({
  signedOutConsole: [
    async ({ context, baseURL }, use) => {
      const origin = new URL(baseURL ?? "http://127.0.0.1:3000").origin;
      let signedInOnce = false;
      const found: Promise<string | null>[] = [];
      const record = (page: Page, what: string) => {
        const at = page.url();
        // Only the frontend's pages: the services' own pages (API docs, metrics) are not its.
        if (signedInOnce || !at.startsWith(origin)) return;
        found.push(signedOut(context).then((out) => (out ? `${what} on ${at}` : null)));
      };
      const watch = (page: Page) => {
        page.on("console", (message) => {
          if (message.type() !== "error") return;
          const source = message.location().url;
          if (CREDENTIAL_CHECKS.test(source)) return;
          // The page's own status (a 404 page answers 404): the test asserts it, not an error.
          if (source === page.url()) return;
          record(page, `${message.text()} (${source})`);
        });
        page.on("pageerror", (error) => record(page, `uncaught: ${error.message}`));
      };
      context.on("response", (response) => {
        if (/\/api\/auth\/login$/.test(response.url()) && response.ok()) signedInOnce = true;
      });
      for (const page of context.pages()) watch(page);
      context.on("page", watch);
      await use(undefined);
      const errors = (await Promise.all(found)).filter((error) => error !== null);
      expect(errors, "console errors while signed out").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
