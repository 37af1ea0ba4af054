import type { Meta, StoryObj } from "@storybook/nextjs-vite";
import { graphql, HttpResponse } from "msw";
import { expect, userEvent, within } from "storybook/test";
import { administrator, member, profile } from "@/mocks/fixtures";
import { narrowScreen } from "@/mocks/frames";
import { graphqlError, pending } from "@/mocks/handlers";
import { AdminUserDetailView } from "./AdminUserDetail.client";
import { adminUser } from "./admin.mocks";

const meta = {
  title: "Pages/Admin/AdminUserDetail",
  component: AdminUserDetailView,
  args: { id: member().id },
  parameters: { session: { account: administrator() } },
  beforeEach({ msw }) {
    msw.use(...adminUser());
  },
} satisfies Meta<typeof AdminUserDetailView>;

export default meta;
type Story = StoryObj<typeof meta>;

/** Profile, account, a live session and the security log. */
export const Filled: Story = {
  play: async ({ canvas }) => {
    await expect(await canvas.findByText("grace@example.com")).toBeVisible();
    await expect(canvas.getByText("Grace Hopper")).toBeVisible();
    await expect(canvas.getByText("Active")).toBeVisible();
    const sessions = canvas.getByRole("table", { name: "Sessions (GraphQL)" });
    await expect(within(sessions).getByText("Live")).toBeVisible();
    await expect(canvas.getByRole("cell", { name: "Sign in" })).toBeVisible();
    await expect(canvas.getByRole("button", { name: "Disable account" })).toBeEnabled();
  },
};

/** Disable: the sessions end, the log names the administrator, and the account can be enabled. */
export const Disable: Story = {
  play: async ({ canvas }) => {
    await userEvent.click(await canvas.findByRole("button", { name: "Disable account" }));
    await expect(await canvas.findByText(/Grace Hopper is disabled/)).toBeVisible();
    await expect(await canvas.findByRole("button", { name: "Enable account" })).toBeVisible();
    // The account's new state arrives with the answer; the log with the reload after it.
    await expect(await canvas.findByRole("cell", { name: "Account disabled" })).toBeVisible();
    await expect(canvas.getByRole("cell", { name: administrator().id })).toBeVisible();
    await userEvent.click(canvas.getByRole("button", { name: "Enable account" }));
    await expect(await canvas.findByText("Grace Hopper can sign in again.")).toBeVisible();
  },
};

export const OverRest: Story = {
  parameters: { dataSource: "rest" },
  play: async ({ canvas }) => {
    await expect(await canvas.findByRole("table", { name: "Sessions (REST)" })).toBeVisible();
    await userEvent.click(canvas.getByRole("button", { name: "Disable account" }));
    await expect(await canvas.findByRole("button", { name: "Enable account" })).toBeVisible();
  },
};

/** A deleted profile offers its restore; a deleted account no account actions. */
export const Deleted: Story = {
  beforeEach({ msw }) {
    msw.use(
      ...adminUser(
        profile({ deleted_at: "2026-12-01T10:00:00Z" }),
        member({ status: "deleted", email: "deleted-x@deleted.invalid" }),
      ),
    );
  },
  play: async ({ canvas }) => {
    await expect(await canvas.findByRole("button", { name: "Restore profile" })).toBeVisible();
    await expect(canvas.queryByRole("button", { name: "Disable account" })).toBeNull();
    await expect(canvas.queryByRole("button", { name: "Enable account" })).toBeNull();
  },
};

export const NotFound: Story = {
  beforeEach({ msw }) {
    msw.use(graphql.query("AdminUser", () => HttpResponse.json({ data: { user: null } })));
  },
  play: async ({ canvas }) => {
    await expect(await canvas.findByText("No such user")).toBeVisible();
  },
};

export const Loading: Story = {
  beforeEach({ msw }) {
    msw.use(graphql.query("AdminUser", pending));
  },
  play: async ({ canvas }) => {
    await expect(await canvas.findByRole("status")).toHaveTextContent("Loading the user…");
  },
};

export const LoadError: Story = {
  beforeEach({ msw }) {
    msw.use(graphql.query("AdminUser", () => graphqlError("internal_error", "boom")));
  },
  play: async ({ canvas }) => {
    await expect(await canvas.findByRole("alert")).toHaveTextContent(
      "This user could not be loaded",
    );
  },
};

/** The administrator's own account: the server refuses, the page says why. */
export const DisableRefused: Story = {
  beforeEach({ msw }) {
    msw.use(
      graphql.mutation("DisableAccount", () =>
        graphqlError("cannot_disable_self", "administrators cannot disable their own account"),
      ),
    );
  },
  play: async ({ canvas }) => {
    await userEvent.click(await canvas.findByRole("button", { name: "Disable account" }));
    await expect(await canvas.findByText(/cannot disable their own account/)).toBeVisible();
  },
};

export const Narrow: Story = {
  globals: narrowScreen,
  play: async ({ canvas }) => {
    await expect(await canvas.findByRole("heading", { name: "Sessions" })).toBeVisible();
  },
};
