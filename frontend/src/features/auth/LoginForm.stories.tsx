import type { Meta, StoryContext, StoryObj } from "@storybook/nextjs-vite";
import { getRouter } from "@storybook/nextjs-vite/navigation.mock";
import { HttpResponse, http } from "msw";
import { expect, userEvent, waitFor } from "storybook/test";
import { expectBusy, inPageCard, narrowScreen } from "@/mocks/frames";
import { apiError, pending, sessionAnswer } from "@/mocks/handlers";
import { LoginForm } from "./LoginForm.client";

const meta = {
  title: "Pages/Login/LoginForm",
  component: LoginForm,
  args: { next: "/profile" },
  decorators: [inPageCard],
} satisfies Meta<typeof LoginForm>;

export default meta;
type Story = StoryObj<typeof meta>;

/** The password step, then the second step a two-factor account is asked for. */
const twoFactorChallenge = http.post("/api/auth/login", () =>
  HttpResponse.json({ mfa_required: true, mfa_token: "challenge", expires_in: 300 }),
);

async function logIn(canvas: StoryContext["canvas"]) {
  await userEvent.type(canvas.getByLabelText("E-mail address"), "grace@example.com");
  await userEvent.type(canvas.getByLabelText("Password"), "correct horse battery");
  await userEvent.click(canvas.getByRole("button", { name: "Log in" }));
}

export const Empty: Story = {};

/** A submit with nothing filled in: both fields say why, focus on the first. */
export const ValidationError: Story = {
  play: async ({ canvas }) => {
    await userEvent.click(canvas.getByRole("button", { name: "Log in" }));
    await expect(canvas.getByRole("alert")).toHaveTextContent("Check the highlighted fields");
    await expect(canvas.getByLabelText("E-mail address")).toHaveFocus();
    await expect(canvas.getByLabelText("Password")).toBeInvalid();
  },
};

/** Filled in and sent: the button is busy until the gateway answers. */
export const Submitting: Story = {
  beforeEach({ msw }) {
    msw.use(http.post("/api/auth/login", pending));
  },
  play: async ({ canvas }) => {
    await logIn(canvas);
    await expectBusy(canvas, "Log in");
  },
};

export const WrongPassword: Story = {
  beforeEach({ msw }) {
    msw.use(
      http.post("/api/auth/login", () =>
        apiError(401, "invalid_credentials", "Wrong e-mail address or password."),
      ),
    );
  },
  play: async ({ canvas }) => {
    await logIn(canvas);
    const alert = await canvas.findByRole("alert");
    await expect(alert).toHaveTextContent("Could not log in");
    await expect(alert).toHaveTextContent("Wrong e-mail address or password.");
  },
};

/** Refused until the address is verified: the way out is the mailed link, or a reset. */
export const EmailNotVerified: Story = {
  beforeEach({ msw }) {
    msw.use(
      http.post("/api/auth/login", () =>
        apiError(
          403,
          "email_not_verified",
          "verify your e-mail address first: follow the link we sent, or reset your password",
        ),
      ),
    );
  },
  play: async ({ canvas }) => {
    await logIn(canvas);
    const alert = await canvas.findByRole("alert");
    await expect(alert).toHaveTextContent("Could not log in");
    await expect(alert).toHaveTextContent("Your e-mail address is not verified yet.");
    await expect(canvas.getByText(/Open the link in the verification e-mail/)).toBeVisible();
    await expect(canvas.getByRole("link", { name: "Reset your password" })).toHaveAttribute(
      "href",
      "/forgot-password",
    );
  },
};

export const SignedIn: Story = {
  beforeEach({ msw }) {
    msw.use(http.post("/api/auth/login", () => HttpResponse.json(sessionAnswer())));
  },
  play: async ({ canvas }) => {
    await logIn(canvas);
    await waitFor(() => expect(getRouter().replace).toHaveBeenCalledWith("/profile"));
  },
};

export const TwoFactorStep: Story = {
  beforeEach({ msw }) {
    msw.use(twoFactorChallenge);
  },
  play: async ({ canvas }) => {
    await logIn(canvas);
    await expect(await canvas.findByRole("form", { name: "Two-factor sign-in" })).toHaveTextContent(
      "Enter the code your authenticator app shows for grace@example.com.",
    );
    await expect(canvas.getByLabelText("Authentication code")).toHaveAttribute(
      "inputmode",
      "numeric",
    );
  },
};

export const TwoFactorRecoveryCode: Story = {
  beforeEach: TwoFactorStep.beforeEach,
  play: async ({ canvas }) => {
    await logIn(canvas);
    await userEvent.click(await canvas.findByRole("button", { name: "Use a recovery code" }));
    await expect(canvas.getByLabelText("Recovery code")).toBeVisible();
    await userEvent.click(canvas.getByRole("button", { name: "Sign in" }));
    await expect(canvas.getByLabelText("Recovery code")).toHaveAccessibleDescription(
      "Enter one of your recovery codes.",
    );
  },
};

/** The challenge ran out: the code is refused and the user may start again. */
export const TwoFactorExpired: Story = {
  beforeEach({ msw }) {
    msw.use(
      twoFactorChallenge,
      http.post("/api/auth/login/two-factor", () =>
        apiError(401, "mfa_token_invalid", "The sign-in took too long. Start again."),
      ),
    );
  },
  play: async ({ canvas }) => {
    await logIn(canvas);
    await userEvent.type(await canvas.findByLabelText("Authentication code"), "123456");
    await userEvent.click(canvas.getByRole("button", { name: "Sign in" }));
    await expect(await canvas.findByRole("alert")).toHaveTextContent("took too long");
    await userEvent.click(canvas.getByRole("button", { name: "Start again" }));
    await expect(canvas.getByRole("form", { name: "Log in" })).toBeVisible();
  },
};

export const Narrow: Story = {
  globals: narrowScreen,
  play: ValidationError.play,
};

/**
 * Back from a provider for a two-factor account (`/login?step=two-factor`): the gateway holds
 * the challenge in an httpOnly cookie, so the request carries the code only.
 */
export const ProviderTwoFactorStep: Story = {
  args: { twoFactor: true },
  beforeEach({ msw }) {
    msw.use(
      http.post("/api/auth/login/two-factor", async ({ request }) => {
        const body = (await request.json()) as Record<string, unknown>;
        if ("mfa_token" in body || body.code !== "123456") {
          return apiError(401, "invalid_code", "the code is not valid");
        }
        return HttpResponse.json(sessionAnswer());
      }),
    );
  },
  play: async ({ canvas }) => {
    await expect(canvas.getByRole("form", { name: "Two-factor sign-in" })).toHaveTextContent(
      "Enter the code your authenticator app shows for your account.",
    );
    await userEvent.type(canvas.getByLabelText("Authentication code"), "123 456");
    await userEvent.click(canvas.getByRole("button", { name: "Sign in" }));
    await waitFor(() => expect(getRouter().replace).toHaveBeenCalledWith("/profile"));
  },
};
