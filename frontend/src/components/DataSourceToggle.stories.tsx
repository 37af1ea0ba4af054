import type { Meta, StoryObj } from "@storybook/nextjs-vite";
import { expect, userEvent } from "storybook/test";
import { DATA_SOURCE_KEY } from "@/lib/data-source";
import { DataSourceToggle } from "./DataSourceToggle.client";

const meta = {
  title: "Layout/DataSourceToggle",
  component: DataSourceToggle,
} satisfies Meta<typeof DataSourceToggle>;

export default meta;
type Story = StoryObj<typeof meta>;

/** GraphQL by default; a choice is kept in localStorage for every tab. */
export const GraphQL: Story = {
  play: async ({ canvas }) => {
    await expect(canvas.getByRole("radio", { name: "GraphQL" })).toBeChecked();
    await userEvent.click(canvas.getByRole("radio", { name: "REST" }));
    await expect(canvas.getByRole("radio", { name: "REST" })).toBeChecked();
    await expect(window.localStorage.getItem(DATA_SOURCE_KEY)).toBe("rest");
  },
};

export const Rest: Story = {
  parameters: { dataSource: "rest" },
  play: async ({ canvas }) => {
    await expect(canvas.getByRole("radio", { name: "REST" })).toBeChecked();
  },
};
