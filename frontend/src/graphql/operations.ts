/** Every GraphQL operation of the app; `npm run codegen` types them from the API schema. */

import { graphql } from "@/gql";

export const ProfileFieldsFragment = graphql(`
  fragment ProfileFields on User {
    id
    displayName
    bio
    avatarUrl
    locale
    timezone
    createdAt
    updatedAt
    deletedAt
  }
`);

export const MyProfileQuery = graphql(`
  query MyProfile {
    me {
      ...ProfileFields
      email
      emailVerified
      roles
      status
      lastLoginAt
    }
  }
`);

export const UpdateProfileMutation = graphql(`
  mutation UpdateProfile($input: UpdateProfileInput!) {
    updateProfile(input: $input) {
      ...ProfileFields
    }
  }
`);

export const AdminUsersQuery = graphql(`
  query AdminUsers($first: Int!, $after: String, $search: String, $includeDeleted: Boolean!) {
    users(first: $first, after: $after, search: $search, includeDeleted: $includeDeleted) {
      edges {
        cursor
        node {
          ...ProfileFields
          email
          roles
          status
          lastLoginAt
          twoFactorEnabled
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const RestoreUserMutation = graphql(`
  mutation RestoreUser($id: ID!) {
    restoreUser(id: $id) {
      ...ProfileFields
    }
  }
`);

export const VerifyEmailMutation = graphql(`
  mutation VerifyEmail($token: String!) {
    verifyEmail(token: $token)
  }
`);

export const ResendVerificationEmailMutation = graphql(`
  mutation ResendVerificationEmail {
    resendVerificationEmail
  }
`);

export const ForgotPasswordMutation = graphql(`
  mutation ForgotPassword($email: String!) {
    forgotPassword(email: $email)
  }
`);

export const ResetPasswordMutation = graphql(`
  mutation ResetPassword($input: ResetPasswordInput!) {
    resetPassword(input: $input)
  }
`);

/* Security settings: the second factor, linked identities, the activity log. */

export const SecurityOverviewQuery = graphql(`
  query SecurityOverview {
    account {
      id
      twoFactorEnabled
      hasPassword
    }
    linkedIdentities {
      id
      provider
      email
      createdAt
      lastUsedAt
    }
    identityProviders {
      name
      displayName
    }
  }
`);

export const IdentityProvidersQuery = graphql(`
  query IdentityProviders {
    identityProviders {
      name
      displayName
    }
  }
`);

export const SecurityEventsQuery = graphql(`
  query SecurityEvents($first: Int!, $after: String) {
    account {
      id
      securityEvents(first: $first, after: $after) {
        edges {
          cursor
          node {
            id
            kind
            occurredAt
            clientAddress
            userAgent
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`);

export const EnrollTwoFactorMutation = graphql(`
  mutation EnrollTwoFactor($password: String!) {
    enrollTwoFactor(password: $password) {
      secret
      otpauthUri
    }
  }
`);

export const ConfirmTwoFactorMutation = graphql(`
  mutation ConfirmTwoFactor($code: String!) {
    confirmTwoFactor(code: $code) {
      recoveryCodes
    }
  }
`);

export const DisableTwoFactorMutation = graphql(`
  mutation DisableTwoFactor($input: DisableTwoFactorInput!) {
    disableTwoFactor(input: $input)
  }
`);

export const UnlinkIdentityMutation = graphql(`
  mutation UnlinkIdentity($id: ID!) {
    unlinkIdentity(id: $id)
  }
`);

export const ResetTwoFactorMutation = graphql(`
  mutation ResetTwoFactor($id: ID!) {
    resetTwoFactor(id: $id)
  }
`);

export const AdminAccountsQuery = graphql(`
  query AdminAccounts(
    $first: Int!
    $after: String
    $search: String
    $role: String
    $status: AccountStatus
  ) {
    accounts(first: $first, after: $after, search: $search, role: $role, status: $status) {
      edges {
        cursor
        node {
          ...ProfileFields
          email
          roles
          status
          lastLoginAt
          twoFactorEnabled
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const AdminUserQuery = graphql(`
  query AdminUser($id: ID!) {
    user(id: $id, includeDeleted: true) {
      ...ProfileFields
      email
      emailVerified
      roles
      status
      lastLoginAt
      twoFactorEnabled
      sessions {
        id
        createdAt
        lastUsedAt
        expiresAt
        revokedAt
        revokedReason
        clientAddress
      }
      securityEvents(first: 20) {
        edges {
          node {
            id
            kind
            occurredAt
            clientAddress
            userAgent
            actor
          }
        }
      }
    }
  }
`);

export const DisableAccountMutation = graphql(`
  mutation DisableAccount($id: ID!) {
    disableAccount(id: $id) {
      id
      status
    }
  }
`);

export const EnableAccountMutation = graphql(`
  mutation EnableAccount($id: ID!) {
    enableAccount(id: $id) {
      id
      status
    }
  }
`);
