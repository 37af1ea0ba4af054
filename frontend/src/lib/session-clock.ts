/**
 * When this browser's access token expires — shared by every tab through localStorage.
 *
 * Only a time is stored, never a token: the tokens live in the gateway's httpOnly cookies. Tabs
 * read it to schedule the silent refresh, and see each other's refreshes through the `storage`
 * event, so one tab refreshing keeps the others from doing it again.
 */

export const EXPIRES_AT_KEY = "nova.session.expiresAt";

function storage(): Storage | null {
  try {
    return typeof window === "undefined" ? null : window.localStorage;
  } catch {
    return null;
  }
}

export function readExpiresAt(): number | null {
  const raw = storage()?.getItem(EXPIRES_AT_KEY);
  const value = raw ? Number(raw) : Number.NaN;
  return Number.isFinite(value) && value > 0 ? value : null;
}

/** Record a new access token lifetime (`expires_in` seconds from now). */
export function recordExpiresIn(expiresInSeconds: number, now = Date.now()): number {
  const expiresAt = now + Math.max(0, expiresInSeconds) * 1000;
  storage()?.setItem(EXPIRES_AT_KEY, String(expiresAt));
  return expiresAt;
}

export function clearExpiresAt(): void {
  storage()?.removeItem(EXPIRES_AT_KEY);
}

/**
 * When to refresh: a minute before expiry, or at 80 % of a shorter lifetime; never in the past.
 */
export function refreshDelay(expiresAt: number, now = Date.now()): number {
  const remaining = expiresAt - now;
  const margin = Math.min(60_000, Math.max(5_000, remaining * 0.2));
  return Math.max(0, remaining - margin);
}
