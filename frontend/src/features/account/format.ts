/** Dates and security-log entries as the security page shows them. */

export function formatDateTime(value: string | null): string {
  if (!value) return "—";
  const date = new Date(value);
  return Number.isNaN(date.getTime())
    ? value
    : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

const KINDS: Record<string, string> = {
  sign_in: "Signed in with the password",
  sign_in_with_provider: "Signed in with a provider",
  password_changed: "Password changed",
  password_set: "Password set",
  password_reset: "Password reset by e-mail link",
  password_reset_requested: "Password reset requested",
  password_reset_by_operator: "Password reset by an operator",
  email_verified: "E-mail address verified",
  email_verification_requested: "Verification e-mail requested",
  two_factor_enabled: "Two-factor sign-in turned on",
  two_factor_disabled: "Two-factor sign-in turned off",
  two_factor_reset_by_admin: "Two-factor sign-in reset by an administrator",
  account_disabled: "Account disabled by an administrator",
  account_enabled: "Account enabled again by an administrator",
  identity_linked: "Provider linked",
  identity_unlinked: "Provider unlinked",
};

/** A log entry's kind in words (an unknown, newer kind as it is spelled). */
export function describeEvent(kind: string): string {
  return KINDS[kind] ?? kind.replaceAll("_", " ");
}
