import type { Meta, StoryObj } from "@storybook/nextjs-vite";
import { expect, userEvent } from "storybook/test";
import { useForm } from "@/lib/form";
import { checkEmail, checkRequired } from "@/lib/validation";
import { Button } from "./Button";
import { Form } from "./Form";
import { PasswordField, TextField } from "./TextField";

/** A text field and a password field bound to one `useForm`, validated on submit. */
function SignInFields({ email = "", password = "" }: { email?: string; password?: string }) {
  const form = useForm({
    initial: { email, password },
    validate: (values) => ({
      email: checkEmail(values.email) ?? undefined,
      password: checkRequired(values.password, "Enter your password.") ?? undefined,
    }),
    submit: async () => {},
  });
  return (
    <Form ref={form.formRef} onSubmit={form.onSubmit} className="stack" aria-label="Log in">
      <TextField
        form={form}
        name="email"
        label="E-mail address"
        hint="The address you registered with."
        required
        type="email"
        autoComplete="username"
      />
      <PasswordField
        form={form}
        name="password"
        label="Password"
        required
        autoComplete="current-password"
      />
      <div>
        <Button type="submit">Log in</Button>
      </div>
    </Form>
  );
}

const meta = {
  title: "UI/TextField",
  component: SignInFields,
} satisfies Meta<typeof SignInFields>;

export default meta;
type Story = StoryObj<typeof meta>;

export const Empty: Story = {};

export const Filled: Story = {
  args: { email: "grace@example.com", password: "correct horse battery" },
  play: async ({ canvas }) => {
    await expect(canvas.getByLabelText("Password")).toHaveAttribute("type", "password");
    await expect(canvas.getByLabelText("Password")).toHaveAttribute(
      "autocomplete",
      "current-password",
    );
  },
};

/** A submit with bad values: each field shows its error and focus goes to the first. */
export const ValidationErrors: Story = {
  args: { email: "grace@" },
  play: async ({ canvas }) => {
    await userEvent.click(canvas.getByRole("button", { name: "Log in" }));
    const email = canvas.getByRole("textbox", { name: "E-mail address" });
    await expect(email).toBeInvalid();
    await expect(email).toHaveFocus();
    await expect(canvas.getByLabelText("Password")).toHaveAccessibleDescription(
      "Enter your password.",
    );
    // Typing into a field clears its error.
    await userEvent.type(email, "example.com");
    await expect(email).toBeValid();
  },
};

export const Narrow: Story = {
  args: { email: "grace@example.com" },
  globals: { viewport: { value: "narrow", isRotated: false } },
};
