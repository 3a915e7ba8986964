import { forgePackage } from '../../tools/tsup.base';

export default forgePackage();
