/**
 * The deepest nesting of flow collections (`[`, `{`) in YAML or JSON text, outside quotes and
 * comments: a cheap scan run before parsing, because the parser recurses per level and a file
 * of brackets alone would otherwise cost seconds or the stack. Stops counting once past `limit`.
 */
export function flowDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let quote: string | undefined;
  let comment = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (comment) {
      if (c === '\n') comment = false;
      continue;
    }
    if (quote !== undefined) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) comment = true;
    else if (c === '[' || c === '{') {
      if (++depth > limit) return true;
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return false;
}
