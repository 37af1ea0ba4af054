import "server-only";

/**
 * A signed-in page's first view on the server: the request's session cookie, the data source
 * the browser chose, and what the page loads with them — or the way the browser would go when
 * the session has ended (a refresh, else the login page).
 *
 * The refresh cookie's path is the auth prefix, so a page request never carries it, and a Server
 * Component cannot set the rotated cookies anyway. A page whose access token is missing or
 * refused therefore sends the browser to {@link RESUME_PATH} (under that prefix): a route that
 * refreshes, sets the new cookies and sends the browser back — or to `/login?next=…`, with the
 * "session has ended" notice when a session did end, as the browser's own refresh does.
 */

import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { type Account, accountFromRest, isAdmin } from "../account";
import { DATA_SOURCE_COOKIE, type DataSource, dataSourceFromCookie } from "../data-source-cookie";
import { safeNextPath } from "../next-path";
import type { AccountView } from "../rest";
import { ACCESS_COOKIE, RESUME_PATH, RESUMED_COOKIE } from "./config";
import { accessExpiresAt, Gateway, GatewayError } from "./gateway";

/** What a server-rendered page hands its client components (all of it serialisable). */
export interface SignedInView<T> {
  account: Account;
  /** The API the page was rendered over (the `nova.dataSource` cookie; GraphQL by default). */
  source: DataSource;
  /** When the access token expires (ms), for the browser's refresh timer; null if unknown. */
  expiresAt: number | null;
  data: T;
}

export interface SignedInContext {
  gateway: Gateway;
  account: Account;
  /** The account as `GET /api/auth/me` answered it (REST's own shape). */
  accountView: AccountView;
  source: DataSource;
}

/** The refresh route's address that comes back to `here` (a path of this site). */
export function resumeUrl(here: string): string {
  return `${RESUME_PATH}?${new URLSearchParams({ next: safeNextPath(here) })}`;
}

/**
 * Load a signed-in page's data on the server. `here` is the page's own path (with its query),
 * where the browser comes back after a refresh or a sign-in.
 *
 * - no access cookie, or the gateway says the session ended: redirect through the refresh
 *   route (once; right after one, or in the running app's own navigations, the page is left
 *   to the browser's code: null);
 * - the gateway cannot answer now: null — the page renders its client components alone, which
 *   ask again and show the error (and the "Try again") as they always have;
 * - an administrators' page (`admin`) for another account, or a 403 from `load`: "forbidden",
 *   for the page's Forbidden view.
 */
export async function loadSignedIn<T>(
  here: string,
  load: (context: SignedInContext) => Promise<T>,
  { admin = false }: { admin?: boolean } = {},
): Promise<SignedInView<T> | "forbidden" | null> {
  const jar = await cookies();
  const request = await headers();
  const access = jar.get(ACCESS_COOKIE)?.value;
  const source = dataSourceFromCookie(jar.get(DATA_SOURCE_COOKIE)?.value);
  // A navigation inside the running app (its fetch of the page's React Server Components: not a
  // document load, `Sec-Fetch-Mode: navigate`) leaves an ended session to the browser's code,
  // which knows whether this tab was signed in and says so on the login page; so does a page
  // right after a refresh here (no second one, no loop).
  const mode = request.get("sec-fetch-mode");
  const leaveToBrowser = (mode !== null && mode !== "navigate") || jar.has(RESUMED_COOKIE);
  const resume = (): null => {
    if (leaveToBrowser) return null;
    redirect(resumeUrl(here));
  };
  if (!access) return resume();
  const gateway = new Gateway(access, { forwardedFor: request.get("x-forwarded-for") });
  try {
    const accountView = await gateway.get<AccountView>("/api/auth/me");
    const account = accountFromRest(accountView);
    if (admin && !isAdmin(account.roles)) return "forbidden";
    const data = await load({ gateway, account, accountView, source });
    return { account, source, expiresAt: accessExpiresAt(access), data };
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    if (error.kind === "unauthenticated") return resume();
    return error.kind === "forbidden" ? "forbidden" : null;
  }
}
