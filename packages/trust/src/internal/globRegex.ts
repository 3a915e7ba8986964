/**
 * A glob over a whole string, as a regular expression source, or why it is refused. The syntax:
 * `*` (any run without `/`), `**` as a whole segment (any run of segments, none included:
 * `/a/` + `**` + `/b` matches `/a/b`), `?` (one character but `/`), `[abc]`, `[a-z]`, `[!abc]`, `{x,y}`
 * (alternatives, not nested) and `\` to take the next character as it is. The source has no
 * lookaround, so the ReDoS check can decide it quickly (a picomatch source full of lookaheads
 * took it seconds each).
 */
export function globRegexSource(glob: string): { source: string } | { problem: string } {
  let out = '';
  let i = 0;
  while (i < glob.length) {
    const c = glob[i] as string;
    if (c === '\\') {
      const next = glob[i + 1];
      if (next === undefined) return { problem: 'it ends with a lone \\' };
      out += escape(next);
      i += 2;
    } else if (c === '*') {
      let stars = 1;
      while (glob[i + stars] === '*') stars += 1;
      const before = i === 0 || glob[i - 1] === '/';
      const after = i + stars === glob.length || glob[i + stars] === '/';
      if (stars >= 2 && before && after) {
        // A whole `**` segment: with its following `/`, zero or more segments.
        if (i + stars === glob.length) {
          // `/a/**` also matches `/a` itself: drop the `/` already written.
          if (out.endsWith('/')) out = `${out.slice(0, -1)}(?:/.*)?`;
          else out += '.*';
          i += stars;
        } else {
          out += '(?:[^/]*/)*';
          i += stars + 1;
        }
      } else {
        out += '[^/]*';
        i += stars;
      }
    } else if (c === '?') {
      out += '[^/]';
      i += 1;
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) return { problem: 'a [ has no closing ]' };
      let body = glob.slice(i + 1, end);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      if (body.length === 0) return { problem: 'a [] class is empty' };
      const members = [...body].map((ch) => (ch === '-' ? '-' : escape(ch))).join('');
      out += negate ? `[^/${members}]` : `[${members}]`;
      i = end + 1;
    } else if (c === '{') {
      const end = glob.indexOf('}', i + 1);
      if (end < 0) return { problem: 'a { has no closing }' };
      // Up to the first `}`: a nested `{` is then left unclosed in an option, and refused there.
      const options = glob.slice(i + 1, end).split(',');
      const parts: string[] = [];
      for (const option of options) {
        const inner = globRegexSource(option);
        if ('problem' in inner) return inner;
        parts.push(inner.source);
      }
      out += `(?:${parts.join('|')})`;
      i = end + 1;
    } else if (c === '(' || c === ')' || c === '|' || c === '}' || c === ']') {
      return { problem: `${c} is not glob syntax here (extglobs are not supported); escape it as \\${c}` };
    } else {
      out += escape(c);
      i += 1;
    }
  }
  return { source: out };
}

function escape(ch: string): string {
  return /[\\^$.*+?()[\]{}|]/.test(ch) ? `\\${ch}` : ch;
}
