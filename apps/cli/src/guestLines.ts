/** Splits streamed guest output into lines for the CLI's line-based output. */
export function lineWriter(emit: (line: string) => void) {
  let pending = '';
  const decoder = new TextDecoder();
  return {
    write: (bytes: Uint8Array) => {
      const chunk = decoder.decode(bytes, { stream: true });
      // Only a chunk with a newline ends a line: searching the whole pending text on every write
      // made a long line of many small writes quadratic (1,000,000 one-byte writes took minutes).
      if (!chunk.includes('\n')) {
        pending += chunk;
        return;
      }
      pending += chunk;
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
