import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { StrictMode } from "react";
import { RequireSession } from "@/components/RequireSession.client";
import { ForgotPasswordForm } from "@/features/auth/ForgotPasswordForm.client";
import { LoginForm } from "@/features/auth/LoginForm.client";
import { RegisterForm } from "@/features/auth/RegisterForm.client";
import { ResetPasswordForm } from "@/features/auth/ResetPasswordForm.client";
import { VerifyEmail } from "@/features/auth/VerifyEmail.client";
import { ProfileScreen } from "@/features/profile/ProfileScreen.client";
import { retryWhen } from "@/lib/account-mail";
import { DATA_SOURCE_KEY, type DataSource } from "@/lib/data-source";
import { ApiError } from "@/lib/errors";
import { EXPIRES_AT_KEY } from "@/lib/session-clock";
import { json, type RecordedRequest, scriptFetch } from "../../../../test/fetch";
import { account, renderApp, restProfile, router } from "../../../../test/render";

const operation = (request: RecordedRequest | undefined) =>
  JSON.parse(request?.body ?? "{}") as { operationName?: string; variables?: unknown };

/** Answers by what was asked (the session probe and the page's own call race each other). */
function answering(routes: Record<string, () => Response>, count = 10) {
  const dispatch = (request: RecordedRequest) => {
    const key =
      request.url === "/graphql"
        ? `graphql ${operation(request).operationName}`
        : `${request.method} ${request.url}`;
    const answer = routes[key];
    if (!answer) throw new Error(`unexpected request ${key}`);
    return answer();
  };
  return scriptFetch(...Array.from({ length: count }, () => dispatch));
}

const graphqlError = (code: string, message: string, extensions: Record<string, unknown> = {}) =>
  json({ data: null, errors: [{ message, extensions: { code, ...extensions } }] });

const sent = (request: RecordedRequest) => request.url !== "/api/auth/me";

beforeEach(() => window.sessionStorage.clear());

