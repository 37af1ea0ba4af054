import type { Meta, StoryContext, StoryObj } from "@storybook/nextjs-vite";
import { getRouter } from "@storybook/nextjs-vite/navigation.mock";
import { http } from "msw";
import { expect, userEvent, waitFor, within } from "storybook/test";
import type { SecurityOverview } from "@/lib/security";
import { member, recoveryCodes } from "@/mocks/fixtures";
import { expectBusy, narrowScreen } from "@/mocks/frames";
import { apiError, pending, refusedMutation, twoFactorEnrolment } from "@/mocks/handlers";
import { TwoFactorCard } from "./TwoFactorCard.client";

const off: SecurityOverview = {
  twoFactorEnabled: false,
  recoveryCodesLeft: null,
  hasPassword: true,
  identities: [],
  providers: [],
};

const meta = {
  title: "Pages/Account/TwoFactorCard",
  component: TwoFactorCard,
  args: { overview: off, email: "grace@example.com" },
  parameters: { session: { account: member() } },
} satisfies Meta<typeof TwoFactorCard>;

export default meta;
type Story = StoryObj<typeof meta>;

type Canvas = StoryContext["canvas"];

/** The password step: the password, then "Turn on". */
async function startEnrolment(canvas: Canvas) {
  await userEvent.type(canvas.getByLabelText("Your password"), "correct horse battery");
  await userEvent.click(canvas.getByRole("button", { name: "Turn on two-factor sign-in" }));
}

/** The QR code and the key, shown once, then the first code from the app. */
async function confirmWithCode(canvas: Canvas, code: string) {
  await expect(
    await canvas.findByRole("img", { name: "QR code of your two-factor key" }),
  ).toBeVisible();
  await expect(canvas.getByText("JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP")).toBeVisible();
  await userEvent.type(canvas.getByLabelText("Code from the app"), code);
  await userEvent.click(canvas.getByRole("button", { name: "Confirm" }));
}

/** Turned on: the ten recovery codes, shown once, to copy or download. */
async function expectRecoveryCodes(canvas: Canvas) {
  const list = await canvas.findByRole("list", { name: "Recovery codes" });
  await expect(within(list).getAllByRole("listitem")).toHaveLength(10);
  await expect(list).toHaveTextContent(recoveryCodes()[0] ?? "");
  await expect(canvas.getByRole("status")).toHaveTextContent("Two-factor sign-in is on.");
  await waitFor(() =>
    expect(canvas.getByText(/Save your recovery codes/).parentElement).toHaveFocus(),
  );
  const download = canvas.getByRole("link", { name: "Download as text" });
  await expect(download).toHaveAttribute("download", "nova-recovery-codes.txt");
  await expect(download.getAttribute("href")).toMatch(/^blob:/);
  await expect(canvas.queryByRole("img", { name: "QR code of your two-factor key" })).toBeNull();
}

/** Off, with a password: the password starts the enrolment. */
export const Off: Story = {
  play: async ({ canvas }) => {
    await expect(canvas.getByText("Off.")).toBeVisible();
    await expect(canvas.getByRole("form", { name: "Turn on two-factor sign-in" })).toBeVisible();
  },
};

/** An account that signs in through a provider only has no password to start with. */
export const OffWithoutPassword: Story = {
  args: { overview: { ...off, hasPassword: false } },
  play: async ({ canvas }) => {
    await expect(canvas.getByText(/Set a password first/)).toBeVisible();
    await expect(canvas.queryByLabelText("Your password")).toBeNull();
  },
};

/** The whole enrolment over GraphQL: password → QR code and key → first code → recovery codes. */
export const Enrolling: Story = {
  beforeEach({ msw }) {
    msw.use(...twoFactorEnrolment());
  },
  play: async ({ canvas }) => {
    await startEnrolment(canvas);
    await confirmWithCode(canvas, "123 456");
    await expectRecoveryCodes(canvas);
  },
};

export const EnrollingOverRest: Story = {
  parameters: { dataSource: "rest" },
  beforeEach: Enrolling.beforeEach,
  play: Enrolling.play,
};

/** The password step waits for the gateway. */
export const Starting: Story = {
  beforeEach({ msw }) {
    msw.use(http.post("/api/auth/me/two-factor", pending));
  },
  parameters: { dataSource: "rest" },
  play: async ({ canvas }) => {
    await startEnrolment(canvas);
    await expectBusy(canvas, "Turn on two-factor sign-in");
  },
};

export const WrongPassword: Story = {
  beforeEach({ msw }) {
    msw.use(
      ...refusedMutation(
        "EnrollTwoFactor",
        { method: "post", path: "/api/auth/me/two-factor" },
        { status: 403, code: "invalid_password", message: "the password is wrong" },
      ),
    );
  },
  play: async ({ canvas }) => {
    await startEnrolment(canvas);
    await waitFor(() =>
      expect(canvas.getByLabelText("Your password")).toHaveAccessibleDescription(
        expect.stringContaining("The password is wrong"),
      ),
    );
    await expect(canvas.getByLabelText("Your password")).toBeInvalid();
  },
};

/**
 * A wrong first code is a 401 `invalid_code`: about what was typed, not the session. The field
 * says so, the QR code stays, and nothing refreshes or ends the session (a refresh request would
 * fail the story: no handler answers it).
 */
