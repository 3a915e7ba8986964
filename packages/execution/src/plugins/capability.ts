import { ForgeError, GUEST_PATH_SEGMENT, isCanonicalGuestPath } from '@forgeone/common';
import { isSecretName } from '@forgeone/config';

// The guest-path concept is common's (trust checks policies with it too); re-exported for callers.
export { isCanonicalGuestPath };
import { EVENT_NAME_PATTERN } from '../forge/forgeEventSyscalls';
import { KV_NAMESPACE_PATTERN } from '../forge/forgeKvBackend';

/** Read or write files at or below `path` (an absolute guest path; `/` is every path). */
export interface FsCapability {
  readonly kind: 'fs';
  readonly action: 'read' | 'write';
  readonly path: string;
}
/** Read (`kv_get`) or write (`kv_put`, `kv_delete`) one kv namespace, or `*` for any. */
export interface KvCapability {
  readonly kind: 'kv';
  readonly action: 'read' | 'write';
  readonly namespace: string;
}
/** Call one export of one plugin (`*`: every export that plugin provides). */
export interface PluginCallCapability {
  readonly kind: 'plugin';
  readonly action: 'call';
  readonly plugin: string;
  readonly export: string;
}
/** Emit events of one name, or `*` for any name. */
export interface EventCapability {
  readonly kind: 'event';
  readonly action: 'emit';
  readonly name: string;
}
/** Use one plain forge call that touches no resource (`log`, `clock_now`, `random_bytes`), or `*` for all three. */
export interface ForgeCallCapability {
  readonly kind: 'forge';
  readonly action: 'call';
  readonly fn: string;
}

/**
 * Read one named secret (`forge.secret_read`). No wildcard: a package names every secret it
 * reads, so that granting it one credential never grants it the store.
 */
export interface SecretCapability {
  readonly kind: 'secret';
  readonly action: 'read';
  readonly name: string;
}

/** One permission on one resource, parsed from `kind:action:resource`. */
export type Capability =
  | FsCapability
  | KvCapability
  | PluginCallCapability
  | EventCapability
  | ForgeCallCapability
  | SecretCapability;

/** Plugin names: lower case, digits and `-`, starting with a letter; at most 64. */
export const PLUGIN_NAME_PATTERN = /^[a-z][a-z0-9-]{0,63}$/;
/** Plugin entry points: lower case, digits and `_`; at most 64. */
export const EXPORT_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,63}$/;
/** The forge calls `forge:call:` covers; everything else needs its own kind. */
export const PLAIN_FORGE_CALLS = ['log', 'clock_now', 'random_bytes'] as const;

const PATH_SEGMENT = /^[A-Za-z0-9._~+-]{1,255}$/;
const MAX_CAPABILITY_LENGTH = 1100;
const WILDCARD = '*';

function invalid(text: string, why: string): never {
  throw new ForgeError(
    'FORGE_PLUGIN_CAPABILITY_INVALID',
    `capability ${JSON.stringify(text.slice(0, 120))} is invalid: ${why}`,
    { details: { capability: text.slice(0, 200) } },
  );
}

/** Manifest paths: at most 1024 characters of plain segments (a subset of canonical guest paths). */
export function isManifestPath(path: string): boolean {
  return path.length <= 1024 && isCanonicalGuestPath(path, PATH_SEGMENT);
}

/**
 * Parses one capability string. Only the canonical form is accepted (no trailing `/`, no `..`, no
 * case folding), so `formatCapability(parseCapability(s)) === s`: what the string says is exactly
 * what it grants. Throws FORGE_PLUGIN_CAPABILITY_INVALID.
 */
