/** Codes raised by the /v1 HTTP API (@forgeone/interface) and its token store. */
export const apiErrorCodes = {
  FORGE_API_UNAUTHENTICATED:
    'The request has no bearer token, or one that is unknown, malformed, expired or revoked (HTTP 401).',
  FORGE_API_FORBIDDEN:
    "The token's role may not use this route (HTTP 403); the message names the role needed.",
  FORGE_API_RATE_LIMITED:
    'Too many requests from this token or address (HTTP 429); wait the Retry-After seconds and try again.',
  FORGE_API_BODY_TOO_LARGE: "The request body is larger than the route's limit (HTTP 413).",
  FORGE_API_UNSUPPORTED_MEDIA: 'The request body has a content type the route does not take (HTTP 415).',
  FORGE_API_LAUNCH_LIMIT:
    'This token already has as many launches in progress as it may (HTTP 429); wait for one to finish.',
  FORGE_API_DEVELOPMENT_MODULE_REFUSED:
    'The daemon does not launch unsigned development modules in its mode or configuration (HTTP 403); install a signed package, or run a development kernel (no trust root) or allow development modules.',
  FORGE_API_NOT_AVAILABLE:
    'The route needs a part the kernel was composed without (a store, an audit log) (HTTP 501).',
  FORGE_API_TOKEN_INVALID: 'A token option is invalid (role, name, expiry); the message names the field.',
  FORGE_API_TOKEN_NOT_FOUND: 'No token with that id or name exists in the token store.',
  FORGE_API_NO_TRUST_ROOT:
    'The kernel booted without a trust root, or the API server was given none, so packages cannot be verified (HTTP 403); boot on a root.json.',
  FORGE_API_PACKAGE_EXISTS:
    'That package name and version is already installed (HTTP 409); remove it first, or upload a newer version.',
  FORGE_API_PACKAGE_NOT_FOUND: 'No installed package has that name and version (HTTP 404).',
  FORGE_API_DECISION_NOT_FOUND:
    'No audited decision has that id (not a decision id, an unknown container or call, or not audited: the kernel has no audit log) (HTTP 404).',
  FORGE_API_REQUEST_NOT_FOUND:
    'No API request with that id changed anything here (read-only requests are not audited) (HTTP 404).',
  FORGE_API_WORKLOAD_NOT_FOUND: 'No workload with that id is queued, running or remembered (HTTP 404).',
  FORGE_API_WORKLOAD_STATE: 'The workload has already finished, so it cannot be cancelled (HTTP 409).',
  FORGE_API_POLICY_DIRECTORY:
    'The daemon takes its live policy from a policy directory, which is the source of versions (HTTP 409): an upload is written there as the next policy.<N>.yaml and goes live at once; roll back by removing the newer files.',
  FORGE_API_CLIENT: 'The API client got an answer it could not read (not a problem document, or not JSON).',
} as const;
