"use client";

import { useApolloClient } from "@apollo/client/react";
import { HydrationBoundary } from "@tanstack/react-query";
import { type ReactNode, useEffect, useRef } from "react";
import {
  AdminAccountsQuery,
  AdminUserQuery,
  AdminUsersQuery,
  MyProfileQuery,
} from "@/graphql/operations";
import { ServerDataSourceContext } from "@/lib/data-source";
import { graphqlSeedKey, type ServerSeed } from "@/lib/server-data";
import { type Seeded, ServerDataContext, type ServerView } from "@/lib/server-view";
import { readExpiresAt, recordExpiresIn } from "@/lib/session-clock";

type ApolloLike = ReturnType<typeof useApolloClient>;

/** Write the server's GraphQL answer into Apollo's cache; the keys it seeded. */
function seedApollo(client: ApolloLike, seed: ServerSeed, at: number): Map<string, number> {
  if (seed.api !== "graphql") return new Map();
  if (seed.operation === "MyProfile") {
    client.writeQuery({ query: MyProfileQuery, variables: seed.variables, data: seed.data });
  } else if (seed.operation === "AdminAccounts") {
    client.writeQuery({ query: AdminAccountsQuery, variables: seed.variables, data: seed.data });
  } else if (seed.operation === "AdminUser") {
    client.writeQuery({ query: AdminUserQuery, variables: seed.variables, data: seed.data });
  } else {
    client.writeQuery({ query: AdminUsersQuery, variables: seed.variables, data: seed.data });
  }
  return new Map([[graphqlSeedKey(seed.operation, seed.variables), at]]);
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
  const seeded = useRef<{ view: ServerView; value: Seeded } | null>(null);
  if (seeded.current?.view !== view) {
    const at = Date.now();
    const keys =
      view.data.api === "rest"
        ? new Map(view.data.state.queries.map((query) => [query.queryHash, at]))
        : seedApollo(client, view.data, at);
    seeded.current = { view, value: { account: view.account, keys } };
  }

  // The access token's expiry, as the server read it, where this browser knows none or one
  // already past (the server refreshed the session on the way, or the cookies came from
  // elsewhere): the refresh timer then neither refreshes at once nor misses the new token.
  useEffect(() => {
    const known = readExpiresAt();
    if (view.expiresAt !== null && (known === null || known <= Date.now())) {
      recordExpiresIn((view.expiresAt - Date.now()) / 1000);
    }
  }, [view.expiresAt]);

  const rest = view.data.api === "rest" ? view.data.state : null;
  return (
    <ServerDataSourceContext.Provider value={view.source}>
      <ServerDataContext.Provider value={seeded.current.value}>
        {rest ? <HydrationBoundary state={rest}>{children}</HydrationBoundary> : children}
      </ServerDataContext.Provider>
    </ServerDataSourceContext.Provider>
  );
}
