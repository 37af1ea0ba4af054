import type { Meta, StoryContext, StoryObj } from "@storybook/nextjs-vite";
import { expect, userEvent, waitFor } from "storybook/test";
import { internalError, rateLimited } from "@/mocks/fixtures";
import { expectBusy, inPageCard, narrowScreen } from "@/mocks/frames";
import { mailStepDone, mailStepPending, mailStepRefused } from "@/mocks/handlers";
import { ForgotPasswordForm } from "./ForgotPasswordForm.client";

const meta = {
  title: "Pages/ForgotPassword/ForgotPasswordForm",
  component: ForgotPasswordForm,
  decorators: [inPageCard],
} satisfies Meta<typeof ForgotPasswordForm>;

export default meta;
type Story = StoryObj<typeof meta>;

async function ask(canvas: StoryContext["canvas"]) {
  await userEvent.type(canvas.getByLabelText("E-mail address"), "grace@example.com");
  await userEvent.click(canvas.getByRole("button", { name: "Send the reset link" }));
}

export const Empty: Story = {};

/** Not an address: the field says why before anything is sent. */
export const ValidationError: Story = {
  play: async ({ canvas }) => {
    await userEvent.type(canvas.getByLabelText("E-mail address"), "grace@example");
    await userEvent.click(canvas.getByRole("button", { name: "Send the reset link" }));
    await expect(canvas.getByLabelText("E-mail address")).toHaveFocus();
    await expect(canvas.getByLabelText("E-mail address")).toHaveAccessibleDescription(
      "Enter an e-mail address like name@example.com.",
    );
  },
};

export const Submitting: Story = {
  beforeEach({ msw }) {
    msw.use(...mailStepPending("ForgotPassword"));
  },
  play: async ({ canvas }) => {
    await ask(canvas);
    await expectBusy(canvas, "Send the reset link");
  },
};

/** The same confirmation whether or not the address has an account; another link may follow. */
export const Sent: Story = {
  beforeEach({ msw }) {
    msw.use(...mailStepDone("ForgotPassword"));
  },
  play: async ({ canvas }) => {
    await ask(canvas);
    const sent = await canvas.findByRole("status");
    await expect(sent).toHaveTextContent("Check your inbox");
    await expect(sent).toHaveTextContent("If grace@example.com has an account, we sent it a link");
    await expect(canvas.getByRole("button", { name: "Send another link" })).toBeEnabled();
  },
};

export const SentOverRest: Story = {
  ...Sent,
  parameters: { dataSource: "rest" },
};

/** Asked too often for the address or from this client: when to try again. */
export const RateLimited: Story = {
  beforeEach({ msw }) {
    msw.use(...mailStepRefused("ForgotPassword", rateLimited(600)));
  },
  play: async ({ canvas }) => {
    await ask(canvas);
    await waitFor(() =>
      expect(canvas.getByRole("alert")).toHaveTextContent(
        "Too many reset e-mails were asked for in a short time.",
      ),
    );
    await expect(canvas.getByRole("alert")).toHaveTextContent("try again in about 10 minutes.");
  },
};

export const RateLimitedOverRest: Story = {
  ...RateLimited,
  parameters: { dataSource: "rest" },
};

export const ServerError: Story = {
  beforeEach({ msw }) {
    msw.use(...mailStepRefused("ForgotPassword", internalError));
  },
  play: async ({ canvas }) => {
    await ask(canvas);
    await waitFor(() =>
      expect(canvas.getByRole("alert")).toHaveTextContent("Could not send the link"),
    );
    await expect(canvas.getByRole("alert")).toHaveTextContent("Something went wrong on our side.");
    await expect(canvas.queryByText("Check your inbox")).toBeNull();
  },
};

export const ServerErrorOverRest: Story = {
  ...ServerError,
  parameters: { dataSource: "rest" },
};

export const Narrow: Story = {
  ...Sent,
  globals: narrowScreen,
};
