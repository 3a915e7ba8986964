export type {
  SignatureAlgorithm,
  AlgorithmSizes,
  KeyMaterial,
  SignOptions,
  VerifyOptions,
} from './signatureAlgorithm';
export { AlgorithmRegistry, defaultAlgorithms, algorithmNames } from './algorithmRegistry';

export { sha256, sha256Hex } from './hash';
export {
  canonicalJson,
  canonicalJsonBytes,
  isCanonicalJson,
  parseJson,
  MAX_JSON_DEPTH,
} from './canonicalJson';

export {
  PrivateKey,
  generateKeyPair,
  keyId,
  tufKey,
  publicKeyFromBytes,
  publicKeyFromTuf,
  exportPublicKey,
  importPublicKey,
  exportPrivateKey,
  importPrivateKey,
} from './keys';
export type { PublicKey, TufKey, Ed25519Jwk, PublicKeyInput, PrivateKeyInput } from './keys';

export {
  defaultScryptParams,
  encodePrivateKeyFile,
  decodePrivateKeyFile,
  isEncryptedKeyFile,
  encodePublicKeyFile,
  decodePublicKeyFile,
  writeKeyFiles,
  readPrivateKeyFile,
  readPublicKeyFile,
} from './keyStore';
export type {
  ScryptParams,
  EncodePrivateKeyOptions,
  WriteKeyFilesOptions,
  PassphraseSource,
} from './keyStore';

export { TRUST_STATE_NAMESPACE, INSTALLED_NAMESPACE } from './versionStore';
export type { VersionStore } from './versionStore';

export {
  ROOT_SPEC_VERSION,
  MAX_ROOT_KEYS,
  RootDocumentSchema,
  createRootSigned,
  signRoot,
  parseRootDocument,
  loadTrustRoot,
  verifyRootChain,
  withRevocations,
} from './trustRoot';
export type {
  RootSigned,
  RootDocument,
  RoleSpec,
  TrustRoot,
  RoleInput,
  CreateRootOptions,
  LoadTrustRootOptions,
} from './trustRoot';

export {
  RevocationDocumentSchema,
  createRevocationList,
  signRevocationList,
  verifyRevocationList,
} from './revocationList';
export type { RevocationSigned, RevocationDocument } from './revocationList';
export { rootStanding } from './rootStanding';
export type { RootStanding } from './rootStanding';

export { PackageManifestSchema, PackageSourceSchema, PACKAGE_NAME_PATTERN } from './packageManifest';
export type { PackageManifest, PackageSource, ContentHash } from './packageManifest';

export {
  FORGEPKG_MAGIC,
  FORGEPKG_FORMAT_VERSION,
  FORGEPKG_HEADER_BYTES,
  defaultForgePkgLimits,
  parsePackage,
  encodePackage,
  packageDigest,
  packageSigningMessage,
} from './forgePkgCodec';
export type { ForgePkgLimits, PackageEntry, PackageSignature, ParsedPackage } from './forgePkgCodec';

export {
  SOURCE_MANIFEST,
  buildPackage,
  signPackage,
  readPackageSource,
  packDirectory,
} from './packageBuilder';
export type { BuildPackageOptions } from './packageBuilder';

export { packageCheckNames, verifyPackage, assertValid } from './packageVerifier';
export type {
  PackageCheckName,
  ValidationCheck,
  ValidationResult,
  VerifyPackageOptions,
} from './packageVerifier';

export { recordInstalled, installedVersion } from './installedPackages';
export { inspectPackage } from './packageInspector';
export type { InspectedManifest, PackageSummary } from './packageInspector';
export { readPackageFile, writePackageFile, readRootFile, writeRootFile } from './forgeFiles';
