import type { Metadata } from "next";
import Link from "next/link";
import { PageHeader } from "@/components/PageHeader.server";
import { Alert, Card } from "@/components/ui";
import { safeNextPath } from "@/lib/next-path";
import { LoginForm } from "./LoginForm.client";
import { ProviderSignIn } from "./ProviderSignIn.client";

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

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export default async function LoginPage({ searchParams }: { searchParams: SearchParams }) {
  const params = await searchParams;
  const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);
  const next = safeNextPath(first(params.next));
  const notice = NOTICES[first(params.reason) ?? ""];
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
          New here? <Link href="/register">Create an account</Link>.
        </p>
      </div>
    </div>
  );
}
