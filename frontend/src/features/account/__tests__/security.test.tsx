import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import LoginPage from "@/app/login/page";
import { QrCode } from "@/components/QrCode";
import { ActivityLog } from "@/features/account/ActivityLog.client";
import { IdentitiesCard } from "@/features/account/IdentitiesCard.client";
import {
  groupSecret,
  recoveryCodesText,
  TwoFactorCard,
} from "@/features/account/TwoFactorCard.client";
import { LoginForm } from "@/features/auth/LoginForm.client";
import { ProviderSignIn } from "@/features/auth/ProviderSignIn.client";
import { DATA_SOURCE_KEY, type DataSource } from "@/lib/data-source";
import type { SecurityOverview } from "@/lib/security";
import { json, type RecordedRequest, scriptFetch } from "../../../../test/fetch";
import { account, renderApp, router } from "../../../../test/render";

const SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const URI = `otpauth://totp/Nova:ada%40example.com?secret=${SECRET}&issuer=Nova`;
const CODES = Array.from({ length: 10 }, (_, index) => `${index}a1b2-c3d4e`);

function overview(changes: Partial<SecurityOverview> = {}): SecurityOverview {
  return {
    twoFactorEnabled: false,
    recoveryCodesLeft: null,
    hasPassword: true,
    identities: [],
    providers: [],
    ...changes,
  };
}

const useSource = (source: DataSource) => window.localStorage.setItem(DATA_SOURCE_KEY, source);

describe("QrCode", () => {
  it("draws the value as an SVG image in the page, the same for the same value", () => {
    const { container, rerender } = render(<QrCode value={URI} label="QR code of your key" />);
    const image = screen.getByRole("img", { name: "QR code of your key" });
    expect(image.tagName.toLowerCase()).toBe("svg");
    const path = container.querySelector("path")?.getAttribute("d") ?? "";
    // A version-4 symbol or larger for this URI, drawn as one square per dark module.
    expect(path.match(/M/g)?.length ?? 0).toBeGreaterThan(300);
    rerender(<QrCode value={URI} label="QR code of your key" />);
    expect(container.querySelector("path")?.getAttribute("d")).toBe(path);
    rerender(<QrCode value={`${URI}x`} label="QR code of your key" />);
    expect(container.querySelector("path")?.getAttribute("d")).not.toBe(path);
  });
});

describe("the recovery codes and the secret as text", () => {
  it("groups the secret by four and writes the codes one a line", () => {
    expect(groupSecret("ABCDEFGHIJ")).toBe("ABCD EFGH IJ");
    const text = recoveryCodesText(["aaaaa-bbbbb", "ccccc-ddddd"], "ada@example.com");
    expect(text.split("\n")).toEqual([
      "Nova recovery codes for ada@example.com",
      "Each code signs in once in place of an authenticator code. Keep them somewhere safe.",
      "",
      "aaaaa-bbbbb",
      "ccccc-ddddd",
      "",
    ]);
  });
});

describe("TwoFactorCard over REST", () => {
  beforeEach(() => {
    useSource("rest");
    URL.createObjectURL = vi.fn(() => "blob:recovery-codes");
    URL.revokeObjectURL = vi.fn();
  });

  it("enrols: the password, the QR code and key once, a first code, the recovery codes", async () => {
    const user = userEvent.setup();
    const { requests } = scriptFetch(
      json(account()),
      json({ code: "invalid_password", message: "the password is wrong" }, 403),
      json({ secret: SECRET, otpauth_uri: URI, status: "pending" }),
      json({ code: "invalid_code", message: "the code is not valid" }, 401),
      json({ recovery_codes: CODES, enabled: true }),
    );
    renderApp(<TwoFactorCard overview={overview()} email="ada@example.com" />);
    await user.type(screen.getByLabelText("Your password"), "wrong");
    await user.click(screen.getByRole("button", { name: "Turn on two-factor sign-in" }));
    expect(await screen.findByLabelText("Your password")).toHaveAccessibleDescription(
      "The password is wrong",
    );
    await user.clear(screen.getByLabelText("Your password"));
    await user.type(screen.getByLabelText("Your password"), "correct horse battery");
    await user.click(screen.getByRole("button", { name: "Turn on two-factor sign-in" }));

    expect(await screen.findByRole("img", { name: /QR code/ })).toBeInTheDocument();
    expect(screen.getByText(groupSecret(SECRET))).toBeInTheDocument();
    expect(requests[2]?.url).toBe("/api/auth/me/two-factor");
    expect(JSON.parse(requests[2]?.body ?? "")).toEqual({ password: "correct horse battery" });

    // A wrong code is about what was typed: no refresh, no end of the session.
    await user.type(screen.getByLabelText("Code from the app"), "000 000");
    await user.click(screen.getByRole("button", { name: "Confirm" }));
    expect(await screen.findByLabelText("Code from the app")).toHaveAccessibleDescription(
      /^The code is not valid/,
    );
    expect(requests[3]?.url).toBe("/api/auth/me/two-factor/confirm");
    expect(JSON.parse(requests[3]?.body ?? "")).toEqual({ code: "000000" });
    expect(requests).toHaveLength(4);

    await user.clear(screen.getByLabelText("Code from the app"));
    await user.type(screen.getByLabelText("Code from the app"), "123456");
    await user.click(screen.getByRole("button", { name: "Confirm" }));
    const list = await screen.findByRole("list", { name: "Recovery codes" });
    expect(
      within(list)
        .getAllByRole("listitem")
        .map((item) => item.textContent),
    ).toEqual(CODES);
    const download = await screen.findByRole("link", { name: "Download as text" });
    expect(download).toHaveAttribute("href", "blob:recovery-codes");
    expect(download).toHaveAttribute("download", "nova-recovery-codes.txt");
    const writeText = vi.fn(async () => undefined);
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    await user.click(screen.getByRole("button", { name: "Copy the codes" }));
    expect(writeText).toHaveBeenCalledWith(recoveryCodesText(CODES, "ada@example.com"));
    expect(await screen.findByText("Copied.")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "I saved them" }));
    expect(screen.queryByRole("list", { name: "Recovery codes" })).not.toBeInTheDocument();
    expect(router.replace).not.toHaveBeenCalled();
  }, 20_000); // a whole enrolment typed key by key

  it("says what is left, and asks an account without a password to set one first", () => {
    scriptFetch(json(account()));
    const { rerender } = renderApp(
      <TwoFactorCard
        overview={overview({ twoFactorEnabled: true, recoveryCodesLeft: 7 })}
        email={null}
      />,
    );
    expect(screen.getByText(/7 of 10 recovery codes left/)).toBeInTheDocument();
    rerender(<TwoFactorCard overview={overview({ hasPassword: false })} email={null} />);
    expect(screen.getByText(/Set a password first/)).toBeInTheDocument();
    expect(screen.queryByLabelText("Your password")).not.toBeInTheDocument();
  });
});

