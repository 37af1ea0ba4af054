import type { Metadata } from "next";
import Link from "next/link";
import { PageHeader } from "@/components/PageHeader.server";
import { Alert, Card } from "@/components/ui";
import { LoginForm } from "@/features/auth/LoginForm.client";
import { ProviderSignIn } from "@/features/auth/ProviderSignIn.client";
import { safeNextPath } from "@/lib/next-path";

export const metadata: Metadata = { title: "Log in" };

const NOTICES: Record<string, { tone: "info" | "success" | "warning"; text: string }> = {
  expired: { tone: "warning", text: "Your session has ended. Log in again to continue." },
  "signed-out": { tone: "success", text: "You are logged out." },
  "password-changed": {
    tone: "success",
    text: "Your password was changed and your other sessions ended. Log in with the new password.",
  },
  deleted: { tone: "success", text: "Your account was deleted." },
  registered: {
    tone: "info",
    text: "Check your inbox: we sent an e-mail to that address. If it already has an account, log in with it or reset its password.",
  },
};

/** Why a sign-in with a provider was refused (the gateway sends `?error=<auth's code>`). */
const PROVIDER_ERRORS: Record<string, string> = {
  oidc_account_exists:
    "An account already uses this e-mail address. Log in with its password, then link the provider under Security.",
  oidc_email_unverified:
    "The provider has not verified this e-mail address. Verify it there, or create an account with a password.",
  oidc_email_missing:
    "The provider did not share an e-mail address. Allow it there, or log in here.",
  oidc_denied: "The sign-in was cancelled at the provider.",
  oidc_state_invalid:
    "That sign-in expired, was already used, or was started in another browser. Try again.",
  identity_in_use: "That provider identity already signs in to another account.",
  account_inactive: "This account is not active.",
};
const PROVIDER_ERROR =
  "Signing in with the provider did not work. Try again, or log in with your password.";

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export default async function LoginPage({ searchParams }: { searchParams: SearchParams }) {
  const params = await searchParams;
  const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);
  const next = safeNextPath(first(params.next));
  const error = first(params.error);
  const notice = error
    ? { tone: "warning" as const, text: PROVIDER_ERRORS[error] ?? PROVIDER_ERROR }
    : NOTICES[first(params.reason) ?? ""];
  return (
    <div className="page-narrow" style={{ margin: "0 auto" }}>
      <PageHeader title="Log in" lead="Welcome back." />
      <div className="stack">
        {notice ? <Alert tone={notice.tone}>{notice.text}</Alert> : null}
        <Card>
          <LoginForm next={next} twoFactor={first(params.step) === "two-factor"} />
        </Card>
        <ProviderSignIn next={next} />
        <p>
          <Link href="/forgot-password">Forgot your password?</Link>
        </p>
        <p>
          New here? <Link href="/register">Create an account</Link>.
        </p>
      </div>
    </div>
  );
}
