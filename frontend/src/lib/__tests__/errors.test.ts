import {
  ApiError,
  apiErrorFromGraphQL,
  blameField,
  fieldErrorsFrom,
  fieldKey,
  isUnauthenticated,
} from "../errors";
import { loginUrl, safeNextPath } from "../next-path";
import { refreshDelay } from "../session-clock";

describe("field errors", () => {
  it("maps API field names to form field names", () => {
    expect(fieldKey("display_name")).toBe("displayName");
    expect(fieldKey("body.avatar_url")).toBe("avatarUrl");
    expect(fieldKey("input.timezone")).toBe("timezone");
  });

  it("reads {field, message} and Litestar's {key, message} details", () => {
    expect(
      fieldErrorsFrom([
        { field: "display_name", message: "must not be empty" },
        { key: "bio", message: "too long" },
        { field: "display_name", message: "must not contain control characters" },
        "junk",
      ]),
    ).toEqual({
      displayName: "must not be empty; must not contain control characters",
      bio: "too long",
    });
    expect(fieldErrorsFrom(undefined)).toEqual({});
  });

  it("reads GraphQL errors by extensions.code", () => {
    const error = apiErrorFromGraphQL([
      {
        message: "locale: unknown locale",
        extensions: {
          code: "validation_error",
          details: [{ field: "locale", message: "unknown locale" }],
        },
      },
    ]);
    expect(error.code).toBe("validation_error");
    expect(error.status).toBe(422);
    expect(error.fieldErrors).toEqual({ locale: "unknown locale" });
    expect(
      apiErrorFromGraphQL([{ message: "boom", extensions: { code: "internal_error" } }]).message,
    ).not.toBe("boom");
  });

  it("recognises unauthenticated GraphQL errors", () => {
    expect(isUnauthenticated([{ message: "x", extensions: { code: "unauthenticated" } }])).toBe(
      true,
    );
    expect(isUnauthenticated([{ message: "x", extensions: { code: "UNAUTHENTICATED" } }])).toBe(
      true,
    );
    expect(isUnauthenticated([{ message: "x", extensions: { code: "admin_required" } }])).toBe(
      false,
    );
    expect(isUnauthenticated(undefined)).toBe(false);
  });

  it("blames a field for an error reported by code only", () => {
    const original = new ApiError("the current password is wrong", {
      code: "invalid_password",
      status: 403,
    });
    const blamed = blameField(original, { invalid_password: "currentPassword" }) as ApiError;
    expect(blamed.fieldErrors).toEqual({ currentPassword: "The current password is wrong" });
    expect(blameField(original, { weak_password: "newPassword" })).toBe(original);
  });
});

describe("next path after login", () => {
  it("keeps a path of this site", () => {
    expect(safeNextPath("/admin/users?search=ada")).toBe("/admin/users?search=ada");
  });

  it.each([
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example",
    "javascript:alert(1)",
    "/login?next=/x",
    "/profile\n",
    "",
    null,
  ])("refuses %j", (next) => {
    expect(safeNextPath(next)).toBe("/profile");
  });

  it("builds the login URL with the reason", () => {
    expect(loginUrl("/account/sessions", "expired")).toBe(
      "/login?next=%2Faccount%2Fsessions&reason=expired",
    );
    expect(loginUrl("https://evil.example")).toBe("/login");
  });
});

describe("refresh timing", () => {
  it("refreshes a minute before a long-lived token expires", () => {
    expect(refreshDelay(1_000_000 + 900_000, 1_000_000)).toBe(840_000);
  });

  it("refreshes at 80% of a short lifetime, never in the past", () => {
    expect(refreshDelay(1_000_000 + 100_000, 1_000_000)).toBe(80_000);
    expect(refreshDelay(1_000_000 - 5_000, 1_000_000)).toBe(0);
  });
});
