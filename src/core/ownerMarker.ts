// The environment marker every process the extension starts inherits: the owning extension
// host's fingerprint. A process whose marker names a dead owner is an orphan, wherever it went.
export const OWNER_ENV = 'GATEWAY_WARDEN_OWNER';
