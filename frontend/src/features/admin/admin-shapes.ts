/**
 * The administrators' data shapes and the pure functions between the wire and the screens,
 * shared by the client hooks (`admin-data.ts`) and the server's first views (`lib/server`).
 */

import type { UserProfile } from "@/lib/account";
import type { AccountView } from "@/lib/rest";
import type { UsersPage } from "@/lib/users";
import type {
  AccountPageView,
  AccountSessionView,
  AdminSecurityEventPageView,
  ListAccountsParams,
} from "./admin-api";

export const EVENTS_SHOWN = 20;

export const adminKeys = {
  accounts: (params: ListAccountsParams) => ["rest", "accounts", params] as const,
  user: (id: string) => ["rest", "admin-user", id] as const,
};

export interface AdminSession {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
  revokedAt: string | null;
  revokedReason: string | null;
  clientAddress: string | null;
}

export interface AdminSecurityEvent {
  id: string;
  kind: string;
  occurredAt: string;
  clientAddress: string | null;
  userAgent: string | null;
  /** The administrator who acted; null when the owner did. */
  actor: string | null;
}

export interface AdminUserDetail {
  user: UserProfile;
  sessions: AdminSession[];
  events: AdminSecurityEvent[];
}

const GRAPHQL_STATUS = { active: "ACTIVE", disabled: "DISABLED", deleted: "DELETED" } as const;

/** An account of auth's REST list as the screens show it (the name is the profile's, which
 * auth does not hold: the address stands in for it). */
export function userFromAccount(account: AccountView, profile?: UserProfile | null): UserProfile {
  return {
    id: account.id,
    displayName: profile?.displayName ?? account.email,
    bio: profile?.bio ?? null,
    avatarUrl: profile?.avatarUrl ?? null,
    locale: profile?.locale ?? null,
    timezone: profile?.timezone ?? null,
    createdAt: account.created_at,
    updatedAt: profile?.updatedAt ?? null,
    deletedAt: profile?.deletedAt ?? null,
    email: account.email,
    emailVerified: account.email_verified,
    roles: account.roles,
    status: account.status,
    lastLoginAt: account.last_login_at,
    twoFactorEnabled: profile?.twoFactorEnabled ?? null,
  };
}

export function sessionFromRest(row: AccountSessionView): AdminSession {
  return {
    id: row.id,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    revokedReason: row.revoked_reason,
    clientAddress: row.client_address,
  };
}

export function eventsFromRest(page: AdminSecurityEventPageView): AdminSecurityEvent[] {
  return page.edges.map(({ node }) => ({
    id: node.id,
    kind: node.kind,
    occurredAt: node.occurred_at,
    clientAddress: node.client_address,
    userAgent: node.user_agent,
    actor: node.actor ?? null,
  }));
}

/** Accounts matching the filters (auth pages over them), with the profile fields over GraphQL. */
/** The `AdminAccounts` variables for these filters (the server's first view uses the same). */
export function accountsVariables(params: ListAccountsParams) {
  return {
    first: params.first,
    after: params.after,
    search: params.search.trim() || null,
    role: params.role || null,
    status: params.state ? GRAPHQL_STATUS[params.state] : null,
  };
}

export function accountsPageFromRest(page: AccountPageView): UsersPage {
  return {
    users: page.edges.map((edge) => userFromAccount(edge.node)),
    hasNextPage: page.page_info.has_next_page,
    endCursor: page.page_info.end_cursor,
  };
}
