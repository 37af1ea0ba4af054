import type { Meta, StoryObj } from "@storybook/nextjs-vite";
import { graphql } from "msw";
import { expect, fn, userEvent } from "storybook/test";
import { Card } from "@/components/ui";
import { profileFromRest } from "@/lib/account";
import { member, profile } from "@/mocks/fixtures";
import { expectBusy, narrowScreen } from "@/mocks/frames";
import { graphqlError, pending } from "@/mocks/handlers";
import { ProfileForm } from "./ProfileForm.client";

const meta = {
  title: "Pages/Profile/ProfileForm",
  component: ProfileForm,
  args: { profile: profileFromRest(profile(), member()), onSaved: fn(), onCancel: fn() },
  parameters: { session: { account: member() } },
  decorators: [
    (Story) => (
      <Card title="Edit profile">
        <Story />
      </Card>
    ),
  ],
} satisfies Meta<typeof ProfileForm>;

export default meta;
type Story = StoryObj<typeof meta>;

export const Filled: Story = {
  play: async ({ canvas }) => {
    await expect(canvas.getByLabelText("Display name")).toHaveValue("Grace Hopper");
    await expect(canvas.getByLabelText(/Time zone/)).toHaveValue("America/New_York");
  },
};

export const Empty: Story = {
  args: {
    profile: profileFromRest(
      profile({ bio: null, avatar_url: null, locale: null, timezone: null }),
      member(),
    ),
  },
};

/** Bad values: the fields say why, nothing is sent. */
export const ValidationError: Story = {
  play: async ({ args, canvas }) => {
    await userEvent.clear(canvas.getByLabelText("Display name"));
    await userEvent.type(canvas.getByLabelText(/Avatar URL/), "ftp://example.com/me.png");
    await userEvent.click(canvas.getByRole("button", { name: "Save profile" }));
    await expect(canvas.getByLabelText("Display name")).toHaveFocus();
    await expect(canvas.getByLabelText(/Avatar URL/)).toBeInvalid();
    await expect(args.onSaved).not.toHaveBeenCalled();
  },
};

/** Nothing changed: no request, the form just closes as saved. */
export const Unchanged: Story = {
  play: async ({ args, canvas }) => {
    await userEvent.click(canvas.getByRole("button", { name: "Save profile" }));
    await expect(args.onSaved).toHaveBeenCalledOnce();
  },
};

export const Saving: Story = {
  beforeEach({ msw }) {
    msw.use(graphql.mutation("UpdateProfile", pending));
  },
  play: async ({ canvas }) => {
    await userEvent.type(canvas.getByLabelText(/Bio/), " And more.");
    await userEvent.click(canvas.getByRole("button", { name: "Save profile" }));
    await expectBusy(canvas, "Save profile");
    await expect(canvas.getByRole("button", { name: "Cancel" })).toBeDisabled();
  },
};

export const SaveError: Story = {
  beforeEach({ msw }) {
    msw.use(
      graphql.mutation("UpdateProfile", () =>
        graphqlError("internal_error", "database unavailable"),
      ),
    );
  },
  play: async ({ args, canvas }) => {
    await userEvent.type(canvas.getByLabelText(/Bio/), " And more.");
    await userEvent.click(canvas.getByRole("button", { name: "Save profile" }));
    await expect(await canvas.findByRole("alert")).toHaveTextContent("Could not save the profile");
    await expect(args.onSaved).not.toHaveBeenCalled();
  },
};

export const Narrow: Story = { globals: narrowScreen };
