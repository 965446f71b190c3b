/** The `local` driver and the demo package repository. */
export { LOCAL_DRIVER_NAME, type LocalDriverOptions, createLocalDriver } from './local-driver';
export { buildDemoRepository } from './demo-repository';
export { PackageRepositories, type PackageRepositoriesOptions } from './package-repositories';
