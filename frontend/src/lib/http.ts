/**
 * Every request of the browser goes through {@link apiFetch}: same-origin (Next rewrites to the
 * gateway), cookies only, the CSRF header on state-changing calls, and one rule for an ended
 * session — a 401 triggers one refresh; if the refresh fails the user is sent to the login page.
 */

import { loginUrl } from "./next-path";
import { clearExpiresAt, readExpiresAt, recordSession } from "./session-clock";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** Auth calls whose answer is about the credentials sent, not about an expired session. */
const NO_REFRESH_PATHS = [
  "/api/auth/login",
  "/api/auth/login/two-factor",
  "/api/auth/register",
  "/api/auth/refresh",
  "/api/auth/logout",
];

export interface ApiRequestInit extends Omit<RequestInit, "body"> {
  /** A JSON body (serialised here). */
  json?: unknown;
  /** A body already serialised as JSON (Apollo's). */
  rawBody?: string;
  /** Ask the gateway for cookie sessions (`X-Nova-Session: cookie`). */
  cookieSession?: boolean;
  /** On a session that cannot be refreshed: redirect to login (default) or just answer 401. */
  onSessionEnd?: "redirect" | "return";
  /** Decides from a 2xx response that the caller is not signed in (GraphQL answers 200). */
  isUnauthenticated?: (response: Response) => Promise<boolean>;
}

export function requestHeaders(method: string, init: ApiRequestInit): Headers {
  const headers = new Headers(init.headers);
  if (!headers.has("Accept")) headers.set("Accept", "application/json");
  if (!SAFE_METHODS.has(method)) {
    // The gateway refuses cookie-authenticated writes without both (form/text posts included).
    headers.set("Content-Type", "application/json");
    headers.set("X-Nova-CSRF", "1");
  }
  if (init.cookieSession) headers.set("X-Nova-Session", "cookie");
  return headers;
}

async function send(path: string, init: ApiRequestInit): Promise<Response> {
  const method = (init.method ?? "GET").toUpperCase();
  const {
    json,
    rawBody,
    cookieSession: _cookie,
    onSessionEnd: _end,
    isUnauthenticated: _un,
    ...rest
  } = init;
  return fetch(path, {
    ...rest,
    method,
    headers: requestHeaders(method, init),
    body: json === undefined ? rawBody : JSON.stringify(json),
    credentials: "same-origin",
    cache: "no-store",
  });
}

/** 401s that refuse a second-factor code the signed-in user typed, not their session. */
const CODE_REFUSALS = new Set(["invalid_code"]);

async function refusesCode(response: Response): Promise<boolean> {
  try {
    const body: unknown = await response.clone().json();
    const code = typeof body === "object" && body !== null ? Reflect.get(body, "code") : null;
    return typeof code === "string" && CODE_REFUSALS.has(code);
  } catch {
    return false;
  }
}

async function unauthenticated(response: Response, init: ApiRequestInit): Promise<boolean> {
  if (response.status === 401) return !(await refusesCode(response));
  if (response.ok && init.isUnauthenticated) return init.isUnauthenticated(response.clone());
  return false;
}

let sessionEndedHandler: (next: string) => void = (next) => {
  window.location.assign(loginUrl(next, "expired"));
};

/** Replace what happens when the session ends (tests; the session provider). */
export function onSessionEnded(handler: (next: string) => void): () => void {
  const previous = sessionEndedHandler;
  sessionEndedHandler = handler;
  return () => {
    sessionEndedHandler = previous;
  };
}

function currentPath(): string {
  return `${window.location.pathname}${window.location.search}`;
}

/** Send a request; on 401 refresh the session once and retry, else end the session. */
export async function apiFetch(path: string, init: ApiRequestInit = {}): Promise<Response> {
  const response = await send(path, init);
  if (NO_REFRESH_PATHS.includes(path) || !(await unauthenticated(response, init))) {
    return response;
  }
  if (await refreshSession()) {
    const retried = await send(path, init);
    if (!(await unauthenticated(retried, init))) return retried;
  }
  clearExpiresAt();
  if ((init.onSessionEnd ?? "redirect") === "redirect") sessionEndedHandler(currentPath());
  return response;
}

// --- refresh -----------------------------------------------------------------------------------

let inflight: Promise<boolean> | null = null;

interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

function locks(): LockManagerLike | null {
  const candidate = (globalThis.navigator as { locks?: LockManagerLike } | undefined)?.locks;
  return candidate && typeof candidate.request === "function" ? candidate : null;
}

/** A number of seconds from the refresh answer (read without trusting its shape). */
function lifetime(body: unknown, key: "expires_in" | "refresh_expires_in"): number | undefined {
  if (typeof body !== "object" || body === null || !(key in body)) return undefined;
  const value: unknown = Reflect.get(body, key);
  return typeof value === "number" ? value : undefined;
}

async function refreshNow(seenExpiresAt: number | null): Promise<boolean> {
  // Another tab may have refreshed while this one waited for the lock: its cookies are ours.
  const latest = readExpiresAt();
  if (latest !== null && latest !== seenExpiresAt && latest - Date.now() > 5_000) return true;
  let response: Response;
  try {
    response = await send("/api/auth/refresh", { method: "POST", cookieSession: true });
  } catch {
    return false;
  }
  if (response.ok) {
    const body: unknown = await response.json().catch(() => null);
    recordSession(lifetime(body, "expires_in") ?? 300, lifetime(body, "refresh_expires_in"));
    return true;
  }
  if (response.status === 409) {
    // refresh_token_rotated: a concurrent refresh (another tab) already rotated it; the new
    // cookies are in the jar.
    return true;
  }
  clearExpiresAt();
  return false;
}

/**
 * Refresh the session through the gateway's refresh cookie. Concurrent callers in this tab share
 * one request; tabs take turns through the Web Locks API where the browser has it.
 */
export function refreshSession(): Promise<boolean> {
  if (inflight) return inflight;
  const seen = readExpiresAt();
  const manager = locks();
  const run = manager
    ? manager.request("nova-session-refresh", () => refreshNow(seen))
    : refreshNow(seen);
  inflight = run.finally(() => {
    inflight = null;
  });
  return inflight;
}
