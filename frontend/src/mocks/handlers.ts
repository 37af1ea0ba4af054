/**
 * The gateway, as Mock Service Worker answers it in the stories: the same paths, bodies and
 * error shapes (`{code, message, details}`) the REST API and GraphQL give, so the components
 * run their real data code (apiFetch, openapi-fetch, Apollo, TanStack Query) unchanged.
 */

import { delay, graphql, HttpResponse, http } from "msw";
import type { AccountView, ProfileRead } from "@/lib/rest";
import type { components } from "@/rest/schema";
import { enrolment, graphqlUser, member, profile, providers, recoveryCodes } from "./fixtures";

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

type Schemas = components["schemas"];

/** What the security page reads; a function is asked again on each request (a story's state). */
export interface SecurityState {
  twoFactorEnabled?: boolean;
  recoveryCodesLeft?: number;
  hasPassword?: boolean;
  identities?: Schemas["AuthIdentityView"][];
  providers?: Schemas["AuthOidcProviderView"][];
}

/**
 * The security settings over both APIs: GraphQL's `SecurityOverview`, REST's second factor,
 * linked identities and providers (REST's `has_password` is `/api/auth/me`'s: the session's).
 */
export function securityOverview(state: SecurityState | (() => SecurityState) = {}) {
  const read = () => {
    const current = typeof state === "function" ? state() : state;
    return {
      twoFactorEnabled: current.twoFactorEnabled ?? false,
      recoveryCodesLeft: current.recoveryCodesLeft ?? 10,
      hasPassword: current.hasPassword ?? true,
      identities: current.identities ?? [],
      providers: current.providers ?? providers(),
    };
  };
  return [
    graphql.query("SecurityOverview", () => {
      const current = read();
      return HttpResponse.json({
        data: {
          account: {
            __typename: "User",
            id: member().id,
            twoFactorEnabled: current.twoFactorEnabled,
            hasPassword: current.hasPassword,
          },
          linkedIdentities: current.identities.map((row) => ({
            __typename: "LinkedIdentity",
            id: row.id,
            provider: row.provider,
            email: row.email,
            createdAt: row.created_at,
            lastUsedAt: row.last_used_at,
          })),
          identityProviders: current.providers.map(graphqlProvider),
        },
      });
    }),
    http.get("/api/auth/me/two-factor", () => {
      const current = read();
      return HttpResponse.json({
        enabled: current.twoFactorEnabled,
        pending: false,
        enabled_at: current.twoFactorEnabled ? "2026-10-20T18:00:00Z" : null,
        recovery_codes_left: current.twoFactorEnabled ? current.recoveryCodesLeft : 0,
      });
    }),
    http.get("/api/auth/me/identities", () => HttpResponse.json(read().identities)),
    ...identityProviders(() => read().providers),
  ];
}

function graphqlProvider(row: Schemas["AuthOidcProviderView"]) {
  return { __typename: "IdentityProvider", name: row.name, displayName: row.display_name };
}

/** The providers people can sign in with, over both APIs (the login page's buttons). */
export function identityProviders(
  rows: Schemas["AuthOidcProviderView"][] | (() => Schemas["AuthOidcProviderView"][]),
) {
  const read = () => (typeof rows === "function" ? rows() : rows);
  return [
    graphql.query("IdentityProviders", () =>
      HttpResponse.json({ data: { identityProviders: read().map(graphqlProvider) } }),
    ),
    http.get("/api/auth/oidc/providers", () => HttpResponse.json({ providers: read() })),
  ];
}

