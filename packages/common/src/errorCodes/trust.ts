/** Codes raised by @forgeone/trust: policies, decisions, audit and redzone. */
export const trustErrorCodes = {
  FORGE_POLICY_UNKNOWN_SYSCALL: 'A policy or allow-list names a syscall that does not exist.',
  FORGE_CONTAINER_QUARANTINED: 'The container was quarantined by policy and runs no further until released.',
  FORGE_POLICY_NOT_FOUND: 'The policy file (or a file it needs) does not exist or cannot be read.',
  FORGE_POLICY_PARSE: 'The policy file is not valid YAML or JSON; the message gives the line.',
  FORGE_POLICY_INVALID:
    'The policy document does not match the schema (unknown field, wrong type, bad value); the message gives the path.',
  FORGE_POLICY_TOO_DEEP:
    'The policy (or test cases) file nests collections deeper than the limit (64 levels); flatten it.',
  FORGE_POLICY_TOO_LARGE:
    'The policy is over a size limit (bytes, rules, regex or glob conditions); the message names the limit. Split it or use prefix, under, equals or contains.',
  FORGE_POLICY_VERSION: 'The policy document has an apiVersion or kind this ForgeOne does not support.',
  FORGE_POLICY_UNSAFE_REGEX:
    'A regular expression in the policy could take exponential or polynomial time (ReDoS); use prefix, under, glob or contains, or rewrite it.',
  FORGE_POLICY_CYCLE: 'The edges of the policy graph form a cycle; the graph must be acyclic.',
  FORGE_POLICY_MISSING_NODE: 'An edge or the entry names a policy node that does not exist.',
  FORGE_POLICY_MISSING_MARKER: 'A rule names a DNA marker that the policy does not define.',
  FORGE_POLICY_DUPLICATE: 'Two policy nodes, rules or markers have the same name.',
  FORGE_POLICY_CHECK_FAILED: 'Static checks of the policy found errors (or warnings, with --strict).',
  FORGE_POLICY_TESTS_INVALID: 'The policy test cases file is malformed.',
  FORGE_POLICY_TEST_FAILED: 'At least one policy test case did not get the expected decision.',
  FORGE_POLICY_REQUEST_INVALID: 'The syscall request given to explain or a test case is malformed.',
  FORGE_POLICY_SWAP_REFUSED:
    'A new live policy version was refused as a whole (it did not compile, or its test cases failed); the old version stays in force.',
  FORGE_POLICY_DIR_INVALID:
    'The policy directory holds no usable policy file (none, or the live one is unreadable); the message names the file.',
  FORGE_ENFORCER_SPEC_INVALID: 'The enforcer spec (mode, policy, thresholds) is malformed.',
  FORGE_APPROVAL_UNKNOWN: 'No pending approval has that id (it was answered, timed out, or never existed).',
  FORGE_APPROVAL_SETTLED:
    'That approval was already answered (approved, denied, or timed out); the message says how (HTTP 409).',
  FORGE_POLICY_VERSION_NOT_FOUND:
    'No kept live policy version has that number (HTTP 404); list the versions to see the ones kept.',
  FORGE_AUDIT_CHAIN_BROKEN:
    'The audit log hash chain does not verify: an entry was changed, removed or reordered; the message names the first broken entry.',
  FORGE_AUDIT_STORE_NOT_FOUND: 'The audit store file does not exist.',
  FORGE_AUDIT_NOT_FOUND:
    'There is no audit log to verify: the file is not a ForgeOne store, or the store has no audit entries under that log name (check --store and --log).',
  FORGE_AUDIT_ENTRY_INVALID:
    'An audit entry could not be recorded (not JSON-serialisable or over the size limit).',
  FORGE_REDZONE_TRANSITION: 'The quarantine record is not in a state that allows this action.',
  FORGE_REDZONE_NOT_FOUND: 'The container has no quarantine record.',
  FORGE_REDZONE_NO_SNAPSHOT: 'Restoring from a snapshot needs a snapshot port, and none was given.',
} as const;
