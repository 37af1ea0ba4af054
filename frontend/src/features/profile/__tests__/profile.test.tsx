import { dehydrate, QueryClient } from "@tanstack/react-query";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { RequireSession } from "@/components/RequireSession.client";
import { ServerData } from "@/components/ServerData.client";
import { profileChanges } from "@/features/profile/ProfileForm.client";
import { ProfileScreen } from "@/features/profile/ProfileScreen.client";
import { DATA_SOURCE_KEY, type DataSource } from "@/lib/data-source";
import { restKeys } from "@/lib/query-keys";
import type { ServerView } from "@/lib/server-view";
import { EXPIRES_AT_KEY } from "@/lib/session-clock";
import { json, type RecordedRequest, scriptFetch } from "../../../../test/fetch";
import { account, renderApp, restProfile, router } from "../../../../test/render";

const ID = account().id;
const graphqlUser = (overrides: Record<string, unknown> = {}) => ({
  __typename: "User",
  id: ID,
  displayName: "Ada Lovelace",
  bio: null,
  avatarUrl: null,
  locale: "en-GB",
  timezone: "Europe/London",
  createdAt: "2026-01-02T10:00:00Z",
  updatedAt: "2026-01-02T10:00:00Z",
  deletedAt: null,
  ...overrides,
});
const graphqlMe = (overrides: Record<string, unknown> = {}) =>
  json({
    data: {
      me: {
        ...graphqlUser(overrides),
        email: "ada@example.com",
        emailVerified: false,
        roles: ["user"],
        status: "ACTIVE",
        lastLoginAt: null,
      },
    },
  });

const operation = (request: RecordedRequest | undefined) =>
  JSON.parse(request?.body ?? "{}") as { operationName?: string; variables?: unknown };

describe("profileChanges", () => {
  it("sends only what changed, trimmed, and null for a cleared field", () => {
    const before = {
      displayName: "Ada",
      bio: "Hello",
      avatarUrl: "",
      locale: "en-GB",
      timezone: "Europe/London",
    };
    expect(profileChanges(before, { ...before })).toEqual({});
    expect(
      profileChanges(before, {
        ...before,
        displayName: " Ada L ",
        bio: "",
        avatarUrl: "https://x.test/a.png",
      }),
    ).toEqual({ displayName: "Ada L", bio: null, avatarUrl: "https://x.test/a.png" });
  });
});

