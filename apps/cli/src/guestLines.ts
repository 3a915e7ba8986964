/** Splits streamed guest output into lines for the CLI's line-based output. */
export function lineWriter(emit: (line: string) => void) {
  let pending = '';
  const decoder = new TextDecoder();
  return {
    write: (bytes: Uint8Array) => {
      pending += decoder.decode(bytes, { stream: true });
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        emit(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
      }
    },
    end: () => {
      pending += decoder.decode();
      if (pending !== '') emit(pending);
      pending = '';
    },
  };
}
