"use client";

import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { useEffect, useId, useState } from "react";
import { Button, ButtonLink } from "@/components/ui";
import { useSession } from "@/lib/session";
import { DataSourceToggle } from "./DataSourceToggle.client";
import styles from "./site.module.css";

interface NavItem {
  href: string;
  label: string;
}

const ACCOUNT_NAV: NavItem[] = [
  { href: "/profile", label: "Profile" },
  { href: "/account/password", label: "Password" },
  { href: "/account/security", label: "Security" },
  { href: "/account/delete", label: "Delete account" },
];

export function SiteHeader() {
  const session = useSession();
  const pathname = usePathname();
  const router = useRouter();
  const [signingOut, setSigningOut] = useState(false);
  // Narrow screens (under 40rem): the links and actions fold into a menu, the header one row.
  const [menuOpen, setMenuOpen] = useState(false);
  const menuId = useId();
  // A page opened from the menu closes it (the path changed).
  const [menuPath, setMenuPath] = useState(pathname);
  if (menuPath !== pathname) {
    setMenuPath(pathname);
    setMenuOpen(false);
  }
  useEffect(() => {
    if (!menuOpen) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") setMenuOpen(false);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [menuOpen]);

  const items =
    session.status === "authenticated"
      ? [...ACCOUNT_NAV, ...(session.isAdmin ? [{ href: "/admin/users", label: "Users" }] : [])]
      : [];

  async function signOut() {
    setSigningOut(true);
    try {
      await session.signOut();
    } finally {
      setSigningOut(false);
      router.push("/login?reason=signed-out");
    }
  }

  return (
    <header className={styles.header}>
      <div className={styles.headerInner}>
        <Link href="/" className={styles.brand}>
          Nova
        </Link>
        <button
          type="button"
          className={styles.menuButton}
          aria-expanded={menuOpen}
          aria-controls={menuId}
          onClick={() => setMenuOpen((open) => !open)}
        >
          Menu
        </button>
        <div id={menuId} className={styles.menu} data-open={menuOpen}>
          {items.length > 0 ? (
            <nav aria-label="Account" className={styles.nav}>
              <ul>
                {items.map((item) => (
                  <li key={item.href}>
                    <Link
                      href={item.href}
                      aria-current={pathname === item.href ? "page" : undefined}
                      className={styles.navLink}
                    >
                      {item.label}
                    </Link>
                  </li>
                ))}
              </ul>
            </nav>
          ) : null}
          <div className={styles.headerActions}>
            {session.status === "authenticated" ? (
              <>
                <span className={styles.who} title={session.account?.email}>
                  {session.account?.email}
                </span>
                <Button
                  variant="secondary"
                  size="small"
                  busy={signingOut}
                  onClick={signOut}
                  title={session.account ? `Signed in as ${session.account.email}` : undefined}
                >
                  Log out
                </Button>
              </>
            ) : session.status === "anonymous" ? (
              <>
                <ButtonLink href="/login" variant="ghost" size="small">
                  Log in
                </ButtonLink>
                <ButtonLink href="/register" size="small">
                  Create account
                </ButtonLink>
              </>
            ) : null}
            <DataSourceToggle />
          </div>
        </div>
      </div>
    </header>
  );
}
