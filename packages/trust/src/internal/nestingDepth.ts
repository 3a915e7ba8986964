/**
 * A bound on how deeply YAML or JSON text nests, found in one pass over the text before any parser
 * (whose recursion a hostile file could exhaust) sees it. It counts block levels (indentation and
 * `- ` / `? ` indicators that open a collection on the same line) plus open flow brackets (`[`,
 * `{`), skipping quoted scalars, comments and block scalars. It never undercounts the parser's
 * depth by much and overcounts only unusual text, which is fine for a limit far above real policies.
 * Returns the 1-based line where `limit` is first exceeded, or undefined.
 */
export function lineBeyondNesting(text: string, limit: number): number | undefined {
  const indents: number[] = [];
  let flow = 0;
  let quote: '"' | "'" | undefined;
  let blockScalarIndent: number | undefined;
  let lineNo = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo += 1;
    const line = text.slice(start, end);
    start = end + 1;
    let i = 0;
    while (i < line.length && line[i] === ' ') i += 1;
    const blank = i === line.length || line[i] === '#' || line[i] === '\r';
    if (blockScalarIndent !== undefined) {
      if (blank || i > blockScalarIndent) continue;
      blockScalarIndent = undefined;
    }
    if (quote === undefined && flow === 0 && !blank) {
      while (indents.length > 0 && (indents.at(-1) as number) >= i) indents.pop();
      indents.push(i);
      // `- - x` and `- key: v` open collections on the line itself.
      while ((line[i] === '-' || line[i] === '?') && (line[i + 1] === ' ' || i + 1 === line.length)) {
        i += 2;
        while (line[i] === ' ') i += 1;
        indents.push(i);
      }
    }
    let previous = ' ';
    for (; i < line.length; i += 1) {
      const c = line[i] as string;
      if (quote !== undefined) {
        if (quote === '"' && c === '\\') i += 1;
        else if (c === quote) {
          if (quote === "'" && line[i + 1] === "'") i += 1;
          else quote = undefined;
        }
        previous = c;
        continue;
      }
      const tokenStart = previous === ' ' || previous === '[' || previous === '{' || previous === ',';
      if ((c === '"' || c === "'") && (tokenStart || previous === ':')) quote = c;
      else if (c === '#' && previous === ' ') break;
      else if (c === '[' || c === '{') flow += 1;
      else if ((c === ']' || c === '}') && flow > 0) flow -= 1;
      else if (
        (c === '|' || c === '>') &&
        flow === 0 &&
        tokenStart &&
        /^[|>][-+0-9]*\s*(#.*)?\r?$/.test(line.slice(i))
      ) {
        blockScalarIndent = indents.at(-1) ?? 0;
        break;
      }
      previous = c;
      if (indents.length + flow > limit) return lineNo;
    }
    if (indents.length + flow > limit) return lineNo;
  }
  return undefined;
}
