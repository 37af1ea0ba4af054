"use client";

import { useRouter } from "next/navigation";
import { useEffect } from "react";
import { Button, Field, Form, FormError, Input } from "@/components/ui";
import { ApiError, blameField } from "@/lib/errors";
import { useForm } from "@/lib/form";
import { authApi } from "@/lib/rest";
import { useSession } from "@/lib/session";
import {
  checkDisplayName,
  checkEmail,
  checkNewPassword,
  DISPLAY_NAME_MAX,
  PASSWORD_MAX,
  PASSWORD_MIN,
} from "@/lib/validation";

export function RegisterForm() {
  const router = useRouter();
  const session = useSession();
  const form = useForm({
    initial: { displayName: "", email: "", password: "", confirm: "" },
    validate: (values) => ({
      displayName: checkDisplayName(values.displayName) ?? undefined,
      email: checkEmail(values.email) ?? undefined,
      password: checkNewPassword(values.password) ?? undefined,
      confirm: values.confirm === values.password ? undefined : "The passwords do not match.",
    }),
    submit: async (values) => {
      const credentials = { email: values.email.trim(), password: values.password };
      await authApi
        .register({ ...credentials, display_name: values.displayName.trim() })
        .catch((error: unknown) => {
          throw blameField(error, { invalid_email: "email", weak_password: "password" });
        });
      // Registration answers the same whether or not the address already had an account (its
      // owner gets an e-mail either way); a new account signs in with the password just chosen.
      const response = await authApi.login(credentials).catch((error: unknown) => {
        if (error instanceof ApiError && error.code === "invalid_credentials") return null;
        throw error;
      });
      if (response === null) {
        router.replace("/login?reason=registered");
        return;
      }
      session.signedIn(response);
      router.replace("/profile?welcome=1");
    },
  });
  // Already signed in (another tab, or a bookmark): nothing to do here.
  const signedIn = session.status === "authenticated";
  useEffect(() => {
    if (signedIn) router.replace("/profile");
  }, [signedIn, router]);

  return (
    <Form
      ref={form.formRef}
      onSubmit={form.onSubmit}
      className="stack"
      aria-label="Create an account"
    >
      <FormError
        ref={form.errorRef}
        message={form.formError}
        title="Could not create the account"
      />
      <Field
        label="Display name"
        error={form.errors.displayName}
        hint="Shown on your profile."
        required
      >
        {(control) => (
          <Input
            {...control}
            name="displayName"
            autoComplete="nickname"
            maxLength={DISPLAY_NAME_MAX}
            value={form.values.displayName}
            onChange={(event) => form.setValue("displayName", event.target.value)}
          />
        )}
      </Field>
      <Field label="E-mail address" error={form.errors.email} required>
        {(control) => (
          <Input
            {...control}
            type="email"
            name="email"
            autoComplete="email"
            inputMode="email"
            value={form.values.email}
            onChange={(event) => form.setValue("email", event.target.value)}
          />
        )}
      </Field>
      <Field
        label="Password"
        error={form.errors.password}
        hint={`${PASSWORD_MIN} to ${PASSWORD_MAX} characters. A passphrase works well.`}
        required
      >
        {(control) => (
          <Input
            {...control}
            type="password"
            name="password"
            autoComplete="new-password"
            value={form.values.password}
            onChange={(event) => form.setValue("password", event.target.value)}
          />
        )}
      </Field>
      <Field label="Repeat the password" error={form.errors.confirm} required>
        {(control) => (
          <Input
            {...control}
            type="password"
            name="confirm"
            autoComplete="new-password"
            value={form.values.confirm}
            onChange={(event) => form.setValue("confirm", event.target.value)}
          />
        )}
      </Field>
      <div>
        <Button type="submit" busy={form.submitting}>
          Create account
        </Button>
      </div>
    </Form>
  );
}
