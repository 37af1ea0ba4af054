import type { Meta, StoryObj } from "@storybook/nextjs-vite";
import { getRouter } from "@storybook/nextjs-vite/navigation.mock";
import { HttpResponse, http } from "msw";
import { expect, userEvent, waitFor } from "storybook/test";
import { administrator, member } from "@/mocks/fixtures";
import { narrowScreen } from "@/mocks/frames";
import { SiteHeader } from "./SiteHeader.client";

const meta = {
  title: "Layout/SiteHeader",
  component: SiteHeader,
  parameters: { layout: "fullscreen", nextjs: { navigation: { pathname: "/profile" } } },
} satisfies Meta<typeof SiteHeader>;

export default meta;
type Story = StoryObj<typeof meta>;

/** A visitor: log in or create an account. */
export const Anonymous: Story = {
  play: async ({ canvas }) => {
    await expect(canvas.getByRole("link", { name: "Create account" })).toBeVisible();
    await expect(canvas.queryByRole("navigation", { name: "Account" })).toBeNull();
  },
};

/** While the session is checked: no links that could turn out wrong. */
export const CheckingSession: Story = {
  parameters: { session: "checking" },
  play: async ({ canvas }) => {
    await expect(canvas.queryByRole("link", { name: "Log in" })).toBeNull();
    await expect(canvas.queryByRole("button", { name: "Log out" })).toBeNull();
  },
};

export const SignedIn: Story = {
  parameters: { session: { account: member() } },
  play: async ({ canvas }) => {
    const nav = await canvas.findByRole("navigation", { name: "Account" });
    await expect(nav).toBeVisible();
    await expect(canvas.getByRole("link", { name: "Profile" })).toHaveAttribute(
      "aria-current",
      "page",
    );
    await expect(canvas.queryByRole("link", { name: "Users" })).toBeNull();
  },
};

export const Administrator: Story = {
  parameters: { session: { account: administrator() } },
  play: async ({ canvas }) => {
    await expect(await canvas.findByRole("link", { name: "Users" })).toBeVisible();
  },
};

export const LogOut: Story = {
  parameters: { session: { account: member() } },
  beforeEach({ msw }) {
    msw.use(http.post("/api/auth/logout", () => new HttpResponse(null, { status: 204 })));
  },
  play: async ({ canvas }) => {
    await userEvent.click(await canvas.findByRole("button", { name: "Log out" }));
    await waitFor(() => expect(getRouter().push).toHaveBeenCalledWith("/login?reason=signed-out"));
    await expect(await canvas.findByRole("link", { name: "Log in" })).toBeVisible();
  },
};

/** Under 40rem the links fold into a menu; Escape closes it again. */
export const NarrowMenu: Story = {
  parameters: { session: { account: member() } },
  globals: narrowScreen,
  play: async ({ canvas }) => {
    const menu = await canvas.findByRole("button", { name: "Menu" });
    await expect(menu).toHaveAttribute("aria-expanded", "false");
    await expect(canvas.queryByRole("link", { name: "Password" })).toBeNull();
    await userEvent.click(menu);
    await expect(menu).toHaveAttribute("aria-expanded", "true");
    await expect(await canvas.findByRole("link", { name: "Password" })).toBeVisible();
    await userEvent.keyboard("{Escape}");
    await expect(menu).toHaveAttribute("aria-expanded", "false");
  },
};

export const NarrowAnonymous: Story = {
  globals: narrowScreen,
  play: async ({ canvas }) => {
    await expect(canvas.getByRole("button", { name: "Menu" })).toBeVisible();
  },
};