describe.each<DataSource>(["graphql", "rest"])("the mailed links over %s", (source) => {
  beforeEach(() => window.localStorage.setItem(DATA_SOURCE_KEY, source));
  const verifyKey = source === "graphql" ? "graphql VerifyEmail" : "POST /api/auth/verify-email";
  const verified = () =>
    source === "graphql"
      ? json({ data: { verifyEmail: true } })
      : json({ status: "verified", email_verified: true });
  const invalidToken = () =>
    source === "graphql"
      ? graphqlError("invalid_token", "this link is invalid or has expired; ask for a new one")
      : json(
          {
            code: "invalid_token",
            message: "this link is invalid or has expired; ask for a new one",
          },
          400,
        );

  describe("VerifyEmail", () => {
    it("spends the token once, even in Strict Mode, and says the address is verified", async () => {
      const token = `good-${source}`;
      const { requests } = answering({ [verifyKey]: verified });
      renderApp(
        <StrictMode>
          <VerifyEmail token={token} />
        </StrictMode>,
        { signedIn: false },
      );
      expect(screen.getByRole("status")).toHaveTextContent("Verifying your e-mail address");
      expect(await screen.findByText("Your e-mail address is verified")).toBeInTheDocument();
      expect(screen.getByRole("link", { name: "Log in" })).toHaveAttribute("href", "/login");
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(requests).toHaveLength(1);
      if (source === "graphql") {
        expect(operation(requests[0])).toMatchObject({
          operationName: "VerifyEmail",
          variables: { token },
        });
      } else {
        expect(requests[0]?.method).toBe("POST");
        expect(requests[0]?.headers.get("X-Nova-CSRF")).toBe("1");
        expect(JSON.parse(requests[0]?.body ?? "")).toEqual({ token });
      }
    });

    it("says so when a used link is opened signed out, and how to get a new one", async () => {
      answering({ [verifyKey]: invalidToken });
      renderApp(<VerifyEmail token={`used-${source}`} />, { signedIn: false });
      expect(await screen.findByText("This verification link does not work")).toBeInTheDocument();
      expect(screen.getByRole("alert")).toHaveTextContent(/already used, has expired/);
      expect(screen.getByRole("link", { name: "Log in" })).toHaveAttribute(
        "href",
        "/login?next=%2Fprofile",
      );
    });

    it("offers a new mail to a signed-in account whose link expired", async () => {
      const user = userEvent.setup();
      const resendKey =
        source === "graphql"
          ? "graphql ResendVerificationEmail"
          : "POST /api/auth/verify-email/resend";
      const { requests } = answering({
        "GET /api/auth/me": () => json(account()),
        [verifyKey]: invalidToken,
        [resendKey]: () =>
          source === "graphql"
            ? json({ data: { resendVerificationEmail: true } })
            : json({ status: "accepted", message: "We sent a new verification link." }, 202),
      });
      renderApp(<VerifyEmail token={`expired-${source}`} />);
      await user.click(
        await screen.findByRole("button", { name: "Send the verification e-mail again" }),
      );
      expect(await screen.findByText(/We sent a new link to ada@example.com/)).toBeInTheDocument();
      expect(requests.filter(sent)).toHaveLength(2);
    });

    it("asks again after a failure that did not spend the token", async () => {
      const user = userEvent.setup();
      let calls = 0;
      answering({
        [verifyKey]: () => {
          calls += 1;
          return calls === 1 ? json({ code: "service_unavailable" }, 503) : verified();
        },
      });
      renderApp(<VerifyEmail token={`flaky-${source}`} />, { signedIn: false });
      await user.click(await screen.findByRole("button", { name: "Try again" }));
      expect(await screen.findByText("Your e-mail address is verified")).toBeInTheDocument();
      expect(calls).toBe(2);
    });
  });

  describe("ForgotPasswordForm", () => {
    it("answers every address the same way", async () => {
      const user = userEvent.setup();
      const { requests } = answering({
        [source === "graphql" ? "graphql ForgotPassword" : "POST /api/auth/forgot-password"]: () =>
          source === "graphql"
            ? json({ data: { forgotPassword: true } })
            : json({ status: "accepted", message: "If this address has an account…" }, 202),
      });
      renderApp(<ForgotPasswordForm />, { signedIn: false });
      await user.type(screen.getByLabelText("E-mail address"), " ada@example.com ");
      await user.click(screen.getByRole("button", { name: "Send the reset link" }));
      const status = await screen.findByRole("status");
      expect(status).toHaveTextContent(
        "If ada@example.com has an account, we sent it a link to choose a new password.",
      );
      await waitFor(() => expect(status.parentElement).toHaveFocus());
      expect(requests).toHaveLength(1);
      if (source === "graphql") {
        expect(operation(requests[0])).toMatchObject({ variables: { email: "ada@example.com" } });
      } else {
        expect(JSON.parse(requests[0]?.body ?? "")).toEqual({ email: "ada@example.com" });
      }
    });

    it("says when to try again after too many requests", async () => {
      const user = userEvent.setup();
      answering({
        [source === "graphql" ? "graphql ForgotPassword" : "POST /api/auth/forgot-password"]: () =>
          source === "graphql"
            ? graphqlError("rate_limited", "too many attempts; retry later", { retryAfter: 240 })
            : json({ code: "rate_limited", message: "too many attempts; retry later" }, 429, {
                "Retry-After": "240",
              }),
      });
      renderApp(<ForgotPasswordForm />, { signedIn: false });
      await user.type(screen.getByLabelText("E-mail address"), "ada@example.com");
      await user.click(screen.getByRole("button", { name: "Send the reset link" }));
      expect(await screen.findByRole("alert")).toHaveTextContent(/try again in about 4 minutes\.$/);
      expect(screen.queryByText(/we sent it a link/)).not.toBeInTheDocument();
    });
  });

  describe("ResetPasswordForm", () => {
    const resetKey =
      source === "graphql" ? "graphql ResetPassword" : "POST /api/auth/reset-password";

    async function choose(password: string, repeat = password) {
      const user = userEvent.setup();
      await user.type(screen.getByLabelText("New password"), password);
      await user.type(screen.getByLabelText("Repeat the new password"), repeat);
      await user.click(screen.getByRole("button", { name: "Set the new password" }));
    }

    it("checks the passwords as registration does, before sending anything", async () => {
      const { requests } = answering({});
      renderApp(<ResetPasswordForm token="t" />, { signedIn: false });
      await choose("short", "shorter");
      expect(screen.getByLabelText("New password")).toHaveAccessibleDescription(
        /at least 8 characters/,
      );
      expect(screen.getByLabelText("Repeat the new password")).toHaveAccessibleDescription(
        "The passwords do not match.",
      );
      expect(requests).toHaveLength(0);
    });

    it("shows a refused password next to the field and keeps the form", async () => {
      answering({
        [resetKey]: () =>
          source === "graphql"
            ? graphqlError("weak_password", "this password is too common; choose another one")
            : json(
                {
                  code: "weak_password",
                  message: "this password is too common; choose another one",
                },
                422,
              ),
      });
      renderApp(<ResetPasswordForm token="t" />, { signedIn: false });
      await choose("password123");
      const field = screen.getByLabelText("New password");
      await waitFor(() => expect(field).toHaveAccessibleDescription(/This password is too common/));
      await waitFor(() => expect(field).toHaveFocus());
    });

    it("sets the password, ends this browser's session and links to the login", async () => {
      const { requests } = answering({
        "GET /api/auth/me": () => json(account()),
        [resetKey]: () =>
          source === "graphql"
            ? json({ data: { resetPassword: true } })
            : json({ status: "password_reset", message: "Your password was changed." }),
      });
      renderApp(<ResetPasswordForm token="mailed-token" />);
      await waitFor(() => expect(requests).toHaveLength(1)); // the session probe
      await choose("a brand new passphrase");
      expect(await screen.findByText("Your password was changed")).toBeInTheDocument();
      expect(screen.getByRole("link", { name: "Log in" })).toHaveAttribute("href", "/login");
      expect(window.localStorage.getItem(EXPIRES_AT_KEY)).toBeNull();
      const reset = requests.filter(sent)[0];
      if (source === "graphql") {
        expect(operation(reset)).toMatchObject({
          variables: { input: { token: "mailed-token", password: "a brand new passphrase" } },
        });
      } else {
        expect(JSON.parse(reset?.body ?? "")).toEqual({
          token: "mailed-token",
          password: "a brand new passphrase",
        });
      }
    });

    it("replaces the form with a way to a new link when the link is spent", async () => {
      answering({ [resetKey]: invalidToken });
      renderApp(<ResetPasswordForm token="spent" />, { signedIn: false });
      await choose("a brand new passphrase");
      expect(await screen.findByText("This reset link does not work")).toBeInTheDocument();
      expect(screen.getByRole("link", { name: "Ask for a new link" })).toHaveAttribute(
        "href",
        "/forgot-password",
      );
      expect(screen.queryByLabelText("New password")).not.toBeInTheDocument();
    });
  });

  describe("the profile's verification state", () => {
    const loadAnswers = (verifiedAddress: boolean): Record<string, () => Response> =>
      source === "graphql"
        ? {
            "graphql MyProfile": () =>
              json({
                data: {
                  me: {
                    __typename: "User",
                    id: account().id,
                    displayName: "Ada Lovelace",
                    bio: null,
                    avatarUrl: null,
                    locale: null,
                    timezone: null,
                    createdAt: null,
                    updatedAt: null,
                    deletedAt: null,
                    email: "ada@example.com",
                    emailVerified: verifiedAddress,
                    roles: ["user"],
                    status: "ACTIVE",
                    lastLoginAt: null,
                  },
                },
              }),
          }
        : { "GET /api/users/me": () => json(restProfile()) };
    const me = (verifiedAddress: boolean) => () =>
      json(account({ email_verified: verifiedAddress }));

    it("shows a verified address with a badge and no notice", async () => {
      answering({ "GET /api/auth/me": me(true), ...loadAnswers(true) });
      renderApp(
        <RequireSession>
          <ProfileScreen />
        </RequireSession>,
      );
      expect(await screen.findByTestId("email-verified")).toHaveTextContent("Verified");
      expect(screen.queryByRole("heading", { name: "Verify your e-mail address" })).toBeNull();
    });

    it("offers a new mail for an unverified address, and says when the limit is reached", async () => {
      const user = userEvent.setup();
      answering({
        "GET /api/auth/me": me(false),
        ...loadAnswers(false),
        [source === "graphql"
          ? "graphql ResendVerificationEmail"
          : "POST /api/auth/verify-email/resend"]: () =>
          source === "graphql"
            ? graphqlError("rate_limited", "too many attempts; retry later", { retryAfter: 30 })
            : json({ code: "rate_limited", message: "too many attempts; retry later" }, 429, {
                "Retry-After": "30",
              }),
      });
      renderApp(
        <RequireSession>
          <ProfileScreen />
        </RequireSession>,
      );
      expect(await screen.findByTestId("email-verified")).toHaveTextContent("Not verified");
      const heading = screen.getByRole("heading", { name: "Verify your e-mail address" });
      const notice = heading.closest("section") as HTMLElement;
      await user.click(
        within(notice).getByRole("button", { name: "Send the verification e-mail again" }),
      );
      expect(await within(notice).findByRole("alert")).toHaveTextContent(
        "You asked for several e-mails in a short time. Check your inbox and spam folder for the latest one, or try again in about a minute.",
      );
    });
  });
});

