import { z } from 'zod';

/**
 * How a secret is written in a configuration: `secret:<name>`, the name as the secret store takes
 * it (SECRET_NAME_PATTERN), so that a reference the schema accepts can be resolved.
 */
export const SECRET_REFERENCE_PATTERN = /^secret:([A-Za-z][A-Za-z0-9._-]{0,63})$/;

// The schemas configSecret() made, so the schema walker knows which fields hold references.
const secretSchemas = new WeakSet<object>();

/**
 * A field typed secret: its value is a `secret:<name>` reference, never the secret itself. A
 * literal is refused without echoing it (the message says what is expected, not what was given).
 */
export function configSecret(): z.ZodString {
  const schema = z.string().regex(SECRET_REFERENCE_PATTERN, {
    error: 'expected a secret:<name> reference (the value is not shown)',
  });
  secretSchemas.add(schema);
  return schema;
}

/** Whether `schema` is one configSecret() made. */
export function isSecretSchema(schema: unknown): boolean {
  return typeof schema === 'object' && schema !== null && secretSchemas.has(schema);
}

/** The secret name inside a `secret:<name>` reference, or undefined when it is not one. */
export function secretReferenceName(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return SECRET_REFERENCE_PATTERN.exec(value)?.[1];
}

/** A revealed secret: the value comes out only through `reveal()`, so it is never printed by accident. */
export interface RevealedSecret {
  reveal(): string;
}

/**
 * Where secret references resolve. The secret store implements it structurally; the context only
 * ever holds references. A rejection that is a ForgeError passes through with its own code.
 */
export interface SecretResolver {
  resolve(name: string): Promise<RevealedSecret>;
}
