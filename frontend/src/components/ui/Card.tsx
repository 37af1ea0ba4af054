import type { ReactNode } from "react";
import styles from "./ui.module.css";

export function Card({
  title,
  titleLevel = 2,
  children,
  className,
}: {
  title?: ReactNode;
  titleLevel?: 2 | 3;
  children: ReactNode;
  className?: string;
}) {
  const Heading = titleLevel === 2 ? "h2" : "h3";
  return (
    <section className={[styles.card, className].filter(Boolean).join(" ")}>
      {title ? <Heading className={styles.cardTitle}>{title}</Heading> : null}
      {children}
    </section>
  );
}