export function parseCapability(text: string): Capability {
  if (typeof text !== 'string') invalid(String(text), 'expected a string');
  if (text.length > MAX_CAPABILITY_LENGTH) invalid(text, `longer than ${MAX_CAPABILITY_LENGTH} characters`);
  const first = text.indexOf(':');
  const second = first < 0 ? -1 : text.indexOf(':', first + 1);
  if (second < 0) invalid(text, 'expected kind:action:resource');
  const kind = text.slice(0, first);
  const action = text.slice(first + 1, second);
  const resource = text.slice(second + 1);
  switch (kind) {
    case 'fs':
      if (action !== 'read' && action !== 'write') invalid(text, 'fs actions are read and write');
      if (!isManifestPath(resource))
        invalid(text, 'expected an absolute path of plain segments, without ., .., // or a trailing /');
      return { kind, action, path: resource };
    case 'kv':
      if (action !== 'read' && action !== 'write') invalid(text, 'kv actions are read and write');
      if (resource !== WILDCARD && !KV_NAMESPACE_PATTERN.test(resource))
        invalid(text, 'expected a kv namespace (a-z 0-9 . -) or *');
      return { kind, action, namespace: resource };
    case 'plugin': {
      if (action !== 'call') invalid(text, 'the plugin action is call');
      const slash = resource.indexOf('/');
      const plugin = resource.slice(0, slash);
      const name = resource.slice(slash + 1);
      if (slash < 0 || !PLUGIN_NAME_PATTERN.test(plugin))
        invalid(text, 'expected plugin:call:<plugin>/<export>');
      if (name !== WILDCARD && !EXPORT_NAME_PATTERN.test(name))
        invalid(text, 'expected an export name (a-z 0-9 _) or * after the /');
      return { kind, action, plugin, export: name };
    }
    case 'event':
      if (action !== 'emit') invalid(text, 'the event action is emit');
      if (resource !== WILDCARD && !(resource.length <= 64 && EVENT_NAME_PATTERN.test(resource)))
        invalid(text, 'expected an event name like order.created, or *');
      return { kind, action, name: resource };
    case 'forge':
      if (action !== 'call') invalid(text, 'the forge action is call');
      if (resource !== WILDCARD && !(PLAIN_FORGE_CALLS as readonly string[]).includes(resource))
        invalid(text, `expected one of ${PLAIN_FORGE_CALLS.join(', ')} or *`);
      return { kind, action, fn: resource };
    case 'secret':
      if (action !== 'read') invalid(text, 'the secret action is read');
      if (!isSecretName(resource))
        invalid(
          text,
          'expected a secret name (a letter, then letters, digits, . _ -; at most 64; no wildcard)',
        );
      return { kind, action, name: resource };
    default:
      return invalid(text, 'unknown kind; expected fs, kv, plugin, event, forge or secret');
  }
}

/** The canonical string of a capability. */
export function formatCapability(capability: Capability): string {
  const head = `${capability.kind}:${capability.action}:`;
  switch (capability.kind) {
    case 'fs':
      return head + capability.path;
    case 'kv':
      return head + capability.namespace;
    case 'plugin':
      return `${head}${capability.plugin}/${capability.export}`;
    case 'event':
      return head + capability.name;
    case 'forge':
      return head + capability.fn;
    case 'secret':
      return head + capability.name;
  }
}

/** `granted` covers `needed` when the path lies at or below (by whole segments), or the names match. */
function fsCovers(granted: string, needed: string): boolean {
  // The needed path comes from a guest call: anything not plainly canonical is refused.
  if (!isCanonicalGuestPath(needed, GUEST_PATH_SEGMENT)) return false;
  return granted === '/' || needed === granted || needed.startsWith(`${granted}/`);
}

const nameCovers = (granted: string, needed: string) => granted === WILDCARD || granted === needed;

/**
 * True when `granted` allows what `needed` asks. The action must be the same (write does not
 * imply read); a `*` covers only its own slot; a path covers only itself and what lies below it.
 */
export function capabilityCovers(granted: Capability, needed: Capability): boolean {
  switch (granted.kind) {
    case 'fs':
      return needed.kind === 'fs' && needed.action === granted.action && fsCovers(granted.path, needed.path);
    case 'kv':
      return (
        needed.kind === 'kv' &&
        needed.action === granted.action &&
        nameCovers(granted.namespace, needed.namespace)
      );
    case 'plugin':
      return (
        needed.kind === 'plugin' &&
        needed.plugin === granted.plugin &&
        nameCovers(granted.export, needed.export)
      );
    case 'event':
      return needed.kind === 'event' && nameCovers(granted.name, needed.name);
    case 'forge':
      return needed.kind === 'forge' && nameCovers(granted.fn, needed.fn);
    case 'secret':
      return needed.kind === 'secret' && needed.name === granted.name;
  }
}
