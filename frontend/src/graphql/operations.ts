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
