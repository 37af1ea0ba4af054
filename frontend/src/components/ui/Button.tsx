import Link from "next/link";
import type { ButtonHTMLAttributes, ReactNode, Ref } from "react";
import { Spinner } from "./Spinner";
import styles from "./ui.module.css";

export type ButtonVariant = "primary" | "secondary" | "danger" | "ghost";

export interface ButtonProps extends ButtonHTMLAttributes<HTMLButtonElement> {
  variant?: ButtonVariant;
  size?: "normal" | "small";
  /** Shows a spinner, keeps the label for screen readers and blocks double submits. */
  busy?: boolean;
  ref?: Ref<HTMLButtonElement>;
}

export function buttonClass(variant: ButtonVariant = "primary", size = "normal") {
  return [styles.button, styles[variant], size === "small" ? styles.small : ""]
    .filter(Boolean)
    .join(" ");
}

export function Button({
  variant = "primary",
  size = "normal",
  busy = false,
  type = "button",
  disabled,
  className,
  children,
  ...rest
}: ButtonProps) {
  return (
    <button
      {...rest}
      type={type}
      disabled={disabled || busy}
      aria-busy={busy || undefined}
      className={[buttonClass(variant, size), className].filter(Boolean).join(" ")}
    >
      {busy ? <Spinner size="inline" /> : null}
      {children}
    </button>
  );
}

export function ButtonLink({
  href,
  variant = "primary",
  size = "normal",
  children,
}: {
  href: string;
  variant?: ButtonVariant;
  size?: "normal" | "small";
  children: ReactNode;
}) {
  return (
    <Link href={href} className={buttonClass(variant, size)}>
      {children}
    </Link>
  );
}
