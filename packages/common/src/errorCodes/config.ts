/** Codes raised by @forgeone/config. */
export const configErrorCodes = {
  FORGE_CONFIG_INVALID: 'A configuration value is missing or malformed; the message names the path.',
  FORGE_CONFIG_UNKNOWN_PATH: 'A configuration path names no setting of the composed schema.',
  FORGE_CONFIG_DUPLICATE_SECTION: 'Two packages registered a configuration section under the same name.',
  FORGE_CONFIG_SECTION_INVALID:
    'A configuration section is malformed: a bad name, a reserved name, or a schema without a default.',
  FORGE_CONFIG_CHANGE_REFUSED: 'A change policy refused a configuration change; details.rule names the rule.',
  FORGE_CONFIG_CONFLICT:
    'Another writer changed the stored configuration since this context read it; reopen and retry.',
  FORGE_CONFIG_VERSION_NOT_FOUND: 'The configuration history has no such version.',
  FORGE_CONFIG_HISTORY_INVALID: 'A stored configuration version cannot be read or no longer validates.',
  FORGE_CONFIG_SECRET_LITERAL:
    'A field typed secret holds something other than a secret:<name> reference (the value is not shown).',
  FORGE_CONFIG_SECRET_UNDEFINED: 'A secret:<name> reference names a secret that is not defined.',
  FORGE_CONFIG_SECRET_NO_RESOLVER:
    'A secret was asked for but the context was opened without a SecretResolver.',
  FORGE_CONFIG_FILE_NOT_FOUND: 'The configuration file does not exist.',
  FORGE_CONFIG_FILE_NOT_REGULAR: 'The configuration path is a directory or another non-regular file.',
  FORGE_CONFIG_FILE_SYMLINK: 'The configuration path is a symbolic link, which is refused.',
  FORGE_CONFIG_FILE_UNREADABLE:
    'The configuration file cannot be read (permissions, I/O error, bad encoding).',
  FORGE_CONFIG_FILE_TOO_LARGE: 'The configuration file is larger than the size cap.',
  FORGE_CONFIG_FILE_SYNTAX:
    'The configuration file is not valid YAML or JSON; the message gives file:line:column.',
  FORGE_CONFIG_FILE_ALIAS_BOMB: 'The configuration file expands too many YAML aliases (an alias bomb).',
  FORGE_CONFIG_FILE_TOO_DEEP: 'The configuration file nests collections too deeply.',
  FORGE_CONFIG_UNKNOWN_KEY: 'A configuration file or input has a key no section defines.',
  FORGE_CONFIG_ENV_UNKNOWN: 'A FORGEONE_<SECTION>__<FIELD> variable names no setting.',
  FORGE_CONFIG_ENV_INVALID: 'A FORGEONE_* variable has a value its setting cannot take.',
  FORGE_CONFIG_FLAG_INVALID: 'A --set path=value flag is malformed or has a value its setting cannot take.',
  FORGE_CONFIG_POLICY_INVALID:
    'A declarative change policy (changePolicies) is malformed or names an unknown path.',
} as const;
