/**
 * Where the Next server finds the gateway and what it calls the session's pieces. No secrets
 * here: the tokens only ever pass through, from the browser's cookies to the gateway.
 */

/** The gateway's address from this server (`NOVA_GATEWAY_URL`; default: `make dev`'s). */
export function gatewayUrl(): string {
  return (process.env.NOVA_GATEWAY_URL || "http://127.0.0.1:8000").replace(/\/+$/, "");
}

/** The gateway's session cookies: the access token (path `/`) and the refresh token, whose
 * path is the auth prefix `/api/auth` — a page request never carries it. */
export const ACCESS_COOKIE = "nova_at";
export const REFRESH_COOKIE = "nova_rt";

/**
 * Where a page sends a browser whose access token is missing, expired or refused: a path under
 * `/api/auth`, so the browser sends its refresh cookie with it. Served by Next itself
 * (`src/app/api/auth/resume/route.ts`), not the gateway.
 */
export const RESUME_PATH = "/api/auth/resume";
/** Set by a refresh on the server for a few seconds: a page that still cannot authenticate
 * after one leaves the rest to the browser instead of refreshing again (no redirect loop). */
export const RESUMED_COOKIE = "nova_resumed";
export const RESUMED_SECONDS = 30;
