// The environment marker every process the extension starts inherits: the owning extension
// host's fingerprint. A process whose marker names a dead owner is an orphan, wherever it went.
export const OWNER_ENV = 'GATEWAY_WARDEN_OWNER';

/**
 * The fingerprint of the nearest Warden process above this one: the gateway sets it on its
 * workers, a worker on its /run commands; everything below inherits it. A process's own
 * teardown takes down every process carrying its fingerprint here, also one that left its
 * group and its tree (setsid, double fork).
 */
export const PARENT_ENV = 'GATEWAY_WARDEN_PARENT';

/**
 * `$0` of a worker's group keeper (src/worker/groupKeeper.ts): what names it in `ps`, in the
 * tree and in tests, among the worker's children.
 */
export const GROUP_KEEPER_NAME = 'gateway-warden-group-keeper';
