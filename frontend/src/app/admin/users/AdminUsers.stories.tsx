import type { Meta, StoryObj } from "@storybook/nextjs-vite";
import { graphql, HttpResponse, http } from "msw";
import { expect, userEvent, waitFor } from "storybook/test";
import { administrator, graphqlUser, profile, profiles } from "@/mocks/fixtures";
import { narrowScreen } from "@/mocks/frames";
import { apiError, graphqlError, pending, usersPage } from "@/mocks/handlers";
import { AdminUsers } from "./AdminUsers.client";

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
