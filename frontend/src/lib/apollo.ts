"use client";

import { ApolloClient, HttpLink, InMemoryCache } from "@apollo/client";
import { CombinedGraphQLErrors, ServerError } from "@apollo/client/errors";
import { ApiError, apiErrorFromGraphQL, errorMessage, isUnauthenticated } from "./errors";
import { apiFetch } from "./http";

/** GraphQL's 200-with-errors form of "not signed in": only when no data came back at all. */
async function graphqlUnauthenticated(response: Response): Promise<boolean> {
  if (!response.headers.get("content-type")?.includes("json")) return false;
  try {
    const body = (await response.json()) as {
      data?: unknown;
      errors?: { message: string; extensions?: Record<string, unknown> }[];
    };
    return body.data == null && isUnauthenticated(body.errors);
  } catch {
    return false;
  }
}

/** `fetch` for Apollo's HttpLink: the shared session rules (CSRF header, refresh, redirect). */
export const graphqlFetch: typeof fetch = (input, init) => {
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  const { body, ...rest } = init ?? {};
  return apiFetch(url, {
    ...rest,
    method: init?.method ?? "POST",
    // Apollo already serialised the operation; apiFetch adds the JSON and CSRF headers.
    rawBody: typeof body === "string" ? body : undefined,
    isUnauthenticated: graphqlUnauthenticated,
  });
};

export function createApolloClient(): ApolloClient {
  return new ApolloClient({
    link: new HttpLink({ uri: "/graphql", fetch: graphqlFetch, credentials: "same-origin" }),
    cache: new InMemoryCache({
      typePolicies: {
        Query: { fields: { users: { keyArgs: ["first", "after", "search", "includeDeleted"] } } },
      },
    }),
    // errorPolicy stays Apollo's default ("none"): a GraphQL error rejects, as REST's do.
    defaultOptions: {
      watchQuery: { fetchPolicy: "cache-and-network" },
      query: { fetchPolicy: "network-only" },
    },
  });
}

/** Whatever Apollo raised → ApiError (GraphQL `extensions.code`, HTTP status, or network). */
export function apolloError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (CombinedGraphQLErrors.is(error)) return apiErrorFromGraphQL(error.errors);
  if (ServerError.is(error)) {
    return new ApiError(error.statusCode >= 500 ? errorMessage(undefined) : error.message, {
      code: error.statusCode >= 500 ? "server_error" : "error",
      status: error.statusCode,
    });
  }
  return new ApiError(errorMessage(error), { code: "network_error", status: 0 });
}
