/** Rendered on the server only: no client JavaScript. */
export function SiteFooter() {
  return (
    <footer
      style={{
        borderTop: "1px solid var(--border)",
        padding: "1rem",
        textAlign: "center",
        color: "var(--text-muted)",
        fontSize: "0.875rem",
      }}
    >
      Nova · accounts and profiles served through the Nova gateway
    </footer>
  );
}
