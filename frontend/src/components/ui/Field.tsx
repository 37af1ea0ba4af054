import { type ReactNode, type Ref, useId } from "react";
import styles from "./ui.module.css";

/** What a control inside a Field spreads on itself to be labelled and described. */
export interface FieldControlProps {
  id: string;
  "aria-describedby": string | undefined;
  "aria-invalid": true | undefined;
  "aria-required": true | undefined;
}

export interface FieldProps {
  label: string;
  /** Shown under the control and announced with it. */
  hint?: ReactNode;
  /** The field's error: the control is marked invalid and described by it. */
  error?: string | null | undefined;
  required?: boolean;
  /** Marks the label "(optional)". */
  optional?: boolean;
  children: (control: FieldControlProps) => ReactNode;
}

/** A label, a control, its hint and its error, wired together for assistive technology. */
export function Field({ label, hint, error, required, optional, children }: FieldProps) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [errorId, hintId].filter(Boolean).join(" ") || undefined;
  return (
    <div className={styles.field}>
      <label htmlFor={id} className={styles.label}>
        {label}
        {optional ? <span className={styles.optional}> (optional)</span> : null}
      </label>
      {children({
        id,
        "aria-describedby": describedBy,
        "aria-invalid": error ? true : undefined,
        "aria-required": required ? true : undefined,
      })}
      {hint ? (
        <span id={hintId} className={styles.hint}>
          {hint}
        </span>
      ) : null}
      {error ? (
        <span id={errorId} className={styles.fieldError}>
          {error}
        </span>
      ) : null}
    </div>
  );
}

/**
 * The form-level error region: always in the DOM so screen readers announce what appears in it
 * (`aria-live`), focusable so a failed submit can move focus to it.
 */
export function FormError({
  message,
  title = "There is a problem",
  ref,
}: {
  message: string | null | undefined;
  title?: string;
  ref?: Ref<HTMLDivElement>;
}) {
  return (
    <div ref={ref} tabIndex={-1} aria-live="assertive" aria-atomic="true">
      {message ? (
        <div className={`${styles.alert} ${styles.error}`} role="alert">
          <p className={styles.alertTitle}>{title}</p>
          <p>{message}</p>
        </div>
      ) : null}
    </div>
  );
}
