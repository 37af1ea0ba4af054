/**
 * Checks the browser runs before sending a form. The services stay the authority (their 422
 * field errors are shown the same way); these only spare a round trip for obvious mistakes.
 * Limits are the services' own: passwords 8–128 characters (auth), display name ≤ 64, bio ≤ 500,
 * avatar URL https:// and ≤ 2048 (users).
 */

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;
export const DISPLAY_NAME_MAX = 64;
export const BIO_MAX = 500;
export const AVATAR_URL_MAX = 2048;

export function checkEmail(value: string): string | null {
  const email = value.trim();
  if (!email) return "Enter your e-mail address.";
  if (email.length > 320 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
    return "Enter an e-mail address like name@example.com.";
  }
  return null;
}

export function checkNewPassword(value: string): string | null {
  const length = [...value.normalize("NFKC")].length;
  if (length < PASSWORD_MIN) return `Use at least ${PASSWORD_MIN} characters.`;
  if (length > PASSWORD_MAX) return `Use at most ${PASSWORD_MAX} characters.`;
  return null;
}

export function checkRequired(value: string, message: string): string | null {
  return value ? null : message;
}

export function checkDisplayName(value: string): string | null {
  const name = value.trim();
  if (!name) return "Enter a display name.";
  if ([...name].length > DISPLAY_NAME_MAX) return `Use at most ${DISPLAY_NAME_MAX} characters.`;
  return null;
}

export function checkBio(value: string): string | null {
  return [...value.trim()].length > BIO_MAX ? `Use at most ${BIO_MAX} characters.` : null;
}

export function checkAvatarUrl(value: string): string | null {
  const url = value.trim();
  if (!url) return null;
  if (url.length > AVATAR_URL_MAX) return `Use at most ${AVATAR_URL_MAX} characters.`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "Enter a full address starting with https://.";
  }
  if (parsed.protocol !== "https:") return "The address must start with https://.";
  if (parsed.username || parsed.password) return "The address must not contain a user name.";
  return null;
}

export function checkLocale(value: string): string | null {
  const tag = value.trim();
  if (!tag) return null;
  try {
    return Intl.getCanonicalLocales(tag.replace(/_/g, "-")).length === 1
      ? null
      : "Enter a language tag such as en-US.";
  } catch {
    return "Enter a language tag such as en-US.";
  }
}

/** Every IANA time zone the browser knows (the users service checks against its own list). */
export function timeZones(): string[] {
  const intl = Intl as typeof Intl & { supportedValuesOf?: (key: "timeZone") => string[] };
  try {
    return intl.supportedValuesOf ? intl.supportedValuesOf("timeZone") : ["UTC"];
  } catch {
    return ["UTC"];
  }
}

/** The repeated password: the same as the one chosen. */
export function checkRepeated(repeat: string, password: string): string | null {
  return repeat === password ? null : "The passwords do not match.";
}
