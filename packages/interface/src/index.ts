/** Filled by upcoming work; see ARCHITECTURE.md. */
export const packageName = '@forgeone/interface';
