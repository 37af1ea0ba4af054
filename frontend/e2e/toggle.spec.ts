import { expect, test } from "./fixtures";

test("switching the data source in one tab switches it in the others", async ({ context }) => {
  const first = await context.newPage();
  const second = await context.newPage();
  await first.goto("/");
  await second.goto("/login");
  const graphqlIn = (page: typeof first) => page.getByRole("radio", { name: "GraphQL" });
  const restIn = (page: typeof first) => page.getByRole("radio", { name: "REST" });
  await expect(graphqlIn(first)).toBeChecked();
  await expect(graphqlIn(second)).toBeChecked();

  await restIn(first).check();
  await expect(restIn(second)).toBeChecked();
  expect(await second.evaluate(() => window.localStorage.getItem("nova.dataSource"))).toBe("rest");

  // And back, from the other tab, with the keyboard.
  await restIn(second).focus();
  await second.keyboard.press("ArrowLeft");
  await expect(graphqlIn(second)).toBeChecked();
  await expect(graphqlIn(first)).toBeChecked();

  // The choice survives a reload.
  await restIn(first).check();
  await first.reload();
  await expect(restIn(first)).toBeChecked();
});

test("the health endpoint answers for the probes", async ({ request }) => {
  const response = await request.get("/api/health");
  expect(response.status()).toBe(200);
  expect(await response.json()).toEqual({ status: "ok" });
});
