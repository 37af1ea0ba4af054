import type { Meta, StoryObj } from "@storybook/nextjs-vite";
import { expect } from "storybook/test";
import { Alert } from "./Alert";
import { Button } from "./Button";

const meta = {
  title: "UI/Alert",
  component: Alert,
  args: { title: "Your profile was saved", children: "Other users see the new name at once." },
  argTypes: { tone: { control: "inline-radio", options: ["info", "success", "warning", "error"] } },
} satisfies Meta<typeof Alert>;

export default meta;
type Story = StoryObj<typeof meta>;

export const Info: Story = {
  args: { tone: "info", title: "No users found", children: "Try part of a name." },
};

export const Success: Story = { args: { tone: "success" } };

export const Warning: Story = {
  args: {
    tone: "warning",
    title: "This cannot be undone",
    children: "Your account is deleted, every session ends and your profile is removed.",
  },
};

/** Errors interrupt (`role="alert"`); the other tones are announced politely. */
export const ErrorWithAction: Story = {
  name: "Error with an action",
  args: {
    tone: "error",
    title: "The service is unavailable",
    children: "Your session could not be checked. Try again in a moment.",
    action: (
      <Button variant="secondary" size="small">
        Try again
      </Button>
    ),
  },
  play: async ({ canvas }) => {
    await expect(canvas.getByRole("alert")).toHaveTextContent("The service is unavailable");
  },
};

export const MessageOnly: Story = {
  args: { tone: "success", title: undefined, children: "Your password was changed." },
  play: async ({ canvas }) => {
    await expect(canvas.getByRole("status")).toHaveTextContent("Your password was changed.");
  },
};
