"use client";

import { useEffect, useRef, useState } from "react";
import { Alert, Button, Form, FormError, TextField } from "@/components/ui";
import { retryWhen, useForgotPassword } from "@/lib/account-mail";
import { ApiError, blameField } from "@/lib/errors";
import { useForm } from "@/lib/form";
import { checkEmail } from "@/lib/validation";

/**
 * Asks for a reset link. The answer is the same whether or not the address has an account
 * (nothing tells who is registered), and so is what this form says.
 */
export function ForgotPasswordForm() {
  const forgotPassword = useForgotPassword();
  const [sentTo, setSentTo] = useState<string | null>(null);
  const sentRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (sentTo) sentRef.current?.focus();
  }, [sentTo]);

  const form = useForm({
    initial: { email: "" },
    validate: (values) => ({ email: checkEmail(values.email) ?? undefined }),
    submit: async (values) => {
      const email = values.email.trim();
      setSentTo(null);
      try {
        await forgotPassword(email);
      } catch (error) {
        if (error instanceof ApiError && error.code === "rate_limited") {
          throw new ApiError(
            `Too many reset e-mails were asked for in a short time. Check your inbox and spam folder for the latest one, or try again ${retryWhen(error)}.`,
            { code: error.code, status: error.status },
          );
        }
        throw blameField(error, { invalid_email: "email" });
      }
      setSentTo(email);
    },
  });

  return (
    <div className="stack">
      <div ref={sentRef} tabIndex={-1}>
        {sentTo ? (
          <Alert tone="success" title="Check your inbox">
            If {sentTo} has an account, we sent it a link to choose a new password. The link works
            once, for a short time. No e-mail after a few minutes? Look in the spam folder, or ask
            again.
          </Alert>
        ) : null}
      </div>
      <Form
        ref={form.formRef}
        onSubmit={form.onSubmit}
        className="stack"
        aria-label="Reset your password"
      >
        <FormError ref={form.errorRef} message={form.formError} title="Could not send the link" />
        <TextField
          form={form}
          name="email"
          label="E-mail address"
          required
          type="email"
          autoComplete="email"
          inputMode="email"
        />
        <div>
          <Button type="submit" busy={form.submitting}>
            {sentTo ? "Send another link" : "Send the reset link"}
          </Button>
        </div>
      </Form>
    </div>
  );
}
