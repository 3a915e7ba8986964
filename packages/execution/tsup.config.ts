import { forgePackage } from '../../tools/tsup.base';

// The isolation worker is its own entry: WasmHost starts it as a script (dist/hostWorker.js).
export default forgePackage({ entry: ['src/index.ts', 'src/hostWorker.ts'] });
