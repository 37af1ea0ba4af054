import type { Meta, StoryObj } from "@storybook/nextjs-vite";
import { expect, within } from "storybook/test";
import { providers } from "@/mocks/fixtures";
import { narrowScreen } from "@/mocks/frames";
import { identityProviders } from "@/mocks/handlers";
import { ProviderSignIn } from "./ProviderSignIn.client";

const meta = {
  title: "Pages/Login/ProviderSignIn",
  component: ProviderSignIn,
  args: { next: "/profile" },
  beforeEach({ msw }) {
    msw.use(...identityProviders(providers()));
  },
} satisfies Meta<typeof ProviderSignIn>;

export default meta;
type Story = StoryObj<typeof meta>;

/** A button per configured provider, each a navigation to the gateway's start route. */
export const Providers: Story = {
  play: async ({ canvas }) => {
    const section = await canvas.findByRole("region", { name: "Or sign in with" });
    const links = within(section).getAllByRole("link");
    await expect(links).toHaveLength(2);
    await expect(canvas.getByRole("link", { name: "Sign in with Google" })).toHaveAttribute(
      "href",
      "/api/auth/oidc/google/authorize?next=%2Fprofile",
    );
    await expect(canvas.getByRole("link", { name: "Sign in with GitHub" })).toHaveAttribute(
      "href",
      "/api/auth/oidc/github/authorize?next=%2Fprofile",
    );
  },
};

export const ProvidersOverRest: Story = {
  parameters: { dataSource: "rest" },
  play: Providers.play,
};

/** No provider configured: nothing at all, only the password form. */
export const NoProviders: Story = {
  beforeEach({ msw }) {
    msw.use(...identityProviders([]));
  },
  play: async ({ canvas, canvasElement }) => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    await expect(canvas.queryByRole("link")).toBeNull();
    await expect(canvasElement).toBeEmptyDOMElement();
  },
};

export const Narrow: Story = {
  globals: narrowScreen,
  play: Providers.play,
};
