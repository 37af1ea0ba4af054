import type { Meta, StoryObj } from "@storybook/nextjs-vite";
import { graphql, http } from "msw";
import { expect, userEvent, waitFor } from "storybook/test";
import { identity, member, securityEvents } from "@/mocks/fixtures";
import { narrowScreen } from "@/mocks/frames";
import {
  apiError,
  graphqlError,
  pending,
  type SecurityState,
  securityLog,
  securityOverview,
  twoFactorDisabling,
  twoFactorEnrolment,
} from "@/mocks/handlers";
import { SecuritySettings } from "./SecuritySettings.client";

const meta = {
  title: "Pages/Account/SecuritySettings",
  component: SecuritySettings,
  parameters: { session: { account: member() } },
  beforeEach({ msw }) {
    msw.use(...securityOverview({ identities: [identity()] }), ...securityLog(securityEvents(6)));
  },
} satisfies Meta<typeof SecuritySettings>;

export default meta;
type Story = StoryObj<typeof meta>;

/** The whole page: the second factor and sign-in methods side by side, sessions, the log. */
export const Filled: Story = {
  play: async ({ canvas }) => {
    await expect(await canvas.findByText("Off.")).toBeVisible();
    await expect(canvas.getByRole("button", { name: "Unlink Google" })).toBeVisible();
    await expect(canvas.getByRole("button", { name: "Link GitHub" })).toBeVisible();
    await expect(canvas.getByRole("heading", { name: "Sessions" })).toBeVisible();
    await expect(canvas.getByRole("button", { name: "Log out everywhere" })).toBeVisible();
    await expect(await canvas.findByRole("table")).toBeVisible();
  },
};

/** Over REST the page also tells how many recovery codes are left. */
export const OverRest: Story = {
  parameters: { dataSource: "rest" },
  beforeEach({ msw }) {
    msw.use(...securityOverview({ twoFactorEnabled: true, recoveryCodesLeft: 3 }));
  },
  play: async ({ canvas }) => {
    await expect(await canvas.findByText(/3 of 10 recovery codes left/)).toBeVisible();
    await expect(canvas.getByText("No provider is linked.")).toBeVisible();
    await expect(await canvas.findByRole("table")).toBeVisible();
  },
};

export const Loading: Story = {
  beforeEach({ msw }) {
    msw.use(graphql.query("SecurityOverview", pending), graphql.query("SecurityEvents", pending));
  },
  play: async ({ canvas }) => {
    await expect(await canvas.findByText("Loading the security settings…")).toBeVisible();
    await expect(canvas.getByText("Loading the activity…")).toBeVisible();
  },
};

/** The settings fail to load: the page says so, offers a retry, and the rest still works. */
export const LoadError: Story = {
  beforeEach({ msw }) {
    msw.use(graphql.query("SecurityOverview", () => graphqlError("internal_error", "boom")));
  },
  play: async ({ canvas }) => {
    const alert = await canvas.findByRole("alert");
    await expect(alert).toHaveTextContent("The security settings could not be loaded");
    await expect(canvas.getByRole("button", { name: "Try again" })).toBeVisible();
    await expect(await canvas.findByRole("table")).toBeVisible();
  },
};

export const RestLoadError: Story = {
  parameters: { dataSource: "rest" },
  beforeEach({ msw }) {
    msw.use(
      http.get("/api/auth/me/two-factor", () =>
        apiError(503, "service_unavailable", "The service is unavailable."),
      ),
    );
  },
  play: LoadError.play,
};

/** Back from linking a provider (`?linked=google`). */
export const JustLinked: Story = {
  parameters: { nextjs: { navigation: { query: { linked: "google" } } } },
  play: async ({ canvas }) => {
    await expect(
      await canvas.findByText("Google is linked: you can sign in with it."),
    ).toBeVisible();
  },
};

/**
 * Turned on from start to end: after the recovery codes the card shows it on (the page reads
 * the settings again), and the new entry's kind is in the log.
 */
export const TurnOn: Story = {
  beforeEach({ msw }) {
    const state: SecurityState = {};
    msw.use(
      ...securityOverview(() => state),
      ...twoFactorEnrolment(undefined, () => {
        state.twoFactorEnabled = true;
      }),
    );
  },
  play: async ({ canvas }) => {
    await userEvent.type(await canvas.findByLabelText("Your password"), "correct horse battery");
    await userEvent.click(canvas.getByRole("button", { name: "Turn on two-factor sign-in" }));
    await userEvent.type(await canvas.findByLabelText("Code from the app"), "123456");
    await userEvent.click(canvas.getByRole("button", { name: "Confirm" }));
    await expect(await canvas.findByRole("list", { name: "Recovery codes" })).toBeVisible();
    await userEvent.click(canvas.getByRole("button", { name: "I saved them" }));
    await expect(await canvas.findByText("On.")).toBeVisible();
    await expect(canvas.getByLabelText("Current code from the app")).toBeVisible();
  },
};

export const TurnOnOverRest: Story = { ...TurnOn, parameters: { dataSource: "rest" } };

/** Turned off with a current code: the card says it is off. */
export const TurnOff: Story = {
  beforeEach({ msw }) {
    const state: SecurityState = { twoFactorEnabled: true };
    msw.use(
      ...securityOverview(() => state),
      ...twoFactorDisabling(() => {
        state.twoFactorEnabled = false;
      }),
    );
  },
  play: async ({ canvas }) => {
    await userEvent.type(await canvas.findByLabelText("Current code from the app"), "123456");
    await userEvent.click(canvas.getByRole("button", { name: "Turn off two-factor sign-in" }));
    await expect(await canvas.findByText("Two-factor sign-in is off.")).toBeVisible();
    await waitFor(() => expect(canvas.getByText("Off.")).toBeVisible());
  },
};

export const TurnOffOverRest: Story = { ...TurnOff, parameters: { dataSource: "rest" } };

export const Narrow: Story = {
  globals: narrowScreen,
  play: Filled.play,
};
