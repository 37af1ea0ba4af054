/**
 * The gateway's REST API, typed. Bodies and field names are the services' own
 * (`services/auth/.../schemas.py`, `services/users/.../schemas.py`): snake_case on the wire.
 */

import { apiErrorFromResponse } from "./errors";
import { apiFetch, apiJson } from "./http";

export type AccountStatus = "active" | "disabled" | "deleted";

export interface AccountView {
  id: string;
  email: string;
  email_verified: boolean;
  roles: string[];
  status: AccountStatus;
  created_at: string;
  last_login_at: string | null;
  password_changed_at?: string;
}

/** Auth answer in cookie mode: the tokens stay in httpOnly cookies, `expires_in` remains. */
export interface SessionResponse {
  expires_in: number;
  refresh_expires_in?: number;
  token_type?: string;
  account: AccountView;
}

export interface ProfileRead {
  id: string;
  display_name: string;
  bio: string | null;
  avatar_url: string | null;
  locale: string | null;
  timezone: string | null;
  created_at: string;
  updated_at: string;
  deleted_at?: string | null;
}

export interface ProfilePage {
  edges: { cursor: string; node: ProfileRead }[];
  page_info: { has_next_page: boolean; end_cursor: string | null };
}

/** `PATCH /api/users/me`: only the fields sent change; `null` clears an optional one. */
export interface ProfilePatch {
  display_name?: string;
  bio?: string | null;
  avatar_url?: string | null;
  locale?: string | null;
  timezone?: string | null;
}

export interface ListUsersParams {
  first?: number;
  after?: string | null;
  search?: string | null;
  includeDeleted?: boolean;
}

const segment = (id: string) => encodeURIComponent(id);

/** `POST /api/auth/register`: 202, the same for a new and an existing address (no enumeration). */
export interface RegistrationAccepted {
  status: "accepted";
  message: string;
}

export const authApi = {
  register: (body: { email: string; password: string; display_name?: string | null }) =>
    apiJson<RegistrationAccepted>("/api/auth/register", {
      method: "POST",
      json: body,
      cookieSession: true,
    }),
  login: (body: { email: string; password: string }) =>
    apiJson<SessionResponse>("/api/auth/login", {
      method: "POST",
      json: body,
      cookieSession: true,
    }),
  logout: () =>
    apiJson<void>("/api/auth/logout", {
      method: "POST",
      cookieSession: true,
      onSessionEnd: "return",
    }),
  logoutAll: () => apiJson<void>("/api/auth/logout-all", { method: "POST", cookieSession: true }),
  /**
   * Change the password. The answer's body is never read: it would carry the new session's
   * tokens unless the gateway turns them into cookies, and JavaScript must not see tokens.
   */
  changePassword: async (body: { current_password: string; new_password: string }) => {
    const response = await apiFetch("/api/auth/change-password", {
      method: "POST",
      json: body,
      cookieSession: true,
    });
    if (!response.ok) throw await apiErrorFromResponse(response);
    await response.body?.cancel();
  },
  /** The signed-in account; `probe` answers 401 instead of redirecting to the login page. */
  me: (options: { probe?: boolean } = {}) =>
    apiJson<AccountView>("/api/auth/me", { onSessionEnd: options.probe ? "return" : "redirect" }),
  /** Delete the account; in cookie mode the gateway also clears the session cookies. */
  deleteAccount: (password: string) =>
    apiJson<void>("/api/auth/me", {
      method: "DELETE",
      json: { password },
      cookieSession: true,
    }),
};

export const usersApi = {
  me: () => apiJson<ProfileRead>("/api/users/me"),
  updateMe: (patch: ProfilePatch) =>
    apiJson<ProfileRead>("/api/users/me", { method: "PATCH", json: patch }),
  get: (id: string, includeDeleted = false) =>
    apiJson<ProfileRead>(
      `/api/users/${segment(id)}${includeDeleted ? "?include_deleted=true" : ""}`,
    ),
  list: (params: ListUsersParams = {}) => {
    const query = new URLSearchParams();
    if (params.first !== undefined) query.set("first", String(params.first));
    if (params.after) query.set("after", params.after);
    if (params.search) query.set("search", params.search);
    if (params.includeDeleted) query.set("include_deleted", "true");
    const suffix = query.toString();
    return apiJson<ProfilePage>(`/api/users${suffix ? `?${suffix}` : ""}`);
  },
  restore: (id: string) =>
    apiJson<ProfileRead>(`/api/users/${segment(id)}/restore`, { method: "POST" }),
};
