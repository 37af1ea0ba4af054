/**
 * The administrators' data shapes and the pure functions between the wire and the screens,
 * shared by the client hooks (`admin-data.ts`) and the server's first views (`lib/server`).
 */

import { profileFromRest, type UserProfile } from "@/lib/account";
import type { AccountView, ProfilePage, ProfileRead } from "@/lib/rest";
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

/** An account of auth's REST API as the screens show it, with its profile's fields when there
 * is one (auth holds no name: without a profile the address stands in for it). */
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

/** A page of auth's accounts, named by their profiles (`profiles`: the users service's answer
 * for the page's ids, deleted ones included; an account without one shows its address). */
export function accountsPageFromRest(page: AccountPageView, profiles: ProfilePage): UsersPage {
  const named = new Map(profiles.edges.map(({ node }) => [node.id, profileFromRest(node)]));
  return {
    users: page.edges.map((edge) => userFromAccount(edge.node, named.get(edge.node.id))),
    hasNextPage: page.page_info.has_next_page,
    endCursor: page.page_info.end_cursor,
  };
}

/** The users list's query for the profiles of a page of accounts. */
export function profilesOf(page: AccountPageView) {
  const ids = page.edges.map((edge) => edge.node.id);
  return { first: Math.max(ids.length, 1), ids, includeDeleted: true };
}

/** A user's page from REST's four answers (no profile: the account alone). */
export function detailFromRest(
  profile: ProfileRead | null,
  account: AccountView,
  sessions: AccountSessionView[],
  events: AdminSecurityEventPageView,
): AdminUserDetail {
  return {
    user: userFromAccount(account, profile && profileFromRest(profile)),
    sessions: sessions.map(sessionFromRest),
    events: eventsFromRest(events),
  };
}
