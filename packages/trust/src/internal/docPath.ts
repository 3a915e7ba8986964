/** One step into a document: an object key or an array index. */
export type DocPathStep = string | number;

/** `['spec', 'nodes', 0, 'rules', 1]` as `spec.nodes[0].rules[1]`, the form users read. */
export function formatDocPath(path: readonly DocPathStep[]): string {
  let text = '';
  for (const step of path) {
    if (typeof step === 'number') text += `[${step}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(step)) text += text === '' ? step : `.${step}`;
    else text += `[${JSON.stringify(step)}]`;
  }
  return text === '' ? '(root)' : text;
}
