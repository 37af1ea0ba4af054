import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { LoginForm } from "@/features/auth/LoginForm.client";
import { EXPIRES_AT_KEY, SESSION_UNTIL_KEY } from "@/lib/session-clock";
import { json, scriptFetch } from "../../../../test/fetch";
import { account, renderApp, router } from "../../../../test/render";

describe("LoginForm", () => {
  it("labels its fields and flags empty ones, moving focus to the first", async () => {
    const user = userEvent.setup();
    const { requests } = scriptFetch();
    renderApp(<LoginForm next="/profile" />, { signedIn: false });
    await user.click(screen.getByRole("button", { name: "Log in" }));
    const email = screen.getByLabelText("E-mail address");
    expect(email).toHaveAttribute("aria-invalid", "true");
    expect(email).toHaveAccessibleDescription("Enter your e-mail address.");
    expect(screen.getByLabelText("Password")).toHaveAccessibleDescription("Enter your password.");
    await waitFor(() => expect(email).toHaveFocus());
    expect(screen.getByRole("alert")).toHaveTextContent("Check the highlighted fields");
    // Nothing went out: no session probe for a visitor who never signed in, no login.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(requests).toHaveLength(0);
  });

  it("shows a refused login in the live region and focuses it", async () => {
    const user = userEvent.setup();
    scriptFetch(
      json({ code: "invalid_credentials", message: "wrong e-mail address or password" }, 401),
    );
    renderApp(<LoginForm next="/profile" />, { signedIn: false });
    await user.type(screen.getByLabelText("E-mail address"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "not-the-password");
    await user.click(screen.getByRole("button", { name: "Log in" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("wrong e-mail address or password");
    expect(alert.parentElement).toHaveAttribute("aria-live", "assertive");
    await waitFor(() => expect(alert.parentElement).toHaveFocus());
    expect(router.replace).not.toHaveBeenCalled();
  });

  it("signs in with a cookie session and goes to the next page", async () => {
    const user = userEvent.setup();
    const { requests } = scriptFetch(
      json({ expires_in: 900, refresh_expires_in: 86_400, account: account() }),
    );
    renderApp(<LoginForm next="/admin/users" />, { signedIn: false });
    await user.type(screen.getByLabelText("E-mail address"), " ada@example.com ");
    await user.type(screen.getByLabelText("Password"), "correct horse battery");
    await user.keyboard("{Enter}");
    await waitFor(() => expect(router.replace).toHaveBeenCalledWith("/admin/users"));
    const login = requests[0];
    expect(login?.url).toBe("/api/auth/login");
    expect(login?.headers.get("X-Nova-Session")).toBe("cookie");
    expect(JSON.parse(login?.body ?? "")).toEqual({
      email: "ada@example.com",
      password: "correct horse battery",
    });
    expect(Number(window.localStorage.getItem(EXPIRES_AT_KEY))).toBeGreaterThan(Date.now());
    // The session's end is the hint that a later visit asks who is signed in.
    expect(Number(window.localStorage.getItem(SESSION_UNTIL_KEY))).toBeGreaterThan(
      Date.now() + 80_000_000,
    );
  });
});

describe("LoginForm for a two-factor account", () => {
  const challenge = { mfa_required: true, mfa_token: "mfa-1", expires_in: 300 };

  async function passwordStep(user: ReturnType<typeof userEvent.setup>) {
    await user.type(screen.getByLabelText("E-mail address"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "correct horse battery");
    await user.click(screen.getByRole("button", { name: "Log in" }));
  }

  it("asks for the code after the password and signs in with it", async () => {
    const user = userEvent.setup();
    const { requests } = scriptFetch(
      json(challenge),
      json({ expires_in: 900, refresh_expires_in: 86_400, account: account() }),
    );
    renderApp(<LoginForm next="/profile" />, { signedIn: false });
    await passwordStep(user);
    const code = await screen.findByLabelText("Authentication code");
    expect(code).toHaveAttribute("autocomplete", "one-time-code");
    expect(router.replace).not.toHaveBeenCalled();
    await user.type(code, "123 456");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    await waitFor(() => expect(router.replace).toHaveBeenCalledWith("/profile"));
    const second = requests[1];
    expect(second?.url).toBe("/api/auth/login/two-factor");
    expect(second?.headers.get("X-Nova-Session")).toBe("cookie");
    expect(JSON.parse(second?.body ?? "")).toEqual({ mfa_token: "mfa-1", code: "123456" });
  });

  it("takes a recovery code instead, and offers a fresh start once the challenge expired", async () => {
    const user = userEvent.setup();
    const { requests } = scriptFetch(
      json(challenge),
      json({ code: "mfa_token_invalid", message: "the sign-in challenge expired" }, 401),
    );
    renderApp(<LoginForm next="/profile" />, { signedIn: false });
    await passwordStep(user);
    await user.click(await screen.findByRole("button", { name: "Use a recovery code" }));
    await user.type(screen.getByLabelText("Recovery code"), "3f9a1-c07be");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("the sign-in challenge expired");
    expect(JSON.parse(requests[1]?.body ?? "")).toEqual({
      mfa_token: "mfa-1",
      recovery_code: "3f9a1-c07be",
    });
    await user.click(screen.getByRole("button", { name: "Start again" }));
    expect(await screen.findByLabelText("Password")).toBeInTheDocument();
    expect(router.replace).not.toHaveBeenCalled();
  });
});

describe("LoginForm for a signed-in visitor", () => {
  it("goes straight to the next page", async () => {
    scriptFetch(json(account()));
    renderApp(<LoginForm next="/account/sessions" />);
    await waitFor(() => expect(router.replace).toHaveBeenCalledWith("/account/sessions"));
  });
});
