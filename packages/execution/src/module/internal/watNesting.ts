/** The nesting scan `watToWasm` runs before handing text to wabt (see WAT_NESTING_LIMIT for why). */
const OPEN = 0x28; // (
const CLOSE = 0x29; // )
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c;
const SEMI = 0x3b; // ;
const NEWLINE = 0x0a;

/** Bare keywords that open a flat block, closed by `end` (or, for `try`, by `delegate`). */
const FLAT_OPENERS = new Set(['block', 'loop', 'if', 'try', 'try_table']);
const FLAT_CLOSERS = new Set(['end', 'delegate']);

function isDelimiter(c: number): boolean {
  // Space, tab, CR, LF, and the characters that end a token in the text format.
  return (
    c === 0x20 ||
    c === 0x09 ||
    c === 0x0d ||
    c === NEWLINE ||
    c === OPEN ||
    c === CLOSE ||
    c === QUOTE ||
    c === SEMI
  );
}

/**
 * The first position at which `text` nests deeper than `limit`, with the depth reached there, or
 * undefined when it never does. One linear pass that skips comments (`;;` and nesting `(; ;)`) and
 * strings, stopping at the first level over the limit; malformed text is left to the parser.
 */
export function findWatOverNesting(
  text: Uint8Array,
  limit: number,
): { readonly offset: number; readonly depth: number } | undefined {
  let parens = 0;
  let flat = 0;
  let afterOpen = false; // the previous token was `(`: a keyword here is folded, not flat
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text[i]!;
    if (c === SEMI && text[i + 1] === SEMI) {
      while (i < n && text[i] !== NEWLINE) i++;
      continue;
    }
    if (c === OPEN && text[i + 1] === SEMI) {
      // Block comments nest: `(; a (; b ;) c ;)` is one comment.
      let comments = 1;
      i += 2;
      while (i < n && comments > 0) {
        if (text[i] === OPEN && text[i + 1] === SEMI) {
          comments++;
          i += 2;
        } else if (text[i] === SEMI && text[i + 1] === CLOSE) {
          comments--;
          i += 2;
        } else i++;
      }
      continue;
    }
    if (c === QUOTE) {
      i++;
      while (i < n && text[i] !== QUOTE) i += text[i] === BACKSLASH ? 2 : 1;
      i++;
      afterOpen = false;
      continue;
    }
    if (c === OPEN) {
      parens++;
      if (parens + flat > limit) return { offset: i, depth: parens + flat };
      afterOpen = true;
      i++;
      continue;
    }
    if (c === CLOSE) {
      if (parens > 0) parens--;
      afterOpen = false;
      i++;
      continue;
    }
    if (isDelimiter(c)) {
      i++;
      continue;
    }
    const start = i;
    while (i < n && !isDelimiter(text[i]!)) i++;
    // Only short lowercase tokens can be keywords of interest; skip decoding anything else.
    if (!afterOpen && i - start <= 9 && c >= 0x61 && c <= 0x7a) {
      const token = String.fromCharCode(...text.subarray(start, i));
      if (FLAT_OPENERS.has(token)) {
        flat++;
        if (parens + flat > limit) return { offset: start, depth: parens + flat };
      } else if (FLAT_CLOSERS.has(token) && flat > 0) flat--;
    }
    afterOpen = false;
  }
  return undefined;
}
