import type { Meta, StoryObj } from "@storybook/nextjs-vite";
import { expect, fn, userEvent } from "storybook/test";
import { Button, ButtonLink } from "./Button";

const meta = {
  title: "UI/Button",
  component: Button,
  args: { children: "Save profile", onClick: fn() },
  argTypes: {
    variant: { control: "inline-radio", options: ["primary", "secondary", "danger", "ghost"] },
    size: { control: "inline-radio", options: ["normal", "small"] },
  },
} satisfies Meta<typeof Button>;

export default meta;
type Story = StoryObj<typeof meta>;

export const Primary: Story = {
  play: async ({ args, canvas }) => {
    await userEvent.click(canvas.getByRole("button", { name: "Save profile" }));
    await expect(args.onClick).toHaveBeenCalledOnce();
  },
};

export const Secondary: Story = { args: { variant: "secondary", children: "Cancel" } };

export const Danger: Story = { args: { variant: "danger", children: "Delete my account" } };

export const Ghost: Story = { args: { variant: "ghost", children: "Log in" } };

export const Small: Story = {
  args: { size: "small", variant: "secondary", children: "Try again" },
};

/** Busy: a spinner, the label kept for screen readers, and no second click. */
export const Busy: Story = {
  args: { busy: true },
  play: async ({ args, canvas }) => {
    const button = canvas.getByRole("button", { name: "Save profile" });
    await expect(button).toBeDisabled();
    await expect(button).toHaveAttribute("aria-busy", "true");
    await userEvent.click(button, { pointerEventsCheck: 0 });
    await expect(args.onClick).not.toHaveBeenCalled();
  },
};

export const Disabled: Story = { args: { disabled: true } };

/** A link that looks like a button (navigation, not an action). */
export const Link: Story = {
  render: () => (
    <div className="row">
      <ButtonLink href="/register">Create account</ButtonLink>
      <ButtonLink href="/login" variant="ghost" size="small">
        Log in
      </ButtonLink>
    </div>
  ),
};
