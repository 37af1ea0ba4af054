import type { Meta, StoryObj } from "@storybook/nextjs-vite";
import { graphql, HttpResponse, http } from "msw";
import { expect, userEvent, waitFor } from "storybook/test";
import { graphqlUser, member, profile } from "@/mocks/fixtures";
import { narrowScreen } from "@/mocks/frames";
import { apiError, graphqlError, myProfile, pending } from "@/mocks/handlers";
import { ProfileScreen } from "./ProfileScreen.client";

const meta = {
  title: "Pages/Profile/ProfileScreen",
  component: ProfileScreen,
  parameters: { session: { account: member() } },
  beforeEach({ msw }) {
    msw.use(...myProfile());
  },
} satisfies Meta<typeof ProfileScreen>;

export default meta;
type Story = StoryObj<typeof meta>;

export const Filled: Story = {
  play: async ({ canvas }) => {
    await expect(await canvas.findByTestId("display-name")).toHaveTextContent("Grace Hopper");
    await expect(canvas.getByText("Loaded through GraphQL")).toBeVisible();
  },
};

/** Everything optional left empty: each shows "Not set". */
export const Empty: Story = {
  beforeEach({ msw }) {
    msw.use(...myProfile(profile({ bio: null, avatar_url: null, locale: null, timezone: null })));
  },
  play: async ({ canvas }) => {
    await expect(await canvas.findByTestId("bio")).toHaveTextContent("Not set");
    await expect(canvas.getByTestId("timezone")).toHaveTextContent("Not set");
  },
};

export const Welcome: Story = {
  args: { welcome: true },
  play: async ({ canvas }) => {
    await expect(await canvas.findByText("Welcome, Grace Hopper!")).toBeVisible();
  },
};

export const Loading: Story = {
  beforeEach({ msw }) {
    msw.use(graphql.query("MyProfile", pending));
  },
  play: async ({ canvas }) => {
    await expect(await canvas.findByRole("status")).toHaveTextContent("Loading your profile…");
  },
};

export const LoadError: Story = {
  beforeEach({ msw }) {
    msw.use(graphql.query("MyProfile", () => graphqlError("internal_error", "boom")));
  },
  play: async ({ canvas }) => {
    const alert = await canvas.findByRole("alert");
    await expect(alert).toHaveTextContent("Your profile could not be loaded");
    await expect(alert).toHaveTextContent("Something went wrong on our side.");
  },
};

/** The same screen over REST: the users and auth services' answers merged. */
export const OverRest: Story = {
  parameters: { dataSource: "rest" },
  play: async ({ canvas }) => {
    await expect(await canvas.findByText("Loaded through REST")).toBeVisible();
    await expect(canvas.getByText("grace@example.com")).toBeVisible();
  },
};

export const RestLoadError: Story = {
  parameters: { dataSource: "rest" },
  beforeEach({ msw }) {
    msw.use(
      http.get("/api/users/me", () =>
        apiError(503, "service_unavailable", "The service is unavailable."),
      ),
    );
  },
  play: async ({ canvas }) => {
    await expect(await canvas.findByRole("alert")).toHaveTextContent(
      "The service is temporarily unavailable.",
    );
  },
};

/** Edit, change the name, save: the saved profile is shown with a notice. */
export const EditAndSave: Story = {
  beforeEach({ msw }) {
    msw.use(
      graphql.mutation("UpdateProfile", ({ variables }) =>
        HttpResponse.json({
          data: {
            updateProfile: graphqlUser(
              profile({ display_name: String(variables.input.displayName) }),
              null,
            ),
          },
        }),
      ),
    );
  },
  play: async ({ canvas }) => {
    await userEvent.click(await canvas.findByRole("button", { name: "Edit profile" }));
    const name = canvas.getByLabelText("Display name");
    await expect(name).toHaveFocus();
    await userEvent.clear(name);
    await userEvent.type(name, "Amazing Grace");
    await userEvent.click(canvas.getByRole("button", { name: "Save profile" }));
    await expect(await canvas.findByText("Your profile was saved.")).toBeVisible();
    await waitFor(() =>
      expect(canvas.getByTestId("display-name")).toHaveTextContent("Amazing Grace"),
    );
  },
};

export const Narrow: Story = {
  globals: narrowScreen,
  play: Filled.play,
};
