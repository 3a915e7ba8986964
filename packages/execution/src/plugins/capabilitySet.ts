import { capabilityCovers, formatCapability, parseCapability, type Capability } from './capability';

/** The capabilities granted to one plugin: a request is allowed when any one of them covers it. */
export class CapabilitySet {
  readonly capabilities: readonly Capability[];

  constructor(capabilities: readonly Capability[]) {
    this.capabilities = [...capabilities];
  }

  /** Parses capability strings (throws FORGE_PLUGIN_CAPABILITY_INVALID naming the first bad one). */
  static parse(strings: readonly string[]): CapabilitySet {
    return new CapabilitySet(strings.map(parseCapability));
  }

  /** The first granted capability that covers `needed`, or undefined. */
  grantFor(needed: Capability): Capability | undefined {
    return this.capabilities.find((granted) => capabilityCovers(granted, needed));
  }

  covers(needed: Capability): boolean {
    return this.grantFor(needed) !== undefined;
  }

  /** Canonical strings, in grant order. */
  toStrings(): string[] {
    return this.capabilities.map(formatCapability);
  }
}
