/**
 * The keys of TanStack Query's cache (the REST side; GraphQL's cache is Apollo's). Shared by the
 * client hooks and the server components that hand their first answers to the client.
 */

import type { UsersPageParams } from "./users";

export const restKeys = {
  me: ["rest", "me"] as const,
  users: (params: UsersPageParams) => ["rest", "users", params] as const,
};

/** The admin list's page size: the server renders its first page with the same. */
export const USERS_PAGE_SIZE = 10;

export const securityKeys = {
  all: ["rest", "security"] as const,
  overview: ["rest", "security", "overview"] as const,
  events: (first: number, after: string | null) =>
    ["rest", "security", "events", first, after] as const,
  providers: ["rest", "providers"] as const,
};

/** The security page's activity log: events a page (the server renders the first with it). */
export const ACTIVITY_PAGE_SIZE = 10;
