import type { Meta, StoryObj } from "@storybook/nextjs-vite";
import { graphql, HttpResponse, http } from "msw";
import { expect, userEvent, waitFor } from "storybook/test";
import type { ProfileRead } from "@/lib/rest";
import { administrator, graphqlUser, member, profile, profiles } from "@/mocks/fixtures";
import { narrowScreen } from "@/mocks/frames";
import { apiError, graphqlError, pending, twoFactorReset, usersPage } from "@/mocks/handlers";
import { AdminUsers } from "./AdminUsers.client";
import { accountsPage } from "./admin.mocks";

const meta = {
  title: "Pages/Admin/AdminUsers",
  component: AdminUsers,
  parameters: { session: { account: administrator() } },
  beforeEach({ msw }) {
    msw.use(...usersPage(profiles(10, true), true));
  },
} satisfies Meta<typeof AdminUsers>;

export default meta;
type Story = StoryObj<typeof meta>;

export const Filled: Story = {
  play: async ({ canvas }) => {
    const table = await canvas.findByRole("table", { name: "Users, page 1 (GraphQL)" });
    await expect(table).toBeVisible();
    await expect(canvas.getByRole("rowheader", { name: "Ada Lovelace" })).toBeVisible();
    await expect(canvas.getByRole("button", { name: "Next page" })).toBeEnabled();
    await expect(canvas.getByRole("button", { name: "Previous page" })).toBeDisabled();
  },
};

export const Empty: Story = {
  beforeEach({ msw }) {
    msw.use(...usersPage([]));
  },
  play: async ({ canvas }) => {
    await expect(await canvas.findByText("No users found")).toBeVisible();
  },
};

export const Loading: Story = {
  beforeEach({ msw }) {
    msw.use(graphql.query("AdminUsers", pending));
  },
  play: async ({ canvas }) => {
    await expect(await canvas.findByRole("status")).toHaveTextContent("Loading users…");
  },
};

export const LoadError: Story = {
  beforeEach({ msw }) {
    msw.use(graphql.query("AdminUsers", () => graphqlError("internal_error", "boom")));
  },
  play: async ({ canvas }) => {
    const alert = await canvas.findByRole("alert");
    await expect(alert).toHaveTextContent("The users could not be loaded");
    await expect(canvas.getByRole("button", { name: "Try again" })).toBeVisible();
  },
};

/** A signed-in user who is not an administrator: the gateway refuses, the page says so. */
export const Forbidden: Story = {
  beforeEach({ msw }) {
    msw.use(graphql.query("AdminUsers", () => graphqlError("forbidden", "administrators only")));
  },
  play: async ({ canvas }) => {
    await expect(
      await canvas.findByRole("heading", { name: "You do not have access to this page" }),
    ).toBeVisible();
  },
};

/** Show the deleted users, restore one: the row's button, then a notice. */
export const Restore: Story = {
  beforeEach({ msw }) {
    msw.use(
      graphql.mutation("RestoreUser", ({ variables }) =>
        HttpResponse.json({
          data: {
            restoreUser: graphqlUser(
              profile({ id: String(variables.id), display_name: "Barbara Liskov" }),
              null,
            ),
          },
        }),
      ),
    );
  },
  play: async ({ canvas }) => {
    await canvas.findByRole("table");
    await expect(canvas.queryByRole("button", { name: "Restore Barbara Liskov" })).toBeNull();
    await userEvent.click(canvas.getByRole("checkbox", { name: "Include deleted users" }));
    await userEvent.click(await canvas.findByRole("button", { name: "Restore Barbara Liskov" }));
    await expect(await canvas.findByText("Barbara Liskov was restored.")).toBeVisible();
  },
};

/** Over REST the list has no e-mail (the users API serves profiles only). */
export const OverRest: Story = {
  parameters: { dataSource: "rest" },
  play: async ({ canvas }) => {
    await expect(await canvas.findByRole("table", { name: "Users, page 1 (REST)" })).toBeVisible();
  },
};

export const RestLoadError: Story = {
  parameters: { dataSource: "rest" },
  beforeEach({ msw }) {
    msw.use(http.get("/api/users", () => apiError(500, "internal_error", "boom")));
  },
  play: async ({ canvas }) => {
    await expect(await canvas.findByRole("alert")).toHaveTextContent(
      "Something went wrong on our side.",
    );
  },
};

/** A search is sent to the API, and the heading says what the results are. */
export const Search: Story = {
  play: async ({ canvas }) => {
    await userEvent.type(await canvas.findByRole("searchbox"), "Ada{enter}");
    await waitFor(() =>
      expect(canvas.getByRole("heading", { level: 2 })).toHaveTextContent("Results for “Ada”"),
    );
    await waitFor(() => expect(canvas.getAllByRole("rowheader")).toHaveLength(1));
    await expect(canvas.getByRole("rowheader", { name: "Ada Lovelace" })).toBeVisible();
  },
};

export const Narrow: Story = {
  globals: narrowScreen,
  play: Filled.play,
};

const emailOf = (row: ProfileRead) =>
  `${row.display_name.split(" ")[0]?.toLowerCase()}@example.com`;

/** Three users over GraphQL, which tells administrators whose two-factor sign-in is on. */
function twoFactorUsers(enabled: () => ReadonlySet<string>) {
  const rows = profiles(3);
  return graphql.query("AdminUsers", () =>
    HttpResponse.json({
      data: {
        users: {
          __typename: "UserConnection",
          edges: rows.map((row) => ({
            __typename: "UserEdge",
            cursor: `cursor-${row.id}`,
            node: {
              ...graphqlUser(row, member({ id: row.id, email: emailOf(row) })),
              twoFactorEnabled: enabled().has(row.id),
            },
          })),
          pageInfo: { __typename: "PageInfo", hasNextPage: false, endCursor: null },
        },
      },
    }),
  );
}

