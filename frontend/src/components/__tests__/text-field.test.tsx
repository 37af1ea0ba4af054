import { render, renderHook, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { PasswordField, TextField } from "@/components/ui";
import { useForm } from "@/lib/form";

function Fields({ errors = {} }: { errors?: Partial<Record<string, string>> }) {
  const form = useForm({ initial: { name: "Ada", secret: "" }, submit: async () => undefined });
  return (
    <>
      <TextField form={{ ...form, errors }} name="name" label="Name" hint="Shown to others." />
      <PasswordField
        form={{ ...form, errors }}
        name="secret"
        label="Password"
        autoComplete="new-password"
        required
      />
      <output>{`${form.values.name}|${form.values.secret}`}</output>
    </>
  );
}

describe("TextField and PasswordField", () => {
  it("label their input, show the form's value and write what is typed back to it", async () => {
    const user = userEvent.setup();
    render(<Fields />);
    const name = screen.getByLabelText("Name");
    expect(name).toHaveValue("Ada");
    expect(name).toHaveAttribute("name", "name");
    expect(name).toHaveAccessibleDescription("Shown to others.");
    await user.type(name, " L");
    await user.type(screen.getByLabelText("Password"), "pw");
    expect(screen.getByRole("status")).toHaveTextContent("Ada L|pw");
  });

  it("hide the password, name it for the password manager and show the field's error", () => {
    render(<Fields errors={{ secret: "Too short." }} />);
    const password = screen.getByLabelText("Password");
    expect(password).toHaveAttribute("type", "password");
    expect(password).toHaveAttribute("autocomplete", "new-password");
    expect(password).toHaveAttribute("aria-required", "true");
    expect(password).toHaveAttribute("aria-invalid", "true");
    expect(password).toHaveAccessibleDescription("Too short.");
    expect(screen.getByLabelText("Name")).not.toHaveAttribute("aria-invalid");
  });
});

// The bound form is useForm's own state, with no adapter in between.
it("accepts useForm's state as it is", () => {
  const { result } = renderHook(() =>
    useForm({ initial: { email: "", agreed: false as boolean }, submit: async () => undefined }),
  );
  render(<TextField form={result.current} name="email" label="E-mail" type="email" />);
  expect(screen.getByLabelText("E-mail")).toHaveAttribute("type", "email");
});