describe.each<DataSource>(["graphql", "rest"])("profile screen over %s", (source) => {
  beforeEach(() => window.localStorage.setItem(DATA_SOURCE_KEY, source));

  const loadAnswers = (overrides: Record<string, unknown> = {}) =>
    source === "graphql" ? [graphqlMe(overrides)] : [json(restProfile(overrides)), json(account())];

  it("shows the profile, edits it, and shows the saved values", async () => {
    const user = userEvent.setup();
    const saved =
      source === "graphql"
        ? json({
            data: { updateProfile: graphqlUser({ displayName: "Countess Ada", bio: "Analyst" }) },
          })
        : json(restProfile({ display_name: "Countess Ada", bio: "Analyst" }));
    const { requests, remaining } = scriptFetch(json(account()), ...loadAnswers(), saved);
    renderApp(
      <RequireSession>
        <ProfileScreen />
      </RequireSession>,
    );
    expect(await screen.findByTestId("display-name")).toHaveTextContent("Ada Lovelace");
    expect(
      screen.getByText(source === "graphql" ? /through GraphQL/ : /through REST/),
    ).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Edit profile" }));
    const name = screen.getByLabelText("Display name");
    expect(name).toHaveFocus();
    await user.clear(name);
    await user.type(name, "Countess Ada");
    await user.type(screen.getByLabelText(/^Bio/), "Analyst");
    await user.click(screen.getByRole("button", { name: "Save profile" }));

    expect(await screen.findByText("Your profile was saved.")).toBeInTheDocument();
    expect(screen.getByTestId("display-name")).toHaveTextContent("Countess Ada");
    expect(screen.getByTestId("bio")).toHaveTextContent("Analyst");

    // The write's answer is shown as is: no second read.
    expect(remaining()).toBe(0);
    expect(requests).toHaveLength(source === "rest" ? 4 : 3);
    expect(screen.getByText("ada@example.com")).toBeInTheDocument();
    const write = requests.at(-1);
    expect(write?.headers.get("X-Nova-CSRF")).toBe("1");
    if (source === "graphql") {
      expect(write?.url).toBe("/graphql");
      expect(operation(write)).toMatchObject({
        operationName: "UpdateProfile",
        variables: { input: { displayName: "Countess Ada", bio: "Analyst" } },
      });
    } else {
      expect(write?.method).toBe("PATCH");
      expect(write?.url).toBe("/api/users/me");
      expect(JSON.parse(write?.body ?? "")).toEqual({
        display_name: "Countess Ada",
        bio: "Analyst",
      });
    }
  });

  it("shows the service's field errors next to the field", async () => {
    const user = userEvent.setup();
    const refused =
      source === "graphql"
        ? json({
            data: null,
            errors: [
              {
                message: "locale: unknown locale 'xx-YY'",
                extensions: {
                  code: "validation_error",
                  details: [{ field: "locale", message: "unknown locale 'xx-YY'" }],
                },
              },
            ],
          })
        : json(
            {
              code: "validation_error",
              message: "locale: unknown locale 'xx-YY'",
              details: [{ field: "locale", message: "unknown locale 'xx-YY'" }],
            },
            422,
          );
    scriptFetch(json(account()), ...loadAnswers(), refused);
    renderApp(
      <RequireSession>
        <ProfileScreen />
      </RequireSession>,
    );
    await user.click(await screen.findByRole("button", { name: "Edit profile" }));
    const locale = screen.getByLabelText(/^Language/);
    await user.clear(locale);
    await user.type(locale, "xx-YY");
    await user.click(screen.getByRole("button", { name: "Save profile" }));
    await waitFor(() => expect(locale).toHaveAttribute("aria-invalid", "true"));
    expect(locale).toHaveAccessibleDescription(/unknown locale 'xx-YY'/);
    await waitFor(() => expect(locale).toHaveFocus());
    expect(screen.getByRole("button", { name: "Save profile" })).toBeEnabled();
  });

  it("offers to try again when the profile cannot be loaded", async () => {
    const user = userEvent.setup();
    const failure =
      source === "graphql"
        ? [
            json({
              data: null,
              errors: [{ message: "users is down", extensions: { code: "subgraph_unavailable" } }],
            }),
          ]
        : [json({ code: "service_unavailable", message: "down" }, 503), json(account())];
    scriptFetch(json(account()), ...failure, ...loadAnswers());
    renderApp(
      <RequireSession>
        <ProfileScreen />
      </RequireSession>,
    );
    const alert = await screen.findByRole("alert");
    expect(within(alert).getByText("Your profile could not be loaded")).toBeInTheDocument();
    await user.click(within(alert).getByRole("button", { name: "Try again" }));
    expect(await screen.findByTestId("display-name")).toHaveTextContent("Ada Lovelace");
  });
});

