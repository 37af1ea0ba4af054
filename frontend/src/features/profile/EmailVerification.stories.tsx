import type { Meta, StoryContext, StoryObj } from "@storybook/nextjs-vite";
import { expect, fn, userEvent, waitFor } from "storybook/test";
import { internalError, member, rateLimited } from "@/mocks/fixtures";
import { expectBusy, narrowScreen } from "@/mocks/frames";
import { mailStepDone, mailStepPending, mailStepRefused } from "@/mocks/handlers";
import { VerificationNotice, VerifiedBadge } from "./EmailVerification.client";

/** The profile's notice for an address not verified yet, and the badge next to the address. */
const meta = {
  title: "Pages/Profile/EmailVerification",
  component: VerificationNotice,
  args: { email: "grace@example.com", onVerified: fn() },
  parameters: { session: { account: member({ email_verified: false }) } },
} satisfies Meta<typeof VerificationNotice>;

export default meta;
type Story = StoryObj<typeof meta>;

const RESEND = "Send the verification e-mail again";

async function resend(canvas: StoryContext["canvas"]) {
  await userEvent.click(canvas.getByRole("button", { name: RESEND }));
}

/** The address as the profile shows it, verified. */
export const Verified: Story = {
  render: () => (
    <p className="muted">
      grace@example.com <VerifiedBadge verified />
    </p>
  ),
  play: async ({ canvas }) => {
    await expect(canvas.getByTestId("email-verified")).toHaveTextContent("Verified");
  },
};

/** Not verified: the badge, and the notice with the way to a new mail. */
export const NotVerified: Story = {
  render: (args) => (
    <div className="stack">
      <p className="muted" style={{ margin: 0 }}>
        {args.email} <VerifiedBadge verified={false} />
      </p>
      <VerificationNotice {...args} />
    </div>
  ),
  play: async ({ canvas }) => {
    await expect(canvas.getByTestId("email-verified")).toHaveTextContent("Not verified");
    await expect(canvas.getByRole("heading", { name: "Verify your e-mail address" })).toBeVisible();
    await expect(canvas.getByText(/We sent a link to grace@example.com/)).toBeVisible();
    await expect(canvas.getByRole("button", { name: RESEND })).toBeEnabled();
  },
};

export const Sending: Story = {
  beforeEach({ msw }) {
    msw.use(...mailStepPending("ResendVerificationEmail"));
  },
  play: async ({ canvas }) => {
    await resend(canvas);
    await expectBusy(canvas, RESEND);
  },
};

/** A new mail is on its way: said politely, the earlier links no longer work. */
export const Sent: Story = {
  beforeEach({ msw }) {
    msw.use(...mailStepDone("ResendVerificationEmail"));
  },
  play: async ({ canvas }) => {
    await resend(canvas);
    await waitFor(() =>
      expect(canvas.getByRole("status")).toHaveTextContent(
        "We sent a new link to grace@example.com. Links in earlier e-mails no longer work.",
      ),
    );
    await expect(canvas.getByRole("button", { name: RESEND })).toBeEnabled();
  },
};

export const SentOverRest: Story = {
  ...Sent,
  parameters: { dataSource: "rest" },
};

/** Asked too often: the service's limit, with when to try again (its `Retry-After`). */
export const RateLimited: Story = {
  beforeEach({ msw }) {
    msw.use(...mailStepRefused("ResendVerificationEmail", rateLimited(240)));
  },
  play: async ({ canvas }) => {
    await resend(canvas);
    const alert = await canvas.findByText(/You asked for several e-mails in a short time/);
    await expect(alert).toHaveTextContent("or try again in about 4 minutes.");
    await expect(canvas.getByRole("status")).toBeEmptyDOMElement();
  },
};

export const RateLimitedOverRest: Story = {
  ...RateLimited,
  parameters: { dataSource: "rest" },
};

/** Verified meanwhile (in another tab, say): the profile is told to read the account anew. */
export const AlreadyVerified: Story = {
  beforeEach({ msw }) {
    msw.use(
      ...mailStepRefused("ResendVerificationEmail", {
        status: 409,
        code: "email_already_verified",
        message: "this e-mail address is already verified",
      }),
    );
  },
  play: async ({ canvas, args }) => {
    await resend(canvas);
    await waitFor(() => expect(args.onVerified).toHaveBeenCalledOnce());
    await expect(canvas.getByRole("alert")).toBeEmptyDOMElement();
  },
};

export const ServerError: Story = {
  beforeEach({ msw }) {
    msw.use(...mailStepRefused("ResendVerificationEmail", internalError));
  },
  play: async ({ canvas }) => {
    await resend(canvas);
    await expect(await canvas.findByText(/Something went wrong on our side/)).toBeVisible();
    await expect(canvas.getByRole("alert")).toHaveTextContent("Try again in a moment.");
  },
};

export const ServerErrorOverRest: Story = {
  ...ServerError,
  parameters: { dataSource: "rest" },
};

export const Narrow: Story = {
  ...RateLimited,
  globals: narrowScreen,
};
