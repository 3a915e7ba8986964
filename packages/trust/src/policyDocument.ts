import { assuranceLevels, decisionActions, isCanonicalGuestPath } from '@forgeone/common';
import { z } from 'zod';

/** The one policy document version this ForgeOne reads. */
export const POLICY_API_VERSION = 'forgeone.dev/v1';
export const POLICY_KIND = 'Policy';

/** Names of nodes, rules and markers: `read-data`, `sensitive_fs`... */
const Name = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be lower-case letters, digits, - and _ (like read-data)');

/** A syscall name (`forge.log`), a glob over names (`wasi.fd_*`), or `*` for every syscall. */
const SyscallPattern = z
  .string()
  .min(1)
  .max(128)
  .regex(
    /^(?:\*|[a-z*][a-z0-9_*]*\.[a-z0-9_*]+)$/,
    'must be a syscall name like wasi.path_open, a glob like wasi.fd_*, or *',
  );

const Text = z.string().max(1024);
const Scalar = z.union([z.string().max(4096), z.number(), z.boolean(), z.null()]);
const Unit = z.number().min(0).max(1);

/** Conditions on one decoded argument; every field given must hold. */
export interface ArgConditionObject {
  readonly equals?: string | number | boolean | null | undefined;
  readonly oneOf?: readonly (string | number | boolean | null)[] | undefined;
  readonly prefix?: string | undefined;
  readonly under?: string | undefined;
  readonly glob?: string | undefined;
  readonly regex?: string | undefined;
  readonly contains?: string | undefined;
  readonly atLeast?: number | undefined;
  readonly atMost?: number | undefined;
  readonly exists?: boolean | undefined;
  readonly not?: ArgCondition | undefined;
}
/** A literal is shorthand for `{ equals: literal }`. */
export type ArgCondition = string | number | boolean | null | ArgConditionObject;

const ArgConditionSchema: z.ZodType<ArgCondition> = z.lazy(() =>
  z.union([
    Scalar,
    z
      .strictObject({
        /** Exactly this value (numbers and 64-bit integers compare by value). */
        equals: Scalar.optional(),
        /** One of these values. */
        oneOf: z.array(Scalar).min(1).max(256).optional(),
        /** The string starts with this. */
        prefix: z.string().min(1).max(4096).optional(),
        /** A path equal to this directory or inside it (`/data` covers `/data/a`, not `/database`). */
        under: z
          .string()
          .min(1)
          .max(4096)
          .refine(
            (path) => isCanonicalGuestPath(path),
            'must be a canonical absolute guest path like /data (no ., .., // or trailing /)',
          )
          .optional(),
        /** A glob over the whole string (picomatch syntax; `**` crosses `/`). */
        glob: z.string().min(1).max(1024).optional(),
        /** A regular expression matched against the whole string; refused when it could blow up. */
        regex: z.string().min(1).max(256).optional(),
        /** The string contains this. */
        contains: z.string().min(1).max(1024).optional(),
        /** A number (or 64-bit integer) at least this. */
        atLeast: z.number().optional(),
        /** A number (or 64-bit integer) at most this. */
        atMost: z.number().optional(),
        /** The argument is present (true) or absent (false). */
        exists: z.boolean().optional(),
        /** Holds when the inner condition does not. */
        not: ArgConditionSchema.optional(),
      })
      .refine((c) => Object.keys(c).length > 0, 'must have at least one condition'),
  ]),
);

const RolesSchema = z.union([
  z.array(z.string().min(1).max(256)).max(64),
  z
    .strictObject({
      all: z.array(z.string().min(1).max(256)).max(64).optional(),
      any: z.array(z.string().min(1).max(256)).min(1).max(64).optional(),
      none: z.array(z.string().min(1).max(256)).max(64).optional(),
    })
    .refine((r) => Object.keys(r).length > 0, 'must have all, any or none'),
]);

const IdentityConditionSchema = z
  .strictObject({
    /** Subject glob, e.g. `pkg:acme/*`. */
    subject: z.string().min(1).max(256).optional(),
    tenant: z.string().min(1).max(256).optional(),
    /** A list means "has all of these"; or `{ all, any, none }`. */
    roles: RolesSchema.optional(),
    /** Attribute values, each a literal or an argument-style condition. */
    attributes: z.record(z.string().min(1).max(256), ArgConditionSchema).optional(),
    /** Capabilities the identity holds (its `capabilities` attribute, comma-separated); all required. */
    capabilities: z.array(z.string().min(1).max(128)).max(64).optional(),
    /** The weakest assurance level accepted. */
    assurance: z.strictObject({ atLeast: z.enum(assuranceLevels) }).optional(),
    /** The subject is a package verified against a signer (`signer` is set), or is not. */
    signed: z.boolean().optional(),
    /** Exactly this signer key id. */
    signer: z.string().min(1).max(128).optional(),
  })
  .refine((c) => Object.keys(c).length > 0, 'must have at least one condition');

