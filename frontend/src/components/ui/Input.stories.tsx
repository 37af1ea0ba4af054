import type { Meta, StoryObj } from "@storybook/nextjs-vite";
import { expect, userEvent } from "storybook/test";
import { Input } from "./Input";

const meta = {
  title: "UI/Input",
  component: Input,
  args: { "aria-label": "E-mail address", type: "email", name: "email" },
} satisfies Meta<typeof Input>;

export default meta;
type Story = StoryObj<typeof meta>;

export const Empty: Story = {
  play: async ({ canvas }) => {
    const input = canvas.getByRole("textbox", { name: "E-mail address" });
    await userEvent.type(input, "grace@example.com");
    await expect(input).toHaveValue("grace@example.com");
  },
};

export const Filled: Story = { args: { defaultValue: "grace@example.com" } };

export const Placeholder: Story = {
  args: { "aria-label": "Avatar URL", type: "url", placeholder: "https://" },
};

export const Invalid: Story = { args: { defaultValue: "grace@", "aria-invalid": true } };

export const Disabled: Story = { args: { defaultValue: "grace@example.com", disabled: true } };
