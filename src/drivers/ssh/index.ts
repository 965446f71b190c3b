/** The `ssh` driver: managed systems on remote hosts. */
export { SSH_DRIVER_NAME, type SshDriver, type SshDriverOptions, type HostFacts, createSshDriver } from './ssh-driver';
export { fingerprintOf, SEALED_OPTIONS } from './ssh-target';
