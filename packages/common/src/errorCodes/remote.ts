/** Codes of talking to a daemon: the typed API client's transport, and the CLI's `--remote` mode. */
export const remoteErrorCodes = {
  FORGE_API_CLIENT_URL_INVALID:
    'The daemon address is not an http(s) URL of a host, without credentials, query or fragment (e.g. http://127.0.0.1:7460).',
  FORGE_API_UNREACHABLE:
    'The daemon could not be reached (connection refused or reset, unknown host); check the URL and that forgeoned runs there.',
  FORGE_API_TIMEOUT:
    'The daemon did not answer within the deadline; it may be overloaded, or the URL names something else.',
  FORGE_CLI_TOKEN_FILE_INSECURE:
    'The token file may be read or written by other users (group or world permissions); chmod 600 it, as ssh asks of a key.',
  FORGE_CLI_TOKEN_FILE_INVALID:
    'The token file cannot be read, or does not hold one token on one line (forgeoned token create prints it).',
  FORGE_CLI_TOKEN_ON_COMMAND_LINE:
    'A token was given on the command line, where other users can read it (ps, shell history); use --token-file or $FORGEONE_TOKEN.',
  FORGE_CLI_NO_REMOTE_FORM:
    'The command has no remote form: it works on local files only; run it without --remote.',
  FORGE_CLI_REMOTE_REQUIRED: 'The command talks to a daemon: give --remote URL (or set $FORGEONE_URL).',
  FORGE_CLI_FILE_UNREADABLE:
    'A file named on the command line cannot be read (missing, a directory, no permission).',
} as const;
