import { dehydrate, QueryClient } from "@tanstack/react-query";
import { screen, waitFor } from "@testing-library/react";
import { RequireSession } from "@/components/RequireSession.client";
import { ServerData } from "@/components/ServerData.client";
import { SecuritySettings } from "@/features/account/SecuritySettings.client";
import { DATA_SOURCE_KEY, type DataSource } from "@/lib/data-source";
import { ACTIVITY_PAGE_SIZE, securityKeys } from "@/lib/query-keys";
import type { SecurityEventsPage, SecurityOverview } from "@/lib/security";
import type { ServerView } from "@/lib/server-view";
import { json, scriptFetch } from "../../../../test/fetch";
import { account, renderApp } from "../../../../test/render";

const ID = account().id;
const EVENT = {
  id: "7f1c7c52-6f0e-4c57-9d0e-2b7f4f3e9a01",
  kind: "sign_in",
  occurredAt: "2026-01-02T10:00:00Z",
  clientAddress: "192.0.2.7",
  userAgent: "Firefox",
};

describe.each<DataSource>(["graphql", "rest"])(
  "a server-rendered security page over %s",
  (source) => {
    function view(): ServerView {
      const signedIn = {
        id: ID,
        email: "ada@example.com",
        emailVerified: true,
        roles: ["user"],
        status: "active" as const,
        createdAt: "2026-01-02T10:00:00Z",
        lastLoginAt: null,
      };
      const base = { account: signedIn, source, expiresAt: Date.now() + 900_000 };
      if (source === "graphql") {
        const events = { first: ACTIVITY_PAGE_SIZE, after: null };
        return {
          ...base,
          data: [
            {
              api: "graphql",
              operation: "SecurityOverview",
              variables: {},
              data: {
                __typename: "Query",
                account: { __typename: "User", id: ID, twoFactorEnabled: true, hasPassword: true },
                linkedIdentities: [],
                identityProviders: [],
              },
            },
            {
              api: "graphql",
              operation: "SecurityEvents",
              variables: events,
              data: {
                __typename: "Query",
                account: {
                  __typename: "User",
                  id: ID,
                  securityEvents: {
                    __typename: "SecurityEventConnection",
                    edges: [
                      {
                        __typename: "SecurityEventEdge",
                        cursor: "c1",
                        node: { __typename: "SecurityEvent", ...EVENT },
                      },
                    ],
                    pageInfo: { __typename: "PageInfo", hasNextPage: false, endCursor: "c1" },
                  },
                },
              },
            },
          ],
        };
      }
      const overview: SecurityOverview = {
        twoFactorEnabled: true,
        recoveryCodesLeft: 9,
        hasPassword: true,
        identities: [],
        providers: [],
      };
      const page: SecurityEventsPage = { events: [EVENT], hasNextPage: false, endCursor: "c1" };
      const overviewClient = new QueryClient();
      overviewClient.setQueryData(securityKeys.overview, overview);
      const eventsClient = new QueryClient();
      eventsClient.setQueryData(securityKeys.events(ACTIVITY_PAGE_SIZE, null), page);
      return {
        ...base,
        data: [
          { api: "rest", state: dehydrate(overviewClient) },
          { api: "rest", state: dehydrate(eventsClient) },
        ],
      };
    }

    it("shows the server's answers in the first render and asks only who is signed in", async () => {
      window.localStorage.setItem(DATA_SOURCE_KEY, source);
      const { requests } = scriptFetch(json(account({ email_verified: true })));
      renderApp(
        <ServerData view={view()}>
          <RequireSession>
            <SecuritySettings />
          </RequireSession>
        </ServerData>,
        { signedIn: false },
      );
      // No loading state: the second factor's state and the log are there from the first render.
      expect(screen.getByText(/^On\./)).toBeInTheDocument();
      expect(
        screen.getByRole("rowheader", { name: "Signed in with the password" }),
      ).toBeInTheDocument();
      expect(screen.getByRole("button", { name: "Log out everywhere" })).toBeInTheDocument();
      expect(screen.queryByText(/Loading|Checking your session/)).not.toBeInTheDocument();
      await waitFor(() => expect(requests).toHaveLength(1));
      expect(requests[0]?.url).toMatch(/\/api\/auth\/me$/);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(requests).toHaveLength(1);
      expect(screen.getByText(/^On\./)).toBeInTheDocument();
    });
  },
);
