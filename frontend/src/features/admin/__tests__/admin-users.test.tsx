import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { RequireSession } from "@/components/RequireSession.client";
import { AdminUsers, PAGE_SIZE } from "@/features/admin/AdminUsers.client";
import { DATA_SOURCE_KEY, type DataSource } from "@/lib/data-source";
import { json, type RecordedRequest, scriptFetch } from "../../../../test/fetch";
import { account, renderApp } from "../../../../test/render";

interface Row {
  id: string;
  name: string;
  deleted?: boolean;
  twoFactor?: boolean;
}

function page(source: DataSource, rows: Row[], next: string | null) {
  if (source === "rest") {
    return json({
      edges: rows.map((row) => ({
        cursor: `c-${row.id}`,
        node: {
          id: row.id,
          display_name: row.name,
          bio: null,
          avatar_url: null,
          locale: null,
          timezone: null,
          created_at: "2026-01-02T10:00:00Z",
          updated_at: "2026-01-02T10:00:00Z",
          deleted_at: row.deleted ? "2026-02-01T10:00:00Z" : null,
        },
      })),
      page_info: { has_next_page: next !== null, end_cursor: next },
    });
  }
  return json({
    data: {
      users: {
        __typename: "UserConnection",
        edges: rows.map((row) => ({
          __typename: "UserEdge",
          cursor: `c-${row.id}`,
          node: {
            __typename: "User",
            id: row.id,
            displayName: row.name,
            bio: null,
            avatarUrl: null,
            locale: null,
            timezone: null,
            createdAt: "2026-01-02T10:00:00Z",
            updatedAt: "2026-01-02T10:00:00Z",
            deletedAt: row.deleted ? "2026-02-01T10:00:00Z" : null,
            email: `${row.id}@example.com`,
            roles: ["user"],
            status: row.deleted ? "DELETED" : "ACTIVE",
            lastLoginAt: null,
            twoFactorEnabled: row.twoFactor ?? false,
          },
        })),
        pageInfo: { __typename: "PageInfo", hasNextPage: next !== null, endCursor: next },
      },
    },
  });
}

function listArguments(source: DataSource, request: RecordedRequest | undefined) {
  if (source === "rest") {
    const url = new URL(request?.url ?? "", "http://x");
    return {
      first: Number(url.searchParams.get("first")),
      after: url.searchParams.get("after"),
      search: url.searchParams.get("search"),
      includeDeleted: url.searchParams.get("include_deleted") === "true",
    };
  }
  return (JSON.parse(request?.body ?? "{}") as { variables: Record<string, unknown> }).variables;
}

const admin = () => json(account({ roles: ["admin"] }));

