import { forgePackage } from '../../tools/tsup.base';

// The isolation worker is its own entry: WasmHost starts it as a script. Its source is
// src/isolation/workerEntry.ts; the object entry keeps its dist name, dist/hostWorker.js, which
// isolation/workerPool.ts looks for.
export default forgePackage({
  entry: { index: 'src/index.ts', hostWorker: 'src/isolation/workerEntry.ts' },
});
