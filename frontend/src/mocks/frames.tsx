/** How the stories show a component: the page around a form, a phone's screen, a busy submit. */

import type { Decorator, StoryContext } from "@storybook/nextjs-vite";
import { expect } from "storybook/test";
import { Card } from "@/components/ui";

/** A form as the login, register and account pages show it: a card in the narrow column. */
export const inPageCard: Decorator = (Story) => (
  <div className="page-narrow">
    <Card>
      <Story />
    </Card>
  </div>
);

/** The story's `globals` for a 375 px phone (the `narrow` viewport of .storybook/preview.tsx). */
export const narrowScreen = { viewport: { value: "narrow", isRotated: false } };

/** The submit button `name` shows it is waiting for the gateway (and takes no second click). */
export async function expectBusy(canvas: StoryContext["canvas"], name: string): Promise<void> {
  const button = await canvas.findByRole("button", { name });
  await expect(button).toHaveAttribute("aria-busy", "true");
  await expect(button).toBeDisabled();
}
