import type { Meta, StoryObj } from "@storybook/nextjs-vite";
import { getRouter } from "@storybook/nextjs-vite/navigation.mock";
import { HttpResponse, http } from "msw";
import { expect, userEvent, waitFor } from "storybook/test";
import { Card } from "@/components/ui";
import { administrator, member } from "@/mocks/fixtures";
import { RequireSession } from "./RequireSession.client";

const meta = {
  title: "Layout/RequireSession",
  component: RequireSession,
  args: { children: <Card title="Your profile">Only a signed-in user sees this.</Card> },
  parameters: { nextjs: { navigation: { pathname: "/profile" } } },
} satisfies Meta<typeof RequireSession>;

export default meta;
type Story = StoryObj<typeof meta>;

export const SignedIn: Story = {
  parameters: { session: { account: member() } },
  play: async ({ canvas }) => {
    await expect(await canvas.findByRole("heading", { name: "Your profile" })).toBeVisible();
  },
};

export const CheckingSession: Story = {
  parameters: { session: "checking" },
  play: async ({ canvas }) => {
    await expect(canvas.getByRole("status")).toHaveTextContent("Checking your session…");
  },
};

/** A visitor is sent to the login page, brought back here afterwards. */
export const Anonymous: Story = {
  play: async ({ canvas }) => {
    await expect(canvas.getByRole("status")).toHaveTextContent("Redirecting to the login page…");
    await waitFor(() =>
      expect(getRouter().replace).toHaveBeenCalledWith(expect.stringMatching(/^\/login\?next=/)),
    );
  },
};

/** The gateway cannot say who is signed in: an error with a retry. */
export const Unavailable: Story = {
  parameters: { session: "unavailable" },
  play: async ({ canvas, context }) => {
    await expect(await canvas.findByRole("alert")).toHaveTextContent("The service is unavailable");
    context.msw.use(http.get("/api/auth/me", () => HttpResponse.json(member())));
    await userEvent.click(canvas.getByRole("button", { name: "Try again" }));
    await expect(await canvas.findByRole("heading", { name: "Your profile" })).toBeVisible();
  },
};

export const NotAnAdministrator: Story = {
  args: { admin: true },
  parameters: { session: { account: member() } },
  play: async ({ canvas }) => {
    await expect(
      await canvas.findByRole("heading", { name: "You do not have access to this page" }),
    ).toBeVisible();
  },
};

export const Administrator: Story = {
  args: { admin: true },
  parameters: { session: { account: administrator() } },
  play: SignedIn.play,
};
