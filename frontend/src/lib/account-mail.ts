"use client";

/**
 * The account steps that go through the mailbox: verify the address with the mailed link, ask
 * for a new verification mail, ask for a password-reset link and set a new password with it.
 * Each works over GraphQL or REST, as `useDataSource()` says, and fails with an `ApiError`
 * carrying the service's code (`invalid_token`, `weak_password`, `rate_limited`, …) either way.
 */

import { useMutation } from "@apollo/client/react";
import { useCallback } from "react";
import {
  ForgotPasswordMutation,
  ResendVerificationEmailMutation,
  ResetPasswordMutation,
  VerifyEmailMutation,
} from "@/graphql/operations";
import { apolloError } from "./apollo";
import { useDataSource } from "./data-source";
import { ApiError } from "./errors";
import { authApi } from "./rest";

/** A mutation answering `Boolean`: anything but `true` without an error is a server fault. */
async function confirmed(run: () => Promise<{ data?: Record<string, unknown> | null }>) {
  let result: { data?: Record<string, unknown> | null };
  try {
    result = await run();
  } catch (error) {
    throw apolloError(error);
  }
  if (!Object.values(result.data ?? {}).includes(true)) {
    throw new ApiError("The server answered without data.", { code: "server_error", status: 200 });
  }
}

export function useVerifyEmail(): (token: string) => Promise<void> {
  const [source] = useDataSource();
  const [mutate] = useMutation(VerifyEmailMutation);
  return useCallback(
    async (token: string) => {
      if (source === "rest") return authApi.verifyEmail(token);
      await confirmed(() => mutate({ variables: { token } }));
    },
    [source, mutate],
  );
}

export function useResendVerification(): () => Promise<void> {
  const [source] = useDataSource();
  const [mutate] = useMutation(ResendVerificationEmailMutation);
  return useCallback(async () => {
    if (source === "rest") return authApi.resendVerification();
    await confirmed(() => mutate());
  }, [source, mutate]);
}

export function useForgotPassword(): (email: string) => Promise<void> {
  const [source] = useDataSource();
  const [mutate] = useMutation(ForgotPasswordMutation);
  return useCallback(
    async (email: string) => {
      if (source === "rest") return authApi.forgotPassword(email);
      await confirmed(() => mutate({ variables: { email } }));
    },
    [source, mutate],
  );
}

export function useResetPassword(): (token: string, password: string) => Promise<void> {
  const [source] = useDataSource();
  const [mutate] = useMutation(ResetPasswordMutation);
  return useCallback(
    async (token: string, password: string) => {
      if (source === "rest") return authApi.resetPassword({ token, password });
      await confirmed(() => mutate({ variables: { input: { token, password } } }));
    },
    [source, mutate],
  );
}

/** A link's token was refused: unknown, used, expired, replaced by a newer one, or malformed. */
export function isInvalidLink(error: unknown): boolean {
  return (
    error instanceof ApiError &&
    (error.code === "invalid_token" || Boolean(error.fieldErrors.token))
  );
}

/** "in about 3 minutes" for a `Retry-After`, or "later" when the server did not say. */
export function retryWhen(error: unknown): string {
  const after = error instanceof ApiError ? error.retryAfter : undefined;
  if (after === undefined) return "later";
  if (after <= 60) return "in about a minute";
  const minutes = Math.ceil(after / 60);
  if (minutes < 60) return `in about ${minutes} minutes`;
  const hours = Math.ceil(minutes / 60);
  return hours === 1 ? "in about an hour" : `in about ${hours} hours`;
}
