/**
 * The gateway's REST API, typed from its merged OpenAPI document (`openapi.json`, generated into
 * `src/rest/schema.d.ts` by `npm run codegen:rest`): paths, parameters, bodies and answers are
 * the services' own, snake_case on the wire. Requests go through `apiFetch`, so the session rules
 * of `http.ts` (CSRF header, cookie sessions, one refresh on 401) apply to every call.
 */

import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "@/rest/schema";
import { ApiError, apiErrorFromResponse } from "./errors";
import { type ApiRequestInit, apiFetch } from "./http";

type Schemas = components["schemas"];
export type AccountView = Schemas["AuthAccountView"];
export type AccountStatus = AccountView["status"];
/** Auth answer in cookie mode: the gateway moves both tokens into httpOnly cookies. */
export type SessionResponse = Omit<Schemas["AuthTokenResponse"], "access_token" | "refresh_token">;
export type RegistrationAccepted = Schemas["AuthRegistrationAccepted"];
/** What the password step answers: a session, or (a two-factor account) a challenge for the
 * second step, which `loginTwoFactor` completes. */
export type LoginResult =
  | { kind: "session"; session: SessionResponse }
  | { kind: "two-factor"; mfaToken: string; expiresIn: number };
export type ProfileRead = Schemas["UsersProfileRead"];
export type ProfilePage = Schemas["UsersProfilePage"];
/** `PATCH /api/users/me`: only the fields sent change; `null` clears an optional one. */
export type ProfilePatch = Schemas["UsersProfileUpdate"];

type SessionOptions = Pick<ApiRequestInit, "cookieSession" | "onSessionEnd">;

/**
 * openapi-fetch's `fetch`: the prepared request through `apiFetch` (same-origin path, session
 * rules); an answer that is not 2xx, or no answer, rejects with an {@link ApiError}.
 */
export function sessionFetch(
  options: SessionOptions = {},
): (request: Request) => Promise<Response> {
  return async (request) => {
    const url = new URL(request.url);
    const body = request.body === null ? undefined : await request.text();
    let response: Response;
    try {
      response = await apiFetch(`${url.pathname}${url.search}`, {
        ...options,
        method: request.method,
        headers: request.headers,
        rawBody: body || undefined,
        signal: request.signal,
      });
    } catch {
      throw new ApiError("The server could not be reached. Check your connection and try again.", {
        code: "network_error",
        status: 0,
      });
    }
    if (!response.ok) throw await apiErrorFromResponse(response);
    return response;
  };
}

const plainFetch = sessionFetch();
const cookieFetch = sessionFetch({ cookieSession: true });
/** Credentials are checked, not a session: a refused one must not end the session. */
const quietFetch = sessionFetch({ cookieSession: true, onSessionEnd: "return" });

let current: { origin: string; client: Client<paths> } | null = null;

/** The typed client for this page's origin (the gateway is reached same-origin). */
export function api(): Client<paths> {
  const origin = window.location.origin;
  if (current?.origin !== origin) {
    current = { origin, client: createClient<paths>({ baseUrl: origin, fetch: plainFetch }) };
  }
  return current.client;
}

/** The answer's data; a 2xx without the body the schema promises is a server fault. */
export function required<D>(result: { data?: D; response: Response }): D {
  if (result.data === undefined) {
    throw new ApiError("The server answered without data.", {
      code: "server_error",
      status: result.response.status,
    });
  }
  return result.data;
}

export interface ListUsersParams {
  first?: number;
  after?: string | null;
  search?: string | null;
  includeDeleted?: boolean;
  /** Only these users' profiles (at most 100). */
  ids?: string[];
}

