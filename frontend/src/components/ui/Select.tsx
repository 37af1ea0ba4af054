import type { Ref, SelectHTMLAttributes } from "react";
import styles from "./ui.module.css";

export interface SelectOption {
  value: string;
  label: string;
}

export interface SelectProps extends SelectHTMLAttributes<HTMLSelectElement> {
  options: readonly SelectOption[];
  /** A first option with an empty value ("Not set"). */
  placeholder?: string;
  ref?: Ref<HTMLSelectElement>;
}

export function Select({ options, placeholder, className, ...rest }: SelectProps) {
  return (
    <select {...rest} className={[styles.control, className].filter(Boolean).join(" ")}>
      {placeholder !== undefined ? <option value="">{placeholder}</option> : null}
      {options.map((option) => (
        <option key={option.value} value={option.value}>
          {option.label}
        </option>
      ))}
    </select>
  );
}
