import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { LoginForm } from "@/app/login/LoginForm.client";
import { EXPIRES_AT_KEY } from "@/lib/session-clock";
import { json, scriptFetch } from "../../../test/fetch";
import { account, renderApp, router } from "../../../test/render";

const anonymous = () => [
  json({ code: "unauthenticated" }, 401),
  json({ code: "unauthenticated" }, 401),
];

describe("LoginForm", () => {
  it("labels its fields and flags empty ones, moving focus to the first", async () => {
    const user = userEvent.setup();
    const { requests } = scriptFetch(...anonymous());
    renderApp(<LoginForm next="/profile" />);
    await user.click(screen.getByRole("button", { name: "Log in" }));
    const email = screen.getByLabelText("E-mail address");
    expect(email).toHaveAttribute("aria-invalid", "true");
    expect(email).toHaveAccessibleDescription("Enter your e-mail address.");
    expect(screen.getByLabelText("Password")).toHaveAccessibleDescription("Enter your password.");
    await waitFor(() => expect(email).toHaveFocus());
    expect(screen.getByRole("alert")).toHaveTextContent("Check the highlighted fields");
    // Nothing but the session probe (and its refresh attempt) went out.
    await waitFor(() => expect(requests).toHaveLength(2));
  });

  it("shows a refused login in the live region and focuses it", async () => {
    const user = userEvent.setup();
    scriptFetch(
      ...anonymous(),
      json({ code: "invalid_credentials", message: "wrong e-mail address or password" }, 401),
    );
    renderApp(<LoginForm next="/profile" />);
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
    const { requests } = scriptFetch(...anonymous(), json({ expires_in: 900, account: account() }));
    renderApp(<LoginForm next="/admin/users" />);
    await user.type(screen.getByLabelText("E-mail address"), " ada@example.com ");
    await user.type(screen.getByLabelText("Password"), "correct horse battery");
    await user.keyboard("{Enter}");
    await waitFor(() => expect(router.replace).toHaveBeenCalledWith("/admin/users"));
    const login = requests[2];
    expect(login?.url).toBe("/api/auth/login");
    expect(login?.headers.get("X-Nova-Session")).toBe("cookie");
    expect(JSON.parse(login?.body ?? "")).toEqual({
      email: "ada@example.com",
      password: "correct horse battery",
    });
    expect(Number(window.localStorage.getItem(EXPIRES_AT_KEY))).toBeGreaterThan(Date.now());
  });
});

describe("LoginForm for a signed-in visitor", () => {
  it("goes straight to the next page", async () => {
    scriptFetch(json(account()));
    renderApp(<LoginForm next="/account/sessions" />);
    await waitFor(() => expect(router.replace).toHaveBeenCalledWith("/account/sessions"));
  });
});
