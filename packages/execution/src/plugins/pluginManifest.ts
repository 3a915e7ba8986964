import { z } from 'zod';
import { parseWith } from '@forgeone/common';
import { EXPORT_NAME_PATTERN, PLUGIN_NAME_PATTERN, formatCapability, parseCapability } from './capability';

/** The name of the plugin manifest inside a plugin's ForgePkg. */
export const PLUGIN_MANIFEST_ENTRY = 'plugin.json';
/** Largest accepted plugin manifest, bytes. */
export const MAX_PLUGIN_MANIFEST_BYTES = 64 * 1024;

const CapabilityString = z
  .string()
  .max(1100)
  .superRefine((text, ctx) => {
    try {
      parseCapability(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });

const unique = (list: readonly string[]) => new Set(list).size === list.length;

/**
 * A plugin manifest: who the plugin is, what it needs (`requires`), which of its exports other
 * plugins may call (`provides`, as `plugin:call:<self>/<export>`), and which exports the host may
 * invoke (`entryPoints`, each `() -> i32` using the forge input/output buffers).
 */
export const PluginManifestSchema = z
  .strictObject({
    name: z.string().regex(PLUGIN_NAME_PATTERN, 'must be 1-64 of a-z 0-9 -, starting with a letter'),
    version: z
      .string()
      .max(64)
      .regex(
        /^\d{1,9}\.\d{1,9}\.\d{1,9}(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/,
        'must be semver like 1.2.3',
      ),
    description: z.string().max(1024).default(''),
    requires: z.array(CapabilityString).max(64).default([]).refine(unique, 'lists a capability twice'),
    provides: z.array(CapabilityString).max(64).default([]).refine(unique, 'lists a capability twice'),
    entryPoints: z
      .array(z.string().regex(EXPORT_NAME_PATTERN, 'must be 1-64 of a-z 0-9 _'))
      .min(1)
      .max(64)
      .refine(unique, 'lists an entry point twice'),
  })
  .superRefine((manifest, ctx) => {
    manifest.provides.forEach((text, index) => {
      let capability;
      try {
        capability = parseCapability(text);
      } catch {
        return; // reported by the element schema
      }
      const known =
        capability.kind === 'plugin' &&
        capability.plugin === manifest.name &&
        (capability.export === '*' || manifest.entryPoints.includes(capability.export));
      if (!known) {
        ctx.addIssue({
          code: 'custom',
          path: ['provides', index],
          message: `must be plugin:call:${manifest.name}/<one of its entryPoints or *>, not ${formatCapability(capability)}`,
        });
      }
    });
  });

export type PluginManifest = z.output<typeof PluginManifestSchema>;
export type PluginManifestInput = z.input<typeof PluginManifestSchema>;

/** Parses a manifest from outside (JSON value), throwing FORGE_PLUGIN_MANIFEST_INVALID naming the field. */
export function parsePluginManifest(input: unknown): PluginManifest {
  return parseWith(PluginManifestSchema, input, 'plugin manifest', 'FORGE_PLUGIN_MANIFEST_INVALID');
}
