import type { ReactNode } from "react";
import { Field } from "./Field";
import { Input, type InputProps } from "./Input";

/** The part of a form's state (`useForm`) a field binds to: its value, its error, its setter. */
export interface BoundForm<K extends string> {
  values: Record<K, string>;
  errors: Partial<Record<string, string>>;
  setValue: (name: K, value: string) => void;
}

export interface TextFieldProps<K extends string>
  extends Omit<InputProps, "form" | "name" | "value" | "onChange" | "required"> {
  form: BoundForm<K>;
  /** The form value it edits; also the input's `name`. */
  name: K;
  label: string;
  hint?: ReactNode;
  required?: boolean;
  optional?: boolean;
}

/** A labelled text input bound to one value of a form, showing that value's error. */
export function TextField<K extends string>({
  form,
  name,
  label,
  hint,
  required,
  optional,
  ...input
}: TextFieldProps<K>) {
  return (
    <Field
      label={label}
      hint={hint}
      error={form.errors[name]}
      required={required}
      optional={optional}
    >
      {(control) => (
        <Input
          {...input}
          {...control}
          name={name}
          value={form.values[name]}
          onChange={(event) => form.setValue(name, event.target.value)}
        />
      )}
    </Field>
  );
}

export interface PasswordFieldProps<K extends string>
  extends Omit<TextFieldProps<K>, "type" | "autoComplete"> {
  /** Which password the browser's password manager offers or saves. */
  autoComplete: "current-password" | "new-password";
}

/** A password input bound to a form: never shown, and named for the password manager. */
export function PasswordField<K extends string>(props: PasswordFieldProps<K>) {
  return <TextField {...props} type="password" />;
}
