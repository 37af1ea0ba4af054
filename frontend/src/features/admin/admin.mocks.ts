/** The stories' fake auth accounts API (GraphQL and REST alike) for the admin screens. */

import { graphql, HttpResponse, http } from "msw";
import type { AccountView, ProfileRead } from "@/lib/rest";
import { graphqlUser, member, profile } from "@/mocks/fixtures";
import { sessionFromRest } from "./admin-shapes";

const ADMIN_ID = "9b1c7e44-0f2a-4c6d-b5e8-7a3f1d2c9e60";

export const session = (revoked: boolean) => ({
  id: "6a0e3b2f-1c4d-4e5f-8a9b-0c1d2e3f4a5b",
  created_at: "2026-11-30T17:45:00Z",
  last_used_at: "2026-12-01T08:10:00Z",
  expires_at: "2099-01-01T00:00:00Z",
  revoked_at: revoked ? "2026-12-01T09:00:00Z" : null,
  revoked_reason: revoked ? "disabled" : null,
  client_address: "203.0.113.7",
});

export const events = (disabled: boolean) => [
  ...(disabled
    ? [{ id: "e2", kind: "account_disabled", occurred_at: "2026-12-01T09:00:00Z", actor: ADMIN_ID }]
    : []),
  { id: "e1", kind: "sign_in", occurred_at: "2026-11-30T17:45:00Z", actor: null },
];

/** `AdminUser`'s user as the gateway answers it (profile and account fields merged). */
export function graphqlAdminUser(read: ProfileRead, account: AccountView, disabled: boolean) {
  return {
    ...graphqlUser(read, account),
    status: account.status.toUpperCase(),
    twoFactorEnabled: false,
    sessions: [session(disabled)].map((row) => ({
      __typename: "AccountSession",
      ...sessionFromRest(row),
    })),
    securityEvents: {
      __typename: "SecurityEventConnection",
      edges: events(disabled).map((event) => ({
        __typename: "SecurityEventEdge",
        node: {
          __typename: "SecurityEvent",
          id: event.id,
          kind: event.kind,
          occurredAt: event.occurred_at,
          clientAddress: null,
          userAgent: null,
          actor: event.actor,
        },
      })),
    },
  };
}

/** `GET /api/auth/accounts/{id}/security-events`'s page. */
export const restEvents = (disabled: boolean) => ({
  edges: events(disabled).map((event) => ({
    cursor: event.id,
    node: { ...event, client_address: null, user_agent: null },
  })),
  page_info: { has_next_page: false, end_cursor: null },
});

/** One user whose account an administrator can disable and enable again. */
export function adminUser(read: ProfileRead = profile(), start: AccountView = member()) {
  let status = start.status;
  const account = () => ({ ...start, status });
  const disabled = () => status === "disabled";
  const graphqlDetail = () => graphqlAdminUser(read, account(), disabled());
  const changed = (next: "active" | "disabled") => {
    status = next;
    return { __typename: "User", id: read.id, status: next.toUpperCase() };
  };
  return [
    graphql.query("AdminUser", () => HttpResponse.json({ data: { user: graphqlDetail() } })),
    graphql.mutation("DisableAccount", () =>
      HttpResponse.json({ data: { disableAccount: changed("disabled") } }),
    ),
    graphql.mutation("EnableAccount", () =>
      HttpResponse.json({ data: { enableAccount: changed("active") } }),
    ),
    http.get(`/api/users/${read.id}`, () => HttpResponse.json(read)),
    http.get(`/api/auth/accounts/${read.id}`, () => HttpResponse.json(account())),
    http.get(`/api/auth/accounts/${read.id}/sessions`, () =>
      HttpResponse.json([session(disabled())]),
    ),
    http.get(`/api/auth/accounts/${read.id}/security-events`, () =>
      HttpResponse.json(restEvents(disabled())),
    ),
    http.post(`/api/auth/accounts/${read.id}/disable`, () => {
      changed("disabled");
      return HttpResponse.json(account());
    }),
    http.post(`/api/auth/accounts/${read.id}/enable`, () => {
      changed("active");
      return HttpResponse.json(account());
    }),
  ];
}

/** Auth's account list: the accounts matching the filters (role, state, part of the address). */
export function accountsPage(rows: { read: ProfileRead; account: AccountView }[]) {
  const matching = (search: string | null, role: string | null, status: string | null) =>
    rows.filter(
      ({ account }) =>
        (!search || account.email.includes(search)) &&
        (!role || account.roles.includes(role)) &&
        (!status || account.status === status),
    );
  return [
    graphql.query("AdminAccounts", ({ variables }) =>
      HttpResponse.json({
        data: {
          accounts: {
            __typename: "AccountConnection",
            edges: matching(
              variables.search ?? null,
              variables.role ?? null,
              variables.status ? String(variables.status).toLowerCase() : null,
            ).map(({ read, account }) => ({
              __typename: "AccountEdge",
              cursor: `cursor-${read.id}`,
              node: {
                ...graphqlUser(read, account),
                status: account.status.toUpperCase(),
                twoFactorEnabled: false,
              },
            })),
            pageInfo: { __typename: "PageInfo", hasNextPage: false, endCursor: null },
          },
        },
      }),
    ),
    // The names of a page of accounts (other lists fall through to the stories' own handler).
    http.get("/api/users", ({ request }) => {
      const ids = new URL(request.url).searchParams.getAll("ids");
      if (ids.length === 0) return undefined;
      return HttpResponse.json({
        edges: rows
          .filter(({ read }) => ids.includes(read.id))
          .map(({ read }) => ({ cursor: `cursor-${read.id}`, node: read })),
        page_info: { has_next_page: false, end_cursor: null },
      });
    }),
    http.get("/api/auth/accounts", ({ request }) => {
      const query = new URL(request.url).searchParams;
      const found = matching(query.get("search"), query.get("role"), query.get("status"));
      return HttpResponse.json({
        edges: found.map(({ account }) => ({ cursor: `cursor-${account.id}`, node: account })),
        page_info: { has_next_page: false, end_cursor: null },
      });
    }),
  ];
}
