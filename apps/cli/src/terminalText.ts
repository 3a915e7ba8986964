/**
 * Characters that drive a terminal or change how text after them reads: C0 and C1 controls
 * (ESC, CSI, OSC, BEL, CR, ...), DEL, and the Unicode bidirectional overrides and isolates.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * The one escaping function for text the CLI prints: every character above becomes `\uXXXX`, so a
 * hostile package entry name, path, policy message or guest string cannot move the cursor, retitle
 * the window, write the clipboard or hide text. The same escape is valid inside a JSON string, so
 * JSON output escaped this way still parses to the same value. Has no imports: main.ts uses it
 * before the rest of the CLI is loaded.
 */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
