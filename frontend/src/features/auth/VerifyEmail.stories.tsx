import type { Meta, StoryObj } from "@storybook/nextjs-vite";
import { expect, userEvent, waitFor } from "storybook/test";
import { invalidLink, member } from "@/mocks/fixtures";
import { inPageCard, narrowScreen } from "@/mocks/frames";
import {
  mailStepDone,
  mailStepPending,
  mailStepRefused,
  mailStepUnreachableOnce,
} from "@/mocks/handlers";
import { VerifyEmail } from "./VerifyEmail.client";

/**
 * The page a verification mail's link opens. A token is sent once per page load (and a token
 * that worked is remembered for the tab), so each story opens its own link.
 */
const meta = {
  title: "Pages/VerifyEmail/VerifyEmail",
  component: VerifyEmail,
  decorators: [inPageCard],
} satisfies Meta<typeof VerifyEmail>;

export default meta;
type Story = StoryObj<typeof meta>;

const unverified = { account: member({ email_verified: false }) };

/** The token is on its way to the auth service. */
export const Verifying: Story = {
  args: { token: "link-verifying" },
  beforeEach({ msw }) {
    msw.use(...mailStepPending("VerifyEmail"));
  },
  play: async ({ canvas }) => {
    await expect(await canvas.findByRole("status")).toHaveTextContent(
      "Verifying your e-mail address…",
    );
  },
};

/** Opened signed out (another device, say): verified, and the way to log in. */
export const Verified: Story = {
  args: { token: "link-verified" },
  beforeEach({ msw }) {
    msw.use(...mailStepDone("VerifyEmail"));
  },
  play: async ({ canvas }) => {
    await expect(await canvas.findByText("Your e-mail address is verified")).toBeVisible();
    await expect(canvas.getByRole("link", { name: "Log in" })).toHaveAttribute("href", "/login");
  },
};

export const VerifiedOverRest: Story = {
  ...Verified,
  args: { token: "link-verified-rest" },
  parameters: { dataSource: "rest" },
};

/** Opened signed in: the session reads the account anew, the way leads to the profile. */
export const VerifiedSignedIn: Story = {
  args: { token: "link-verified-signed-in" },
  parameters: { session: unverified },
  beforeEach: Verified.beforeEach,
  play: async ({ canvas }) => {
    await expect(await canvas.findByText("Your e-mail address is verified")).toBeVisible();
    await waitFor(() =>
      expect(canvas.getByRole("link", { name: "Go to your profile" })).toHaveAttribute(
        "href",
        "/profile",
      ),
    );
  },
};

/** Used, expired or replaced, opened signed out: a new mail needs a session (or a reset). */
export const UsedLink: Story = {
  args: { token: "link-used" },
  beforeEach({ msw }) {
    msw.use(...mailStepRefused("VerifyEmail", invalidLink));
  },
  play: async ({ canvas }) => {
    const alert = await canvas.findByRole("alert");
    await expect(alert).toHaveTextContent("This verification link does not work");
    await expect(alert).toHaveTextContent("It was already used, has expired");
    await expect(canvas.getByRole("link", { name: "Log in" })).toHaveAttribute(
      "href",
      "/login?next=%2Fprofile",
    );
  },
};

export const UsedLinkOverRest: Story = {
  ...UsedLink,
  args: { token: "link-used-rest" },
  parameters: { dataSource: "rest" },
};

/** Expired, opened signed in and still not verified: a new mail is one click away. */
export const ExpiredLinkSignedIn: Story = {
  args: { token: "link-expired-signed-in" },
  parameters: { session: unverified },
  beforeEach({ msw }) {
    msw.use(
      ...mailStepRefused("VerifyEmail", invalidLink),
      ...mailStepDone("ResendVerificationEmail"),
    );
  },
  play: async ({ canvas }) => {
    await expect(await canvas.findByText("This verification link does not work")).toBeVisible();
    await userEvent.click(
      await canvas.findByRole("button", { name: "Send the verification e-mail again" }),
    );
    await waitFor(() =>
      expect(canvas.getByRole("status")).toHaveTextContent(
        "We sent a new link to grace@example.com.",
      ),
    );
    await expect(canvas.queryByRole("link", { name: "Log in" })).toBeNull();
  },
};

/** An old link of an address verified since: nothing is wrong. */
export const AlreadyVerified: Story = {
  args: { token: "link-already-verified" },
  parameters: { session: { account: member() } },
  beforeEach: UsedLink.beforeEach,
  play: async ({ canvas }) => {
    await expect(await canvas.findByText("Your e-mail address is already verified")).toBeVisible();
    await expect(canvas.getByRole("link", { name: "Go to your profile" })).toBeVisible();
    await expect(canvas.queryByRole("button", { name: /verification e-mail/ })).toBeNull();
  },
};

/** A link cut short (no token in the address): said at once, nothing is sent. */
export const IncompleteLink: Story = {
  args: { token: null },
  play: async ({ canvas }) => {
    await expect(canvas.getByRole("alert")).toHaveTextContent("The link is incomplete.");
  },
};

/** No connection: the token was not spent, so "Try again" sends it again, and it works. */
export const NetworkErrorThenRetry: Story = {
  args: { token: "link-unreachable" },
  beforeEach({ msw }) {
    msw.use(...mailStepUnreachableOnce("VerifyEmail"), ...mailStepDone("VerifyEmail"));
  },
  play: async ({ canvas }) => {
    const alert = await canvas.findByRole("alert");
    await expect(alert).toHaveTextContent("Your address could not be verified yet");
    await expect(alert).toHaveTextContent("The server could not be reached.");
    await userEvent.click(canvas.getByRole("button", { name: "Try again" }));
    await expect(await canvas.findByText("Your e-mail address is verified")).toBeVisible();
  },
};

export const NetworkErrorThenRetryOverRest: Story = {
  ...NetworkErrorThenRetry,
  args: { token: "link-unreachable-rest" },
  parameters: { dataSource: "rest" },
};

/** The auth service is down: the same retry, with its message. */
export const ServiceUnavailable: Story = {
  args: { token: "link-unavailable" },
  parameters: { dataSource: "rest" },
  beforeEach({ msw }) {
    msw.use(
      ...mailStepRefused("VerifyEmail", {
        status: 503,
        code: "service_unavailable",
        message: "The service is unavailable.",
      }),
    );
  },
  play: async ({ canvas }) => {
    const alert = await canvas.findByRole("alert");
    await expect(alert).toHaveTextContent("The service is temporarily unavailable.");
    await expect(canvas.getByRole("button", { name: "Try again" })).toBeVisible();
  },
};

export const Narrow: Story = {
  ...UsedLink,
  args: { token: "link-used-narrow" },
  globals: narrowScreen,
};
