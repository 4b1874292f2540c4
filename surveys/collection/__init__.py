"""Collecting survey responses: every way a submission comes in, and the one way it is checked and stored.

The path of a submission::

    entry point   ASGI lane `asgi.asgi_public_responses` (production: cxm.asgi)
                  | Django view `views.fast_public_submit` (runserver, cxm.wsgi's lean lane)
                  | integrator API, POST /api/v1/responses (`surveys.api`, `views.integrator_submit`)
                  | link page (`surveys.views`: its form, then `write.response_submit`)
         |
         v
    screen        `http`: the id's form, the throttle (`throttle`), the size cap, the origin (CORS),
                  the content type, strict JSON, the envelope (`fields`; the integrator: its DRF
                  serializer, built from the same `fields`)
         |
         v
    validate      `rules.response_prepare`: the survey accepts responses, the answers fit the survey's
                  snapshot (types, ranges, options, required questions, follow-ups shown), the key and
                  channel; a public caller's customer counts only signed (no query: the loop runs it);
                  the customer is resolved by `journeys.services.customer_resolve` (in a thread)
         |
         v
    write         ASGI lane with group commit: `committer.LoopCommitter`, one statement per batch
                  (`batch`, built from the models); everything else, and a key already stored: the
                  ORM, `write.response_write` (create, or merge by idempotency key)
         |
         v
    after commit  `signals.response_recorded`: from the committer's own thread after the batch
                  commits (never on the event loop), or by `transaction.on_commit` (`write`)

Errors and headers come from `http` for every entry point (`http.failure`, `http.cors_headers`,
`http.security_headers`).

Modules:

- `fields`: the submission's fields, once (the envelope check, the serializers, the service keywords).
- `http`: what every entry point answers: error bodies, CORS, security headers (derived from Django's
  SecurityMiddleware and the CSP middleware), the checks before the rules (`screen`).
- `throttle`: the public throttle, `cxm.api.throttling.PublicRateThrottle` counted in fixed windows.
- `rules`: the checks that need no query, so that the event loop may run them.
- `write`: the ORM write (create or merge by idempotency key), imports' bulk write, the envelope mapping.
- `batch`: the batch statement, built from `Response._meta` and `Answer._meta`.
- `committer`: the event loop's group committer and the after-commit signal.
- `asgi`, `views`: the ASGI lane, and the Django views (public submission, integrator).

Customers named by a submission are resolved (and created) by `journeys.services.customer_resolve`.
"""
