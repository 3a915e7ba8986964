import type { TrustRoot } from './trustRoot';
import { describeUnmet, evaluateThreshold } from './internal/signatureSet';
import { documentMessage, toSignatureInputs } from './internal/signedDocument';

/** What a root's revocation list leaves of its own root role. */
export interface RootStanding {
  /** Whether the root's own signatures still meet its root-role threshold without its revoked keys. */
  readonly met: boolean;
  /** Algorithms short of their threshold, e.g. `ed25519 0/1` (empty when met). */
  readonly unmet: string;
  /** Keys of the root role that the revocation list revokes. */
  readonly revokedRootKeys: readonly string[];
}

/**
 * Re-evaluates a verified root's own root-role threshold with its revoked keys set aside: a root
 * that stands only on revoked keys is a revoked trust anchor, whatever its signatures say.
 */
export function rootStanding(root: TrustRoot): RootStanding {
  const outcome = evaluateThreshold(
    root.roles.root,
    root.keys,
    toSignatureInputs(root.document.signatures),
    documentMessage('root', root.document.signed),
    root.registry,
    root.revoked,
  );
  return {
    met: outcome.met,
    unmet: describeUnmet(outcome.unmet),
    revokedRootKeys: root.roles.root.keyids.filter((id) => root.revoked.has(id)),
  };
}
