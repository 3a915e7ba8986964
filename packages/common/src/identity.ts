import { z } from 'zod';

/** How strongly an identity was established, weakest first. */
export const assuranceLevels = ['none', 'low', 'medium', 'high'] as const;
export type AssuranceLevel = (typeof assuranceLevels)[number];

const name = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

/** Who is acting: the subject a policy decides about. Parsed at the edge, immutable after. */
export const IdentityContextSchema = z
  .object({
    /** Stable subject id, e.g. `pkg:acme/report@1.2.0` or `user:alice`. */
    subject: name,
    /** Tenant or organisation the subject belongs to. */
    tenant: name.default('default'),
    /** Roles granted to the subject. */
    roles: z.array(name).max(64).default([]),
    /** Free attributes a policy can match on (team, environment...). */
    attributes: z.record(name, z.string().max(1024)).default({}),
    assurance: z.enum(assuranceLevels).default('none'),
    /** Key id of the package signer, when the subject is a verified package. */
    signer: z.string().max(128).optional(),
  })
  .strict();
export type IdentityContext = z.output<typeof IdentityContextSchema>;
export type IdentityContextInput = z.input<typeof IdentityContextSchema>;

const unit = z.number().min(0).max(1);

/** The signals the trust algorithm weighs, each normalised to [0, 1]. */
export const TrustVectorSchema = z
  .object({
    identityAssurance: unit,
    provenance: unit,
    behaviour: unit,
    anomaly: unit,
    quarantineHistory: unit,
  })
  .strict();
export type TrustVector = z.output<typeof TrustVectorSchema>;
