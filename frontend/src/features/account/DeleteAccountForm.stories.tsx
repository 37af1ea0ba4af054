import type { Meta, StoryContext, StoryObj } from "@storybook/nextjs-vite";
import { http } from "msw";
import { expect, userEvent, waitFor } from "storybook/test";
import { member } from "@/mocks/fixtures";
import { expectBusy, inPageCard, narrowScreen } from "@/mocks/frames";
import { apiError, pending } from "@/mocks/handlers";
import { DeleteAccountForm } from "./DeleteAccountForm.client";

const meta = {
  title: "Pages/Account/DeleteAccountForm",
  component: DeleteAccountForm,
  parameters: { session: { account: member() } },
  decorators: [inPageCard],
} satisfies Meta<typeof DeleteAccountForm>;

export default meta;
type Story = StoryObj<typeof meta>;

async function confirm(canvas: StoryContext["canvas"]) {
  await userEvent.type(canvas.getByLabelText("Password"), "correct horse battery");
  await userEvent.click(canvas.getByRole("checkbox"));
  await userEvent.click(canvas.getByRole("button", { name: "Delete my account" }));
}

export const Empty: Story = {};

/** Neither the password nor the box: both say why. */
export const ValidationError: Story = {
  play: async ({ canvas }) => {
    await userEvent.click(canvas.getByRole("button", { name: "Delete my account" }));
    await expect(canvas.getByLabelText("Password")).toHaveFocus();
    await expect(canvas.getByRole("checkbox")).toHaveAccessibleDescription(
      "Tick the box to confirm.",
    );
  },
};

export const Deleting: Story = {
  beforeEach({ msw }) {
    msw.use(http.delete("/api/auth/me", pending));
  },
  play: async ({ canvas }) => {
    await confirm(canvas);
    await expectBusy(canvas, "Delete my account");
  },
};

export const WrongPassword: Story = {
  beforeEach({ msw }) {
    msw.use(
      http.delete("/api/auth/me", () => apiError(400, "invalid_password", "the password is wrong")),
    );
  },
  play: async ({ canvas }) => {
    await confirm(canvas);
    await waitFor(() => expect(canvas.getByLabelText("Password")).toHaveFocus());
    await expect(canvas.getByRole("alert")).toHaveTextContent("Could not delete the account");
  },
};

export const Narrow: Story = {
  globals: narrowScreen,
  play: ValidationError.play,
};
