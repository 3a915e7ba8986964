export { Runtime } from './runtime';
export type { RuntimeDeps, RunModuleOptions, ReplayOptions, RunReport, RunKvReport } from './runtime';
export type { KvNamespaceChanges } from './kvNamespaces';
// containers with a lifecycle (issue 14 item 2)
export {
  ContainerManager,
  DEFAULT_STOP_DEADLINE_MS,
  DEFAULT_CLOSE_DEADLINE_MS,
} from './container/containerManager';
export type { ContainerManagerDeps, ContainerInvokeOptions, StopOptions } from './container/containerManager';
export type { ContainerConfig, ContainerSource } from './container/containerConfig';
export type { ContainerInfo, ContainerFilter, ContainerKind } from './container/containerInfo';
export {
  containerStates,
  containerActions,
  containerTransitions,
  nextContainerState,
  isTerminal,
} from './container/containerState';
export type { ContainerState, ContainerAction, ContainerTarget } from './container/containerState';
export { CONTAINER_REGISTRY_NAMESPACE } from './container/containerRegistry';
