import { type BoundForm, PasswordField } from "@/components/ui";
import { PASSWORD_MAX, PASSWORD_MIN } from "@/lib/validation";

export interface NewPasswordFieldsProps<K extends string> {
  form: BoundForm<K>;
  /** The form value of the chosen password. */
  name: K;
  /** The form value of its repetition (check it with `checkRepeated`). */
  repeat: K;
  /** "Password" while creating an account; "New password" when it replaces one. */
  label?: string;
}

/**
 * A new password and its repetition, named for the password manager (`new-password`), with the
 * length rule as the hint: registration, a password reset and a password change use it alike.
 */
export function NewPasswordFields<K extends string>({
  form,
  name,
  repeat,
  label = "New password",
}: NewPasswordFieldsProps<K>) {
  return (
    <>
      <PasswordField
        form={form}
        name={name}
        label={label}
        hint={`${PASSWORD_MIN} to ${PASSWORD_MAX} characters. A passphrase works well.`}
        required
        autoComplete="new-password"
      />
      <PasswordField
        form={form}
        name={repeat}
        label={`Repeat the ${label.toLowerCase()}`}
        required
        autoComplete="new-password"
      />
    </>
  );
}
