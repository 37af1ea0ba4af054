"use client";

import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { useState } from "react";
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
  { href: "/account/sessions", label: "Sessions" },
  { href: "/account/delete", label: "Delete account" },
];

export function SiteHeader() {
  const session = useSession();
  const pathname = usePathname();
  const router = useRouter();
  const [signingOut, setSigningOut] = useState(false);

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
    </header>
  );
}
