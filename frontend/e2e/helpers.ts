import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type APIRequestContext, expect, type Page } from "@playwright/test";

export type Source = "graphql" | "rest";
export const SOURCES: Source[] = ["graphql", "rest"];
export const SOURCE_LABEL: Record<Source, string> = { graphql: "GraphQL", rest: "REST" };

const SCREENSHOTS = join(import.meta.dirname, "..", "test-results", "screenshots");

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

let counter = 0;
export function uniqueEmail(label: string): string {
  counter += 1;
  return `e2e-${label}-${Date.now().toString(36)}-${counter}@example.com`;
}

export async function chooseSource(page: Page, source: Source): Promise<void> {
  const radio = page.getByRole("radio", { name: SOURCE_LABEL[source] });
  await radio.check();
  await expect(radio).toBeChecked();
}

export async function register(
  page: Page,
  user: { name: string; email: string; password: string },
) {
  await page.goto("/register");
  await page.getByLabel("Display name").fill(user.name);
  await page.getByLabel("E-mail address").fill(user.email);
  await page.getByLabel("Password", { exact: true }).fill(user.password);
  await page.getByLabel("Repeat the password").fill(user.password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/profile/);
}

export async function logIn(page: Page, email: string, password: string) {
  if (!page.url().includes("/login")) await page.goto("/login");
  // While the login page replaces the previous one, a hidden copy of it can exist for a moment.
  await page.getByLabel("E-mail address").filter({ visible: true }).fill(email);
  await page.getByLabel("Password").filter({ visible: true }).fill(password);
  await page.getByRole("button", { name: "Log in" }).filter({ visible: true }).click();
}

/** An account made through the API (Bearer mode: no cookie session), answering its token. */
export async function apiRegister(
  request: APIRequestContext,
  user: { name: string; email: string; password: string },
): Promise<{ id: string; token: string }> {
  const response = await request.post("/api/auth/register", {
    data: { email: user.email, password: user.password, display_name: user.name },
  });
  expect(response.status(), await response.text()).toBe(202);
  const login = await request.post("/api/auth/login", {
    data: { email: user.email, password: user.password },
  });
  expect(login.status(), await login.text()).toBe(200);
  const body = (await login.json()) as { access_token: string; account: { id: string } };
  return { id: body.account.id, token: body.access_token };
}
