"use client";

import { useApolloClient } from "@apollo/client/react";
import { type DehydratedState, HydrationBoundary } from "@tanstack/react-query";
import { type ReactNode, useEffect, useRef } from "react";
import {
  AdminAccountsQuery,
  AdminUserQuery,
  AdminUsersQuery,
  MyProfileQuery,
  SecurityEventsQuery,
  SecurityOverviewQuery,
} from "@/graphql/operations";
import { ServerDataSourceContext } from "@/lib/data-source";
import { graphqlSeedKey, type ServerSeed } from "@/lib/server-data";
import { type Seeded, ServerDataContext, type ServerView } from "@/lib/server-view";
import { readExpiresAt, recordExpiresAt } from "@/lib/session-clock";

type ApolloLike = ReturnType<typeof useApolloClient>;

type GraphQLSeed = Extract<ServerSeed, { api: "graphql" }>;

/** Write one of the server's GraphQL answers into Apollo's cache; the key it seeded. */
function seedApollo(client: ApolloLike, seed: GraphQLSeed): string {
  switch (seed.operation) {
    case "MyProfile":
      client.writeQuery({ query: MyProfileQuery, variables: seed.variables, data: seed.data });
      break;
    case "AdminAccounts":
      client.writeQuery({ query: AdminAccountsQuery, variables: seed.variables, data: seed.data });
      break;
    case "AdminUser":
      client.writeQuery({ query: AdminUserQuery, variables: seed.variables, data: seed.data });
      break;
    case "AdminUsers":
      client.writeQuery({ query: AdminUsersQuery, variables: seed.variables, data: seed.data });
      break;
    case "SecurityOverview":
      client.writeQuery({
        query: SecurityOverviewQuery,
        variables: seed.variables,
        data: seed.data,
      });
      break;
    case "SecurityEvents":
      client.writeQuery({ query: SecurityEventsQuery, variables: seed.variables, data: seed.data });
      break;
  }
  return graphqlSeedKey(seed.operation, seed.variables);
}

/** The REST answers of a page, as one dehydrated state (one `HydrationBoundary`). */
function restState(seeds: readonly ServerSeed[]): DehydratedState | null {
  const states = seeds.flatMap((seed) => (seed.api === "rest" ? [seed.state] : []));
  if (states.length === 0) return null;
  return {
    mutations: states.flatMap((state) => state.mutations),
    queries: states.flatMap((state) => state.queries),
  };
}

/**
 * The client side of a server-rendered page: its data goes into the browser's caches before
 * the screens below first render (so they render it at once, on the server's HTML and in the
 * browser alike, and do not ask again on mount), the page's data source is the one hydration
 * renders with, and the session's expiry reaches the refresh timer. Without a view (the server
 * could not load it) the screens load their data themselves, as on any other page.
 */
export function ServerData({ view, children }: { view: ServerView | null; children: ReactNode }) {
  return view ? <Seed view={view}>{children}</Seed> : children;
}

function Seed({ view, children }: { view: ServerView; children: ReactNode }) {
  const client = useApolloClient();
  const seeded = useRef<{
    view: ServerView;
    value: Seeded;
    rest: DehydratedState | null;
  } | null>(null);
  if (seeded.current?.view !== view) {
    const at = Date.now();
    const seeds: readonly ServerSeed[] = Array.isArray(view.data) ? view.data : [view.data];
    const rest = restState(seeds);
    const keys = new Map<string, number>();
    for (const query of rest?.queries ?? []) keys.set(query.queryHash, at);
    for (const seed of seeds) if (seed.api === "graphql") keys.set(seedApollo(client, seed), at);
    seeded.current = { view, value: { account: view.account, keys }, rest };
  }

  // The access token's expiry, as the server read it, where this browser knows none or one
  // already past (the server refreshed the session on the way, or the cookies came from
  // elsewhere): the refresh timer then neither refreshes at once nor misses the new token.
  useEffect(() => {
    const known = readExpiresAt();
    const now = Date.now();
    if (view.expiresAt !== null && (known === null || known <= now)) {
      recordExpiresAt(view.expiresAt, now);
    }
  }, [view.expiresAt]);

  const rest = seeded.current.rest;
  return (
    <ServerDataSourceContext.Provider value={view.source}>
      <ServerDataContext.Provider value={seeded.current.value}>
        {rest ? <HydrationBoundary state={rest}>{children}</HydrationBoundary> : children}
      </ServerDataContext.Provider>
    </ServerDataSourceContext.Provider>
  );
}