describe("RequireSession", () => {
  it("sends an anonymous visitor to the login page with the way back", async () => {
    window.history.replaceState(null, "", "/account/sessions");
    scriptFetch(
      json({ code: "unauthenticated" }, 401),
      json({ code: "refresh_token_expired" }, 401),
    );
    renderApp(
      <RequireSession>
        <p>secret</p>
      </RequireSession>,
    );
    expect(screen.getByRole("status")).toHaveTextContent("Checking your session");
    await waitFor(() =>
      expect(router.replace).toHaveBeenCalledWith("/login?next=%2Faccount%2Fsessions"),
    );
    expect(screen.queryByText("secret")).not.toBeInTheDocument();
  });

  it("shows the 403 page to a user who is not an administrator", async () => {
    scriptFetch(json(account()));
    renderApp(
      <RequireSession admin>
        <p>admin tools</p>
      </RequireSession>,
    );
    expect(await screen.findByRole("heading", { name: /do not have access/ })).toBeInTheDocument();
    expect(screen.queryByText("admin tools")).not.toBeInTheDocument();
  });

  it("shows the page to an administrator", async () => {
    scriptFetch(json(account({ roles: ["admin", "user"] })));
    renderApp(
      <RequireSession admin>
        <p>admin tools</p>
      </RequireSession>,
    );
    expect(await screen.findByText("admin tools")).toBeInTheDocument();
  });
});

describe.each<DataSource>(["graphql", "rest"])("a server-rendered profile over %s", (source) => {
  function view(): ServerView {
    const signedIn = {
      id: ID,
      email: "ada@example.com",
      emailVerified: true,
      roles: ["user"],
      status: "active" as const,
      createdAt: "2026-01-02T10:00:00Z",
      lastLoginAt: null,
    };
    const base = { account: signedIn, source, expiresAt: Date.now() + 900_000 };
    if (source === "graphql") {
      const data = {
        me: {
          ...graphqlUser(),
          __typename: "User" as const,
          email: "ada@example.com",
          emailVerified: true,
          roles: ["user"],
          status: "ACTIVE" as const,
          lastLoginAt: null,
        },
      };
      return { ...base, data: { api: "graphql", operation: "MyProfile", variables: {}, data } };
    }
    const client = new QueryClient();
    client.setQueryData(restKeys.me, {
      id: ID,
      displayName: "Ada Lovelace",
      bio: null,
      avatarUrl: null,
      locale: "en-GB",
      timezone: "Europe/London",
      createdAt: "2026-01-02T10:00:00Z",
      updatedAt: "2026-01-02T10:00:00Z",
      deletedAt: null,
      email: "ada@example.com",
      emailVerified: true,
      roles: ["user"],
      status: "active",
      lastLoginAt: null,
    });
    return { ...base, data: { api: "rest", state: dehydrate(client) } };
  }

  it("shows the server's answer in the first render and asks only who is signed in", async () => {
    window.localStorage.setItem(DATA_SOURCE_KEY, source);
    const { requests } = scriptFetch(json(account({ email_verified: true })));
    const rendered = view();
    renderApp(
      <ServerData view={rendered}>
        <RequireSession>
          <ProfileScreen />
        </RequireSession>
      </ServerData>,
      { signedIn: false },
    );
    // No loading state: the content is there from the first render on.
    expect(screen.getByTestId("display-name")).toHaveTextContent("Ada Lovelace");
    expect(screen.queryByRole("status")).not.toBeInTheDocument();
    await waitFor(() => expect(requests).toHaveLength(1));
    expect(requests[0]?.url).toMatch(/\/api\/auth\/me$/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(requests).toHaveLength(1);
    expect(screen.getByTestId("display-name")).toHaveTextContent("Ada Lovelace");
    // The server's reading of the access token's expiry reaches the refresh timer.
    expect(window.localStorage.getItem(EXPIRES_AT_KEY)).toBe(String(rendered.expiresAt));
  });

  it("keeps the browser's own expiry while it is still ahead", async () => {
    const known = String(Date.now() + 60_000);
    window.localStorage.setItem(EXPIRES_AT_KEY, known);
    window.localStorage.setItem(DATA_SOURCE_KEY, source);
    const { requests } = scriptFetch(json(account({ email_verified: true })));
    renderApp(
      <ServerData view={view()}>
        <RequireSession>
          <ProfileScreen />
        </RequireSession>
      </ServerData>,
    );
    await waitFor(() => expect(requests).toHaveLength(1));
    expect(window.localStorage.getItem(EXPIRES_AT_KEY)).toBe(known);
  });
});
