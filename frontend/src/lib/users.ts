"use client";

/**
 * The data screens' hooks. Each works over GraphQL (Apollo) or REST, as `useDataSource()`
 * says, and answers the same `UserProfile` shape either way.
 */

import { useMutation, useQuery } from "@apollo/client/react";
import {
  keepPreviousData,
  type UseQueryResult,
  useQueryClient,
  useQuery as useRestQuery,
} from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState } from "react";
import {
  AdminUsersQuery,
  MyProfileQuery,
  RestoreUserMutation,
  UpdateProfileMutation,
} from "@/graphql/operations";
import {
  type ProfileChanges,
  profileFromGraphQL,
  profileFromRest,
  profilePatch,
  type UserProfile,
} from "./account";
import { apolloError } from "./apollo";
import type { DataSource } from "./data-source";
import { useDataSource } from "./data-source";
import { ApiError, errorMessage } from "./errors";
import { restKeys } from "./query-keys";
import { authApi, usersApi } from "./rest";
import { graphqlSeedKey } from "./server-data";
import { useServerSeeded } from "./server-view";

export interface Loaded<T> {
  source: DataSource;
  data: T | undefined;
  loading: boolean;
  error: ApiError | null;
  reload: () => void;
}

export { restKeys };

function asApiError(error: unknown): ApiError | null {
  if (error === null || error === undefined) return null;
  return error instanceof ApiError
    ? error
    : new ApiError(errorMessage(error), { code: "network_error", status: 0 });
}

/** A REST query's state in the screens' shape (a reload asks again even if fresh). */
export function restLoaded<T>(query: UseQueryResult<T>): Loaded<T> {
  return {
    source: "rest",
    data: query.data,
    loading: query.isFetching,
    error: asApiError(query.error),
    reload: () => void query.refetch(),
  };
}

/** A GraphQL query's state in the screens' shape: `data` already mapped, errors as ApiError. */
export function graphqlLoaded<T>(
  data: T | undefined,
  state: { loading: boolean; error?: unknown },
  reload: () => void,
): Loaded<T> {
  return {
    source: "graphql",
    data,
    loading: state.loading,
    error: state.error ? apolloError(state.error) : null,
    reload,
  };
}

/**
 * Call `revalidate` each time the component is shown again after its first showing. The App
 * Router keeps recently visited pages alive while hidden (their effects are torn down and set up
 * again when shown), so a GraphQL screen coming back asks again instead of trusting the cache.
 * (TanStack Query does the same for REST: a query observed again refetches when stale.)
 */
export function useRevalidateOnShow(revalidate: (() => void) | null): void {
  const latest = useRef(revalidate);
  latest.current = revalidate;
  const shownBefore = useRef(false);
  useEffect(() => {
    if (shownBefore.current) latest.current?.();
    shownBefore.current = true;
  }, []);
}

/**
 * Apollo's fetch policy for a screen's query: the cache first while it holds the server's
 * answer for these variables (written by `ServerData` as the page arrived), the network for
 * everything after — other variables, a refetch, the screen shown again. Over REST the same
 * rule is `refetchOnMount` (TanStack Query's hydrated entry stays until it is stale).
 */
export function useServerFirst(
  active: boolean,
  key: string,
): { fetchPolicy: "cache-first" | "network-only"; nextFetchPolicy: () => "network-only" } {
  const seeded = useServerSeeded();
  const [primed, setPrimed] = useState(() => active && seeded(key));
  const [primedKey] = useState(key);
  // Another data source or other variables: this screen no longer shows the server's answer.
  if (primed && (!active || key !== primedKey)) setPrimed(false);
  return {
    fetchPolicy: primed && key === primedKey ? "cache-first" : "network-only",
    nextFetchPolicy: () => "network-only",
  };
}

/** The profile fields of a write's answer over what was loaded (the account fields stay). */
function withProfileFields(current: UserProfile | undefined, saved: UserProfile): UserProfile {
  if (!current) return saved;
  const {
    email: _e,
    emailVerified: _v,
    roles: _r,
    status: _s,
    lastLoginAt: _l,
    createdAt: _c,
    ...profile
  } = saved;
  return { ...current, ...profile };
}

