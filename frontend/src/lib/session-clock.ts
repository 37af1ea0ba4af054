/**
 * When this browser's access token expires — shared by every tab through localStorage.
 *
 * Only a time is stored, never a token: the tokens live in the gateway's httpOnly cookies. Tabs
 * read it to schedule the silent refresh, and see each other's refreshes through the `storage`
 * event, so one tab refreshing keeps the others from doing it again.
 */

export const EXPIRES_AT_KEY = "nova.session.expiresAt";
/** When the session itself (the refresh token) ends: the hint that a session may exist. */
export const SESSION_UNTIL_KEY = "nova.session.until";

function storage(kind: "localStorage" | "sessionStorage" = "localStorage"): Storage | null {
  try {
    return typeof window === "undefined" ? null : window[kind];
  } catch {
    return null;
  }
}

export function readExpiresAt(): number | null {
  const raw = storage()?.getItem(EXPIRES_AT_KEY);
  const value = raw ? Number(raw) : Number.NaN;
  return Number.isFinite(value) && value > 0 ? value : null;
}

/** Record when the access token expires (epoch milliseconds; a time already past reads as now). */
export function recordExpiresAt(expiresAt: number, now = Date.now()): number {
  const at = Math.max(now, expiresAt);
  storage()?.setItem(EXPIRES_AT_KEY, String(at));
  return at;
}

/** Record a new access token lifetime (`expires_in` seconds from now). */
export function recordExpiresIn(expiresInSeconds: number, now = Date.now()): number {
  return recordExpiresAt(now + Math.max(0, expiresInSeconds) * 1000, now);
}

/**
 * Record a sign-in or refresh: the access token's lifetime and, when the answer says it, the
 * session's (`refresh_expires_in`).
 */
export function recordSession(
  expiresInSeconds: number,
  sessionSeconds?: number,
  now = Date.now(),
): number {
  if (sessionSeconds !== undefined) {
    storage()?.setItem(SESSION_UNTIL_KEY, String(now + Math.max(0, sessionSeconds) * 1000));
  }
  return recordExpiresIn(expiresInSeconds, now);
}

/** The session ended (or never began): forget both times. */
export function clearExpiresAt(): void {
  storage()?.removeItem(EXPIRES_AT_KEY);
  storage()?.removeItem(SESSION_UNTIL_KEY);
  storage("sessionStorage")?.removeItem(SIGN_IN_PENDING_KEY);
}

/**
 * Whether this browser may hold a session: one was started here, has not ended and has not run
 * out. The cookies are httpOnly, so this is what spares a visitor who never signed in (or whose
 * session is over) a request that can only answer 401.
 */
export function mayHaveSession(now = Date.now()): boolean {
  const raw = storage()?.getItem(SESSION_UNTIL_KEY);
  if (raw) {
    const until = Number(raw);
    return Number.isFinite(until) && until > now;
  }
  // Signed in before the session's end was recorded: the access expiry alone says so.
  return readExpiresAt() !== null;
}

/** Set in this tab while it signs in at an identity provider (sessionStorage: the same tab). */
export const SIGN_IN_PENDING_KEY = "nova.session.pending";

/**
 * A sign-in that ends outside this app's JavaScript is under way: the provider sends the browser
 * back through the gateway, which sets the cookies and redirects, so nothing records the session
 * the way a password sign-in does. The page it lands on asks who is signed in once.
 */
export function markSignInPending(): void {
  storage("sessionStorage")?.setItem(SIGN_IN_PENDING_KEY, "1");
}

/** Whether a provider sign-in was under way (the mark is spent). */
export function takeSignInPending(): boolean {
  const pending = storage("sessionStorage")?.getItem(SIGN_IN_PENDING_KEY) === "1";
  if (pending) storage("sessionStorage")?.removeItem(SIGN_IN_PENDING_KEY);
  return pending;
}

/**
 * When to refresh: a minute before expiry, or at 80 % of a shorter lifetime; never in the past.
 */
export function refreshDelay(expiresAt: number, now = Date.now()): number {
  const remaining = expiresAt - now;
  const margin = Math.min(60_000, Math.max(5_000, remaining * 0.2));
  return Math.max(0, remaining - margin);
}
