/**
 * Token scopes for a repository (https://distribution.github.io/distribution/spec/auth/scope/).
 * Push asks for pull too: an upload checks what exists and mounts from other repositories.
 */
export const pullScope = (repository: string): string => `repository:${repository}:pull`;
export const pushScope = (repository: string): string => `repository:${repository}:pull,push`;
