import type { Meta, StoryObj } from "@storybook/nextjs-vite";
import { getRouter } from "@storybook/nextjs-vite/navigation.mock";
import { HttpResponse, http } from "msw";
import { expect, userEvent, waitFor } from "storybook/test";
import { member } from "@/mocks/fixtures";
import { expectBusy, narrowScreen } from "@/mocks/frames";
import { apiError, pending } from "@/mocks/handlers";
import { SessionsPanel } from "./SessionsPanel.client";

const meta = {
  title: "Pages/Account/SessionsPanel",
  component: SessionsPanel,
  parameters: { session: { account: member() } },
} satisfies Meta<typeof SessionsPanel>;

export default meta;
type Story = StoryObj<typeof meta>;

export const Filled: Story = {};

/** Logging out everywhere: both buttons wait, the chosen one busy. */
export const LoggingOut: Story = {
  beforeEach({ msw }) {
    msw.use(http.post("/api/auth/logout-all", pending));
  },
  play: async ({ canvas }) => {
    await userEvent.click(canvas.getByRole("button", { name: "Log out everywhere" }));
    await expectBusy(canvas, "Log out everywhere");
    await expect(canvas.getByRole("button", { name: "Log out here" })).toBeDisabled();
  },
};

export const LogOutError: Story = {
  beforeEach({ msw }) {
    msw.use(
      http.post("/api/auth/logout-all", () =>
        apiError(503, "service_unavailable", "The service is unavailable."),
      ),
    );
  },
  play: async ({ canvas }) => {
    await userEvent.click(canvas.getByRole("button", { name: "Log out everywhere" }));
    await expect(await canvas.findByRole("alert")).toHaveTextContent("Could not log out");
    await expect(canvas.getByRole("button", { name: "Log out everywhere" })).toBeEnabled();
  },
};

export const LoggedOut: Story = {
  beforeEach({ msw }) {
    msw.use(http.post("/api/auth/logout", () => new HttpResponse(null, { status: 204 })));
  },
  play: async ({ canvas }) => {
    await userEvent.click(canvas.getByRole("button", { name: "Log out here" }));
    await waitFor(() =>
      expect(getRouter().replace).toHaveBeenCalledWith("/login?reason=signed-out"),
    );
  },
};

export const Narrow: Story = { globals: narrowScreen };
