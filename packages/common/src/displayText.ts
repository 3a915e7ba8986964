/**
 * Characters that drive a terminal or change how text after them reads: C0 and C1 controls
 * (ESC, CSI, OSC, BEL, CR, ...), DEL, and the Unicode bidirectional overrides and isolates.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text from outside (a guest, a package, a trace) made safe to show: every character above becomes
 * `\uXXXX`, valid inside a JSON string too, and the result is cut to `max` characters (an ellipsis
 * marks the cut). The CLI's `terminalSafe` applies the same rule before anything is loaded.
 */
export function displayText(text: string, max = Number.POSITIVE_INFINITY): string {
  const escaped = text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped.length > max ? `${escaped.slice(0, Math.max(0, max - 1))}…` : escaped;
}
