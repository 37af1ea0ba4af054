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
