import type { Meta, StoryObj } from "@storybook/nextjs-vite";
import { expect, userEvent } from "storybook/test";
import { Select } from "./Select";

const ZONES = ["Europe/London", "America/New_York", "Asia/Tokyo"].map((zone) => ({
  value: zone,
  label: zone.replace(/_/g, " "),
}));

const meta = {
  title: "UI/Select",
  component: Select,
  args: { "aria-label": "Time zone", name: "timezone", options: ZONES, placeholder: "Not set" },
} satisfies Meta<typeof Select>;

export default meta;
type Story = StoryObj<typeof meta>;

/** Nothing chosen: the placeholder option (an empty value). */
export const Empty: Story = {
  play: async ({ canvas }) => {
    const select = canvas.getByRole("combobox", { name: "Time zone" });
    await expect(select).toHaveValue("");
    await userEvent.selectOptions(select, "Asia/Tokyo");
    await expect(select).toHaveValue("Asia/Tokyo");
  },
};

export const Filled: Story = { args: { defaultValue: "America/New_York" } };

export const WithoutPlaceholder: Story = {
  args: { placeholder: undefined },
  play: async ({ canvas }) => {
    await expect(canvas.getAllByRole("option")).toHaveLength(ZONES.length);
  },
};

export const Disabled: Story = { args: { defaultValue: "Europe/London", disabled: true } };
