"use client";

import { useApolloClient } from "@apollo/client/react";
import { Alert, Button, Form, FormError, PasswordField } from "@/components/ui";
import { blameField } from "@/lib/errors";
import { useForm } from "@/lib/form";
import { authApi } from "@/lib/rest";
import { clearExpiresAt } from "@/lib/session-clock";
import { checkRequired } from "@/lib/validation";

export function DeleteAccountForm() {
  const client = useApolloClient();
  const form = useForm({
    initial: { password: "", confirmed: false as boolean },
    validate: (values) => ({
      password: checkRequired(values.password, "Enter your password to confirm.") ?? undefined,
      confirmed: values.confirmed ? undefined : "Tick the box to confirm.",
    }),
    submit: async (values) => {
      try {
        await authApi.deleteAccount(values.password);
      } catch (error) {
        throw blameField(error, { invalid_password: "password" });
      }
      clearExpiresAt();
      await client.clearStore();
      // A full navigation: nothing of the deleted account stays in memory.
      window.location.assign("/login?reason=deleted");
    },
  });

  return (
    <Form ref={form.formRef} onSubmit={form.onSubmit} className="stack" aria-label="Delete account">
      <Alert tone="warning" title="This cannot be undone">
        Your account is deleted, every session ends and your profile is removed.
      </Alert>
      <FormError
        ref={form.errorRef}
        message={form.formError}
        title="Could not delete the account"
      />
      <PasswordField
        form={form}
        name="password"
        label="Password"
        required
        autoComplete="current-password"
      />
      <div>
        <label style={{ display: "flex", gap: "0.5rem", alignItems: "flex-start" }}>
          <input
            type="checkbox"
            name="confirmed"
            checked={form.values.confirmed}
            aria-invalid={form.errors.confirmed ? true : undefined}
            aria-describedby={form.errors.confirmed ? "delete-confirm-error" : undefined}
            onChange={(event) => form.setValue("confirmed", event.target.checked)}
          />
          I understand that my account and profile will be deleted.
        </label>
        {form.errors.confirmed ? (
          <span
            id="delete-confirm-error"
            style={{ color: "var(--danger-strong)", fontSize: "0.875rem" }}
          >
            {form.errors.confirmed}
          </span>
        ) : null}
      </div>
      <div>
        <Button type="submit" variant="danger" busy={form.submitting}>
          Delete my account
        </Button>
      </div>
    </Form>
  );
}
