/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment ProfileFields on User {\n    id\n    displayName\n    bio\n    avatarUrl\n    locale\n    timezone\n    createdAt\n    updatedAt\n    deletedAt\n  }\n": typeof types.ProfileFieldsFragmentDoc,
    "\n  query MyProfile {\n    me {\n      ...ProfileFields\n      email\n      emailVerified\n      roles\n      status\n      lastLoginAt\n    }\n  }\n": typeof types.MyProfileDocument,
    "\n  mutation UpdateProfile($input: UpdateProfileInput!) {\n    updateProfile(input: $input) {\n      ...ProfileFields\n    }\n  }\n": typeof types.UpdateProfileDocument,
    "\n  query AdminUsers($first: Int!, $after: String, $search: String, $includeDeleted: Boolean!) {\n    users(first: $first, after: $after, search: $search, includeDeleted: $includeDeleted) {\n      edges {\n        cursor\n        node {\n          ...ProfileFields\n          email\n          roles\n          status\n          lastLoginAt\n          twoFactorEnabled\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.AdminUsersDocument,
    "\n  mutation RestoreUser($id: ID!) {\n    restoreUser(id: $id) {\n      ...ProfileFields\n    }\n  }\n": typeof types.RestoreUserDocument,
    "\n  mutation VerifyEmail($token: String!) {\n    verifyEmail(token: $token)\n  }\n": typeof types.VerifyEmailDocument,
    "\n  mutation ResendVerificationEmail {\n    resendVerificationEmail\n  }\n": typeof types.ResendVerificationEmailDocument,
    "\n  mutation ForgotPassword($email: String!) {\n    forgotPassword(email: $email)\n  }\n": typeof types.ForgotPasswordDocument,
    "\n  mutation ResetPassword($input: ResetPasswordInput!) {\n    resetPassword(input: $input)\n  }\n": typeof types.ResetPasswordDocument,
    "\n  query SecurityOverview {\n    account {\n      id\n      twoFactorEnabled\n      hasPassword\n    }\n    linkedIdentities {\n      id\n      provider\n      email\n      createdAt\n      lastUsedAt\n    }\n    identityProviders {\n      name\n      displayName\n    }\n  }\n": typeof types.SecurityOverviewDocument,
    "\n  query IdentityProviders {\n    identityProviders {\n      name\n      displayName\n    }\n  }\n": typeof types.IdentityProvidersDocument,
    "\n  query SecurityEvents($first: Int!, $after: String) {\n    account {\n      id\n      securityEvents(first: $first, after: $after) {\n        edges {\n          cursor\n          node {\n            id\n            kind\n            occurredAt\n            clientAddress\n            userAgent\n          }\n        }\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n      }\n    }\n  }\n": typeof types.SecurityEventsDocument,
    "\n  mutation EnrollTwoFactor($password: String!) {\n    enrollTwoFactor(password: $password) {\n      secret\n      otpauthUri\n    }\n  }\n": typeof types.EnrollTwoFactorDocument,
    "\n  mutation ConfirmTwoFactor($code: String!) {\n    confirmTwoFactor(code: $code) {\n      recoveryCodes\n    }\n  }\n": typeof types.ConfirmTwoFactorDocument,
    "\n  mutation DisableTwoFactor($input: DisableTwoFactorInput!) {\n    disableTwoFactor(input: $input)\n  }\n": typeof types.DisableTwoFactorDocument,
    "\n  mutation UnlinkIdentity($id: ID!) {\n    unlinkIdentity(id: $id)\n  }\n": typeof types.UnlinkIdentityDocument,
    "\n  mutation ResetTwoFactor($id: ID!) {\n    resetTwoFactor(id: $id)\n  }\n": typeof types.ResetTwoFactorDocument,
    "\n  query AdminAccounts(\n    $first: Int!\n    $after: String\n    $search: String\n    $role: String\n    $status: AccountStatus\n  ) {\n    accounts(first: $first, after: $after, search: $search, role: $role, status: $status) {\n      edges {\n        cursor\n        node {\n          ...ProfileFields\n          email\n          roles\n          status\n          lastLoginAt\n          twoFactorEnabled\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.AdminAccountsDocument,
    "\n  query AdminUser($id: ID!) {\n    user(id: $id, includeDeleted: true) {\n      ...ProfileFields\n      email\n      emailVerified\n      roles\n      status\n      lastLoginAt\n      twoFactorEnabled\n      sessions {\n        id\n        createdAt\n        lastUsedAt\n        expiresAt\n        revokedAt\n        revokedReason\n        clientAddress\n      }\n      securityEvents(first: 20) {\n        edges {\n          node {\n            id\n            kind\n            occurredAt\n            clientAddress\n            userAgent\n            actor\n          }\n        }\n      }\n    }\n  }\n": typeof types.AdminUserDocument,
    "\n  mutation DisableAccount($id: ID!) {\n    disableAccount(id: $id) {\n      id\n      status\n    }\n  }\n": typeof types.DisableAccountDocument,
    "\n  mutation EnableAccount($id: ID!) {\n    enableAccount(id: $id) {\n      id\n      status\n    }\n  }\n": typeof types.EnableAccountDocument,
};
const documents: Documents = {
    "\n  fragment ProfileFields on User {\n    id\n    displayName\n    bio\n    avatarUrl\n    locale\n    timezone\n    createdAt\n    updatedAt\n    deletedAt\n  }\n": types.ProfileFieldsFragmentDoc,
    "\n  query MyProfile {\n    me {\n      ...ProfileFields\n      email\n      emailVerified\n      roles\n      status\n      lastLoginAt\n    }\n  }\n": types.MyProfileDocument,
    "\n  mutation UpdateProfile($input: UpdateProfileInput!) {\n    updateProfile(input: $input) {\n      ...ProfileFields\n    }\n  }\n": types.UpdateProfileDocument,
    "\n  query AdminUsers($first: Int!, $after: String, $search: String, $includeDeleted: Boolean!) {\n    users(first: $first, after: $after, search: $search, includeDeleted: $includeDeleted) {\n      edges {\n        cursor\n        node {\n          ...ProfileFields\n          email\n          roles\n          status\n          lastLoginAt\n          twoFactorEnabled\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.AdminUsersDocument,
    "\n  mutation RestoreUser($id: ID!) {\n    restoreUser(id: $id) {\n      ...ProfileFields\n    }\n  }\n": types.RestoreUserDocument,
    "\n  mutation VerifyEmail($token: String!) {\n    verifyEmail(token: $token)\n  }\n": types.VerifyEmailDocument,
    "\n  mutation ResendVerificationEmail {\n    resendVerificationEmail\n  }\n": types.ResendVerificationEmailDocument,
    "\n  mutation ForgotPassword($email: String!) {\n    forgotPassword(email: $email)\n  }\n": types.ForgotPasswordDocument,
    "\n  mutation ResetPassword($input: ResetPasswordInput!) {\n    resetPassword(input: $input)\n  }\n": types.ResetPasswordDocument,
    "\n  query SecurityOverview {\n    account {\n      id\n      twoFactorEnabled\n      hasPassword\n    }\n    linkedIdentities {\n      id\n      provider\n      email\n      createdAt\n      lastUsedAt\n    }\n    identityProviders {\n      name\n      displayName\n    }\n  }\n": types.SecurityOverviewDocument,
    "\n  query IdentityProviders {\n    identityProviders {\n      name\n      displayName\n    }\n  }\n": types.IdentityProvidersDocument,
    "\n  query SecurityEvents($first: Int!, $after: String) {\n    account {\n      id\n      securityEvents(first: $first, after: $after) {\n        edges {\n          cursor\n          node {\n            id\n            kind\n            occurredAt\n            clientAddress\n            userAgent\n          }\n        }\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n      }\n    }\n  }\n": types.SecurityEventsDocument,
    "\n  mutation EnrollTwoFactor($password: String!) {\n    enrollTwoFactor(password: $password) {\n      secret\n      otpauthUri\n    }\n  }\n": types.EnrollTwoFactorDocument,
    "\n  mutation ConfirmTwoFactor($code: String!) {\n    confirmTwoFactor(code: $code) {\n      recoveryCodes\n    }\n  }\n": types.ConfirmTwoFactorDocument,
    "\n  mutation DisableTwoFactor($input: DisableTwoFactorInput!) {\n    disableTwoFactor(input: $input)\n  }\n": types.DisableTwoFactorDocument,
    "\n  mutation UnlinkIdentity($id: ID!) {\n    unlinkIdentity(id: $id)\n  }\n": types.UnlinkIdentityDocument,
    "\n  mutation ResetTwoFactor($id: ID!) {\n    resetTwoFactor(id: $id)\n  }\n": types.ResetTwoFactorDocument,
    "\n  query AdminAccounts(\n    $first: Int!\n    $after: String\n    $search: String\n    $role: String\n    $status: AccountStatus\n  ) {\n    accounts(first: $first, after: $after, search: $search, role: $role, status: $status) {\n      edges {\n        cursor\n        node {\n          ...ProfileFields\n          email\n          roles\n          status\n          lastLoginAt\n          twoFactorEnabled\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.AdminAccountsDocument,
    "\n  query AdminUser($id: ID!) {\n    user(id: $id, includeDeleted: true) {\n      ...ProfileFields\n      email\n      emailVerified\n      roles\n      status\n      lastLoginAt\n      twoFactorEnabled\n      sessions {\n        id\n        createdAt\n        lastUsedAt\n        expiresAt\n        revokedAt\n        revokedReason\n        clientAddress\n      }\n      securityEvents(first: 20) {\n        edges {\n          node {\n            id\n            kind\n            occurredAt\n            clientAddress\n            userAgent\n            actor\n          }\n        }\n      }\n    }\n  }\n": types.AdminUserDocument,
    "\n  mutation DisableAccount($id: ID!) {\n    disableAccount(id: $id) {\n      id\n      status\n    }\n  }\n": types.DisableAccountDocument,
    "\n  mutation EnableAccount($id: ID!) {\n    enableAccount(id: $id) {\n      id\n      status\n    }\n  }\n": types.EnableAccountDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ProfileFields on User {\n    id\n    displayName\n    bio\n    avatarUrl\n    locale\n    timezone\n    createdAt\n    updatedAt\n    deletedAt\n  }\n"): (typeof documents)["\n  fragment ProfileFields on User {\n    id\n    displayName\n    bio\n    avatarUrl\n    locale\n    timezone\n    createdAt\n    updatedAt\n    deletedAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query MyProfile {\n    me {\n      ...ProfileFields\n      email\n      emailVerified\n      roles\n      status\n      lastLoginAt\n    }\n  }\n"): (typeof documents)["\n  query MyProfile {\n    me {\n      ...ProfileFields\n      email\n      emailVerified\n      roles\n      status\n      lastLoginAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateProfile($input: UpdateProfileInput!) {\n    updateProfile(input: $input) {\n      ...ProfileFields\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateProfile($input: UpdateProfileInput!) {\n    updateProfile(input: $input) {\n      ...ProfileFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AdminUsers($first: Int!, $after: String, $search: String, $includeDeleted: Boolean!) {\n    users(first: $first, after: $after, search: $search, includeDeleted: $includeDeleted) {\n      edges {\n        cursor\n        node {\n          ...ProfileFields\n          email\n          roles\n          status\n          lastLoginAt\n          twoFactorEnabled\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query AdminUsers($first: Int!, $after: String, $search: String, $includeDeleted: Boolean!) {\n    users(first: $first, after: $after, search: $search, includeDeleted: $includeDeleted) {\n      edges {\n        cursor\n        node {\n          ...ProfileFields\n          email\n          roles\n          status\n          lastLoginAt\n          twoFactorEnabled\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RestoreUser($id: ID!) {\n    restoreUser(id: $id) {\n      ...ProfileFields\n    }\n  }\n"): (typeof documents)["\n  mutation RestoreUser($id: ID!) {\n    restoreUser(id: $id) {\n      ...ProfileFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation VerifyEmail($token: String!) {\n    verifyEmail(token: $token)\n  }\n"): (typeof documents)["\n  mutation VerifyEmail($token: String!) {\n    verifyEmail(token: $token)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ResendVerificationEmail {\n    resendVerificationEmail\n  }\n"): (typeof documents)["\n  mutation ResendVerificationEmail {\n    resendVerificationEmail\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ForgotPassword($email: String!) {\n    forgotPassword(email: $email)\n  }\n"): (typeof documents)["\n  mutation ForgotPassword($email: String!) {\n    forgotPassword(email: $email)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ResetPassword($input: ResetPasswordInput!) {\n    resetPassword(input: $input)\n  }\n"): (typeof documents)["\n  mutation ResetPassword($input: ResetPasswordInput!) {\n    resetPassword(input: $input)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SecurityOverview {\n    account {\n      id\n      twoFactorEnabled\n      hasPassword\n    }\n    linkedIdentities {\n      id\n      provider\n      email\n      createdAt\n      lastUsedAt\n    }\n    identityProviders {\n      name\n      displayName\n    }\n  }\n"): (typeof documents)["\n  query SecurityOverview {\n    account {\n      id\n      twoFactorEnabled\n      hasPassword\n    }\n    linkedIdentities {\n      id\n      provider\n      email\n      createdAt\n      lastUsedAt\n    }\n    identityProviders {\n      name\n      displayName\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query IdentityProviders {\n    identityProviders {\n      name\n      displayName\n    }\n  }\n"): (typeof documents)["\n  query IdentityProviders {\n    identityProviders {\n      name\n      displayName\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SecurityEvents($first: Int!, $after: String) {\n    account {\n      id\n      securityEvents(first: $first, after: $after) {\n        edges {\n          cursor\n          node {\n            id\n            kind\n            occurredAt\n            clientAddress\n            userAgent\n          }\n        }\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query SecurityEvents($first: Int!, $after: String) {\n    account {\n      id\n      securityEvents(first: $first, after: $after) {\n        edges {\n          cursor\n          node {\n            id\n            kind\n            occurredAt\n            clientAddress\n            userAgent\n          }\n        }\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation EnrollTwoFactor($password: String!) {\n    enrollTwoFactor(password: $password) {\n      secret\n      otpauthUri\n    }\n  }\n"): (typeof documents)["\n  mutation EnrollTwoFactor($password: String!) {\n    enrollTwoFactor(password: $password) {\n      secret\n      otpauthUri\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConfirmTwoFactor($code: String!) {\n    confirmTwoFactor(code: $code) {\n      recoveryCodes\n    }\n  }\n"): (typeof documents)["\n  mutation ConfirmTwoFactor($code: String!) {\n    confirmTwoFactor(code: $code) {\n      recoveryCodes\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DisableTwoFactor($input: DisableTwoFactorInput!) {\n    disableTwoFactor(input: $input)\n  }\n"): (typeof documents)["\n  mutation DisableTwoFactor($input: DisableTwoFactorInput!) {\n    disableTwoFactor(input: $input)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UnlinkIdentity($id: ID!) {\n    unlinkIdentity(id: $id)\n  }\n"): (typeof documents)["\n  mutation UnlinkIdentity($id: ID!) {\n    unlinkIdentity(id: $id)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ResetTwoFactor($id: ID!) {\n    resetTwoFactor(id: $id)\n  }\n"): (typeof documents)["\n  mutation ResetTwoFactor($id: ID!) {\n    resetTwoFactor(id: $id)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AdminAccounts(\n    $first: Int!\n    $after: String\n    $search: String\n    $role: String\n    $status: AccountStatus\n  ) {\n    accounts(first: $first, after: $after, search: $search, role: $role, status: $status) {\n      edges {\n        cursor\n        node {\n          ...ProfileFields\n          email\n          roles\n          status\n          lastLoginAt\n          twoFactorEnabled\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query AdminAccounts(\n    $first: Int!\n    $after: String\n    $search: String\n    $role: String\n    $status: AccountStatus\n  ) {\n    accounts(first: $first, after: $after, search: $search, role: $role, status: $status) {\n      edges {\n        cursor\n        node {\n          ...ProfileFields\n          email\n          roles\n          status\n          lastLoginAt\n          twoFactorEnabled\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AdminUser($id: ID!) {\n    user(id: $id, includeDeleted: true) {\n      ...ProfileFields\n      email\n      emailVerified\n      roles\n      status\n      lastLoginAt\n      twoFactorEnabled\n      sessions {\n        id\n        createdAt\n        lastUsedAt\n        expiresAt\n        revokedAt\n        revokedReason\n        clientAddress\n      }\n      securityEvents(first: 20) {\n        edges {\n          node {\n            id\n            kind\n            occurredAt\n            clientAddress\n            userAgent\n            actor\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query AdminUser($id: ID!) {\n    user(id: $id, includeDeleted: true) {\n      ...ProfileFields\n      email\n      emailVerified\n      roles\n      status\n      lastLoginAt\n      twoFactorEnabled\n      sessions {\n        id\n        createdAt\n        lastUsedAt\n        expiresAt\n        revokedAt\n        revokedReason\n        clientAddress\n      }\n      securityEvents(first: 20) {\n        edges {\n          node {\n            id\n            kind\n            occurredAt\n            clientAddress\n            userAgent\n            actor\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DisableAccount($id: ID!) {\n    disableAccount(id: $id) {\n      id\n      status\n    }\n  }\n"): (typeof documents)["\n  mutation DisableAccount($id: ID!) {\n    disableAccount(id: $id) {\n      id\n      status\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation EnableAccount($id: ID!) {\n    enableAccount(id: $id) {\n      id\n      status\n    }\n  }\n"): (typeof documents)["\n  mutation EnableAccount($id: ID!) {\n    enableAccount(id: $id) {\n      id\n      status\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;