"use client";

import { useEffect, useRef, useState } from "react";
import { Alert, Button, Form, FormError, PasswordField } from "@/components/ui";
import { NewPasswordFields } from "@/features/auth/NewPasswordFields";
import { blameField } from "@/lib/errors";
import { useForm } from "@/lib/form";
import { authApi } from "@/lib/rest";
import { useSession } from "@/lib/session";
import { checkNewPassword, checkRepeated, checkRequired } from "@/lib/validation";

export function ChangePasswordForm() {
  const session = useSession();
  const [done, setDone] = useState(false);
  const doneRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (done) doneRef.current?.focus();
  }, [done]);

  const form = useForm({
    initial: { currentPassword: "", newPassword: "", confirm: "" },
    validate: (values) => ({
      currentPassword:
        checkRequired(values.currentPassword, "Enter your current password.") ?? undefined,
      newPassword:
        checkNewPassword(values.newPassword) ??
        (values.newPassword === values.currentPassword
          ? "Choose a password different from the current one."
          : undefined),
      confirm: checkRepeated(values.confirm, values.newPassword) ?? undefined,
    }),
    submit: async (values) => {
      setDone(false);
      try {
        await authApi.changePassword({
          current_password: values.currentPassword,
          new_password: values.newPassword,
        });
      } catch (error) {
        throw blameField(error, {
          invalid_password: "currentPassword",
          weak_password: "newPassword",
        });
      }
      // The change ends every session. Whether this browser keeps one depends on the gateway
      // issuing the new session as cookies: ask, and go to the login page if it did not.
      try {
        await authApi.me({ probe: true });
        await session.reload();
      } catch {
        // RequireSession takes the user to the login page, saying why.
        await session.ended("password-changed");
        return;
      }
      form.reset();
      setDone(true);
    },
  });

  return (
    <Form
      ref={form.formRef}
      onSubmit={form.onSubmit}
      className="stack"
      aria-label="Change password"
    >
      <div ref={doneRef} tabIndex={-1}>
        {done ? <Alert tone="success">Your password was changed.</Alert> : null}
      </div>
      <FormError
        ref={form.errorRef}
        message={form.formError}
        title="Could not change the password"
      />
      <PasswordField
        form={form}
        name="currentPassword"
        label="Current password"
        required
        autoComplete="current-password"
      />
      <NewPasswordFields form={form} name="newPassword" repeat="confirm" />
      <div>
        <Button type="submit" busy={form.submitting}>
          Change password
        </Button>
      </div>
    </Form>
  );
}
