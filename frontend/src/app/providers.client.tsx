"use client";

import { ApolloProvider } from "@apollo/client/react";
import { QueryClientProvider } from "@tanstack/react-query";
import { type ReactNode, useState } from "react";
import { createApolloClient } from "@/lib/apollo";
import { createQueryClient } from "@/lib/query";
import { SessionProvider } from "@/lib/session";

export function Providers({ children }: { children: ReactNode }) {
  // One client of each per browser page; never shared between server requests.
  const [client] = useState(createApolloClient);
  const [queryClient] = useState(createQueryClient);
  return (
    <ApolloProvider client={client}>
      <QueryClientProvider client={queryClient}>
        <SessionProvider>{children}</SessionProvider>
      </QueryClientProvider>
    </ApolloProvider>
  );
}
