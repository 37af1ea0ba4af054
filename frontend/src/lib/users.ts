"use client";

/**
 * The data screens' hooks. Each works over GraphQL (Apollo) or REST, as `useDataSource()`
 * says, and answers the same `UserProfile` shape either way.
 */

import { useMutation, useQuery } from "@apollo/client/react";
import { useCallback } from "react";
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
import type { ApiError } from "./errors";
import { useResource, useRevalidateOnShow } from "./resource";
import { authApi, usersApi } from "./rest";

export interface Loaded<T> {
  source: DataSource;
  data: T | undefined;
  loading: boolean;
  error: ApiError | null;
  reload: () => void;
}

export interface MyProfile extends Loaded<UserProfile> {
  /** Show a profile a write answered (GraphQL's cache already has it; REST has no cache). */
  accept: (profile: UserProfile) => void;
}

/** The profile fields of a write's answer over what was loaded (the account fields stay). */
function withProfileFields(current: UserProfile | undefined, saved: UserProfile): UserProfile {
  if (!current) return saved;
  const { email: _e, roles: _r, status: _s, lastLoginAt: _l, createdAt: _c, ...profile } = saved;
  return { ...current, ...profile };
}

export function useMyProfile(): MyProfile {
  const [source] = useDataSource();
  const graphql = useQuery(MyProfileQuery, {
    skip: source !== "graphql",
    fetchPolicy: "network-only",
  });
  const rest = useResource(source === "rest" ? "me" : null, async () => {
    const [profile, account] = await Promise.all([usersApi.me(), authApi.me()]);
    return profileFromRest(profile, account);
  });
  const { refetch } = graphql;
  const reloadGraphQL = useCallback(() => void refetch().catch(() => undefined), [refetch]);
  useRevalidateOnShow(source === "graphql" ? reloadGraphQL : null);
  const { replace } = rest;
  const acceptRest = useCallback(
    (saved: UserProfile) => replace((current) => withProfileFields(current, saved)),
    [replace],
  );
  if (source === "graphql") {
    return {
      source,
      data: graphql.data ? profileFromGraphQL(graphql.data.me) : undefined,
      loading: graphql.loading && !graphql.data,
      error: graphql.error ? apolloError(graphql.error) : null,
      reload: reloadGraphQL,
      accept: () => undefined,
    };
  }
  return {
    source,
    data: rest.data,
    loading: rest.loading,
    error: rest.error,
    reload: rest.reload,
    accept: acceptRest,
  };
}

export function useUpdateProfile(): (changes: ProfileChanges) => Promise<UserProfile> {
  const [source] = useDataSource();
  // The answer is normalised into Apollo's cache (User:<id>), so `me` updates with it.
  const [mutate] = useMutation(UpdateProfileMutation);
  return useCallback(
    async (changes: ProfileChanges) => {
      if (source === "rest") return profileFromRest(await usersApi.updateMe(profilePatch(changes)));
      try {
        const result = await mutate({ variables: { input: changes } });
        if (!result.data) throw new Error("The server answered without data.");
        return profileFromGraphQL(result.data.updateProfile);
      } catch (error) {
        throw apolloError(error);
      }
    },
    [source, mutate],
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

export function useAdminUsers(params: UsersPageParams): Loaded<UsersPage> {
  const [source] = useDataSource();
  const search = params.search.trim() || null;
  const graphql = useQuery(AdminUsersQuery, {
    skip: source !== "graphql",
    variables: {
      first: params.first,
      after: params.after,
      search,
      includeDeleted: params.includeDeleted,
    },
    fetchPolicy: "network-only",
  });
  const rest = useResource(
    source === "rest" ? JSON.stringify({ ...params, search }) : null,
    async (): Promise<UsersPage> => {
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
  );
  const { refetch } = graphql;
  const reloadGraphQL = useCallback(() => void refetch().catch(() => undefined), [refetch]);
  useRevalidateOnShow(source === "graphql" ? reloadGraphQL : null);
  if (source === "graphql") {
    const connection = graphql.data?.users;
    return {
      source,
      data: connection
        ? {
            users: connection.edges.map((edge) => profileFromGraphQL(edge.node)),
            hasNextPage: connection.pageInfo.hasNextPage,
            endCursor: connection.pageInfo.endCursor ?? null,
          }
        : undefined,
      loading: graphql.loading,
      error: graphql.error ? apolloError(graphql.error) : null,
      reload: reloadGraphQL,
    };
  }
  return { source, ...rest };
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
