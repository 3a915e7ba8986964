const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

/**
 * A secret's text that does not leak by accident: string conversion, JSON, `util.inspect` (and so
 * console.log and most loggers) all give `[secret <name>]`; only `reveal()` gives the text. The
 * text is held in a private field, so spreading, `Object.keys` and structured clones do not see it.
 */
export class SecretValue {
  readonly #text: string;

  constructor(
    /** The secret's name (not secret). */
    readonly name: string,
    text: string,
  ) {
    this.#text = text;
  }

  /** The secret's text. Call it where the value is used, never to print it. */
  reveal(): string {
    return this.#text;
  }

  /** `[secret <name>]`. */
  toString(): string {
    return `[secret ${this.name}]`;
  }

  /** `[secret <name>]`: JSON output never holds the value. */
  toJSON(): string {
    return this.toString();
  }

  [Symbol.toPrimitive](): string {
    return this.toString();
  }

  [inspectCustom](): string {
    return this.toString();
  }
}
