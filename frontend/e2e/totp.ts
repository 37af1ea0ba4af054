/**
 * Two-factor helpers for the browser tests: RFC 6238 codes computed here with Node's crypto
 * (HMAC-SHA1, 6 digits, 30-second steps, what auth's `pyotp` accepts), and the enrolment a person
 * does on the security page.
 */
import { createHmac } from "node:crypto";
import { expect, type Page } from "@playwright/test";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function base32Decode(text: string): Buffer {
  let bits = 0;
  let value = 0;
  const bytes: number[] = [];
  for (const char of text.replace(/[\s=]/g, "").toUpperCase()) {
    const index = BASE32.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${char}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(bytes);
}

/** The code of `secret` at `at` (ms since the epoch). */
export function totp(secret: string, at: number = Date.now()): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const digest = createHmac("sha1", base32Decode(secret)).update(counter).digest();
  const offset = (digest.at(-1) ?? 0) & 0x0f;
  return String((digest.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

/**
 * A code newer than any the account has used in this test: auth refuses a code whose time step
 * is not after the last accepted one, and accepts the next step (clock drift), so a test takes
 * the next step's code instead of waiting up to 30 s.
 */
export function nextCode(secret: string): string {
  return totp(secret, Date.now() + 30_000);
}

/** The security page's two-factor card. */
export function twoFactorCard(page: Page) {
  return page.locator("section", {
    has: page.getByRole("heading", { name: "Two-factor sign-in", level: 2 }),
  });
}

/**
 * Turn two-factor sign-in on from the security page (already open): password, the secret read
 * from the manual-entry text, a first code, the recovery codes. Answers the secret and codes.
 */
export async function enrolTwoFactor(
  page: Page,
  password: string,
): Promise<{ secret: string; codes: string[] }> {
  const card = twoFactorCard(page);
  await expect(card.getByText("Off.")).toBeVisible();
  await card.getByLabel("Your password").fill(password);
  await card.getByRole("button", { name: "Turn on two-factor sign-in" }).click();
  await expect(card.getByRole("img", { name: "QR code of your two-factor key" })).toBeVisible();
  const shown = (await card.locator("dl.details dd code").textContent()) ?? "";
  const secret = shown.replace(/\s+/g, "");
  expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
  await card.getByLabel("Code from the app").fill(totp(secret));
  await card.getByRole("button", { name: "Confirm" }).click();
  await expect(card.getByText("Two-factor sign-in is on.")).toBeVisible();
  const codes = await card
    .getByRole("list", { name: "Recovery codes" })
    .locator("code")
    .allTextContents();
  expect(codes).toHaveLength(10);
  for (const code of codes) expect(code).toMatch(/^[0-9a-f]{5}-[0-9a-f]{5}$/);
  return { secret, codes };
}
