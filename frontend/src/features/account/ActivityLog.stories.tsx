import type { Meta, StoryContext, StoryObj } from "@storybook/nextjs-vite";
import { graphql, http } from "msw";
import { expect, userEvent, waitFor } from "storybook/test";
import { member, securityEvents } from "@/mocks/fixtures";
import { narrowScreen } from "@/mocks/frames";
import { apiError, graphqlError, pending, securityLog } from "@/mocks/handlers";
import { ActivityLog } from "./ActivityLog.client";

const meta = {
  title: "Pages/Account/ActivityLog",
  component: ActivityLog,
  parameters: { session: { account: member() } },
  beforeEach({ msw }) {
    msw.use(...securityLog(securityEvents(8)));
  },
} satisfies Meta<typeof ActivityLog>;

export default meta;
type Story = StoryObj<typeof meta>;

/** One page: each kind in words, an unknown (newer) kind as it is spelled, "—" for no client. */
export const Filled: Story = {
  play: async ({ canvas }) => {
    await canvas.findByRole("table", { name: "Security activity, newest first" });
    await expect(canvas.getAllByRole("rowheader")).toHaveLength(8);
    await expect(
      canvas.getAllByRole("rowheader", { name: "Signed in with the password" }),
    ).toHaveLength(2);
    await expect(
      canvas.getByRole("rowheader", { name: "Two-factor sign-in turned on" }),
    ).toBeVisible();
    await expect(canvas.getByRole("rowheader", { name: "passkey registered" })).toBeVisible();
    await expect(canvas.getAllByRole("cell", { name: "—" }).length).toBeGreaterThan(0);
    await expect(canvas.queryByRole("navigation", { name: "Activity pages" })).toBeNull();
  },
};

export const Empty: Story = {
  beforeEach({ msw }) {
    msw.use(...securityLog([]));
  },
  play: async ({ canvas }) => {
    await expect(await canvas.findByText("Nothing yet.")).toBeVisible();
  },
};

export const Loading: Story = {
  beforeEach({ msw }) {
    msw.use(graphql.query("SecurityEvents", pending));
  },
  play: async ({ canvas }) => {
    await expect(await canvas.findByRole("status")).toHaveTextContent("Loading the activity…");
  },
};

export const LoadError: Story = {
  beforeEach({ msw }) {
    msw.use(graphql.query("SecurityEvents", () => graphqlError("internal_error", "boom")));
  },
  play: async ({ canvas }) => {
    const alert = await canvas.findByRole("alert");
    await expect(alert).toHaveTextContent("The activity could not be loaded");
    await expect(canvas.getByRole("button", { name: "Try again" })).toBeVisible();
  },
};

export const RestLoadError: Story = {
  parameters: { dataSource: "rest" },
  beforeEach({ msw }) {
    msw.use(
      http.get("/api/auth/me/security-events", () => apiError(500, "internal_error", "boom")),
    );
  },
  play: LoadError.play,
};

/** 25 entries, 10 a page: "Older" twice to the last page, "Newer" back; focus on the heading. */
async function page(canvas: StoryContext["canvas"]) {
  await canvas.findByRole("table");
  const older = canvas.getByRole("button", { name: "Older" });
  const newer = canvas.getByRole("button", { name: "Newer" });
  await expect(canvas.getAllByRole("rowheader")).toHaveLength(10);
  await expect(newer).toBeDisabled();
  await userEvent.click(older);
  await expect(canvas.getByRole("heading", { name: "Recent activity" })).toHaveFocus();
  await waitFor(() => expect(canvas.getByRole("button", { name: "Newer" })).toBeEnabled());
  await userEvent.click(canvas.getByRole("button", { name: "Older" }));
  await waitFor(() => expect(canvas.getAllByRole("rowheader")).toHaveLength(5));
  await waitFor(() => expect(canvas.getByRole("button", { name: "Newer" })).toBeEnabled());
  await expect(canvas.getByRole("button", { name: "Older" })).toBeDisabled();
  await userEvent.click(canvas.getByRole("button", { name: "Newer" }));
  await waitFor(() => expect(canvas.getAllByRole("rowheader")).toHaveLength(10));
  await waitFor(() => expect(canvas.getByRole("button", { name: "Older" })).toBeEnabled());
}

export const Paging: Story = {
  beforeEach({ msw }) {
    msw.use(...securityLog(securityEvents(25)));
  },
  play: async ({ canvas }) => page(canvas),
};

export const PagingOverRest: Story = { ...Paging, parameters: { dataSource: "rest" } };

export const Narrow: Story = {
  globals: narrowScreen,
  play: Filled.play,
};
