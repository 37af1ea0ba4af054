import type { Meta, StoryObj } from "@storybook/nextjs-vite";
import { expect } from "storybook/test";
import { narrowScreen } from "@/mocks/frames";
import { Forbidden } from "./Forbidden";

const meta = { title: "Layout/Forbidden", component: Forbidden } satisfies Meta<typeof Forbidden>;

export default meta;
type Story = StoryObj<typeof meta>;

export const Default: Story = {
  play: async ({ canvas }) => {
    await expect(canvas.getByRole("link", { name: "Go to your profile" })).toHaveAttribute(
      "href",
      "/profile",
    );
  },
};

export const Narrow: Story = { globals: narrowScreen };
