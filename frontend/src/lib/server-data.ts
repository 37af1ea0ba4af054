/**
 * What a server-rendered page hands the browser's caches: its queries' answers, over the API the
 * page was rendered with. Shared by the server loaders and the client boundary that writes it
 * into Apollo's cache or TanStack Query's (`ServerData.client.tsx`).
 */

import type { DehydratedState } from "@tanstack/react-query";
import type {
  AdminAccountsQuery,
  AdminAccountsQueryVariables,
  AdminUserQuery,
  AdminUserQueryVariables,
  AdminUsersQuery,
  AdminUsersQueryVariables,
  MyProfileQuery,
  MyProfileQueryVariables,
  SecurityEventsQuery,
  SecurityEventsQueryVariables,
  SecurityOverviewQuery,
  SecurityOverviewQueryVariables,
} from "@/gql/graphql";

export type ServerSeed =
  | {
      api: "graphql";
      operation: "MyProfile";
      variables: MyProfileQueryVariables;
      data: MyProfileQuery;
    }
  | {
      api: "graphql";
      operation: "AdminUsers";
      variables: AdminUsersQueryVariables;
      data: AdminUsersQuery;
    }
  | {
      api: "graphql";
      operation: "SecurityOverview";
      variables: SecurityOverviewQueryVariables;
      data: SecurityOverviewQuery;
    }
  | {
      api: "graphql";
      operation: "SecurityEvents";
      variables: SecurityEventsQueryVariables;
      data: SecurityEventsQuery;
    }
  | {
      api: "graphql";
      operation: "AdminAccounts";
      variables: AdminAccountsQueryVariables;
      data: AdminAccountsQuery;
    }
  | {
      api: "graphql";
      operation: "AdminUser";
      variables: AdminUserQueryVariables;
      data: AdminUserQuery;
    }
  | { api: "rest"; state: DehydratedState };

/** A page's server data: one answer, or several (one per query its screens make). */
export type ServerSeeds = ServerSeed | readonly ServerSeed[];

/**
 * How long after the page arrived its server data counts as fresh: a screen mounting in that
 * time shows it without asking again (later, or shown again, it asks as it always does).
 */
export const SERVER_DATA_FRESH_MS = 5_000;

/** One key per GraphQL operation and variables (the order of the variables does not matter). */
export function graphqlSeedKey(operation: string, variables: Record<string, unknown>): string {
  const sorted = Object.keys(variables)
    .sort()
    .map((name) => [name, variables[name] ?? null]);
  return `${operation}:${JSON.stringify(sorted)}`;
}