export const WrongCode: Story = {
  beforeEach({ msw }) {
    msw.use(
      ...refusedMutation(
        "ConfirmTwoFactor",
        { method: "post", path: "/api/auth/me/two-factor/confirm" },
        { status: 401, code: "invalid_code", message: "the code is not valid" },
      ),
      ...twoFactorEnrolment(),
    );
  },
  play: async ({ canvas }) => {
    await startEnrolment(canvas);
    await confirmWithCode(canvas, "000000");
    await waitFor(() =>
      expect(canvas.getByLabelText("Code from the app")).toHaveAccessibleDescription(
        expect.stringContaining("The code is not valid"),
      ),
    );
    await expect(canvas.getByRole("img", { name: "QR code of your two-factor key" })).toBeVisible();
    await expect(getRouter().replace).not.toHaveBeenCalled();
    await expect(getRouter().push).not.toHaveBeenCalled();
  },
};

export const WrongCodeOverRest: Story = {
  parameters: { dataSource: "rest" },
  beforeEach: WrongCode.beforeEach,
  play: WrongCode.play,
};

/** Cancelling the enrolment goes back to the password step. */
export const EnrolmentCancelled: Story = {
  beforeEach: Enrolling.beforeEach,
  play: async ({ canvas }) => {
    await startEnrolment(canvas);
    await userEvent.click(await canvas.findByRole("button", { name: "Cancel" }));
    await expect(canvas.getByRole("form", { name: "Turn on two-factor sign-in" })).toBeVisible();
  },
};

/** The server fails: the form says why and can be sent again. */
export const ServerError: Story = {
  parameters: { dataSource: "rest" },
  beforeEach({ msw }) {
    msw.use(
      http.post("/api/auth/me/two-factor", () =>
        apiError(503, "service_unavailable", "The service is unavailable."),
      ),
    );
  },
  play: async ({ canvas }) => {
    await startEnrolment(canvas);
    const alert = await canvas.findByRole("alert");
    await expect(alert).toHaveTextContent("Could not start");
    await expect(canvas.getByRole("button", { name: "Turn on two-factor sign-in" })).toBeEnabled();
  },
};

/** On: recovery codes left (REST tells), turned off with a current code or the password. */
export const On: Story = {
  args: { overview: { ...off, twoFactorEnabled: true, recoveryCodesLeft: 7 } },
  play: async ({ canvas }) => {
    await expect(canvas.getByText(/7 of 10 recovery codes left/)).toBeVisible();
    await expect(canvas.getByLabelText("Current code from the app")).toBeVisible();
    await userEvent.click(canvas.getByRole("button", { name: "Use your password instead" }));
    await expect(canvas.getByLabelText("Your password")).toBeVisible();
    await userEvent.click(canvas.getByRole("button", { name: "Use a code instead" }));
    await expect(canvas.getByLabelText("Current code from the app")).toBeVisible();
  },
};

/** Turning it off with a wrong code: the field says so, the session stays. */
export const DisableWrongCode: Story = {
  args: On.args,
  beforeEach({ msw }) {
    msw.use(
      ...refusedMutation(
        "DisableTwoFactor",
        { method: "delete", path: "/api/auth/me/two-factor" },
        { status: 401, code: "invalid_code", message: "the code is not valid" },
      ),
    );
  },
  play: async ({ canvas }) => {
    await userEvent.type(canvas.getByLabelText("Current code from the app"), "999999");
    await userEvent.click(canvas.getByRole("button", { name: "Turn off two-factor sign-in" }));
    await waitFor(() =>
      expect(canvas.getByLabelText("Current code from the app")).toHaveAccessibleDescription(
        expect.stringContaining("The code is not valid"),
      ),
    );
    await expect(getRouter().replace).not.toHaveBeenCalled();
  },
};

export const DisableWrongCodeOverRest: Story = {
  ...DisableWrongCode,
  parameters: { dataSource: "rest" },
};

/** Turning it off with the password instead: a wrong one is refused on the field. */
export const DisableWrongPassword: Story = {
  args: On.args,
  parameters: { dataSource: "rest" },
  beforeEach({ msw }) {
    msw.use(
      http.delete("/api/auth/me/two-factor", () =>
        apiError(403, "invalid_password", "the password is wrong"),
      ),
    );
  },
  play: async ({ canvas }) => {
    await userEvent.click(canvas.getByRole("button", { name: "Use your password instead" }));
    await userEvent.type(canvas.getByLabelText("Your password"), "not my password");
    await userEvent.click(canvas.getByRole("button", { name: "Turn off two-factor sign-in" }));
    await waitFor(() =>
      expect(canvas.getByLabelText("Your password")).toHaveAccessibleDescription(
        expect.stringContaining("The password is wrong"),
      ),
    );
  },
};

/** The QR code, the key and the form on a phone. */
export const Narrow: Story = {
  globals: narrowScreen,
  beforeEach: Enrolling.beforeEach,
  play: async ({ canvas }) => {
    await startEnrolment(canvas);
    await expect(
      await canvas.findByRole("img", { name: "QR code of your two-factor key" }),
    ).toBeVisible();
    await expect(canvas.getByLabelText("Code from the app")).toBeVisible();
  },
};