export const weekDays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const ClockTime = z.string().regex(/^(?:[01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24 h)');

const TimeConditionSchema = z
  .strictObject({
    days: z.array(z.enum(weekDays)).min(1).max(7).optional(),
    /** Start of the daily window (inclusive); a window may wrap midnight (22:00 to 06:00). */
    from: ClockTime.optional(),
    /** End of the daily window (exclusive). */
    to: ClockTime.optional(),
    /** Offset of the clock the window is written in, e.g. `+02:00`. Default `+00:00` (UTC). */
    utcOffset: z
      .string()
      .regex(/^[+-](?:0\d|1[0-4]):[0-5]\d$/, 'must be like +02:00 or -05:30')
      .optional(),
    /** Absolute bounds (ISO-8601), e.g. a temporary exception. */
    notBefore: z.iso.datetime().optional(),
    notAfter: z.iso.datetime().optional(),
  })
  .refine((t) => (t.from === undefined) === (t.to === undefined), 'from and to go together')
  .refine((t) => Object.keys(t).length > 0, 'must have at least one condition');

const ScoreConditionSchema = z
  .strictObject({ atLeast: Unit.optional(), below: Unit.optional() })
  .refine((s) => s.atLeast !== undefined || s.below !== undefined, 'must have atLeast or below');

const DnaConditionSchema = z
  .strictObject({
    /** Every one of these markers holds. */
    markers: z.array(Name).min(1).max(32).optional(),
    /** At least one of these markers holds. */
    anyMarkers: z.array(Name).min(1).max(32).optional(),
  })
  .refine((d) => d.markers !== undefined || d.anyMarkers !== undefined, 'must have markers or anyMarkers');

/** What a rule or an edge matches; every condition given must hold. */
export const MatchSchema = z.strictObject({
  syscall: z.union([SyscallPattern, z.array(SyscallPattern).min(1).max(256)]).optional(),
  args: z.record(z.string().min(1).max(64), ArgConditionSchema).optional(),
  identity: IdentityConditionSchema.optional(),
  time: TimeConditionSchema.optional(),
  /** The caller's trust score (from the trust algorithm), in [0, 1]. */
  trust: ScoreConditionSchema.optional(),
  /** The caller's anomaly score, in [0, 1]. */
  anomaly: ScoreConditionSchema.optional(),
  dna: DnaConditionSchema.optional(),
});

const RuleSchema = z.strictObject({
  id: Name,
  description: Text.optional(),
  action: z.enum(decisionActions),
  /** Precedence: the matching rule with the highest weight decides. Default 0. */
  weight: z.number().int().min(-1000).max(1000).default(0),
  /** The reason users see when this rule decides; default: the action and the conditions. */
  message: Text.optional(),
  match: MatchSchema.default({}),
});

const NodeSchema = z.strictObject({
  name: Name,
  description: Text.optional(),
  /** Added to the weight of every rule of the node (an escalation node can outrank its parent). */
  weight: z.number().int().min(-1000).max(1000).default(0),
  rules: z.array(RuleSchema).max(10_000).default([]),
});

const EdgeSchema = z.strictObject({
  from: Name,
  to: Name,
  description: Text.optional(),
  /** The flow continues to `to` only when this holds; absent: always. */
  when: MatchSchema.optional(),
});

const CountSchema = z.strictObject({ atLeast: z.number().int().min(1) });

/** A named fact about the caller's behaviour (its execution DNA and history), checked per call. */
const MarkerSchema = z
  .strictObject({
    description: Text.optional(),
    /** Asserted from outside only (by an anomaly detector, or a test case's context). */
    external: z.boolean().optional(),
    /** At least `atLeast` calls in total to syscalls matching `syscalls`. */
    calls: z
      .strictObject({ syscalls: z.array(SyscallPattern).min(1).max(64), atLeast: z.number().int().min(1) })
      .optional(),
    /** At least this many refused calls. */
    denied: CountSchema.optional(),
    /** The rules (`node/rule`) decided at least `atLeast` calls together. */
    ruleHits: z
      .strictObject({
        rules: z
          .array(z.string().regex(/^[a-z0-9][a-z0-9_-]*\/[a-z0-9][a-z0-9_-]*$/, 'must be node/rule'))
          .min(1),
        atLeast: z.number().int().min(1),
      })
      .optional(),
    /** Deviation of the DNA from its baseline (total variation distance) at least this. */
    deviation: z.strictObject({ atLeast: Unit }).optional(),
    /** At least this many syscalls that the baseline never made. */
    newSyscalls: CountSchema.optional(),
  })
  .refine(
    (m) => m.external === true || Object.keys(m).some((k) => k !== 'description' && k !== 'external'),
    'must have a condition (calls, denied, ruleHits, deviation, newSyscalls) or external: true',
  );

const WeightsSchema = z.strictObject({
  identityAssurance: z.number().min(0).max(100).optional(),
  provenance: z.number().min(0).max(100).optional(),
  behaviour: z.number().min(0).max(100).optional(),
  anomaly: z.number().min(0).max(100).optional(),
  quarantineHistory: z.number().min(0).max(100).optional(),
});

export const PolicyDocumentSchema = z.strictObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: z.strictObject({
    name: Name,
    version: z.string().min(1).max(64).optional(),
    description: Text.optional(),
  }),
  spec: z.strictObject({
    /** The node evaluation starts at. Default: the first node. */
    entry: Name.optional(),
    nodes: z.array(NodeSchema).min(1).max(1000),
    edges: z.array(EdgeSchema).max(10_000).default([]),
    markers: z.record(Name, MarkerSchema).default({}),
    /** Weights of the trust algorithm's signals for this policy. */
    trust: z.strictObject({ weights: WeightsSchema }).optional(),
  }),
});

/** A policy document as written (before defaults). */
export type PolicyDocumentInput = z.input<typeof PolicyDocumentSchema>;
/** A validated policy document (defaults applied). */
export type PolicyDocument = z.output<typeof PolicyDocumentSchema>;
export type PolicyRule = PolicyDocument['spec']['nodes'][number]['rules'][number];
export type PolicyNode = PolicyDocument['spec']['nodes'][number];
export type PolicyEdge = PolicyDocument['spec']['edges'][number];
export type PolicyMarker = PolicyDocument['spec']['markers'][string];
export type MatchCondition = z.output<typeof MatchSchema>;
export type IdentityCondition = NonNullable<MatchCondition['identity']>;
export type TimeCondition = NonNullable<MatchCondition['time']>;
export type ScoreCondition = NonNullable<MatchCondition['trust']>;
