import type { Meta, StoryContext, StoryObj } from "@storybook/nextjs-vite";
import { HttpResponse, http } from "msw";
import { expect, userEvent, waitFor } from "storybook/test";
import { member } from "@/mocks/fixtures";
import { expectBusy, inPageCard, narrowScreen } from "@/mocks/frames";
import { apiError, pending } from "@/mocks/handlers";
import { ChangePasswordForm } from "./ChangePasswordForm.client";

const meta = {
  title: "Pages/Account/ChangePasswordForm",
  component: ChangePasswordForm,
  parameters: { session: { account: member() } },
  decorators: [inPageCard],
} satisfies Meta<typeof ChangePasswordForm>;

export default meta;
type Story = StoryObj<typeof meta>;

async function fillIn(canvas: StoryContext["canvas"]) {
  await userEvent.type(canvas.getByLabelText("Current password"), "correct horse battery");
  await userEvent.type(canvas.getByLabelText("New password"), "staple battery horse correct");
  await userEvent.type(
    canvas.getByLabelText("Repeat the new password"),
    "staple battery horse correct",
  );
  await userEvent.click(canvas.getByRole("button", { name: "Change password" }));
}

export const Empty: Story = {};

export const ValidationError: Story = {
  play: async ({ canvas }) => {
    await userEvent.type(canvas.getByLabelText("Current password"), "correct horse battery");
    await userEvent.type(canvas.getByLabelText("New password"), "correct horse battery");
    await userEvent.click(canvas.getByRole("button", { name: "Change password" }));
    await expect(canvas.getByLabelText("New password")).toHaveFocus();
    await expect(canvas.getByLabelText("New password")).toHaveAccessibleDescription(
      expect.stringContaining("Choose a password different from the current one."),
    );
  },
};

export const Submitting: Story = {
  beforeEach({ msw }) {
    msw.use(http.post("/api/auth/change-password", pending));
  },
  play: async ({ canvas }) => {
    await fillIn(canvas);
    await expectBusy(canvas, "Change password");
  },
};

export const WrongCurrentPassword: Story = {
  beforeEach({ msw }) {
    msw.use(
      http.post("/api/auth/change-password", () =>
        apiError(400, "invalid_password", "the current password is wrong"),
      ),
    );
  },
  play: async ({ canvas }) => {
    await fillIn(canvas);
    await waitFor(() => expect(canvas.getByLabelText("Current password")).toHaveFocus());
    await expect(canvas.getByRole("alert")).toHaveTextContent("Could not change the password");
    await expect(canvas.getByLabelText("Current password")).toHaveAccessibleDescription(
      "The current password is wrong",
    );
  },
};

/** Changed, and this browser keeps its (new) session: a notice, the form emptied. */
export const Changed: Story = {
  beforeEach({ msw }) {
    msw.use(http.post("/api/auth/change-password", () => HttpResponse.json({})));
  },
  play: async ({ canvas }) => {
    await fillIn(canvas);
    await expect(await canvas.findByText("Your password was changed.")).toBeVisible();
    await expect(canvas.getByLabelText("Current password")).toHaveValue("");
  },
};

export const Narrow: Story = {
  globals: narrowScreen,
  play: ValidationError.play,
};
