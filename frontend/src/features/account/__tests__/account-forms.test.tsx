import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { RequireSession } from "@/components/RequireSession.client";
import { ChangePasswordForm } from "@/features/account/ChangePasswordForm.client";
import { DeleteAccountForm } from "@/features/account/DeleteAccountForm.client";
import { RegisterForm } from "@/features/auth/RegisterForm.client";
import { json, scriptFetch } from "../../../../test/fetch";
import { account, renderApp, router } from "../../../../test/render";

describe("RegisterForm", () => {
  it("checks the fields before sending anything", async () => {
    const user = userEvent.setup();
    const { requests } = scriptFetch();
    renderApp(<RegisterForm />, { signedIn: false });
    await user.type(screen.getByLabelText("Display name"), "Ada");
    await user.type(screen.getByLabelText("E-mail address"), "not-an-address");
    await user.type(screen.getByLabelText("Password"), "short");
    await user.type(screen.getByLabelText("Repeat the password"), "shorter");
    await user.click(screen.getByRole("button", { name: "Create account" }));
    expect(screen.getByLabelText("E-mail address")).toHaveAccessibleDescription(/name@example.com/);
    expect(screen.getByLabelText("Password")).toHaveAccessibleDescription(/at least 8 characters/);
    expect(screen.getByLabelText("Repeat the password")).toHaveAccessibleDescription(
      "The passwords do not match.",
    );
    await waitFor(() => expect(screen.getByLabelText("E-mail address")).toHaveFocus());
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(requests).toHaveLength(0);
  });

  it("sends an address that already has an account to the login page, telling nothing more", async () => {
    const user = userEvent.setup();
    scriptFetch(
      json({ status: "accepted", message: "Check your inbox." }, 202),
      json({ code: "invalid_credentials", message: "invalid e-mail or password" }, 401),
    );
    renderApp(<RegisterForm />, { signedIn: false });
    await user.type(screen.getByLabelText("Display name"), "Ada");
    await user.type(screen.getByLabelText("E-mail address"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "correct horse battery");
    await user.type(screen.getByLabelText("Repeat the password"), "correct horse battery");
    await user.click(screen.getByRole("button", { name: "Create account" }));
    await waitFor(() => expect(router.replace).toHaveBeenCalledWith("/login?reason=registered"));
    expect(screen.getByLabelText("E-mail address")).not.toHaveAttribute("aria-invalid", "true");
  });

  it("creates the account with a cookie session and opens the profile", async () => {
    const user = userEvent.setup();
    const { requests } = scriptFetch(
      json({ status: "accepted", message: "Check your inbox." }, 202),
      json({ expires_in: 600, account: account() }),
    );
    renderApp(<RegisterForm />, { signedIn: false });
    await user.type(screen.getByLabelText("Display name"), " Ada Lovelace ");
    await user.type(screen.getByLabelText("E-mail address"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "correct horse battery");
    await user.type(screen.getByLabelText("Repeat the password"), "correct horse battery");
    await user.click(screen.getByRole("button", { name: "Create account" }));
    await waitFor(() => expect(router.replace).toHaveBeenCalledWith("/profile?welcome=1"));
    expect(requests[0]?.headers.get("X-Nova-Session")).toBe("cookie");
    expect(JSON.parse(requests[0]?.body ?? "")).toEqual({
      email: "ada@example.com",
      password: "correct horse battery",
      display_name: "Ada Lovelace",
    });
    expect(requests[1]?.url).toContain("/api/auth/login");
    expect(JSON.parse(requests[1]?.body ?? "")).toEqual({
      email: "ada@example.com",
      password: "correct horse battery",
    });
  });
});

describe("ChangePasswordForm", () => {
  async function fill(current: string, next: string, repeat = next) {
    const user = userEvent.setup();
    await user.type(screen.getByLabelText("Current password"), current);
    await user.type(screen.getByLabelText("New password"), next);
    await user.type(screen.getByLabelText("Repeat the new password"), repeat);
    await user.click(screen.getByRole("button", { name: "Change password" }));
  }

  it("blames the current password when the service says it is wrong", async () => {
    scriptFetch(
      json(account()),
      json({ code: "invalid_password", message: "the current password is wrong" }, 403),
    );
    renderApp(<ChangePasswordForm />);
    await screen.findByLabelText("Current password");
    await fill("wrong password", "a brand new passphrase");
    const current = screen.getByLabelText("Current password");
    await waitFor(() =>
      expect(current).toHaveAccessibleDescription("The current password is wrong"),
    );
    await waitFor(() => expect(current).toHaveFocus());
  });

  it("refuses the same password again without asking the service", async () => {
    const { requests } = scriptFetch(json(account()));
    renderApp(<ChangePasswordForm />);
    await screen.findByLabelText("Current password");
    await fill("the same passphrase", "the same passphrase");
    expect(screen.getByLabelText("New password")).toHaveAccessibleDescription(
      /different from the current one/,
    );
    expect(requests).toHaveLength(1);
  });

  it("sends the user to log in again when the change ended this session", async () => {
    const { requests } = scriptFetch(
      json(account()),
      json({ session: "cookie", expires_in: 600, account: account() }),
      json({ code: "unauthenticated" }, 401),
      json({ code: "refresh_token_reused" }, 401),
    );
    renderApp(
      <RequireSession>
        <ChangePasswordForm />
      </RequireSession>,
    );
    await screen.findByLabelText("Current password");
    await fill("the old passphrase", "a brand new passphrase");
    await waitFor(() =>
      expect(router.replace).toHaveBeenCalledWith("/login?reason=password-changed"),
    );
    // Only there: the page does not first try to load anything with the ended session.
    expect(router.replace).toHaveBeenCalledTimes(1);
    expect(JSON.parse(requests[1]?.body ?? "")).toEqual({
      current_password: "the old passphrase",
      new_password: "a brand new passphrase",
    });
  });
});

describe("DeleteAccountForm", () => {
  it("needs the password and the confirmation", async () => {
    const user = userEvent.setup();
    const { requests } = scriptFetch(json(account()));
    renderApp(<DeleteAccountForm />);
    await user.click(await screen.findByRole("button", { name: "Delete my account" }));
    expect(screen.getByLabelText("Password")).toHaveAccessibleDescription(
      "Enter your password to confirm.",
    );
    expect(screen.getByRole("checkbox")).toHaveAccessibleDescription("Tick the box to confirm.");
    expect(requests).toHaveLength(1);
  });

  it("shows a wrong password next to the field and keeps the account", async () => {
    const user = userEvent.setup();
    const { requests } = scriptFetch(
      json(account()),
      json({ code: "invalid_password", message: "the password is wrong" }, 403),
    );
    renderApp(<DeleteAccountForm />);
    await user.type(await screen.findByLabelText("Password"), "not it");
    await user.click(screen.getByRole("checkbox"));
    await user.click(screen.getByRole("button", { name: "Delete my account" }));
    await waitFor(() =>
      expect(screen.getByLabelText("Password")).toHaveAccessibleDescription(
        "The password is wrong",
      ),
    );
    expect(requests[1]?.method).toBe("DELETE");
    expect(requests[1]?.url).toBe("/api/auth/me");
    expect(requests[1]?.headers.get("X-Nova-Session")).toBe("cookie");
    expect(requests[1]?.headers.get("X-Nova-CSRF")).toBe("1");
  });
});
