"use client";

import { ApolloProvider } from "@apollo/client/react";
import { type ReactNode, useState } from "react";
import { createApolloClient } from "@/lib/apollo";
import { SessionProvider } from "@/lib/session";

export function Providers({ children }: { children: ReactNode }) {
  // One client per browser page; never shared between server requests.
  const [client] = useState(createApolloClient);
  return (
    <ApolloProvider client={client}>
      <SessionProvider>{children}</SessionProvider>
    </ApolloProvider>
  );
}
