"use client";

import { useRouter } from "next/navigation";
import { useEffect } from "react";
import { Button, Form, FormError, PasswordField, TextField } from "@/components/ui";
import { useForm } from "@/lib/form";
import { authApi } from "@/lib/rest";
import { useSession } from "@/lib/session";
import { checkEmail, checkRequired } from "@/lib/validation";

export function LoginForm({ next }: { next: string }) {
  const router = useRouter();
  const session = useSession();
  const form = useForm({
    initial: { email: "", password: "" },
    validate: (values) => ({
      email: checkEmail(values.email) ?? undefined,
      password: checkRequired(values.password, "Enter your password.") ?? undefined,
    }),
    submit: async (values) => {
      const response = await authApi.login({
        email: values.email.trim(),
        password: values.password,
      });
      session.signedIn(response);
      router.replace(next);
    },
  });
  // Already signed in (another tab, or a bookmark): nothing to do here.
  const signedIn = session.status === "authenticated";
  useEffect(() => {
    if (signedIn) router.replace(next);
  }, [signedIn, router, next]);

  return (
    <Form ref={form.formRef} onSubmit={form.onSubmit} className="stack" aria-label="Log in">
      <FormError ref={form.errorRef} message={form.formError} title="Could not log in" />
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
