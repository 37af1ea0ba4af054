/** Where to go after signing in: only a path of this site (no scheme, no `//host`, no `\`). */
export function safeNextPath(next: string | null | undefined, fallback = "/profile"): string {
  if (!next?.startsWith("/") || next.startsWith("//") || next.includes("\\")) return fallback;
  if ([...next].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f)) {
    return fallback;
  }
  if (next === "/login" || next.startsWith("/login?") || next.startsWith("/register")) {
    return fallback;
  }
  return next;
}

/** `/login?next=<the current page>` (and `reason` for the notice the login page shows). */
export function loginUrl(next: string, reason?: "expired" | "signed-out" | "password-changed") {
  const params = new URLSearchParams();
  const target = safeNextPath(next, "");
  if (target) params.set("next", target);
  if (reason) params.set("reason", reason);
  const query = params.toString();
  return query ? `/login?${query}` : "/login";
}
