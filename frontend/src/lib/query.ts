"use client";

import { QueryClient } from "@tanstack/react-query";

/**
 * The REST side's cache (GraphQL's is Apollo's). An answer is stale at once, so a screen shown
 * again asks again; errors are shown, not retried behind the user's back (the session rules in
 * `http.ts` already refresh an expired token once).
 */
export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: { staleTime: 0, retry: false, refetchOnWindowFocus: false },
      mutations: { retry: false },
    },
  });
}
