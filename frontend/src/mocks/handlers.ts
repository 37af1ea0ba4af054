/**
 * The gateway, as Mock Service Worker answers it in the stories: the same paths, bodies and
 * error shapes (`{code, message, details}`) the REST API and GraphQL give, so the components
 * run their real data code (apiFetch, openapi-fetch, Apollo, TanStack Query) unchanged.
 */

import { delay, graphql, HttpResponse, http } from "msw";
import type { AccountView, ProfileRead } from "@/lib/rest";
import { graphqlUser, member, profile } from "./fixtures";

/** Who the stories' browser is signed in as; `checking` never answers, `unavailable` is a 503. */
export type StorySession = "anonymous" | "checking" | "unavailable" | { account: AccountView };

/** A REST error answer of the gateway (`headers`: a 429's `Retry-After`, say). */
export function apiError(
  status: number,
  code: string,
  message: string,
  details?: { field: string; message: string }[],
  headers?: HeadersInit,
) {
  return HttpResponse.json({ code, message, details, request_id: "story" }, { status, headers });
}

/**
 * A GraphQL answer with one error (`extensions.code`) and no data, as the gateway gives it;
 * `extensions` adds the service's others (`status`, a rate limit's `retryAfter`).
 */
export function graphqlError(
  code: string,
  message: string,
  extensions: Record<string, unknown> = {},
): Response {
  return Response.json({ data: null, errors: [{ message, extensions: { code, ...extensions } }] });
}

/** An answer that never comes: the component stays in its loading state. */
export const pending = async () => {
  await delay("infinite");
  return new Response(null, { status: 204 });
};

/** `GET /api/auth/me` for a session. */
export function sessionHandlers(session: StorySession) {
  if (session === "anonymous") return [];
  if (session === "checking") return [http.get("/api/auth/me", pending)];
  if (session === "unavailable") {
    return [
      http.get("/api/auth/me", () =>
        apiError(503, "service_unavailable", "The service is unavailable."),
      ),
    ];
  }
  return [http.get("/api/auth/me", () => HttpResponse.json(session.account))];
}

/** The answer of register/login/refresh in cookie mode: no token, only lifetimes. */
export const sessionAnswer = (account: AccountView = member()) => ({
  account,
  expires_in: 900,
  refresh_expires_in: 1_209_600,
  token_type: "Bearer",
});

/** The signed-in user's profile over both APIs. */
export function myProfile(read: ProfileRead = profile(), account: AccountView = member()) {
  return [
    graphql.query("MyProfile", () =>
      HttpResponse.json({ data: { me: graphqlUser(read, account) } }),
    ),
    http.get("/api/users/me", () => HttpResponse.json(read)),
  ];
}

/**
 * One page of the admin list over both APIs (REST has no e-mail column), filtered as the users
 * service does: deleted users only when asked for, a search by part of the name.
 */
export function usersPage(rows: ProfileRead[], hasNextPage = false) {
  const endCursor = hasNextPage ? `cursor-${rows.length}` : null;
  const matching = (search: string | null | undefined, includeDeleted: boolean) =>
    rows.filter(
      (row) =>
        (includeDeleted || !row.deleted_at) &&
        (!search || row.display_name.toLowerCase().includes(search.toLowerCase())),
    );
  return [
    graphql.query("AdminUsers", ({ variables }) =>
      HttpResponse.json({
        data: {
          users: {
            __typename: "UserConnection",
            edges: matching(variables.search, Boolean(variables.includeDeleted)).map((row) => ({
              __typename: "UserEdge",
              cursor: `cursor-${row.id}`,
              node: graphqlUser(row, member({ id: row.id, email: emailOf(row) })),
            })),
            pageInfo: { __typename: "PageInfo", hasNextPage, endCursor },
          },
        },
      }),
    ),
    http.get("/api/users", ({ request }) => {
      const query = new URL(request.url).searchParams;
      const found = matching(query.get("search"), query.get("include_deleted") === "true");
      return HttpResponse.json({
        edges: found.map((row) => ({ cursor: `cursor-${row.id}`, node: row })),
        page_info: { has_next_page: hasNextPage, end_cursor: endCursor },
      });
    }),
  ];
}

function emailOf(row: ProfileRead): string {
  return `${row.display_name.toLowerCase().replace(/[^a-z]+/g, ".")}@example.com`;
}

/**
 * The auth service's steps through the mailbox, by GraphQL operation name: the mutation's field
 * (a `Boolean`) and the REST path with its answer.
 */
const MAIL_STEPS = {
  VerifyEmail: {
    field: "verifyEmail",
    path: "/api/auth/verify-email",
    status: 200,
    body: { status: "verified", email_verified: true },
  },
  ResendVerificationEmail: {
    field: "resendVerificationEmail",
    path: "/api/auth/verify-email/resend",
    status: 202,
    body: {
      status: "accepted",
      message: "We sent a new verification link; earlier links no longer work.",
    },
  },
  ForgotPassword: {
    field: "forgotPassword",
    path: "/api/auth/forgot-password",
    status: 202,
    body: {
      status: "accepted",
      message:
        "If this address has an account, we sent it a link to reset the password. " +
        "The link works once, for a short time.",
    },
  },
  ResetPassword: {
    field: "resetPassword",
    path: "/api/auth/reset-password",
    status: 200,
    body: {
      status: "password_reset",
      message: "Your password was changed and every session was signed out; sign in again.",
    },
  },
} as const;

export type MailStep = keyof typeof MAIL_STEPS;

/** A mailed-link step done, over both APIs. */
export function mailStepDone(step: MailStep) {
  const { field, path, status, body } = MAIL_STEPS[step];
  return [
    graphql.mutation(step, () => HttpResponse.json({ data: { [field]: true } })),
    http.post(path, () => HttpResponse.json(body, { status })),
  ];
}

/**
 * A mailed-link step refused with the service's error over both APIs; a rate limit's
 * `retryAfter` (seconds) is REST's `Retry-After` header and GraphQL's `extensions.retryAfter`.
 */
export function mailStepRefused(
  step: MailStep,
  error: { status: number; code: string; message: string; retryAfter?: number },
) {
  const { status, code, message, retryAfter } = error;
  const waiting = retryAfter === undefined ? undefined : { "Retry-After": String(retryAfter) };
  return [
    graphql.mutation(step, () => graphqlError(code, message, { status, retryAfter })),
    http.post(MAIL_STEPS[step].path, () => apiError(status, code, message, undefined, waiting)),
  ];
}

/** A mailed-link step whose answer never comes, over both APIs (the busy state). */
export function mailStepPending(step: MailStep) {
  return [graphql.mutation(step, pending), http.post(MAIL_STEPS[step].path, pending)];
}

/**
 * The step's first request over either API fails to connect (no answer at all); later ones go
 * to the handlers after these (`msw.use(...mailStepUnreachableOnce(step), ...mailStepDone(step))`).
 */
export function mailStepUnreachableOnce(step: MailStep) {
  const unreachable = () => HttpResponse.error();
  return [
    graphql.mutation(step, unreachable, { once: true }),
    http.post(MAIL_STEPS[step].path, unreachable, { once: true }),
  ];
}
