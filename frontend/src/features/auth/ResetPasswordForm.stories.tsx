import type { Meta, StoryContext, StoryObj } from "@storybook/nextjs-vite";
import { expect, userEvent, waitFor } from "storybook/test";
import { mayHaveSession } from "@/lib/session-clock";
import { invalidLink, member } from "@/mocks/fixtures";
import { expectBusy, inPageCard, narrowScreen } from "@/mocks/frames";
import { mailStepDone, mailStepPending, mailStepRefused } from "@/mocks/handlers";
import { ResetPasswordForm } from "./ResetPasswordForm.client";

/** The page a reset mail's link opens: a new password with the link's token. */
const meta = {
  title: "Pages/ResetPassword/ResetPasswordForm",
  component: ResetPasswordForm,
  args: { token: "reset-link" },
  decorators: [inPageCard],
} satisfies Meta<typeof ResetPasswordForm>;

export default meta;
type Story = StoryObj<typeof meta>;

async function choose(canvas: StoryContext["canvas"], password = "staple battery horse correct") {
  await userEvent.type(canvas.getByLabelText("New password"), password);
  await userEvent.type(canvas.getByLabelText("Repeat the new password"), password);
  await userEvent.click(canvas.getByRole("button", { name: "Set the new password" }));
}

export const Empty: Story = {};

/** Too short and not repeated alike: both fields say why before anything is sent. */
export const ValidationError: Story = {
  play: async ({ canvas }) => {
    await userEvent.type(canvas.getByLabelText("New password"), "short");
    await userEvent.type(canvas.getByLabelText("Repeat the new password"), "other");
    await userEvent.click(canvas.getByRole("button", { name: "Set the new password" }));
    await expect(canvas.getByLabelText("New password")).toHaveFocus();
    await expect(canvas.getByLabelText("New password")).toHaveAccessibleDescription(
      expect.stringContaining("Use at least 8 characters."),
    );
    await expect(canvas.getByLabelText("Repeat the new password")).toHaveAccessibleDescription(
      "The passwords do not match.",
    );
  },
};

export const Submitting: Story = {
  beforeEach({ msw }) {
    msw.use(...mailStepPending("ResetPassword"));
  },
  play: async ({ canvas }) => {
    await choose(canvas);
    await expectBusy(canvas, "Set the new password");
  },
};

/** The auth service refuses a common password before it spends the token: the form stays. */
export const CommonPassword: Story = {
  beforeEach({ msw }) {
    msw.use(
      ...mailStepRefused("ResetPassword", {
        status: 422,
        code: "weak_password",
        message: "this password is too common; choose another one",
      }),
    );
  },
  play: async ({ canvas }) => {
    await choose(canvas, "password1");
    await waitFor(() => expect(canvas.getByLabelText("New password")).toHaveFocus());
    await expect(canvas.getByRole("alert")).toHaveTextContent("Could not set the password");
    await expect(canvas.getByLabelText("New password")).toHaveAccessibleDescription(
      expect.stringContaining("This password is too common; choose another one"),
    );
  },
};

export const CommonPasswordOverRest: Story = {
  ...CommonPassword,
  parameters: { dataSource: "rest" },
};

/** Used, expired or replaced by a newer mail: the way to a new link. */
export const SpentLink: Story = {
  beforeEach({ msw }) {
    msw.use(...mailStepRefused("ResetPassword", invalidLink));
  },
  play: async ({ canvas }) => {
    await choose(canvas);
    const alert = await canvas.findByRole("alert");
    await expect(alert).toHaveTextContent("This reset link does not work");
    await expect(alert).toHaveTextContent("It was already used, has expired");
    await expect(canvas.getByRole("link", { name: "Ask for a new link" })).toHaveAttribute(
      "href",
      "/forgot-password",
    );
    await expect(canvas.queryByLabelText("New password")).toBeNull();
  },
};

export const SpentLinkOverRest: Story = {
  ...SpentLink,
  parameters: { dataSource: "rest" },
};

/** A link cut short (no token in the address): no form, the way to a new link. */
export const IncompleteLink: Story = {
  args: { token: null },
  play: async ({ canvas }) => {
    await expect(canvas.getByRole("alert")).toHaveTextContent("The link is incomplete.");
    await expect(canvas.getByRole("link", { name: "Ask for a new link" })).toBeVisible();
  },
};

/** Set: every session of the account ended, so the next step is logging in. */
export const Changed: Story = {
  beforeEach({ msw }) {
    msw.use(...mailStepDone("ResetPassword"));
  },
  play: async ({ canvas }) => {
    await choose(canvas);
    await expect(await canvas.findByText("Your password was changed")).toBeVisible();
    await expect(canvas.getByRole("status")).toHaveTextContent(
      "Every session of your account was logged out.",
    );
    await expect(canvas.getByRole("link", { name: "Log in" })).toHaveAttribute("href", "/login");
  },
};

export const ChangedOverRest: Story = {
  ...Changed,
  parameters: { dataSource: "rest" },
};

/** Reset from a signed-in browser: its session ended with the others, and it forgets it. */
export const ChangedSignedIn: Story = {
  ...Changed,
  parameters: { session: { account: member() } },
  play: async (context) => {
    await expect(mayHaveSession()).toBe(true);
    await Changed.play?.(context);
    await expect(mayHaveSession()).toBe(false);
  },
};

export const Narrow: Story = {
  ...CommonPassword,
  globals: narrowScreen,
};
