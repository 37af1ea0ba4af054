"use client";

/**
 * What the screens of a server-rendered page know of it: the account it was rendered for and
 * which cache entries hold its server data (`ServerData.client.tsx` provides both).
 */

import { createContext, useContext } from "react";
import type { Account } from "./account";
import type { DataSource } from "./data-source";
import { SERVER_DATA_FRESH_MS, type ServerSeeds } from "./server-data";

/** A server-rendered page's view, as `loadSignedIn` answered it (`src/lib/server/session.ts`). */
export interface ServerView {
  account: Account;
  source: DataSource;
  expiresAt: number | null;
  data: ServerSeeds;
}

export interface Seeded {
  account: Account;
  /** Cache keys written from the server's answer → when (ms, this browser's clock). */
  keys: ReadonlyMap<string, number>;
}

export const ServerDataContext = createContext<Seeded | null>(null);

/** The account the server rendered the page for (null outside a server-rendered page). */
export function useServerAccount(): Account | null {
  return useContext(ServerDataContext)?.account ?? null;
}

/**
 * Whether a cache entry (a TanStack query hash, or {@link graphqlSeedKey}) holds the server's
 * answer of this page, written moments ago: a screen mounting now need not ask again.
 */
export function useServerSeeded(): (key: string) => boolean {
  const keys = useContext(ServerDataContext)?.keys;
  return (key) => {
    const at = keys?.get(key);
    return at !== undefined && Date.now() - at < SERVER_DATA_FRESH_MS;
  };
}
