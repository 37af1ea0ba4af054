"use client";

import Link from "next/link";
import { useEffect, useRef, useState } from "react";
import { Alert, Button, ButtonLink, Form, FormError } from "@/components/ui";
import { isInvalidLink, useResetPassword } from "@/lib/account-mail";
import { blameField } from "@/lib/errors";
import { useForm } from "@/lib/form";
import { useSession } from "@/lib/session";
import { checkNewPassword, checkRepeated } from "@/lib/validation";
import { NewPasswordFields } from "./NewPasswordFields";

/**
 * A new password with the reset link's token. The service checks it as it checks a new
 * account's (length, common and breached passwords, the address itself) before it spends the
 * token, so a refused password leaves the link usable. A reset ends every session of the
 * account, this browser's included.
 */
export function ResetPasswordForm({ token }: { token: string | null }) {
  const resetPassword = useResetPassword();
  const session = useSession();
  const [state, setState] = useState<"form" | "done" | "invalid">(token ? "form" : "invalid");
  const resultRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (state !== "form") resultRef.current?.focus();
  }, [state]);

  const form = useForm({
    initial: { password: "", confirm: "" },
    validate: (values) => ({
      password: checkNewPassword(values.password) ?? undefined,
      confirm: checkRepeated(values.confirm, values.password) ?? undefined,
    }),
    submit: async (values) => {
      if (!token) return;
      try {
        await resetPassword(token, values.password);
      } catch (error) {
        if (isInvalidLink(error)) {
          setState("invalid");
          return;
        }
        throw blameField(error, { weak_password: "password" });
      }
      // Every session of the account ended, a session in this browser too.
      if (session.status === "authenticated") await session.ended("password-changed");
      setState("done");
    },
  });

  if (state === "done") {
    return (
      <div ref={resultRef} tabIndex={-1} className="stack">
        <Alert tone="success" title="Your password was changed">
          Every session of your account was logged out. Log in with the new password.
        </Alert>
        <div>
          <ButtonLink href="/login">Log in</ButtonLink>
        </div>
      </div>
    );
  }
  if (state === "invalid") {
    return (
      <div ref={resultRef} tabIndex={-1} className="stack">
        <Alert tone="error" title="This reset link does not work">
          {token
            ? "It was already used, has expired, or a newer e-mail replaced it."
            : "The link is incomplete. Open it from the e-mail again, or copy the whole address."}
        </Alert>
        <p style={{ margin: 0 }}>
          <Link href="/forgot-password">Ask for a new link</Link>: it works for a short time, once.
        </p>
      </div>
    );
  }
  return (
    <Form
      ref={form.formRef}
      onSubmit={form.onSubmit}
      className="stack"
      aria-label="Choose a new password"
    >
      <FormError ref={form.errorRef} message={form.formError} title="Could not set the password" />
      <NewPasswordFields form={form} name="password" repeat="confirm" />
      <div>
        <Button type="submit" busy={form.submitting}>
          Set the new password
        </Button>
      </div>
    </Form>
  );
}
