"use client";

import type { FormHTMLAttributes, Ref } from "react";
import { useHydrated } from "@/lib/hydrated";
import styles from "./ui.module.css";

export interface FormProps extends FormHTMLAttributes<HTMLFormElement> {
  ref?: Ref<HTMLFormElement>;
}

/**
 * A form whose controls stay disabled until React runs the page: a value typed into the
 * server's HTML would be lost to hydration, and a submit would bypass the page's script. The
 * method is `post`, so a form that is ever submitted without its script puts no value (a
 * password) in a URL.
 */
export function Form({ children, method = "post", noValidate = true, ...rest }: FormProps) {
  const hydrated = useHydrated();
  return (
    <form {...rest} method={method} noValidate={noValidate}>
      <fieldset disabled={!hydrated} className={styles.formControls}>
        {children}
      </fieldset>
    </form>
  );
}