describe("VerifyEmail without a token", () => {
  it("says the link is incomplete and sends nothing", async () => {
    const { requests } = scriptFetch();
    renderApp(<VerifyEmail token={null} />, { signedIn: false });
    expect(await screen.findByText(/The link is incomplete/)).toBeInTheDocument();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(requests).toHaveLength(0);
  });
});

describe("LoginForm with an unverified address", () => {
  it("says why the login was refused and the way out", async () => {
    const user = userEvent.setup();
    scriptFetch(
      json(
        {
          code: "email_not_verified",
          message:
            "verify your e-mail address first: follow the link we sent, or reset your password",
        },
        403,
      ),
    );
    renderApp(<LoginForm next="/profile" />, { signedIn: false });
    await user.type(screen.getByLabelText("E-mail address"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "correct horse battery");
    await user.click(screen.getByRole("button", { name: "Log in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "Your e-mail address is not verified yet.",
    );
    expect(screen.getByRole("link", { name: "Reset your password" })).toHaveAttribute(
      "href",
      "/forgot-password",
    );
  });
});

describe("RegisterForm where addresses are verified before the first login", () => {
  it("sends the new account to the login page, which says to check the inbox", async () => {
    const user = userEvent.setup();
    scriptFetch(
      json({ status: "accepted", message: "Check your inbox." }, 202),
      json({ code: "email_not_verified", message: "verify your e-mail address first" }, 403),
    );
    renderApp(<RegisterForm />, { signedIn: false });
    await user.type(screen.getByLabelText("Display name"), "Ada");
    await user.type(screen.getByLabelText("E-mail address"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "correct horse battery");
    await user.type(screen.getByLabelText("Repeat the password"), "correct horse battery");
    await user.click(screen.getByRole("button", { name: "Create account" }));
    await waitFor(() => expect(router.replace).toHaveBeenCalledWith("/login?reason=registered"));
    expect(screen.queryByRole("alert")).toBeNull();
  });
});

describe("retryWhen", () => {
  const limited = (retryAfter?: number) =>
    new ApiError("too many", { code: "rate_limited", status: 429, retryAfter });
  it("turns Retry-After into words", () => {
    expect(retryWhen(limited())).toBe("later");
    expect(retryWhen(limited(5))).toBe("in about a minute");
    expect(retryWhen(limited(61))).toBe("in about 2 minutes");
    expect(retryWhen(limited(3600))).toBe("in about an hour");
    expect(retryWhen(limited(7201))).toBe("in about 3 hours");
  });
});