export const authApi = {
  /** 202, the same for a new and an existing address (no enumeration). */
  register: async (body: Schemas["AuthRegisterRequest"]): Promise<RegistrationAccepted> =>
    required(await api().POST("/api/auth/register", { body, fetch: cookieFetch })),
  login: async (body: Schemas["AuthLoginRequest"]): Promise<LoginResult> => {
    const answer = required(await api().POST("/api/auth/login", { body, fetch: cookieFetch }));
    if ("mfa_required" in answer) {
      return { kind: "two-factor", mfaToken: answer.mfa_token, expiresIn: answer.expires_in };
    }
    return { kind: "session", session: answer };
  },
  /** The second sign-in step of a two-factor account: a code or a recovery code. Without
   * `mfa_token` (a provider sign-in's challenge) the gateway adds the one its cookie holds. */
  loginTwoFactor: async (
    body: Omit<Schemas["AuthLoginTwoFactorRequest"], "mfa_token"> & { mfa_token?: string },
  ): Promise<SessionResponse> =>
    required(
      await api().POST("/api/auth/login/two-factor", {
        body: body as Schemas["AuthLoginTwoFactorRequest"],
        fetch: cookieFetch,
      }),
    ),
  logout: async (): Promise<void> => {
    // The gateway adds the refresh cookie's token to the (JSON object) body.
    await api().POST("/api/auth/logout", { body: {}, fetch: quietFetch });
  },
  logoutAll: async (): Promise<void> => {
    await api().POST("/api/auth/logout-all", { fetch: cookieFetch });
  },
  /**
   * Change the password. The answer's body is never read: it would carry the new session's
   * tokens unless the gateway turns them into cookies, and JavaScript must not see tokens.
   */
  changePassword: async (body: Schemas["AuthChangePasswordRequest"]): Promise<void> => {
    const { response } = await api().POST("/api/auth/change-password", {
      body,
      fetch: cookieFetch,
      parseAs: "stream",
    });
    await response.body?.cancel();
  },
  /** The signed-in account; `probe` answers 401 instead of redirecting to the login page. */
  me: async (options: { probe?: boolean } = {}): Promise<AccountView> =>
    required(
      await api().GET("/api/auth/me", {
        fetch: options.probe ? sessionFetch({ onSessionEnd: "return" }) : plainFetch,
      }),
    ),
  /** Delete the account; in cookie mode the gateway also clears the session cookies. */
  deleteAccount: async (password: string): Promise<void> => {
    await api().DELETE("/api/auth/me", { body: { password }, fetch: cookieFetch });
  },
  /** Spend the token of a verification mail (400 `invalid_token`: unknown, used or expired). */
  verifyEmail: async (token: string): Promise<void> => {
    required(await api().POST("/api/auth/verify-email", { body: { token } }));
  },
  /** Mail the signed-in account a new verification link (rate-limited: 429). */
  resendVerification: async (): Promise<void> => {
    required(await api().POST("/api/auth/verify-email/resend"));
  },
  /** Mail a reset link; the same 202 whether or not the address has an account. */
  forgotPassword: async (email: string): Promise<void> => {
    required(await api().POST("/api/auth/forgot-password", { body: { email } }));
  },
  /** Set a new password with the token of a reset mail; the account's sessions all end. */
  resetPassword: async (body: Schemas["AuthResetPasswordRequest"]): Promise<void> => {
    required(await api().POST("/api/auth/reset-password", { body }));
  },
};

export const usersApi = {
  me: async (): Promise<ProfileRead> => required(await api().GET("/api/users/me")),
  updateMe: async (patch: ProfilePatch): Promise<ProfileRead> =>
    required(await api().PATCH("/api/users/me", { body: patch })),
  get: async (id: string, includeDeleted = false): Promise<ProfileRead> =>
    required(
      await api().GET("/api/users/{user_id}", {
        params: {
          path: { user_id: id },
          query: includeDeleted ? { include_deleted: true } : undefined,
        },
      }),
    ),
  list: async (params: ListUsersParams = {}): Promise<ProfilePage> =>
    required(
      await api().GET("/api/users", {
        params: {
          query: {
            first: params.first,
            after: params.after || undefined,
            search: params.search || undefined,
            include_deleted: params.includeDeleted || undefined,
            ids: params.ids,
          },
        },
      }),
    ),
  restore: async (id: string): Promise<ProfileRead> =>
    required(
      await api().POST("/api/users/{user_id}/restore", { params: { path: { user_id: id } } }),
    ),
};
