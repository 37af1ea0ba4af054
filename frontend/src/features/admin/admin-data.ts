"use client";

/**
 * The administrators' account hooks: the filtered account list, one user's detail (profile,
 * account, sessions, security log) and the account actions. Each works over GraphQL (one
 * federated query through the gateway) or REST (auth's and users' routes), as the data source
 * says, and answers the same shapes either way.
 */

import { useMutation, useQuery } from "@apollo/client/react";
import { keepPreviousData, useQuery as useRestQuery } from "@tanstack/react-query";
import { useCallback } from "react";
import {
  AdminAccountsQuery,
  AdminUserQuery,
  DisableAccountMutation,
  EnableAccountMutation,
} from "@/graphql/operations";
import { profileFromGraphQL } from "@/lib/account";
import { apolloError } from "@/lib/apollo";
import { useDataSource } from "@/lib/data-source";
import { ApiError } from "@/lib/errors";
import { usersApi } from "@/lib/rest";
import { graphqlSeedKey } from "@/lib/server-data";
import { useServerSeeded } from "@/lib/server-view";
import {
  graphqlLoaded,
  type Loaded,
  restLoaded,
  type UsersPage,
  useRevalidateOnShow,
  useServerFirst,
} from "@/lib/users";
import { accountsApi, type ListAccountsParams } from "./admin-api";
import {
  type AdminUserDetail,
  accountsPageFromRest,
  accountsVariables,
  adminKeys,
  detailFromRest,
  EVENTS_SHOWN,
  profilesOf,
} from "./admin-shapes";

export function useAdminAccounts(params: ListAccountsParams, active = true): Loaded<UsersPage> {
  const [source] = useDataSource();
  const seeded = useServerSeeded();
  const variables = accountsVariables(params);
  const graphql = useQuery(AdminAccountsQuery, {
    skip: source !== "graphql" || !active,
    variables,
    ...useServerFirst(source === "graphql" && active, graphqlSeedKey("AdminAccounts", variables)),
  });
  const rest = useRestQuery({
    queryKey: adminKeys.accounts(params),
    queryFn: async () => {
      const page = await accountsApi.list(params);
      const profiles = page.edges.length
        ? await usersApi.list(profilesOf(page))
        : { edges: [], page_info: { has_next_page: false, end_cursor: null } };
      return accountsPageFromRest(page, profiles);
    },
    enabled: source === "rest" && active,
    refetchOnMount: (query) => !seeded(query.queryHash),
    placeholderData: keepPreviousData,
  });
  const { refetch } = graphql;
  const reloadGraphQL = useCallback(() => void refetch().catch(() => undefined), [refetch]);
  useRevalidateOnShow(source === "graphql" && active ? reloadGraphQL : null);
  if (source === "graphql") {
    const connection = graphql.data?.accounts;
    const page = connection && {
      users: connection.edges.flatMap((edge) => (edge.node ? [profileFromGraphQL(edge.node)] : [])),
      hasNextPage: connection.pageInfo.hasNextPage,
      endCursor: connection.pageInfo.endCursor ?? null,
    };
    return graphqlLoaded(page, graphql, reloadGraphQL);
  }
  return restLoaded(rest);
}

/** REST: the profile (deleted ones too), the account, its sessions and log, side by side. */
export async function loadAdminUserRest(id: string): Promise<AdminUserDetail | null> {
  const profile = usersApi.get(id, true).catch((error: unknown) => {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  });
  try {
    const [found, account, sessions, events] = await Promise.all([
      profile,
      accountsApi.get(id),
      accountsApi.sessions(id),
      accountsApi.events(id, EVENTS_SHOWN),
    ]);
    return detailFromRest(found, account, sessions, events);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

/** One user for administrators; `null` data when there is no such user. */
export function useAdminUser(id: string): Loaded<AdminUserDetail | null> {
  const [source] = useDataSource();
  const seeded = useServerSeeded();
  const variables = { id };
  const graphql = useQuery(AdminUserQuery, {
    skip: source !== "graphql",
    variables,
    ...useServerFirst(source === "graphql", graphqlSeedKey("AdminUser", variables)),
  });
  const rest = useRestQuery({
    queryKey: adminKeys.user(id),
    queryFn: () => loadAdminUserRest(id),
    enabled: source === "rest",
    refetchOnMount: (query) => !seeded(query.queryHash),
  });
  const { refetch } = graphql;
  const reloadGraphQL = useCallback(() => void refetch().catch(() => undefined), [refetch]);
  useRevalidateOnShow(source === "graphql" ? reloadGraphQL : null);
  if (source === "graphql") {
    const user = graphql.data?.user;
    const detail =
      graphql.data === undefined
        ? undefined
        : user
          ? {
              user: profileFromGraphQL(user),
              sessions: (user.sessions ?? []).map((row) => ({
                ...row,
                revokedAt: row.revokedAt ?? null,
                revokedReason: row.revokedReason ?? null,
                clientAddress: row.clientAddress ?? null,
              })),
              events: (user.securityEvents?.edges ?? []).map(({ node }) => ({
                id: node.id,
                kind: node.kind,
                occurredAt: node.occurredAt,
                clientAddress: node.clientAddress ?? null,
                userAgent: node.userAgent ?? null,
                actor: node.actor ?? null,
              })),
            }
          : null;
    return graphqlLoaded(detail, graphql, reloadGraphQL);
  }
  return restLoaded(rest);
}

export interface AccountActions {
  disable: (id: string) => Promise<void>;
  enable: (id: string) => Promise<void>;
}

/** Disable or re-enable an account; the caller reloads what it shows. */
export function useAccountActions(): AccountActions {
  const [source] = useDataSource();
  const [disableMutation] = useMutation(DisableAccountMutation);
  const [enableMutation] = useMutation(EnableAccountMutation);
  const run = useCallback(
    async (rest: () => Promise<unknown>, graphql: () => Promise<unknown>) => {
      if (source === "rest") return void (await rest());
      try {
        await graphql();
      } catch (error) {
        throw apolloError(error);
      }
    },
    [source],
  );
  return {
    disable: (id) =>
      run(
        () => accountsApi.disable(id),
        () => disableMutation({ variables: { id } }),
      ),
    enable: (id) =>
      run(
        () => accountsApi.enable(id),
        () => enableMutation({ variables: { id } }),
      ),
  };
}
