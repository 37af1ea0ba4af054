import type { Metadata } from "next";
import Link from "next/link";
import { PageHeader } from "@/components/PageHeader.server";
import { Card } from "@/components/ui";
import { ForgotPasswordForm } from "@/features/auth/ForgotPasswordForm.client";

export const metadata: Metadata = { title: "Forgot your password?" };

export default function ForgotPasswordPage() {
  return (
    <div className="page-narrow" style={{ margin: "0 auto" }}>
      <PageHeader
        title="Forgot your password?"
        lead="Enter the address of your account: we send it a link to choose a new password."
      />
      <div className="stack">
        <Card>
          <ForgotPasswordForm />
        </Card>
        <p>
          Remembered it? <Link href="/login">Log in</Link>.
        </p>
      </div>
    </div>
  );
}
