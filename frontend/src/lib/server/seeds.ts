import "server-only";

/**
 * The first views of the signed-in pages, loaded on the server over the browser's data source
 * and shaped for the browser's caches: GraphQL answers as Apollo stores them, REST answers as
 * TanStack Query's dehydrated state under the keys the screens' hooks use.
 */

import { dehydrate, QueryClient, type QueryKey } from "@tanstack/react-query";
import type {
  AccountPageView,
  AccountSessionView,
  AdminSecurityEventPageView,
} from "@/features/admin/admin-api";
import {
  accountsPageFromRest,
  accountsVariables,
  adminKeys,
  detailFromRest,
  EVENTS_SHOWN,
  profilesOf,
} from "@/features/admin/admin-shapes";
import { listsAccounts, type UserFilters } from "@/features/admin/filters";
import {
  AdminAccountsQuery,
  AdminUserQuery,
  AdminUsersQuery,
  MyProfileQuery,
} from "@/graphql/operations";
import { profileFromRest } from "../account";
import { restKeys, USERS_PAGE_SIZE } from "../query-keys";
import type { AccountView, ProfilePage, ProfileRead } from "../rest";
import type { ServerSeed } from "../server-data";
import type { UsersPage, UsersPageParams } from "../users";
import { GatewayError } from "./gateway";
import type { SignedInContext } from "./session";

export function restSeed(key: QueryKey, data: unknown): ServerSeed {
  const client = new QueryClient();
  client.setQueryData(key, data);
  return { api: "rest", state: dehydrate(client) };
}

/** `/profile`: the caller's profile with the account fields (as `useMyProfile` loads it). */
export async function myProfileSeed({
  gateway,
  source,
  accountView,
}: SignedInContext): Promise<ServerSeed> {
  if (source === "graphql") {
    const data = await gateway.query(MyProfileQuery, {});
    return { api: "graphql", operation: "MyProfile", variables: {}, data };
  }
  const profile = await gateway.get<ProfileRead>("/api/users/me");
  return restSeed(restKeys.me, profileFromRest(profile, accountView));
}

/** `/admin/users`: the list's first page for the filters of the page's URL. */
export function usersPageSeed(filters: UserFilters) {
  return async ({ gateway, source }: SignedInContext): Promise<ServerSeed> => {
    const first = USERS_PAGE_SIZE;
    if (listsAccounts(filters)) {
      const params = { first, after: null, ...filters };
      const { includeDeleted: _, ...listParams } = params;
      if (source === "graphql") {
        const variables = accountsVariables(listParams);
        const data = await gateway.query(AdminAccountsQuery, variables);
        return { api: "graphql", operation: "AdminAccounts", variables, data };
      }
      const query = new URLSearchParams({ first: String(first) });
      if (filters.search) query.set("search", filters.search);
      if (filters.role) query.set("role", filters.role);
      if (filters.state) query.set("status", filters.state);
      const page = await gateway.get<AccountPageView>(`/api/auth/accounts?${query}`);
      const wanted = profilesOf(page);
      const names = new URLSearchParams({ first: String(wanted.first), include_deleted: "true" });
      for (const id of wanted.ids) names.append("ids", id);
      const profiles: ProfilePage = wanted.ids.length
        ? await gateway.get<ProfilePage>(`/api/users?${names}`)
        : { edges: [], page_info: { has_next_page: false, end_cursor: null } };
      return restSeed(adminKeys.accounts(listParams), accountsPageFromRest(page, profiles));
    }
    const params: UsersPageParams = {
      first,
      after: null,
      search: filters.search,
      includeDeleted: filters.includeDeleted,
    };
    if (source === "graphql") {
      const variables = {
        first,
        after: null,
        search: filters.search || null,
        includeDeleted: filters.includeDeleted,
      };
      const data = await gateway.query(AdminUsersQuery, variables);
      return { api: "graphql", operation: "AdminUsers", variables, data };
    }
    const query = new URLSearchParams({ first: String(first) });
    if (filters.search) query.set("search", filters.search);
    if (filters.includeDeleted) query.set("include_deleted", "true");
    const page = await gateway.get<ProfilePage>(`/api/users?${query}`);
    const users: UsersPage = {
      users: page.edges.map((edge) => profileFromRest(edge.node)),
      hasNextPage: page.page_info.has_next_page,
      endCursor: page.page_info.end_cursor,
    };
    return restSeed(restKeys.users(params), users);
  };
}

/** A missing resource (404) as `null`; other failures as they are. */
async function orNull<T>(call: Promise<T>): Promise<T | null> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof GatewayError && error.status === 404) return null;
    throw error;
  }
}

/** `/admin/users/[id]`: the user's profile, account, sessions and security log. */
export function adminUserSeed(id: string) {
  return async ({ gateway, source }: SignedInContext): Promise<ServerSeed> => {
    if (source === "graphql") {
      const variables = { id };
      const data = await gateway.query(AdminUserQuery, variables);
      return { api: "graphql", operation: "AdminUser", variables, data };
    }
    const base = `/api/auth/accounts/${id}`;
    const [profile, account, sessions, events] = await Promise.all([
      orNull(gateway.get<ProfileRead>(`/api/users/${id}?include_deleted=true`)),
      orNull(gateway.get<AccountView>(base)),
      orNull(gateway.get<AccountSessionView[]>(`${base}/sessions`)),
      orNull(
        gateway.get<AdminSecurityEventPageView>(`${base}/security-events?first=${EVENTS_SHOWN}`),
      ),
    ]);
    const detail =
      account && sessions && events ? detailFromRest(profile, account, sessions, events) : null;
    return restSeed(adminKeys.user(id), detail);
  };
}
