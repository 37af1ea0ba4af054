import { permanentRedirect } from "next/navigation";

/** Sessions are a section of the security page now; old links and bookmarks land there. */
export default function SessionsPage(): never {
  permanentRedirect("/account/security");
}