/** The account's security log over both APIs, `first` at a time after a cursor, as auth pages it. */
export function securityLog(events: Schemas["AuthSecurityEventView"][]) {
  const page = (first: number, after: string | null) => {
    const start = after === null ? 0 : Number(after.replace("event-", "")) + 1;
    const rows = events.slice(start, start + first);
    const hasNextPage = start + first < events.length;
    const endCursor = rows.length > 0 ? `event-${start + rows.length - 1}` : null;
    return { rows, start, hasNextPage, endCursor };
  };
  return [
    graphql.query("SecurityEvents", ({ variables }) => {
      const { rows, start, hasNextPage, endCursor } = page(
        Number(variables.first),
        (variables.after as string | null | undefined) ?? null,
      );
      return HttpResponse.json({
        data: {
          account: {
            __typename: "User",
            id: member().id,
            securityEvents: {
              __typename: "SecurityEventConnection",
              edges: rows.map((row, index) => ({
                __typename: "SecurityEventEdge",
                cursor: `event-${start + index}`,
                node: {
                  __typename: "SecurityEvent",
                  id: row.id,
                  kind: row.kind,
                  occurredAt: row.occurred_at,
                  clientAddress: row.client_address,
                  userAgent: row.user_agent,
                },
              })),
              pageInfo: { __typename: "PageInfo", hasNextPage, endCursor },
            },
          },
        },
      });
    }),
    http.get("/api/auth/me/security-events", ({ request }) => {
      const query = new URL(request.url).searchParams;
      const { rows, start, hasNextPage, endCursor } = page(
        Number(query.get("first") ?? 20),
        query.get("after"),
      );
      return HttpResponse.json({
        edges: rows.map((row, index) => ({ cursor: `event-${start + index}`, node: row })),
        page_info: { has_next_page: hasNextPage, end_cursor: endCursor },
      });
    }),
  ];
}

/**
 * Turning two-factor sign-in on accepted over both APIs: the pending secret, then the codes
 * (`onConfirmed` lets a story's state follow).
 */
export function twoFactorEnrolment(codes: string[] = recoveryCodes(), onConfirmed = () => {}) {
  const pendingSecret = enrolment();
  return [
    graphql.mutation("EnrollTwoFactor", () =>
      HttpResponse.json({
        data: {
          enrollTwoFactor: {
            __typename: "TwoFactorEnrolment",
            secret: pendingSecret.secret,
            otpauthUri: pendingSecret.otpauth_uri,
          },
        },
      }),
    ),
    http.post("/api/auth/me/two-factor", () => HttpResponse.json(pendingSecret)),
    graphql.mutation("ConfirmTwoFactor", () => {
      onConfirmed();
      return HttpResponse.json({
        data: {
          confirmTwoFactor: { __typename: "TwoFactorRecoveryCodes", recoveryCodes: codes },
        },
      });
    }),
    http.post("/api/auth/me/two-factor/confirm", () => {
      onConfirmed();
      return HttpResponse.json({ recovery_codes: codes, enabled: true });
    }),
  ];
}

/** Turning two-factor sign-in off accepted over both APIs (`onDisabled`: the story's state). */
export const twoFactorDisabling = (onDisabled = () => {}) => [
  graphql.mutation("DisableTwoFactor", () => {
    onDisabled();
    return HttpResponse.json({ data: { disableTwoFactor: true } });
  }),
  http.delete("/api/auth/me/two-factor", () => {
    onDisabled();
    return new HttpResponse(null, { status: 204 });
  }),
];

/** Unlinking an identity accepted over both APIs. */
export const identityUnlinking = () => [
  graphql.mutation("UnlinkIdentity", () => HttpResponse.json({ data: { unlinkIdentity: true } })),
  http.delete("/api/auth/me/identities/:id", () => new HttpResponse(null, { status: 204 })),
];

/** An administrator's reset of an account's second factor accepted over both APIs (`onReset`
 * gets the account's id). */
export const twoFactorReset = (onReset = (_accountId: string) => {}) => [
  graphql.mutation("ResetTwoFactor", ({ variables }) => {
    onReset(String(variables.id));
    return HttpResponse.json({ data: { resetTwoFactor: true } });
  }),
  http.post("/api/auth/accounts/:id/two-factor/reset", ({ params }) => {
    onReset(String(params.id));
    return new HttpResponse(null, { status: 204 });
  }),
];

/**
 * A mutation auth refuses, over both APIs: REST's error answer, and GraphQL's error on the
 * (nullable) field with `extensions.code` and `status`, the rest of `data` kept, as the gateway
 * passes it on.
 */
export function refusedMutation(
  operation: string,
  rest: { method: "post" | "delete"; path: string },
  error: { status: number; code: string; message: string },
) {
  const field = operation.charAt(0).toLowerCase() + operation.slice(1);
  return [
    graphql.mutation(operation, () =>
      HttpResponse.json({
        data: { [field]: null },
        errors: [
          {
            message: error.message,
            path: [field],
            extensions: { code: error.code, status: error.status },
          },
        ],
      }),
    ),
    http[rest.method](rest.path, () => apiError(error.status, error.code, error.message)),
  ];
}
