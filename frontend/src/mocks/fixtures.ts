/** The people and answers the stories show, typed by the gateway's own schemas. */

import type { AccountView, ProfileRead } from "@/lib/rest";
import type { components } from "@/rest/schema";

export const member = (overrides: Partial<AccountView> = {}): AccountView => ({
  id: "3f8e2c1a-6d4b-4e9f-8a7c-2b1d0e9f8a71",
  email: "grace@example.com",
  email_verified: true,
  roles: ["user"],
  status: "active",
  created_at: "2026-03-09T08:30:00Z",
  last_login_at: "2026-11-30T17:45:00Z",
  password_changed_at: "2026-03-09T08:30:00Z",
  has_password: true,
  ...overrides,
});

export const administrator = (): AccountView =>
  member({
    id: "9b1c7e44-0f2a-4c6d-b5e8-7a3f1d2c9e60",
    email: "admin@example.com",
    roles: ["user", "admin"],
  });

/** A profile as the users service answers it over REST. */
export const profile = (overrides: Partial<ProfileRead> = {}): ProfileRead => ({
  id: member().id,
  display_name: "Grace Hopper",
  bio: "Rear admiral, compiler writer, teacher of nanoseconds.",
  avatar_url: null,
  locale: "en-US",
  timezone: "America/New_York",
  created_at: "2026-03-09T08:30:00Z",
  updated_at: "2026-10-02T12:00:00Z",
  deleted_at: null,
  ...overrides,
});

/** The same profile as GraphQL's `User` (account fields merged in, as the gateway does). */
export function graphqlUser(read: ProfileRead, account: AccountView | null = member()) {
  return {
    __typename: "User" as const,
    id: read.id,
    displayName: read.display_name,
    bio: read.bio,
    avatarUrl: read.avatar_url,
    locale: read.locale,
    timezone: read.timezone,
    createdAt: read.created_at,
    updatedAt: read.updated_at,
    deletedAt: read.deleted_at ?? null,
    email: account?.email ?? null,
    emailVerified: account?.email_verified ?? null,
    roles: account?.roles ?? null,
    status: read.deleted_at ? "DELETED" : "ACTIVE",
    lastLoginAt: account?.last_login_at ?? null,
  };
}

/** The auth service's refusal of a mailed link's token: unknown, used, expired or replaced. */
export const invalidLink = {
  status: 400,
  code: "invalid_token",
  message: "this link is invalid or has expired; ask for a new one",
};

/** The auth service's rate limit, with the `Retry-After` it sends (seconds). */
export const rateLimited = (retryAfter: number) => ({
  status: 429,
  code: "rate_limited",
  message: "too many attempts; retry later",
  retryAfter,
});

/** A service's failure as the gateway passes it on (its message is never shown). */
export const internalError = { status: 500, code: "internal_error", message: "boom" };

const NAMES = [
  "Ada Lovelace",
  "Alan Turing",
  "Barbara Liskov",
  "Edsger Dijkstra",
  "Frances Allen",
  "John Backus",
  "Katherine Johnson",
  "Ken Thompson",
  "Margaret Hamilton",
  "Radia Perlman",
  "Tim Berners-Lee",
  "Whitfield Diffie",
];

/** `count` profiles for the admin list; every third one deleted when `withDeleted`. */
export function profiles(count: number, withDeleted = false): ProfileRead[] {
  return Array.from({ length: count }, (_, index) =>
    profile({
      id: `00000000-0000-4000-8000-${String(index + 1).padStart(12, "0")}`,
      display_name: NAMES[index % NAMES.length] ?? `User ${index + 1}`,
      bio: null,
      deleted_at: withDeleted && index % 3 === 2 ? "2026-11-20T09:00:00Z" : null,
    }),
  );
}

type Schemas = components["schemas"];
type ProviderView = Schemas["AuthOidcProviderView"];
type IdentityView = Schemas["AuthIdentityView"];
type TwoFactorEnrolmentView = Schemas["AuthTwoFactorEnrolmentView"];
type SecurityEventView = Schemas["AuthSecurityEventView"];

/** The providers the backend is configured with, as `/api/auth/oidc/providers` lists them. */
export const providers = (): ProviderView[] => [
  { name: "google", display_name: "Google" },
  { name: "github", display_name: "GitHub" },
];

/** An identity at a provider linked to the signed-in account. */
export const identity = (overrides: Partial<IdentityView> = {}): IdentityView => ({
  id: "5c0d2b7e-91a4-4f3e-b8d6-0a7c9e1f2b34",
  provider: "google",
  email: "grace@example.com",
  created_at: "2026-06-14T10:15:00Z",
  last_used_at: "2026-11-28T07:50:00Z",
  ...overrides,
});

/** A pending two-factor secret: the key a real authenticator app would accept. */
export const enrolment = (): TwoFactorEnrolmentView => ({
  secret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
  otpauth_uri:
    "otpauth://totp/Nova:grace%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Nova&algorithm=SHA1&digits=6&period=30",
  status: "pending",
});

/** The ten recovery codes answered once when two-factor sign-in is turned on (xxxxx-xxxxx). */
export const recoveryCodes = (): string[] => [
  "3f9a1-c07e2",
  "b84d0-5e6a9",
  "0c7f3-92b1d",
  "e15a8-4d3c0",
  "7b2e9-a06f4",
  "d9c41-83e5b",
  "46f0d-1b9a7",
  "a3e72-f5c08",
  "5d18b-e2a63",
  "c60f4-7d9e1",
];

const EVENT_KINDS = [
  "sign_in",
  "two_factor_enabled",
  "sign_in_with_provider",
  "identity_linked",
  "password_changed",
  // A kind newer than this page: shown as it is spelled.
  "passkey_registered",
  "email_verified",
  "sign_in",
];

/** `count` security-log entries, newest first, an hour apart (some from an unknown client). */
export function securityEvents(count: number): SecurityEventView[] {
  const newest = Date.parse("2026-12-01T09:00:00Z");
  return Array.from({ length: count }, (_, index) => ({
    id: `e0000000-0000-4000-8000-${String(index + 1).padStart(12, "0")}`,
    kind: EVENT_KINDS[index % EVENT_KINDS.length] ?? "sign_in",
    occurred_at: new Date(newest - index * 3_600_000).toISOString(),
    client_address: index % 4 === 3 ? null : `203.0.113.${10 + (index % 7)}`,
    user_agent:
      index % 4 === 3 ? null : "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0",
  }));
}
