import { ApolloProvider } from "@apollo/client/react";
import { QueryClientProvider } from "@tanstack/react-query";
import { act, renderHook, waitFor } from "@testing-library/react";
import type { ReactNode } from "react";
import { json, scriptFetch } from "../../../test/fetch";
import { account, restProfile } from "../../../test/render";
import { createApolloClient } from "../apollo";
import { DATA_SOURCE_KEY } from "../data-source";
import { createQueryClient } from "../query";
import { restKeys, useAdminUsers, useMyProfile, useUpdateProfile } from "../users";

const profile = (overrides: Record<string, unknown> = {}) =>
  restProfile({ display_name: "Ada", ...overrides });
const page = (names: string[], endCursor: string | null) =>
  json({
    edges: names.map((name, index) => ({
      cursor: `c${index}`,
      node: profile({ id: `u-${name}`, display_name: name }),
    })),
    page_info: { has_next_page: endCursor !== null, end_cursor: endCursor },
  });

function setUp() {
  const queryClient = createQueryClient();
  const wrapper = ({ children }: { children: ReactNode }) => (
    <ApolloProvider client={createApolloClient()}>
      <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>
    </ApolloProvider>
  );
  return { queryClient, wrapper };
}

describe("REST data in TanStack Query's cache", () => {
  it("loads when another tab switches the data source to REST, and not before", async () => {
    const graphqlMe = {
      __typename: "User",
      id: account().id,
      displayName: "Ada over GraphQL",
      bio: null,
      avatarUrl: null,
      locale: null,
      timezone: null,
      createdAt: null,
      updatedAt: "2026-01-02T10:00:00Z",
      deletedAt: null,
      email: "ada@example.com",
      emailVerified: false,
      roles: ["user"],
      status: "ACTIVE",
      lastLoginAt: null,
    };
    const { requests } = scriptFetch(
      json({ data: { me: graphqlMe } }),
      json(profile()),
      json(account()),
    );
    const { wrapper } = setUp();
    const { result } = renderHook(() => useMyProfile(), { wrapper });
    await waitFor(() => expect(result.current.data?.displayName).toBe("Ada over GraphQL"));
    expect(result.current.source).toBe("graphql");
    expect(requests.map((request) => request.url)).toEqual(["/graphql"]);
    act(() => {
      window.localStorage.setItem(DATA_SOURCE_KEY, "rest");
      window.dispatchEvent(new StorageEvent("storage", { key: DATA_SOURCE_KEY, newValue: "rest" }));
    });
    await waitFor(() => expect(result.current.data?.displayName).toBe("Ada"));
    expect(result.current.source).toBe("rest");
    expect(result.current.data?.email).toBe("ada@example.com");
    expect(requests.map((request) => request.url)).toEqual([
      "/graphql",
      "/api/users/me",
      "/api/auth/me",
    ]);
  });

  it("puts a saved profile into the cached one, keeping the account fields", async () => {
    window.localStorage.setItem(DATA_SOURCE_KEY, "rest");
    scriptFetch(json(profile()), json(account()), json(profile({ display_name: "Ada L" })));
    const { queryClient, wrapper } = setUp();
    const { result } = renderHook(() => ({ me: useMyProfile(), update: useUpdateProfile() }), {
      wrapper,
    });
    await waitFor(() => expect(result.current.me.data?.displayName).toBe("Ada"));
    await act(async () => {
      await result.current.update({ displayName: "Ada L" });
    });
    await waitFor(() => expect(result.current.me.data?.displayName).toBe("Ada L"));
    expect(result.current.me.data?.email).toBe("ada@example.com");
    expect(queryClient.getQueryData(restKeys.me)).toMatchObject({ displayName: "Ada L" });
  });

  it("keeps the page on screen while the next one loads", async () => {
    window.localStorage.setItem(DATA_SOURCE_KEY, "rest");
    let answerNext: (response: Response) => void = () => undefined;
    const next = new Promise<Response>((resolve) => {
      answerNext = resolve;
    });
    scriptFetch();
    const fetchMock = vi.mocked(globalThis.fetch);
    fetchMock.mockImplementationOnce(async () => page(["Ada", "Grace"], "c1"));
    fetchMock.mockImplementationOnce(() => next);
    const { wrapper } = setUp();
    const params = { first: 2, after: null as string | null, search: "", includeDeleted: false };
    const { result, rerender } = renderHook((props) => useAdminUsers(props), {
      wrapper,
      initialProps: params,
    });
    await waitFor(() => expect(result.current.data?.users).toHaveLength(2));
    rerender({ ...params, after: "c1" });
    await waitFor(() => expect(result.current.loading).toBe(true));
    expect(result.current.data?.users.map((user) => user.displayName)).toEqual(["Ada", "Grace"]);
    answerNext(page(["Hedy"], null));
    await waitFor(() =>
      expect(result.current.data?.users.map((user) => user.displayName)).toEqual(["Hedy"]),
    );
    expect(result.current.loading).toBe(false);
  });
});
