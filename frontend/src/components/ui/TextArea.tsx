import type { Ref, TextareaHTMLAttributes } from "react";
import styles from "./ui.module.css";

export interface TextAreaProps extends TextareaHTMLAttributes<HTMLTextAreaElement> {
  ref?: Ref<HTMLTextAreaElement>;
}

export function TextArea({ className, ...rest }: TextAreaProps) {
  return <textarea {...rest} className={[styles.control, className].filter(Boolean).join(" ")} />;
}
