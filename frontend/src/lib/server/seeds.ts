import "server-only";

/**
 * The first views of the signed-in pages, loaded on the server over the browser's data source
 * and shaped for the browser's caches: GraphQL answers as Apollo stores them, REST answers as
 * TanStack Query's dehydrated state under the keys the screens' hooks use.
 */

import { dehydrate, QueryClient, type QueryKey } from "@tanstack/react-query";
import { AdminUsersQuery, MyProfileQuery } from "@/graphql/operations";
import { profileFromRest } from "../account";
import { restKeys, USERS_PAGE_SIZE } from "../query-keys";
import type { ProfilePage, ProfileRead } from "../rest";
import type { ServerSeed } from "../server-data";
import type { UsersPage, UsersPageParams } from "../users";
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

/** `/admin/users`: the list's first page, no search, deleted users hidden. */
export async function usersPageSeed({ gateway, source }: SignedInContext): Promise<ServerSeed> {
  const params: UsersPageParams = {
    first: USERS_PAGE_SIZE,
    after: null,
    search: "",
    includeDeleted: false,
  };
  if (source === "graphql") {
    const variables = { first: params.first, after: null, search: null, includeDeleted: false };
    const data = await gateway.query(AdminUsersQuery, variables);
    return { api: "graphql", operation: "AdminUsers", variables, data };
  }
  const page = await gateway.get<ProfilePage>(`/api/users?first=${params.first}`);
  const users: UsersPage = {
    users: page.edges.map((edge) => profileFromRest(edge.node)),
    hasNextPage: page.page_info.has_next_page,
    endCursor: page.page_info.end_cursor,
  };
  return restSeed(restKeys.users(params), users);
}
