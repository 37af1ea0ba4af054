"use client";

import { useRouter } from "next/navigation";
import { useEffect } from "react";
import { Button, Form, FormError, TextField } from "@/components/ui";
import { ApiError, blameField } from "@/lib/errors";
import { useForm } from "@/lib/form";
import { authApi } from "@/lib/rest";
import { useSession } from "@/lib/session";
import {
  checkDisplayName,
  checkEmail,
  checkNewPassword,
  checkRepeated,
  DISPLAY_NAME_MAX,
} from "@/lib/validation";
import { NewPasswordFields } from "./NewPasswordFields";

/** Login answers after a registration that send the user to the login page instead. */
const LOGIN_LATER = ["invalid_credentials", "email_not_verified"];

export function RegisterForm() {
  const router = useRouter();
  const session = useSession();
  const form = useForm({
    initial: { displayName: "", email: "", password: "", confirm: "" },
    validate: (values) => ({
      displayName: checkDisplayName(values.displayName) ?? undefined,
      email: checkEmail(values.email) ?? undefined,
      password: checkNewPassword(values.password) ?? undefined,
      confirm: checkRepeated(values.confirm, values.password) ?? undefined,
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
        if (error instanceof ApiError && LOGIN_LATER.includes(error.code)) return null;
        throw error;
      });
      // Refused (another password, or an address to verify first), or an existing account of
      // this address that asks for a second factor: the login page takes it from there.
      if (response === null || response.kind === "two-factor") {
        router.replace("/login?reason=registered");
        return;
      }
      session.signedIn(response.session);
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
      <TextField
        form={form}
        name="displayName"
        label="Display name"
        hint="Shown on your profile."
        required
        autoComplete="nickname"
        maxLength={DISPLAY_NAME_MAX}
      />
      <TextField
        form={form}
        name="email"
        label="E-mail address"
        required
        type="email"
        autoComplete="email"
        inputMode="email"
      />
      <NewPasswordFields form={form} name="password" repeat="confirm" label="Password" />
      <div>
        <Button type="submit" busy={form.submitting}>
          Create account
        </Button>
      </div>
    </Form>
  );
}
