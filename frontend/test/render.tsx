import { ApolloProvider } from "@apollo/client/react";
import { QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { vi } from "vitest";
import { createApolloClient } from "@/lib/apollo";
import { createQueryClient } from "@/lib/query";
import { SessionProvider } from "@/lib/session";
import { EXPIRES_AT_KEY } from "@/lib/session-clock";

export const router = {
  push: vi.fn(),
  replace: vi.fn(),
  refresh: vi.fn(),
  back: vi.fn(),
  forward: vi.fn(),
  prefetch: vi.fn(),
};

export const account = (overrides: Record<string, unknown> = {}) => ({
  id: "7d0c1f62-4b6a-4d7e-9d55-1c1b7f0e2a01",
  email: "ada@example.com",
  email_verified: false,
  roles: ["user"],
  status: "active",
  created_at: "2026-01-02T10:00:00Z",
  last_login_at: "2026-01-03T10:00:00Z",
  ...overrides,
});

/** A profile as the users service answers it (REST, snake_case). */
export const restProfile = (overrides: Record<string, unknown> = {}) => ({
  id: account().id,
  display_name: "Ada Lovelace",
  bio: null,
  avatar_url: null,
  locale: "en-GB",
  timezone: "Europe/London",
  created_at: "2026-01-02T10:00:00Z",
  updated_at: "2026-01-02T10:00:00Z",
  deleted_at: null,
  ...overrides,
});

/**
 * The app's providers around `ui`. A browser that signed in before (the default) probes the
 * session first (the first scripted request); a visitor who never did (`signedIn: false`) sends
 * nothing until they act.
 */
export function renderApp(ui: ReactNode, { signedIn = true }: { signedIn?: boolean } = {}) {
  if (signedIn && window.localStorage.getItem(EXPIRES_AT_KEY) === null) {
    window.localStorage.setItem(EXPIRES_AT_KEY, String(Date.now() + 600_000));
  }
  const client = createApolloClient();
  return render(
    <ApolloProvider client={client}>
      <QueryClientProvider client={createQueryClient()}>
        <SessionProvider>{ui}</SessionProvider>
      </QueryClientProvider>
    </ApolloProvider>,
  );
}