export function useMyProfile(): Loaded<UserProfile> {
  const [source] = useDataSource();
  const seeded = useServerSeeded();
  const graphql = useQuery(MyProfileQuery, {
    skip: source !== "graphql",
    ...useServerFirst(source === "graphql", graphqlSeedKey("MyProfile", {})),
  });
  const rest = useRestQuery({
    queryKey: restKeys.me,
    queryFn: async () => {
      const [profile, account] = await Promise.all([usersApi.me(), authApi.me()]);
      return profileFromRest(profile, account);
    },
    enabled: source === "rest",
    refetchOnMount: (query) => !seeded(query.queryHash),
  });
  const { refetch } = graphql;
  const reloadGraphQL = useCallback(() => void refetch().catch(() => undefined), [refetch]);
  useRevalidateOnShow(source === "graphql" ? reloadGraphQL : null);
  if (source === "graphql") {
    const profile = graphql.data ? profileFromGraphQL(graphql.data.me) : undefined;
    const loading = graphql.loading && !graphql.data;
    return graphqlLoaded(profile, { loading, error: graphql.error }, reloadGraphQL);
  }
  return restLoaded(rest);
}

export function useUpdateProfile(): (changes: ProfileChanges) => Promise<UserProfile> {
  const [source] = useDataSource();
  const queryClient = useQueryClient();
  // The answer is normalised into Apollo's cache (User:<id>), so `me` updates with it; over
  // REST it replaces the profile fields of the cached `me`.
  const [mutate] = useMutation(UpdateProfileMutation);
  return useCallback(
    async (changes: ProfileChanges) => {
      if (source === "rest") {
        const saved = profileFromRest(await usersApi.updateMe(profilePatch(changes)));
        queryClient.setQueryData<UserProfile>(restKeys.me, (current) =>
          withProfileFields(current, saved),
        );
        return saved;
      }
      try {
        const result = await mutate({ variables: { input: changes } });
        if (!result.data) throw new Error("The server answered without data.");
        return profileFromGraphQL(result.data.updateProfile);
      } catch (error) {
        throw apolloError(error);
      }
    },
    [source, mutate, queryClient],
  );
}

export interface UsersPageParams {
  first: number;
  after: string | null;
  search: string;
  includeDeleted: boolean;
}

export interface UsersPage {
  users: UserProfile[];
  hasNextPage: boolean;
  endCursor: string | null;
}

/** Profiles for administrators; `active: false` leaves the list unasked (another list shows). */
export function useAdminUsers(params: UsersPageParams, active = true): Loaded<UsersPage> {
  const [source] = useDataSource();
  const seeded = useServerSeeded();
  const search = params.search.trim() || null;
  const variables = {
    first: params.first,
    after: params.after,
    search,
    includeDeleted: params.includeDeleted,
  };
  const graphql = useQuery(AdminUsersQuery, {
    skip: source !== "graphql" || !active,
    variables,
    ...useServerFirst(source === "graphql" && active, graphqlSeedKey("AdminUsers", variables)),
  });
  const restParams = { ...params, search: search ?? "" };
  const rest = useRestQuery({
    queryKey: restKeys.users(restParams),
    queryFn: async (): Promise<UsersPage> => {
      const page = await usersApi.list({
        first: params.first,
        after: params.after,
        search,
        includeDeleted: params.includeDeleted,
      });
      return {
        users: page.edges.map((edge) => profileFromRest(edge.node)),
        hasNextPage: page.page_info.has_next_page,
        endCursor: page.page_info.end_cursor,
      };
    },
    enabled: source === "rest" && active,
    refetchOnMount: (query) => !seeded(query.queryHash),
    // The page on screen stays while the next one loads (as GraphQL's previous answer does).
    placeholderData: keepPreviousData,
  });
  const { refetch } = graphql;
  const reloadGraphQL = useCallback(() => void refetch().catch(() => undefined), [refetch]);
  useRevalidateOnShow(source === "graphql" && active ? reloadGraphQL : null);
  if (source === "graphql") {
    const connection = graphql.data?.users;
    const page = connection && {
      users: connection.edges.map((edge) => profileFromGraphQL(edge.node)),
      hasNextPage: connection.pageInfo.hasNextPage,
      endCursor: connection.pageInfo.endCursor ?? null,
    };
    return graphqlLoaded(page, graphql, reloadGraphQL);
  }
  return restLoaded(rest);
}

export function useRestoreUser(): (id: string) => Promise<UserProfile> {
  const [source] = useDataSource();
  const [mutate] = useMutation(RestoreUserMutation);
  return useCallback(
    async (id: string) => {
      if (source === "rest") return profileFromRest(await usersApi.restore(id));
      try {
        const result = await mutate({ variables: { id } });
        if (!result.data) throw new Error("The server answered without data.");
        return profileFromGraphQL(result.data.restoreUser);
      } catch (error) {
        throw apolloError(error);
      }
    },
    [source, mutate],
  );
}
