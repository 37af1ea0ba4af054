import styles from "./ui.module.css";

/** A loading indicator; with a label it is announced politely (`role="status"`). */
export function Spinner({ label, size = "block" }: { label?: string; size?: "block" | "inline" }) {
  if (size === "inline" || !label) {
    return <span className={styles.spinner} aria-hidden="true" />;
  }
  return (
    <span className={styles.spinnerWrap} role="status">
      <span className={styles.spinner} aria-hidden="true" />
      <span>{label}</span>
    </span>
  );
}
