"use client";

import { type FormEvent, useCallback, useEffect, useRef, useState } from "react";
import { ApiError, errorMessage, type FieldErrors } from "./errors";

export type Validator<V> = (values: V) => FieldErrors;

export interface FormState<V extends Record<string, string | boolean>> {
  values: V;
  setValue: <K extends keyof V>(name: K, value: V[K]) => void;
  errors: FieldErrors;
  formError: string | null;
  submitting: boolean;
  formRef: React.RefObject<HTMLFormElement | null>;
  errorRef: React.RefObject<HTMLDivElement | null>;
  onSubmit: (event: FormEvent<HTMLFormElement>) => void;
  reset: (values?: V) => void;
}

/**
 * A form's values, its field and form errors, and the submit cycle: validate in the browser,
 * call `submit`, show the API's field errors. After a failed submit focus moves to the first
 * invalid field, or to the form's error message when no field is to blame.
 */
export function useForm<V extends Record<string, string | boolean>>(options: {
  initial: V;
  validate?: Validator<V>;
  submit: (values: V) => Promise<void>;
  invalidMessage?: string;
}): FormState<V> {
  const [values, setValues] = useState<V>(options.initial);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const [focusRequest, setFocusRequest] = useState(0);
  const formRef = useRef<HTMLFormElement>(null);
  const errorRef = useRef<HTMLDivElement>(null);
  const optionsRef = useRef(options);
  optionsRef.current = options;

  useEffect(() => {
    if (focusRequest === 0) return;
    const invalid = formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]');
    (invalid ?? errorRef.current)?.focus();
  }, [focusRequest]);

  const setValue = useCallback(<K extends keyof V>(name: K, value: V[K]) => {
    setValues((previous) => ({ ...previous, [name]: value }));
    setErrors((previous) => {
      if (!previous[name as string]) return previous;
      const { [name as string]: _removed, ...rest } = previous;
      return rest;
    });
  }, []);

  const onSubmit = useCallback(
    (event: FormEvent<HTMLFormElement>) => {
      event.preventDefault();
      if (submitting) return;
      const { validate, submit, invalidMessage } = optionsRef.current;
      const found = validate ? validate(values) : {};
      const problems = Object.fromEntries(Object.entries(found).filter(([, message]) => message));
      if (Object.keys(problems).length > 0) {
        setErrors(problems);
        setFormError(invalidMessage ?? "Check the highlighted fields and try again.");
        setFocusRequest((count) => count + 1);
        return;
      }
      setErrors({});
      setFormError(null);
      setSubmitting(true);
      submit(values)
        .catch((error: unknown) => {
          const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};
          setErrors(fieldErrors);
          setFormError(errorMessage(error));
          setFocusRequest((count) => count + 1);
        })
        .finally(() => setSubmitting(false));
    },
    [submitting, values],
  );

  const reset = useCallback((next?: V) => {
    setValues(next ?? optionsRef.current.initial);
    setErrors({});
    setFormError(null);
  }, []);

  return { values, setValue, errors, formError, submitting, formRef, errorRef, onSubmit, reset };
}
