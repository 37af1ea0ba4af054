import { act, screen, waitFor } from "@testing-library/react";
import { hydrateRoot } from "react-dom/client";
import { renderToString } from "react-dom/server";
import { Form } from "@/components/ui";

function PasswordForm() {
  return (
    <Form aria-label="Sign in" onSubmit={(event) => event.preventDefault()}>
      <label htmlFor="password">Password</label>
      <input id="password" type="password" name="password" />
      <button type="submit">Go</button>
    </Form>
  );
}

describe("Form", () => {
  it("is served with its controls disabled and posting, never putting values in a URL", () => {
    const container = document.createElement("div");
    container.innerHTML = renderToString(<PasswordForm />);
    const form = container.querySelector("form");
    expect(form).toHaveAttribute("method", "post");
    expect(form).toHaveAttribute("novalidate");
    expect(container.querySelector("input")).toBeDisabled();
    expect(container.querySelector("button")).toBeDisabled();
  });

  it("enables its controls once React has hydrated the page", async () => {
    const container = document.createElement("div");
    container.innerHTML = renderToString(<PasswordForm />);
    document.body.append(container);
    const root = await act(async () => hydrateRoot(container, <PasswordForm />));
    try {
      await waitFor(() => expect(screen.getByLabelText("Password")).toBeEnabled());
      expect(screen.getByRole("button", { name: "Go" })).toBeEnabled();
      expect(screen.getByRole("form", { name: "Sign in" })).toHaveAttribute("method", "post");
    } finally {
      act(() => root.unmount());
      container.remove();
    }
  });
});
