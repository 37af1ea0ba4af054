"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { Button, Form, FormError, PasswordField, TextField } from "@/components/ui";
import { ApiError } from "@/lib/errors";
import { useForm } from "@/lib/form";
import { authApi, type SessionResponse } from "@/lib/rest";
import { useSession } from "@/lib/session";
import { checkEmail, checkRequired } from "@/lib/validation";

/** The second step's challenge: the password step's token, or none after a provider sign-in
 * (the gateway holds that challenge in an httpOnly cookie and adds it to the request). */
interface Challenge {
  mfaToken: string | null;
  email: string | null;
}

export function LoginForm({ next, twoFactor = false }: { next: string; twoFactor?: boolean }) {
  const router = useRouter();
  const session = useSession();
  const [challenge, setChallenge] = useState<Challenge | null>(
    twoFactor ? { mfaToken: null, email: null } : null,
  );
  const done = (response: SessionResponse) => {
    session.signedIn(response);
    router.replace(next);
  };
  // Already signed in (another tab, or a bookmark): nothing to do here.
  const signedIn = session.status === "authenticated";
  useEffect(() => {
    if (signedIn) router.replace(next);
  }, [signedIn, router, next]);

  if (challenge) {
    return (
      <SecondFactorForm
        challenge={challenge}
        onSignedIn={done}
        onRestart={() => setChallenge(null)}
      />
    );
  }
  return (
    <PasswordStep
      onSignedIn={done}
      onChallenge={(mfaToken, email) => setChallenge({ mfaToken, email })}
    />
  );
}

function PasswordStep({
  onSignedIn,
  onChallenge,
}: {
  onSignedIn: (response: SessionResponse) => void;
  onChallenge: (mfaToken: string, email: string) => void;
}) {
  const [unverified, setUnverified] = useState(false);
  const form = useForm({
    initial: { email: "", password: "" },
    validate: (values) => ({
      email: checkEmail(values.email) ?? undefined,
      password: checkRequired(values.password, "Enter your password.") ?? undefined,
    }),
    submit: async (values) => {
      const email = values.email.trim();
      setUnverified(false);
      const result = await authApi
        .login({ email, password: values.password })
        .catch((error: unknown) => {
          if (error instanceof ApiError && error.code === "email_not_verified") {
            setUnverified(true);
            throw new ApiError("Your e-mail address is not verified yet.", error);
          }
          throw error;
        });
      if (result.kind === "two-factor") onChallenge(result.mfaToken, email);
      else onSignedIn(result.session);
    },
  });
  return (
    <Form ref={form.formRef} onSubmit={form.onSubmit} className="stack" aria-label="Log in">
      <FormError ref={form.errorRef} message={form.formError} title="Could not log in" />
      {unverified ? <UnverifiedEmail /> : null}
      <TextField
        form={form}
        name="email"
        label="E-mail address"
        required
        type="email"
        autoComplete="username"
        inputMode="email"
      />
      <PasswordField
        form={form}
        name="password"
        label="Password"
        required
        autoComplete="current-password"
      />
      <div>
        <Button type="submit" busy={form.submitting}>
          Log in
        </Button>
      </div>
    </Form>
  );
}

/** The second step of a two-factor account: a code from the authenticator app, or one of the
 * recovery codes. The challenge is short-lived; an expired one sends the user back to the
 * password step. */
function SecondFactorForm({
  challenge,
  onSignedIn,
  onRestart,
}: {
  challenge: Challenge;
  onSignedIn: (response: SessionResponse) => void;
  onRestart: () => void;
}) {
  const [recovery, setRecovery] = useState(false);
  const [expired, setExpired] = useState(false);
  const form = useForm({
    initial: { code: "" },
    validate: (values) => ({
      code:
        checkRequired(
          values.code,
          recovery ? "Enter one of your recovery codes." : "Enter the 6-digit code.",
        ) ?? undefined,
    }),
    submit: async (values) => {
      const code = values.code.replace(/\s+/g, "");
      try {
        const token = challenge.mfaToken === null ? {} : { mfa_token: challenge.mfaToken };
        const response = await authApi.loginTwoFactor(
          recovery ? { ...token, recovery_code: code } : { ...token, code },
        );
        onSignedIn(response);
      } catch (error) {
        // The challenge is short-lived and single-use: a new one needs the password again.
        if (error instanceof ApiError && error.code === "mfa_token_invalid") setExpired(true);
        throw error;
      }
    },
  });
  return (
    <Form
      ref={form.formRef}
      onSubmit={form.onSubmit}
      className="stack"
      aria-label="Two-factor sign-in"
    >
      <p>
        {recovery
          ? `Enter one of the recovery codes you saved for ${challenge.email ?? "your account"}. Each works once.`
          : `Enter the code your authenticator app shows for ${challenge.email ?? "your account"}.`}
      </p>
      <FormError ref={form.errorRef} message={form.formError} title="Could not sign in" />
      <TextField
        form={form}
        name="code"
        label={recovery ? "Recovery code" : "Authentication code"}
        required
        autoComplete="one-time-code"
        inputMode={recovery ? "text" : "numeric"}
      />
      <div className="row">
        <Button type="submit" busy={form.submitting}>
          Sign in
        </Button>
        <Button type="button" variant="secondary" onClick={() => setRecovery(!recovery)}>
          {recovery ? "Use the authenticator app" : "Use a recovery code"}
        </Button>
        {expired ? (
          <Button type="button" variant="secondary" onClick={onRestart}>
            Start again
          </Button>
        ) : null}
      </div>
    </Form>
  );
}

/** A login refused until the address is verified. A new verification mail needs a session,
 * so the way out without one is the reset mail, which proves the address as well. */
function UnverifiedEmail() {
  return (
    <p style={{ margin: 0 }}>
      Open the link in the verification e-mail we sent to this address, then log in. Cannot find it?{" "}
      <Link href="/forgot-password">Reset your password</Link>: the reset e-mail verifies the
      address too.
    </p>
  );
}
