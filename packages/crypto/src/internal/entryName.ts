/** Longest entry name, in UTF-8 bytes. */
export const MAX_ENTRY_NAME_BYTES = 1024;

/**
 * Why `name` is not a safe relative POSIX path, or undefined when it is. Refused: empty, absolute
 * (`/x`, `C:...`), backslashes, NUL and other control characters, and `.`, `..` or empty segments.
 */
export function entryNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (Buffer.byteLength(name, 'utf8') > MAX_ENTRY_NAME_BYTES)
    return `is longer than ${MAX_ENTRY_NAME_BYTES} bytes`;
  if (name.startsWith('/')) return 'is absolute';
  if (/^[A-Za-z]:/.test(name)) return 'starts with a drive letter';
  if (name.includes('\\')) return 'contains a backslash';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'contains a control character';
  for (const segment of name.split('/')) {
    if (segment === '..') return 'contains ".."';
    if (segment === '.') return 'contains "."';
    if (segment === '') return 'has an empty segment';
  }
  return undefined;
}
