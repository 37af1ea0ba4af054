"""Business rules of nova-auth, one module per responsibility.

- :mod:`~nova_auth.services.credentials` — registration, sign-in, the password, the caller's own
  account (:class:`CredentialService`);
- :mod:`~nova_auth.services.sessions` — refresh-token families: opening, rotating, ending
  (:class:`SessionService`);
- :mod:`~nova_auth.services.admin` — administrators' and operators' account operations and the
  lifecycle (disable, enable, delete, deactivate inactive) (:class:`AccountAdminService`);
- :mod:`~nova_auth.services.clients` — service accounts' client-credentials grant
  (:class:`ServiceClientService`);
- :mod:`~nova_auth.services.housekeeping` — purging long-dead sessions and old outbox rows.

REST controllers and GraphQL resolvers are thin skins over these services, which they get per
request (``Provide`` dependencies, ``controllers.py``), built over the process-wide
:class:`~nova_auth.state.AuthState`. Every public method is one unit of work on a database
session of its own, through the repositories of :mod:`nova_auth.repositories` (ADR 0012).
"""
