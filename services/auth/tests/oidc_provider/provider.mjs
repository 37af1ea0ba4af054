// A certified OpenID provider (panva/node-oidc-provider) for the auth tests, on loopback.
//
// Configured by environment: OIDC_PORT, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and
// OIDC_REDIRECT_URIS (comma-separated). Its development interactions sign anyone in: the login
// typed in the form is both the subject and the e-mail address, verified unless it contains
// "+unverified". Prints "ready <issuer>" once it listens.
import Provider from "oidc-provider";

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.OIDC_CLIENT_ID,
      client_secret: process.env.OIDC_CLIENT_SECRET,
      redirect_uris: process.env.OIDC_REDIRECT_URIS.split(","),
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  pkce: { required: () => true },
  findAccount: (_ctx, id) => ({
    accountId: id,
    claims: () => ({
      sub: id,
      email: id,
      email_verified: !id.includes("+unverified"),
      name: id.split("@")[0],
    }),
  }),
});

provider.listen(port, "127.0.0.1", () => {
  console.log(`ready ${issuer}`);
});
