import type { Meta, StoryObj } from "@storybook/nextjs-vite";
import { http } from "msw";
import { expect, userEvent, within } from "storybook/test";
import type { SecurityOverview } from "@/lib/security";
import { member } from "@/mocks/fixtures";
import { narrowScreen } from "@/mocks/frames";
import { apiError, identityUnlinking, pending, refusedMutation } from "@/mocks/handlers";
import { IdentitiesCard } from "./IdentitiesCard.client";

const PROVIDERS = [
  { name: "google", displayName: "Google" },
  { name: "github", displayName: "GitHub" },
];

const google = {
  id: "5c0d2b7e-91a4-4f3e-b8d6-0a7c9e1f2b34",
  provider: "google",
  email: "grace@example.com",
  createdAt: "2026-06-14T10:15:00Z",
  lastUsedAt: "2026-11-28T07:50:00Z",
};

const github = {
  id: "8a4f6e21-3b7c-4d90-a512-6e8b0c3d7f95",
  provider: "github",
  email: null,
  createdAt: "2026-09-02T16:40:00Z",
  lastUsedAt: null,
};

const noneLinked: SecurityOverview = {
  twoFactorEnabled: false,
  recoveryCodesLeft: null,
  hasPassword: true,
  identities: [],
  providers: PROVIDERS,
};

const meta = {
  title: "Pages/Account/IdentitiesCard",
  component: IdentitiesCard,
  args: { overview: noneLinked, linked: null },
  parameters: { session: { account: member() } },
} satisfies Meta<typeof IdentitiesCard>;

export default meta;
type Story = StoryObj<typeof meta>;

/** Nothing linked: the password only, and a button per configured provider. */
export const NoneLinked: Story = {
  play: async ({ canvas }) => {
    await expect(canvas.getByText("No provider is linked.")).toBeVisible();
    await expect(canvas.getByRole("button", { name: "Link Google" })).toBeEnabled();
    await expect(canvas.getByRole("button", { name: "Link GitHub" })).toBeEnabled();
  },
};

/** Two linked providers (one without an e-mail, never used): nothing left to link. */
export const Linked: Story = {
  args: { overview: { ...noneLinked, identities: [google, github] } },
  play: async ({ canvas }) => {
    const items = within(canvas.getByRole("list")).getAllByRole("listitem");
    await expect(items).toHaveLength(2);
    await expect(items[0]).toHaveTextContent("Google (grace@example.com) · linked");
    await expect(items[0]).toHaveTextContent("last used");
    await expect(items[1]).not.toHaveTextContent("last used");
    await expect(canvas.queryByRole("button", { name: /^Link / })).toBeNull();
  },
};

/** Back from the provider (`?linked=google`): the page says the link worked. */
export const JustLinked: Story = {
  args: { overview: { ...noneLinked, identities: [google] }, linked: "google" },
  play: async ({ canvas }) => {
    await expect(canvas.getByRole("status")).toHaveTextContent(
      "Google is linked: you can sign in with it.",
    );
    await expect(canvas.getByRole("button", { name: "Link GitHub" })).toBeVisible();
  },
};

export const Unlinked: Story = {
  args: Linked.args,
  beforeEach({ msw }) {
    msw.use(...identityUnlinking());
  },
  play: async ({ canvas }) => {
    await userEvent.click(canvas.getByRole("button", { name: "Unlink Google" }));
    await expect(await canvas.findByRole("status")).toHaveTextContent("Google is unlinked.");
  },
};

export const UnlinkedOverRest: Story = { ...Unlinked, parameters: { dataSource: "rest" } };

/** While one unlink waits for the gateway, every other button waits too. */
export const Unlinking: Story = {
  args: Linked.args,
  parameters: { dataSource: "rest" },
  beforeEach({ msw }) {
    msw.use(http.delete("/api/auth/me/identities/:id", pending));
  },
  play: async ({ canvas }) => {
    await userEvent.click(canvas.getByRole("button", { name: "Unlink GitHub" }));
    await expect(canvas.getByRole("button", { name: "Unlink GitHub" })).toHaveAttribute(
      "aria-busy",
      "true",
    );
    await expect(canvas.getByRole("button", { name: "Unlink Google" })).toBeDisabled();
  },
};

/** No password and one provider: auth refuses to unlink the only way to sign in. */
export const LastSignInMethod: Story = {
  args: { overview: { ...noneLinked, hasPassword: false, identities: [google] } },
  parameters: { session: { account: member({ has_password: false }) } },
  beforeEach({ msw }) {
    msw.use(
      ...refusedMutation(
        "UnlinkIdentity",
        { method: "delete", path: "/api/auth/me/identities/:id" },
        {
          status: 409,
          code: "last_sign_in_method",
          message:
            "this identity is the only way to sign in to the account: set a password or link another provider first",
        },
      ),
    );
  },
  play: async ({ canvas }) => {
    await expect(canvas.getByText("You have no password; you sign in with:")).toBeVisible();
    await userEvent.click(canvas.getByRole("button", { name: "Unlink Google" }));
    await expect(await canvas.findByRole("alert")).toHaveTextContent(
      "This is the only way to sign in to your account. Set a password or link another provider before unlinking it.",
    );
    await expect(canvas.getByRole("button", { name: "Unlink Google" })).toBeEnabled();
  },
};

export const LastSignInMethodOverRest: Story = {
  ...LastSignInMethod,
  parameters: { ...LastSignInMethod.parameters, dataSource: "rest" },
};

/** Starting a link fails (the browser stays on the page): the card says why. */
export const LinkError: Story = {
  beforeEach({ msw }) {
    msw.use(
      http.post("/api/auth/me/identities/link/:provider", () =>
        apiError(503, "service_unavailable", "The service is unavailable."),
      ),
    );
  },
  play: async ({ canvas }) => {
    await userEvent.click(canvas.getByRole("button", { name: "Link GitHub" }));
    await expect(await canvas.findByRole("alert")).toHaveTextContent(
      "The service is temporarily unavailable.",
    );
    await expect(canvas.getByRole("button", { name: "Link GitHub" })).toBeEnabled();
  },
};

export const Narrow: Story = {
  args: { overview: { ...noneLinked, identities: [google] } },
  globals: narrowScreen,
  play: async ({ canvas }) => {
    await expect(canvas.getByRole("button", { name: "Unlink Google" })).toBeVisible();
    await expect(canvas.getByRole("button", { name: "Link GitHub" })).toBeVisible();
  },
};