describe.each<DataSource>(["graphql", "rest"])("admin users over %s", (source) => {
  beforeEach(() => window.localStorage.setItem(DATA_SOURCE_KEY, source));
  // The list keeps its filters in the URL: each test starts from a bare address.
  afterEach(() => window.history.replaceState(null, "", "/"));

  it("pages forward and back with cursors", async () => {
    const user = userEvent.setup();
    const { requests } = scriptFetch(
      admin(),
      page(source, [{ id: "u1", name: "Ada" }], "cursor-1"),
      page(source, [{ id: "u2", name: "Grace" }], null),
      page(source, [{ id: "u1", name: "Ada" }], "cursor-1"),
    );
    renderApp(
      <RequireSession admin>
        <AdminUsers />
      </RequireSession>,
    );
    expect(await screen.findByRole("rowheader", { name: "Ada" })).toBeInTheDocument();
    expect(listArguments(source, requests[1])).toMatchObject({
      first: PAGE_SIZE,
      includeDeleted: false,
    });
    expect(screen.getByRole("button", { name: "Previous page" })).toBeDisabled();

    await user.click(screen.getByRole("button", { name: "Next page" }));
    expect(await screen.findByRole("rowheader", { name: "Grace" })).toBeInTheDocument();
    expect(listArguments(source, requests[2])).toMatchObject({ after: "cursor-1" });
    expect(screen.getByRole("heading", { name: /page 2/ })).toHaveFocus();
    expect(screen.getByRole("button", { name: "Next page" })).toBeDisabled();

    await user.click(screen.getByRole("button", { name: "Previous page" }));
    expect(await screen.findByRole("rowheader", { name: "Ada" })).toBeInTheDocument();
    expect(listArguments(source, requests[3])?.after ?? null).toBeNull();
  });

  it("searches, shows an empty state, and includes deleted users on request", async () => {
    const user = userEvent.setup();
    const { requests } = scriptFetch(
      admin(),
      page(source, [{ id: "u1", name: "Ada" }], null),
      page(source, [], null),
      page(source, [{ id: "u9", name: "Nobody", deleted: true }], null),
    );
    renderApp(
      <RequireSession admin>
        <AdminUsers />
      </RequireSession>,
    );
    await screen.findByRole("rowheader", { name: "Ada" });
    await user.type(screen.getByRole("searchbox", { name: /Search by name/ }), "zzz{Enter}");
    expect(await screen.findByText("No users found")).toBeInTheDocument();
    expect(listArguments(source, requests[2])).toMatchObject({ search: "zzz" });

    await user.click(screen.getByRole("checkbox", { name: "Include deleted users" }));
    expect(await screen.findByRole("rowheader", { name: "Nobody" })).toBeInTheDocument();
    expect(listArguments(source, requests[3])).toMatchObject({
      search: "zzz",
      includeDeleted: true,
    });
  });

  it("resets a user's second factor after a confirmation", async () => {
    const user = userEvent.setup();
    const { requests } = scriptFetch(
      admin(),
      page(source, [{ id: "u7", name: "Lost Phone", twoFactor: true }], null),
      source === "rest" ? json(null, 204) : json({ data: { resetTwoFactor: true } }),
      page(source, [{ id: "u7", name: "Lost Phone", twoFactor: false }], null),
    );
    renderApp(
      <RequireSession admin>
        <AdminUsers />
      </RequireSession>,
    );
    const row = (await screen.findByRole("rowheader", { name: "Lost Phone" })).closest(
      "tr",
    ) as HTMLElement;
    // GraphQL tells administrators who has a second factor; the REST listing cannot.
    if (source === "graphql") expect(within(row).getByRole("cell", { name: "On" })).toBeVisible();
    const reset = within(row).getByRole("button", {
      name: "Reset two-factor sign-in of Lost Phone",
    });
    await user.click(reset);
    expect(await screen.findByText("Reset the two-factor sign-in of Lost Phone?")).toBeVisible();
    await user.click(screen.getByRole("button", { name: "Cancel" }));
    expect(screen.queryByText("Reset the two-factor sign-in of Lost Phone?")).toBeNull();
    expect(requests).toHaveLength(2);
    await user.click(reset);
    await user.click(screen.getByRole("button", { name: "Reset two-factor sign-in" }));
    expect(await screen.findByText(/Two-factor sign-in of Lost Phone is off/)).toBeInTheDocument();
    const sent = requests[2];
    expect(sent?.headers.get("X-Nova-CSRF")).toBe("1");
    if (source === "rest") {
      expect(sent?.method).toBe("POST");
      expect(sent?.url).toBe("/api/auth/accounts/u7/two-factor/reset");
    } else {
      expect(JSON.parse(sent?.body ?? "")).toMatchObject({
        operationName: "ResetTwoFactor",
        variables: { id: "u7" },
      });
    }
    await waitFor(() => expect(requests).toHaveLength(4));
  });

  it("restores a deleted user and says so", async () => {
    const user = userEvent.setup();
    const restored =
      source === "rest"
        ? json({
            id: "u9",
            display_name: "Nobody",
            bio: null,
            avatar_url: null,
            locale: null,
            timezone: null,
            created_at: "2026-01-02T10:00:00Z",
            updated_at: "2026-01-02T10:00:00Z",
            deleted_at: null,
          })
        : json({
            data: {
              restoreUser: {
                __typename: "User",
                id: "u9",
                displayName: "Nobody",
                bio: null,
                avatarUrl: null,
                locale: null,
                timezone: null,
                createdAt: "2026-01-02T10:00:00Z",
                updatedAt: "2026-01-02T10:00:00Z",
                deletedAt: null,
              },
            },
          });
    const { requests } = scriptFetch(
      admin(),
      page(source, [{ id: "u9", name: "Nobody", deleted: true }], null),
      restored,
      page(source, [{ id: "u9", name: "Nobody" }], null),
    );
    renderApp(
      <RequireSession admin>
        <AdminUsers />
      </RequireSession>,
    );
    const row = (await screen.findByRole("rowheader", { name: "Nobody" })).closest(
      "tr",
    ) as HTMLElement;
    expect(within(row).getByText(/^Deleted/)).toBeInTheDocument();
    await user.click(within(row).getByRole("button", { name: "Restore Nobody" }));
    expect(await screen.findByText("Nobody was restored.")).toBeInTheDocument();
    const restore = requests[2];
    expect(restore?.headers.get("X-Nova-CSRF")).toBe("1");
    if (source === "rest") expect(restore?.url).toBe("/api/users/u9/restore");
    else
      expect(JSON.parse(restore?.body ?? "")).toMatchObject({
        operationName: "RestoreUser",
        variables: { id: "u9" },
      });
    await waitFor(() =>
      expect(screen.queryByRole("button", { name: "Restore Nobody" })).not.toBeInTheDocument(),
    );
  });

  it("shows the 403 page when the API refuses", async () => {
    const refused =
      source === "rest"
        ? json({ code: "admin_required", message: "administrator role required" }, 403)
        : json({
            data: null,
            errors: [
              { message: "administrator role required", extensions: { code: "admin_required" } },
            ],
          });
    scriptFetch(admin(), refused);
    renderApp(
      <RequireSession admin>
        <AdminUsers />
      </RequireSession>,
    );
    expect(await screen.findByRole("heading", { name: /do not have access/ })).toBeInTheDocument();
  });
});
