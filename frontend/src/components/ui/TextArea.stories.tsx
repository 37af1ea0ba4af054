import type { Meta, StoryObj } from "@storybook/nextjs-vite";
import { expect, userEvent } from "storybook/test";
import { TextArea } from "./TextArea";

const meta = {
  title: "UI/TextArea",
  component: TextArea,
  args: { "aria-label": "Bio", name: "bio" },
} satisfies Meta<typeof TextArea>;

export default meta;
type Story = StoryObj<typeof meta>;

export const Empty: Story = {
  play: async ({ canvas }) => {
    const area = canvas.getByRole("textbox", { name: "Bio" });
    await userEvent.type(area, "Compiler writer.{enter}Teacher.");
    await expect(area).toHaveValue("Compiler writer.\nTeacher.");
  },
};

export const Filled: Story = {
  args: { defaultValue: "Rear admiral, compiler writer, teacher of nanoseconds." },
};

export const Invalid: Story = { args: { defaultValue: "x".repeat(80), "aria-invalid": true } };

export const Disabled: Story = { args: { defaultValue: "Read only for now.", disabled: true } };
