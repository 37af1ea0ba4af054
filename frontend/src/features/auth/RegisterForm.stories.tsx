import type { Meta, StoryContext, StoryObj } from "@storybook/nextjs-vite";
import { getRouter } from "@storybook/nextjs-vite/navigation.mock";
import { HttpResponse, http } from "msw";
import { expect, userEvent, waitFor } from "storybook/test";
import { expectBusy, inPageCard, narrowScreen } from "@/mocks/frames";
import { apiError, pending, sessionAnswer } from "@/mocks/handlers";
import { RegisterForm } from "./RegisterForm.client";

const meta = {
  title: "Pages/Register/RegisterForm",
  component: RegisterForm,
  decorators: [inPageCard],
} satisfies Meta<typeof RegisterForm>;

export default meta;
type Story = StoryObj<typeof meta>;

const accepted = http.post("/api/auth/register", () =>
  HttpResponse.json(
    { status: "accepted", message: "Check your inbox: we sent an e-mail to this address." },
    { status: 202 },
  ),
);

async function fillIn(canvas: StoryContext["canvas"]) {
  await userEvent.type(canvas.getByLabelText("Display name"), "Grace Hopper");
  await userEvent.type(canvas.getByLabelText("E-mail address"), "grace@example.com");
  await userEvent.type(canvas.getByLabelText("Password"), "correct horse battery");
  await userEvent.type(canvas.getByLabelText("Repeat the password"), "correct horse battery");
}

export const Empty: Story = {};

export const ValidationError: Story = {
  play: async ({ canvas }) => {
    await userEvent.type(canvas.getByLabelText("Password"), "short");
    await userEvent.type(canvas.getByLabelText("Repeat the password"), "other");
    await userEvent.click(canvas.getByRole("button", { name: "Create account" }));
    await expect(canvas.getByLabelText("Display name")).toHaveFocus();
    await expect(canvas.getByLabelText("Password")).toBeInvalid();
    await expect(canvas.getByLabelText("Repeat the password")).toHaveAccessibleDescription(
      "The passwords do not match.",
    );
  },
};

export const Filled: Story = {
  play: async ({ canvas }) => {
    await fillIn(canvas);
    await expect(canvas.getByRole("form", { name: "Create an account" })).toHaveFormValues({
      displayName: "Grace Hopper",
      email: "grace@example.com",
    });
  },
};

export const Submitting: Story = {
  beforeEach({ msw }) {
    msw.use(http.post("/api/auth/register", pending));
  },
  play: async ({ canvas }) => {
    await fillIn(canvas);
    await userEvent.click(canvas.getByRole("button", { name: "Create account" }));
    await expectBusy(canvas, "Create account");
  },
};

/** The auth service refuses the password: the message shows next to the field. */
export const WeakPassword: Story = {
  beforeEach({ msw }) {
    msw.use(
      http.post("/api/auth/register", () =>
        apiError(422, "weak_password", "this password is too common"),
      ),
    );
  },
  play: async ({ canvas }) => {
    await fillIn(canvas);
    await userEvent.click(canvas.getByRole("button", { name: "Create account" }));
    await waitFor(() => expect(canvas.getByLabelText("Password")).toHaveFocus());
    await expect(canvas.getByLabelText("Password")).toHaveAccessibleDescription(
      expect.stringContaining("This password is too common"),
    );
  },
};

/** A new account signs in with the password just chosen and lands on its profile. */
export const Registered: Story = {
  beforeEach({ msw }) {
    msw.use(
      accepted,
      http.post("/api/auth/login", () => HttpResponse.json(sessionAnswer())),
    );
  },
  play: async ({ canvas }) => {
    await fillIn(canvas);
    await userEvent.click(canvas.getByRole("button", { name: "Create account" }));
    await waitFor(() => expect(getRouter().replace).toHaveBeenCalledWith("/profile?welcome=1"));
  },
};

export const Narrow: Story = {
  globals: narrowScreen,
  play: ValidationError.play,
};
