/** The people and answers the stories show, typed by the gateway's own schemas. */

import type { AccountView, ProfileRead } from "@/lib/rest";

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