/**
 * A lost authenticator: an administrator resets a user's second factor. "Reset 2FA" only where
 * it is on; a confirmation first, then a notice, and the list reads it off.
 */
export const ResetTwoFactor: Story = {
  beforeEach({ msw }) {
    const enabled = new Set(profiles(2).map((row) => row.id));
    msw.use(
      twoFactorUsers(() => enabled),
      ...twoFactorReset((id) => enabled.delete(id)),
    );
  },
  play: async ({ canvas }) => {
    const reset = await canvas.findByRole("button", {
      name: "Reset two-factor sign-in of Ada Lovelace",
    });
    await expect(
      canvas.queryByRole("button", { name: "Reset two-factor sign-in of Barbara Liskov" }),
    ).toBeNull();
    await userEvent.click(reset);
    const question = canvas.getByRole("status");
    await expect(question).toHaveTextContent("Reset the two-factor sign-in of Ada Lovelace?");
    await expect(question).toHaveTextContent("the password alone will sign in to ada@example.com");
    await userEvent.click(canvas.getByRole("button", { name: "Reset two-factor sign-in" }));
    await expect(
      await canvas.findByText(
        "Two-factor sign-in of Ada Lovelace is off: the password alone signs in until they turn it on again.",
      ),
    ).toBeVisible();
    await waitFor(() =>
      expect(
        canvas.queryByRole("button", { name: "Reset two-factor sign-in of Ada Lovelace" }),
      ).toBeNull(),
    );
    await expect(
      canvas.getByRole("button", { name: "Reset two-factor sign-in of Alan Turing" }),
    ).toBeEnabled();
  },
};

/** Cancelled at the confirmation: nothing is sent (no handler would answer). */
export const ResetTwoFactorCancelled: Story = {
  beforeEach({ msw }) {
    msw.use(twoFactorUsers(() => new Set(profiles(1).map((row) => row.id))));
  },
  play: async ({ canvas }) => {
    await userEvent.click(
      await canvas.findByRole("button", { name: "Reset two-factor sign-in of Ada Lovelace" }),
    );
    await userEvent.click(canvas.getByRole("button", { name: "Cancel" }));
    await expect(canvas.queryByText(/Reset the two-factor sign-in of/)).toBeNull();
  },
};

/** Over REST the list cannot tell whose factor is on: every active row may be reset. */
export const ResetTwoFactorOverRest: Story = {
  parameters: { dataSource: "rest" },
  beforeEach({ msw }) {
    msw.use(...twoFactorReset());
  },
  play: async ({ canvas }) => {
    await userEvent.click(
      await canvas.findByRole("button", { name: "Reset two-factor sign-in of Alan Turing" }),
    );
    await userEvent.click(canvas.getByRole("button", { name: "Reset two-factor sign-in" }));
    await expect(await canvas.findByText(/Two-factor sign-in of Alan Turing is off/)).toBeVisible();
  },
};

export const ResetTwoFactorError: Story = {
  beforeEach({ msw }) {
    msw.use(
      twoFactorUsers(() => new Set(profiles(1).map((row) => row.id))),
      graphql.mutation("ResetTwoFactor", () => graphqlError("internal_error", "boom")),
    );
  },
  play: async ({ canvas }) => {
    await userEvent.click(
      await canvas.findByRole("button", { name: "Reset two-factor sign-in of Ada Lovelace" }),
    );
    await userEvent.click(canvas.getByRole("button", { name: "Reset two-factor sign-in" }));
    await expect(await canvas.findByRole("alert")).toHaveTextContent(
      "The two-factor sign-in of Ada Lovelace could not be reset",
    );
  },
};

const ACCOUNTS = [
  { read: profile(), account: member() },
  {
    read: profile({ id: "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", display_name: "Ada Lovelace" }),
    account: member({
      id: "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
      email: "ada@example.com",
      status: "disabled",
    }),
  },
];

/** A state filter lists auth's accounts (the search then matches e-mail addresses); each name
 * links to the user's page. */
export const FilterByState: Story = {
  beforeEach({ msw }) {
    msw.use(...accountsPage(ACCOUNTS));
  },
  play: async ({ canvas }) => {
    await canvas.findByRole("table");
    await userEvent.selectOptions(canvas.getByRole("combobox", { name: "State" }), "disabled");
    await waitFor(() => expect(canvas.getAllByRole("rowheader")).toHaveLength(1));
    const link = canvas.getByRole("link", { name: "Ada Lovelace" });
    await expect(link).toHaveAttribute("href", `/admin/users/${ACCOUNTS[1]?.account.id}`);
    await expect(canvas.getByRole("cell", { name: "Disabled" })).toBeVisible();
    await expect(canvas.getByText(/Listing accounts/)).toBeVisible();
    await expect(canvas.queryByRole("checkbox", { name: "Include deleted users" })).toBeNull();
  },
};

/** Over REST the page of accounts is named by the users service's profiles of its ids. */
export const SearchByEmailOverRest: Story = {
  parameters: { dataSource: "rest" },
  beforeEach({ msw }) {
    msw.use(...accountsPage(ACCOUNTS));
  },
  play: async ({ canvas }) => {
    await userEvent.type(await canvas.findByRole("searchbox"), "ada@{enter}");
    await waitFor(() => expect(canvas.getAllByRole("rowheader")).toHaveLength(1));
    await expect(canvas.getByRole("link", { name: "Ada Lovelace" })).toBeVisible();
  },
};