describe("TwoFactorCard over GraphQL", () => {
  beforeEach(() => useSource("graphql"));

  it("turns two-factor sign-in off with the password", async () => {
    const user = userEvent.setup();
    const { requests } = scriptFetch(json(account()), json({ data: { disableTwoFactor: true } }));
    renderApp(<TwoFactorCard overview={overview({ twoFactorEnabled: true })} email={null} />);
    await user.click(screen.getByRole("button", { name: "Use your password instead" }));
    await user.type(screen.getByLabelText("Your password"), "correct horse battery");
    await user.click(screen.getByRole("button", { name: "Turn off two-factor sign-in" }));
    await waitFor(() => expect(requests).toHaveLength(2));
    const body = JSON.parse(requests[1]?.body ?? "") as {
      operationName: string;
      variables: unknown;
    };
    expect(requests[1]?.url).toBe("/graphql");
    expect(body.operationName).toBe("DisableTwoFactor");
    expect(body.variables).toEqual({ input: { password: "correct horse battery" } });
  });
});

describe.each<DataSource>(["graphql", "rest"])("IdentitiesCard over %s", (source) => {
  beforeEach(() => useSource(source));

  it("explains why the last way to sign in cannot be unlinked", async () => {
    const user = userEvent.setup();
    const refusal = {
      code: "last_sign_in_method",
      message: "this identity is the only way to sign in",
    };
    const { requests } = scriptFetch(
      json(account()),
      source === "rest"
        ? json(refusal, 409)
        : json({
            data: null,
            errors: [{ message: refusal.message, extensions: { ...refusal, status: 409 } }],
          }),
    );
    renderApp(
      <IdentitiesCard
        overview={overview({
          hasPassword: false,
          providers: [
            { name: "corp", displayName: "Corp ID" },
            { name: "lab", displayName: "Lab ID" },
          ],
          identities: [
            {
              id: "11111111-2222-3333-4444-555555555555",
              provider: "corp",
              email: "ada@corp.example",
              createdAt: "2026-01-02T10:00:00Z",
              lastUsedAt: null,
            },
          ],
        })}
        linked={null}
      />,
    );
    expect(screen.getByText(/you sign in with/)).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Link Lab ID" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Link Corp ID" })).not.toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Unlink Corp ID" }));
    expect(
      await screen.findByText(/This is the only way to sign in to your account/),
    ).toBeInTheDocument();
    if (source === "rest") {
      expect(requests[1]?.method).toBe("DELETE");
      expect(requests[1]?.url).toBe("/api/auth/me/identities/11111111-2222-3333-4444-555555555555");
    } else {
      expect(JSON.parse(requests[1]?.body ?? "").operationName).toBe("UnlinkIdentity");
    }
  });
});

