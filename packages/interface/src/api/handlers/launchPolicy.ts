import type { EnforcerSpec } from '@forgeone/execution';
import type { LaunchBody } from '../contract/containerSchemas';

/** A launch's `policy` on the wire as the kernel takes it (an allow-list, or a document it compiles). */
export function launchPolicyOf(policy: LaunchBody['policy']): EnforcerSpec {
  return 'document' in policy
    ? { mode: policy.mode, policy: { kind: 'document', document: policy.document, source: 'api' } }
    : {
        mode: policy.mode,
        policy: { kind: 'allow-list', allow: policy.allow, ...(policy.ask ? { ask: policy.ask } : {}) },
      };
}
