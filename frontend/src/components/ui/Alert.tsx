import type { ReactNode } from "react";
import styles from "./ui.module.css";

export type AlertTone = "info" | "success" | "warning" | "error";

/** A message box; errors are `role="alert"`, the rest `role="status"` (announced politely). */
export function Alert({
  tone = "info",
  title,
  children,
  action,
}: {
  tone?: AlertTone;
  title?: ReactNode;
  children?: ReactNode;
  action?: ReactNode;
}) {
  return (
    <div className={`${styles.alert} ${styles[tone]}`} role={tone === "error" ? "alert" : "status"}>
      {title ? <p className={styles.alertTitle}>{title}</p> : null}
      {children ? <div>{children}</div> : null}
      {action ? <div>{action}</div> : null}
    </div>
  );
}