describe.each<DataSource>(["graphql", "rest"])("ProviderSignIn over %s", (source) => {
  beforeEach(() => useSource(source));
  const providers = [{ name: "corp", displayName: "Corp ID" }];

  it("offers each configured provider through the gateway's start route", async () => {
    scriptFetch(
      source === "rest"
        ? json({ providers: [{ name: "corp", display_name: "Corp ID" }] })
        : json({ data: { identityProviders: providers } }),
    );
    renderApp(<ProviderSignIn next="/account/security?tab=1" />, { signedIn: false });
    const link = await screen.findByRole("link", { name: "Sign in with Corp ID" });
    expect(link).toHaveAttribute(
      "href",
      "/api/auth/oidc/corp/authorize?next=%2Faccount%2Fsecurity%3Ftab%3D1",
    );
  });

  it("shows nothing when no provider is configured", async () => {
    const { requests } = scriptFetch(
      source === "rest" ? json({ providers: [] }) : json({ data: { identityProviders: [] } }),
    );
    const { container } = renderApp(<ProviderSignIn next="/profile" />, { signedIn: false });
    await waitFor(() => expect(requests).toHaveLength(1));
    expect(container).toBeEmptyDOMElement();
  });
});

describe("LoginForm after a provider sign-in of a two-factor account", () => {
  it("asks for the code at once and lets the gateway add the challenge it holds", async () => {
    const user = userEvent.setup();
    const { requests } = scriptFetch(
      json({ expires_in: 900, refresh_expires_in: 86_400, account: account() }),
    );
    renderApp(<LoginForm next="/profile" twoFactor />, { signedIn: false });
    expect(screen.queryByLabelText("Password")).not.toBeInTheDocument();
    expect(screen.getByText(/authenticator app shows for your account/)).toBeInTheDocument();
    await user.type(screen.getByLabelText("Authentication code"), "654321");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    await waitFor(() => expect(router.replace).toHaveBeenCalledWith("/profile"));
    expect(requests[0]?.url).toBe("/api/auth/login/two-factor");
    expect(requests[0]?.headers.get("X-Nova-Session")).toBe("cookie");
    expect(JSON.parse(requests[0]?.body ?? "")).toEqual({ code: "654321" });
  });
});

describe("ActivityLog over REST", () => {
  beforeEach(() => useSource("rest"));

  it("lists the entries in words with where they came from, and pages back", async () => {
    const user = userEvent.setup();
    const entry = (id: string, kind: string) => ({
      id,
      kind,
      occurred_at: "2026-03-04T05:06:07Z",
      client_address: "203.0.113.9",
      user_agent: "Firefox/140",
    });
    // The session probe and the first page go out together: answered by path, not by order.
    const answers: Record<string, Response[]> = {
      "/api/auth/me": [json(account())],
      "/api/auth/me/security-events": [],
    };
    const byPath = (request: RecordedRequest) => {
      const answer = answers[new URL(request.url, "http://x").pathname]?.shift();
      if (!answer) throw new Error(`unexpected ${request.url}`);
      return answer;
    };
    answers["/api/auth/me/security-events"]?.push(
      json({
        edges: [
          { cursor: "c1", node: entry("e1", "two_factor_enabled") },
          { cursor: "c2", node: { ...entry("e2", "a_newer_kind"), user_agent: null } },
        ],
        page_info: { has_next_page: true, end_cursor: "c2" },
      }),
      json({
        edges: [{ cursor: "c3", node: entry("e3", "sign_in_with_provider") }],
        page_info: { has_next_page: false, end_cursor: "c3" },
      }),
    );
    const { requests } = scriptFetch(byPath, byPath, byPath);
    renderApp(<ActivityLog />);
    const table = await screen.findByRole("table", { name: "Security activity, newest first" });
    expect(
      within(table).getByRole("rowheader", { name: "Two-factor sign-in turned on" }),
    ).toBeVisible();
    expect(within(table).getByRole("rowheader", { name: "a newer kind" })).toBeVisible();
    expect(within(table).getAllByText("203.0.113.9")).toHaveLength(2);
    expect(within(table).getByText("Firefox/140")).toBeVisible();
    const pages = requests.filter((request) => request.url.includes("security-events"));
    expect(new URL(pages[0]?.url ?? "", "http://x").searchParams.get("first")).toBe("10");
    await user.click(screen.getByRole("button", { name: "Older" }));
    expect(
      await screen.findByRole("rowheader", { name: "Signed in with a provider" }),
    ).toBeVisible();
    const older = requests.filter((request) => request.url.includes("security-events"))[1];
    expect(new URL(older?.url ?? "", "http://x").searchParams.get("after")).toBe("c2");
    expect(screen.getByRole("button", { name: "Older" })).toBeDisabled();
  });
});

describe("the login page after a refused provider sign-in", () => {
  it("says why, in words, for the code the gateway passed on", async () => {
    useSource("rest");
    scriptFetch(json({ providers: [{ name: "corp", display_name: "Corp ID" }] }));
    const page = await LoginPage({
      searchParams: Promise.resolve({ error: "oidc_account_exists" }),
    });
    renderApp(page, { signedIn: false });
    expect(
      screen.getByText(/An account already uses this e-mail address\. Log in with its password/),
    ).toBeVisible();
    expect(await screen.findByRole("link", { name: "Sign in with Corp ID" })).toBeVisible();
  });

  it("has a general message for a code it does not know", async () => {
    useSource("rest");
    scriptFetch(json({ providers: [] }));
    const page = await LoginPage({ searchParams: Promise.resolve({ error: "something_new" }) });
    renderApp(page, { signedIn: false });
    expect(screen.getByText(/Signing in with the provider did not work/)).toBeVisible();
  });
});
