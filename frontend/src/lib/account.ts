/** The signed-in account and the profile, one shape whichever API answered. */

import type { AccountStatus as GraphQLAccountStatus, ProfileFieldsFragment } from "@/gql/graphql";
import type { AccountStatus, AccountView, ProfilePatch, ProfileRead } from "./rest";

export interface Account {
  id: string;
  email: string;
  emailVerified: boolean;
  roles: string[];
  status: AccountStatus;
  createdAt: string | null;
  lastLoginAt: string | null;
}

export interface UserProfile {
  id: string;
  displayName: string;
  bio: string | null;
  avatarUrl: string | null;
  locale: string | null;
  timezone: string | null;
  createdAt: string | null;
  updatedAt: string | null;
  deletedAt: string | null;
  /** Account fields: GraphQL merges them in; over REST only for the caller's own profile. */
  email: string | null;
  /** Whether the address is verified; null when the answer did not say (other users' lists). */
  emailVerified: boolean | null;
  roles: string[] | null;
  status: AccountStatus | null;
  lastLoginAt: string | null;
  /** Whether sign-in asks for a second factor: GraphQL tells administrators; REST: null. */
  twoFactorEnabled?: boolean | null;
}

/** The profile fields a user edits (camelCase, GraphQL's `UpdateProfileInput`). */
export interface ProfileChanges {
  displayName?: string;
  bio?: string | null;
  avatarUrl?: string | null;
  locale?: string | null;
  timezone?: string | null;
}

export const isAdmin = (roles: readonly string[] | null | undefined) =>
  (roles ?? []).includes("admin");

export function accountFromRest(view: AccountView): Account {
  return {
    id: view.id,
    email: view.email,
    emailVerified: view.email_verified,
    roles: view.roles,
    status: view.status,
    createdAt: view.created_at,
    lastLoginAt: view.last_login_at,
  };
}

export function profileFromRest(profile: ProfileRead, account?: AccountView | null): UserProfile {
  return {
    id: profile.id,
    displayName: profile.display_name,
    bio: profile.bio,
    avatarUrl: profile.avatar_url,
    locale: profile.locale,
    timezone: profile.timezone,
    createdAt: account?.created_at ?? profile.created_at,
    updatedAt: profile.updated_at,
    deletedAt: profile.deleted_at ?? null,
    email: account?.email ?? null,
    emailVerified: account?.email_verified ?? null,
    roles: account?.roles ?? null,
    status: account?.status ?? null,
    lastLoginAt: account?.last_login_at ?? null,
  };
}

type GraphQLUser = ProfileFieldsFragment & {
  email?: string | null;
  emailVerified?: boolean | null;
  roles?: string[] | null;
  status?: GraphQLAccountStatus | null;
  lastLoginAt?: string | null;
  twoFactorEnabled?: boolean | null;
};

const STATUS: Record<GraphQLAccountStatus, AccountStatus> = {
  ACTIVE: "active",
  DISABLED: "disabled",
  DELETED: "deleted",
};

export function profileFromGraphQL(user: GraphQLUser): UserProfile {
  return {
    id: user.id,
    displayName: user.displayName,
    bio: user.bio ?? null,
    avatarUrl: user.avatarUrl ?? null,
    locale: user.locale ?? null,
    timezone: user.timezone ?? null,
    createdAt: user.createdAt ?? null,
    updatedAt: user.updatedAt ?? null,
    deletedAt: user.deletedAt ?? null,
    email: user.email ?? null,
    emailVerified: user.emailVerified ?? null,
    roles: user.roles ?? null,
    status: user.status ? STATUS[user.status] : null,
    lastLoginAt: user.lastLoginAt ?? null,
    twoFactorEnabled: user.twoFactorEnabled ?? null,
  };
}

/** camelCase changes → the REST PATCH body (snake_case). */
export function profilePatch(changes: ProfileChanges): ProfilePatch {
  const patch: ProfilePatch = {};
  if (changes.displayName !== undefined) patch.display_name = changes.displayName;
  if (changes.bio !== undefined) patch.bio = changes.bio;
  if (changes.avatarUrl !== undefined) patch.avatar_url = changes.avatarUrl;
  if (changes.locale !== undefined) patch.locale = changes.locale;
  if (changes.timezone !== undefined) patch.timezone = changes.timezone;
  return patch;
}
