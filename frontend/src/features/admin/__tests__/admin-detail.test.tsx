import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { RequireSession } from "@/components/RequireSession.client";
import { AdminUserDetailView, kindLabel } from "@/features/admin/AdminUserDetail.client";
import { AdminUsers } from "@/features/admin/AdminUsers.client";
import { graphqlAdminUser, restEvents, session } from "@/features/admin/admin.mocks";
import { filtersFromQuery, filtersToQuery, listsAccounts } from "@/features/admin/filters";
import { DATA_SOURCE_KEY, type DataSource } from "@/lib/data-source";
import { administrator, member, profile } from "@/mocks/fixtures";
import { json, type RecordedRequest, scriptFetch } from "../../../../test/fetch";
import { account, renderApp } from "../../../../test/render";

const ID = member().id;
const ADMIN_ID = administrator().id;
const admin = () => json(account({ id: ADMIN_ID, roles: ["admin"] }));

/** One fake backend over both APIs: the account's state changes when it is disabled. */
function backend() {
  let status: "active" | "disabled" = "active";
  const read = profile();
  const current = () => member({ status });
  return (request: RecordedRequest): Response => {
    const url = new URL(request.url, "http://x");
    const disabled = status === "disabled";
    if (url.pathname === "/graphql") {
      const body = JSON.parse(request.body ?? "{}") as { query: string };
      if (body.query.includes("mutation DisableAccount")) {
        status = "disabled";
        return json({
          data: { disableAccount: { __typename: "User", id: ID, status: "DISABLED" } },
        });
      }
      return json({ data: { user: graphqlAdminUser(read, current(), disabled) } });
    }
    const routes: Record<string, () => unknown> = {
      [`/api/users/${ID}`]: () => read,
      [`/api/auth/accounts/${ID}`]: current,
      [`/api/auth/accounts/${ID}/sessions`]: () => [session(disabled)],
      [`/api/auth/accounts/${ID}/security-events`]: () => restEvents(disabled),
      [`/api/auth/accounts/${ID}/disable`]: () => {
        status = "disabled";
        return current();
      },
    };
    const route = routes[url.pathname];
    if (!route) throw new Error(`unexpected ${request.method} ${request.url}`);
    return json(route());
  };
}

describe("the admin filters", () => {
  it("read and write the URL query, dropping what they do not know", () => {
    const filters = filtersFromQuery(new URLSearchParams("q=%20ada%20&role=owner&state=disabled"));
    expect(filters).toEqual({ search: "ada", role: "", state: "disabled", includeDeleted: false });
    expect(filtersToQuery(filters)).toBe("?q=ada&state=disabled");
    expect(listsAccounts(filters)).toBe(true);
    expect(listsAccounts({ ...filters, state: "" })).toBe(false);
    expect(listsAccounts({ ...filters, state: "", search: "ada@" })).toBe(true);
    expect(kindLabel("two_factor_reset_by_admin")).toBe("Two factor reset by admin");
  });
});

describe.each<DataSource>(["graphql", "rest"])("administration over %s", (source) => {
  beforeEach(() => window.localStorage.setItem(DATA_SOURCE_KEY, source));
  afterEach(() => window.history.replaceState(null, "", "/"));

  it("lists accounts by the URL's role and state, and keeps a new filter in the URL", async () => {
    window.history.replaceState(null, "", "/admin/users?role=admin&state=disabled");
    const accounts = (email: string) =>
      source === "rest"
        ? json({
            edges: [{ cursor: "c1", node: account({ id: ID, email, status: "disabled" }) }],
            page_info: { has_next_page: false, end_cursor: null },
          })
        : json({
            data: {
              accounts: {
                __typename: "AccountConnection",
                edges: [
                  {
                    __typename: "AccountEdge",
                    cursor: "c1",
                    node: {
                      __typename: "User",
                      id: ID,
                      displayName: "Grace Hopper",
                      bio: null,
                      avatarUrl: null,
                      locale: null,
                      timezone: null,
                      createdAt: "2026-01-02T10:00:00Z",
                      updatedAt: "2026-01-02T10:00:00Z",
                      deletedAt: null,
                      email,
                      roles: ["admin", "user"],
                      status: "DISABLED",
                      lastLoginAt: null,
                      twoFactorEnabled: false,
                    },
                  },
                ],
                pageInfo: { __typename: "PageInfo", hasNextPage: false, endCursor: null },
              },
            },
          });
    const user = userEvent.setup();
    const names = () =>
      json({
        edges: [{ cursor: "p1", node: profile() }],
        page_info: { has_next_page: false, end_cursor: null },
      });
    const { requests } = scriptFetch(
      admin(),
      ...(source === "rest"
        ? [accounts("grace@example.com"), names(), accounts("grace@example.com"), names()]
        : [accounts("grace@example.com"), accounts("grace@example.com")]),
    );
    renderApp(
      <RequireSession admin>
        <AdminUsers />
      </RequireSession>,
    );
    const name = "Grace Hopper";
    const link = await screen.findByRole("link", { name });
    expect(link).toHaveAttribute("href", `/admin/users/${ID}`);
    expect(screen.getByRole("combobox", { name: "State" })).toHaveValue("disabled");
    expect(screen.queryByRole("checkbox", { name: "Include deleted users" })).toBeNull();
    if (source === "rest") {
      const url = new URL(requests[1]?.url ?? "", "http://x");
      expect(url.pathname).toBe("/api/auth/accounts");
      expect(url.searchParams.get("role")).toBe("admin");
      expect(url.searchParams.get("status")).toBe("disabled");
      const profiles = new URL(requests[2]?.url ?? "", "http://x");
      expect(profiles.pathname).toBe("/api/users");
      expect(profiles.searchParams.getAll("ids")).toEqual([ID]);
      expect(profiles.searchParams.get("include_deleted")).toBe("true");
    } else {
      const body = JSON.parse(requests[1]?.body ?? "{}") as { variables: unknown };
      expect(body.variables).toMatchObject({ role: "admin", status: "DISABLED", search: null });
    }

    await user.type(screen.getByRole("searchbox"), "grace@{Enter}");
    await screen.findByRole("link", { name });
    expect(window.location.search).toBe("?q=grace%40&role=admin&state=disabled");
    expect(requests).toHaveLength(source === "rest" ? 5 : 3);
  });

  it("shows a user's page and disables the account", async () => {
    const user = userEvent.setup();
    const answer = backend();
    scriptFetch(admin(), ...Array.from({ length: 20 }, () => answer));
    renderApp(
      <RequireSession admin>
        <AdminUserDetailView id={ID} />
      </RequireSession>,
    );
    expect(await screen.findByText("grace@example.com")).toBeInTheDocument();
    expect(screen.getByText("Grace Hopper")).toBeInTheDocument();
    expect(screen.getByText("Active")).toBeInTheDocument();
    const sessions = screen.getByRole("table", { name: /Sessions/ });
    expect(within(sessions).getByText("Live")).toBeInTheDocument();
    expect(screen.getByRole("cell", { name: "Sign in" })).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Disable account" }));
    expect(await screen.findByText(/Grace Hopper is disabled/)).toBeInTheDocument();
    expect(await screen.findByRole("button", { name: "Enable account" })).toBeInTheDocument();
    expect(screen.getByText("Disabled")).toBeInTheDocument();
    expect(await screen.findByRole("cell", { name: "Account disabled" })).toBeInTheDocument();
    expect(screen.getByRole("cell", { name: ADMIN_ID })).toBeInTheDocument();
    expect(
      within(screen.getByRole("table", { name: /Sessions/ })).getByText(/^Ended/),
    ).toBeVisible();
  });
});
